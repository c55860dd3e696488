/**
 * NFSPROC3_READDIRPLUS (RFC 1813 §3.3.17). Entries carry name_attributes and name_handle from the core
 * (asked with withAttrs). The reply never exceeds `maxcount` bytes and the directory part stays within
 * `dircount` (../dirlist.ts); too small for one entry → NFS3ERR_TOOSMALL.
 */
import type { XdrReader } from '../../xdr/reader';
import { XdrWriter } from '../../xdr/writer';
import { putFattr3Of, toFattr3 } from '../attrs';
import { listDir, type DirListEntry, type DirListPage } from '../dirlist';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import {
  NFSPROC3,
  type READDIRPLUS3args,
  type READDIRPLUS3res,
  type READDIRPLUS3resfail,
  type READDIRPLUS3resok,
  type entryplus3,
} from '../types';
import {
  decodeCookieverf3,
  decodeFilename3,
  decodeNfs3Res,
  decodeNfsFh3,
  decodePostOpAttr,
  decodePostOpFh3,
  decodePostOpOnly,
  encodePostOpFh3,
  encodeNfs3Res,
  encodeNfsFh3,
  encodePostOpAttr,
  encodePostOpOnly,
  encodeVerf8,
  FATTR3_SIZE,
  verf8,
} from '../xdr';

export function decodeREADDIRPLUS3args(r: XdrReader): READDIRPLUS3args {
  return {
    dir: decodeNfsFh3(r),
    cookie: r.uint64(),
    cookieverf: decodeCookieverf3(r),
    dircount: r.uint32(),
    maxcount: r.uint32(),
  };
}

export function encodeREADDIRPLUS3args(w: XdrWriter, a: READDIRPLUS3args): void {
  encodeNfsFh3(w, a.dir);
  w.uint64(a.cookie);
  encodeVerf8(w, a.cookieverf);
  w.uint32(a.dircount).uint32(a.maxcount);
}

export function encodeREADDIRPLUS3res(w: XdrWriter, res: READDIRPLUS3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.dir_attributes);
      encodeVerf8(w, ok.cookieverf);
      if (ok.reply.encoded) w.fixedOpaque(ok.reply.encoded);
      else encodeEntries(w, ok.reply.entries);
      w.bool(false).bool(ok.reply.eof);
    },
    encodePostOpOnly('dir_attributes'),
  );
}

/** Entries as objects: the client side (tests, loopback client); the server writes encoded pages. */
function encodeEntries(w: XdrWriter, entries: readonly entryplus3[]): void {
  for (const e of entries) {
    w.bool(true).uint64(e.fileid).opaque(e.name).uint64(e.cookie);
    encodePostOpAttr(w, e.name_attributes);
    encodePostOpFh3(w, e.name_handle);
  }
}

/**
 * Encoded entries of a page that came whole from one core batch, keyed by that batch's first core entry
 * (DirListPage.firstCore): the core hands the same entry objects out again only while the store is
 * unchanged, so the bytes are exact for as long as the key lives, and go with it.
 */
const encodedPages = new WeakMap<object, { count: number; last: bigint; bytes: Buffer }>();

/** One entryplus3 with its value_follows word (the size dirlist.ts's entryBytes counted). */
function encodeEntryPlus(w: XdrWriter, e: DirListEntry): void {
  w.bool(true).uint64(e.fileid).opaque(e.name).uint64(e.cookie);
  if (e.attr) {
    const o = w.claim(4 + FATTR3_SIZE);
    const v = w.claimed;
    v.setUint32(o, 1);
    putFattr3Of(v, o + 4, e.attr);
  } else w.bool(false);
  if (e.handle) w.bool(true).opaque(e.handle);
  else w.bool(false);
}

/**
 * The page's entries, encoded straight from the core's attributes (no fattr3 or entryplus3 objects per
 * entry), reusing the bytes of the same page of an unchanged directory.
 */
function encodedEntries(page: DirListPage): Buffer {
  const key = page.firstCore;
  const last = page.entries.length ? page.entries[page.entries.length - 1]!.cookie : 0n;
  const kept = key ? encodedPages.get(key) : undefined;
  if (kept && kept.count === page.entries.length && kept.last === last) return kept.bytes;
  const w = new XdrWriter(8192);
  for (const e of page.entries) encodeEntryPlus(w, e);
  const src = w.toBuffer();
  if (!key) return src;
  // Memory of its own: it is kept (a slice of a pooled buffer would pin it).
  const bytes = Buffer.allocUnsafeSlow(src.length);
  src.copy(bytes);
  encodedPages.set(key, { count: page.entries.length, last, bytes });
  return bytes;
}

export function decodeREADDIRPLUS3res(r: XdrReader): READDIRPLUS3res {
  return decodeNfs3Res(
    r,
    (r) => {
      const dir_attributes = decodePostOpAttr(r);
      const cookieverf = decodeCookieverf3(r);
      const entries: entryplus3[] = [];
      while (r.bool()) {
        entries.push({
          fileid: r.uint64(),
          name: decodeFilename3(r),
          cookie: r.uint64(),
          name_attributes: decodePostOpAttr(r),
          name_handle: decodePostOpFh3(r),
        });
      }
      return { dir_attributes, cookieverf, reply: { entries, eof: r.bool() } };
    },
    decodePostOpOnly('dir_attributes'),
  );
}

export const READDIRPLUS: Nfs3Procedure<READDIRPLUS3args, READDIRPLUS3resok, READDIRPLUS3resfail> = {
  proc: NFSPROC3.READDIRPLUS,
  name: 'READDIRPLUS',
  mutating: false,
  handles: (a) => [a.dir],
  decodeArgs: decodeREADDIRPLUS3args,
  async handle(ctx, a) {
    const page = await listDir(ctx, {
      dir: a.dir,
      cookie: a.cookie,
      cookieverf: a.cookieverf,
      maxBytes: a.maxcount,
      maxDirBytes: a.dircount,
      plus: true,
    });
    return {
      dir_attributes: toFattr3(page.dirAttr),
      cookieverf: verf8(page.verifier),
      reply: { entries: [], eof: page.eof, encoded: encodedEntries(page) },
    };
  },
  encodeRes: encodeREADDIRPLUS3res,
  failBody: async (_s, a, ctx) => ({ dir_attributes: await failPostOp(ctx, a.dir) }),
  encodeArgs: encodeREADDIRPLUS3args,
  decodeRes: decodeREADDIRPLUS3res,
};
