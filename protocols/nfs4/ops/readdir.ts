/**
 * OP_READDIR (RFC 8881 §18.23): a page of directory entries with the requested attributes.
 *
 * Cookies: NFSv4 has no "." and ".." entries; 0 starts the listing, 1 and 2 are reserved (never issued;
 * sent back: NFS4ERR_BAD_COOKIE), and the core's cookies (≥ 3) are passed through unchanged, so one cookie
 * space serves NFSv3 and NFSv4. With a non-zero cookie the verifier must be the one this directory handed
 * out (else NFS4ERR_NOT_SAME); an all-zero verifier is accepted, as Linux knfsd does.
 *
 * Sizes: the encoded READDIR4resok never exceeds min(maxcount, the session's response limit); dircount is a
 * hint and is not used. If not even one entry fits: NFS4ERR_TOOSMALL.
 *
 * The pseudo root lists the exports this client may see, with the attributes of each export's root (their
 * own fsid, mounted_on_fileid the pseudo directory's).
 */
import { CoreError, Errc, isCoreError } from '../../../cluster/vfs/errors';
import type { ReaddirResult, StatFs } from '../../../cluster/vfs/types';
import { attrPlan, buildFattr4, buildFattr4With, checkReadable, FATTR4_RDATTR_ERROR, needsStatfs, type AttrPlan } from '../attrs';
import { NUMERIC_OWNERS } from '../idmap';
import { Nfs4Error } from '../errors';
import type { FsFh } from '../fh';
import type { Nfs4Compound, Nfs4Op } from '../op';
import { nfs4StatusOf } from '../status';
import { XdrWriter } from '../../xdr/writer';
import { NFS4_NAME_MAX, nfs_opnum4, nfsstat4, type bitmap4, type fattr4 } from '../types';
import {
  bitmapHas,
  bitmapOf,
  bitmapSize,
  decodeBitmap4,
  decodeFattr4,
  decodeVerifier4,
  encodeBitmap4,
  encodeFattr4,
  encodeVerifier4,
  pad4,
} from '../xdr';

/** struct READDIR4args { nfs_cookie4 cookie; verifier4 cookieverf; count4 dircount; count4 maxcount; bitmap4 attr_request; }; */
export interface READDIR4args {
  cookie: bigint;
  cookieverf: Buffer;
  dircount: number;
  maxcount: number;
  attr_request: bitmap4;
}

/** struct entry4 { nfs_cookie4 cookie; component4 name; fattr4 attrs; entry4 *nextentry; }; */
export interface entry4 {
  cookie: bigint;
  name: Buffer;
  attrs: fattr4;
}

/** struct READDIR4resok { verifier4 cookieverf; dirlist4 reply; }; dirlist4 { entry4 *entries; bool eof; } */
export interface READDIR4resok {
  cookieverf: Buffer;
  entries: entry4[];
  eof: boolean;
  /** Server side: the entries already encoded (each with its value_follows word); replaces `entries`. */
  encoded?: Buffer;
}

/** verifier + end-of-list marker + eof. */
const FIXED_BYTES = 8 + 4 + 4;
const MAX_BATCH = 1024;
const MAX_EMPTY_BATCHES = 3;

function entrySize(e: entry4): number {
  return 4 + 8 + 4 + pad4(e.name.length) + bitmapSize(e.attrs.attrmask) + 4 + pad4(e.attrs.attr_vals.length);
}

const isZero = (b: Buffer): boolean => b.every((x) => x === 0);

/**
 * A finished page's encoded entries, kept with the first core entry of the batch it came from (the core
 * hands the same entry objects out again only while nothing in the store has changed: kept pages,
 * cluster/vfs/listing-pages.ts), so listing an unchanged directory again copies one span per page instead
 * of building every entry's attributes. Only pages with numeric owners (a pure
 * function of the attributes; names may be re-read at any time) and no space_/files_ attributes (statfs
 * changes without any inode changing); the rest of what the bytes depend on is compared.
 *
 * Why not a fattr4 kept per entry (as before): a cold listing of 10,000 entries then kept 10,000 fattr4s,
 * their value buffers and bookkeeping alive, which the next listings paid for in garbage collection.
 */
interface KeptPageBytes {
  plan: AttrPlan;
  leaseSeconds: number;
  limits: object;
  room: number;
  eof: boolean;
  bytes: Buffer;
}

const keptPages = new WeakMap<object, KeptPageBytes>();

function encodeEntries(w: XdrWriter, entries: readonly entry4[]): void {
  for (const e of entries) {
    w.bool(true);
    w.uint64(e.cookie);
    w.string(e.name);
    encodeFattr4(w, e.attrs);
  }
}

/** Collects entries until `room` bytes are used. */
class Page {
  readonly entries: entry4[] = [];
  private used = 0;
  constructor(private readonly room: number) {}
  /** False when `e` does not fit (the page is full). */
  add(e: entry4): boolean {
    const n = entrySize(e);
    if (this.used + n > this.room) return false;
    this.entries.push(e);
    this.used += n;
    return true;
  }
}

function rdattrError(status: nfsstat4): fattr4 {
  const w = Buffer.alloc(4);
  w.writeUInt32BE(status, 0);
  return { attrmask: bitmapOf([FATTR4_RDATTR_ERROR]), attr_vals: w };
}

async function listPseudo(c: Nfs4Compound, a: READDIR4args, page: Page): Promise<READDIR4resok> {
  const verf = Buffer.alloc(8);
  verf.writeBigUInt64BE(c.server.pseudoAttr().change);
  if (a.cookie !== 0n && !isZero(a.cookieverf) && !a.cookieverf.equals(verf)) throw new Nfs4Error(nfsstat4.NFS4ERR_NOT_SAME);
  const exps = c.server.visibleExports(c.rpc);
  let eof = true;
  for (let i = 0; i < exps.length; i++) {
    const cookie = 3n + BigInt(i);
    if (cookie <= a.cookie) continue;
    const exp = exps[i]!;
    let attrs: fattr4;
    try {
      const root = await c.server.exportRootHandle(exp.id);
      const fh = c.server.admit(c.rpc, root, exp.id);
      attrs = buildFattr4(a.attr_request, await c.server.attrSource(fh, a.attr_request), c.minor, c.owners());
    } catch (e) {
      if (!isCoreError(e) || !bitmapHas(a.attr_request, FATTR4_RDATTR_ERROR)) throw e;
      attrs = rdattrError(nfs4StatusOf(e.errc));
    }
    if (!page.add({ cookie, name: Buffer.from(exp.name), attrs })) {
      eof = false;
      break;
    }
  }
  if (!eof && page.entries.length === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_TOOSMALL);
  return { cookieverf: verf, entries: page.entries, eof };
}

async function listCore(c: Nfs4Compound, fh: FsFh, a: READDIR4args, page: Page, room: number): Promise<READDIR4resok> {
  const { fs, cred } = fh;
  const withAttrs = a.attr_request.some((w) => w !== 0);
  let cookie = a.cookie;
  let verf: Buffer | undefined = cookie === 0n || isZero(a.cookieverf) ? undefined : a.cookieverf;
  if (cookie !== 0n && verf === undefined) verf = (await fs.readdir(cred, fh.handle, 0n, undefined, 1, false)).verifier;
  const perEntryGuess = withAttrs ? 160 : 32;
  const batchFor = (bytes: number): number => Math.max(1, Math.min(MAX_BATCH, Math.ceil(bytes / perEntryGuess) + 1));

  let batch: ReaddirResult;
  try {
    batch = await fs.readdir(cred, fh.handle, cookie, verf, batchFor(room), withAttrs);
  } catch (e) {
    if (isCoreError(e) && e.errc === Errc.BAD_COOKIE && verf && a.cookieverf.length === 8 && !isZero(a.cookieverf)) {
      const current = (await fs.readdir(cred, fh.handle, 0n, undefined, 1, false)).verifier;
      if (!current.equals(a.cookieverf)) throw new Nfs4Error(nfsstat4.NFS4ERR_NOT_SAME, 'cookie verifier');
    }
    throw e;
  }
  const verifier = batch.verifier;
  const root = withAttrs ? await c.server.exportRootHandle(fh.exportId) : undefined;
  const statfs: StatFs | undefined = withAttrs && needsStatfs(a.attr_request) ? (await fs.statfs(cred, fh.handle)).stat : undefined;

  const owners = c.owners();
  const plan = attrPlan(a.attr_request, c.minor);
  const leaseSeconds = c.server.limits.leaseSeconds;
  const limits = fh.fs.limits;
  const first = batch.entries[0];
  const keyable = first !== undefined && owners === NUMERIC_OWNERS && statfs === undefined;
  if (keyable) {
    const k = keptPages.get(first);
    if (k && k.plan === plan && k.leaseSeconds === leaseSeconds && k.limits === limits && k.room === room) {
      return { cookieverf: verifier, entries: [], eof: k.eof, encoded: k.bytes };
    }
  }
  const noAttrs: fattr4 = { attrmask: [], attr_vals: Buffer.alloc(0) };
  let eof = false;
  let full = false;
  let empty = 0;
  while (!full) {
    for (const e of batch.entries) {
      if (e.cookie < 3n) throw new Error(`core readdir cookie ${e.cookie} collides with the reserved NFSv4 cookies 0..2`);
      let attrs = noAttrs;
      if (withAttrs) {
        if (!e.attr || !e.handle) throw new CoreError(Errc.IO, 'core readdir entry without attributes');
        const h = e.handle;
        const a = e.attr;
        attrs = buildFattr4With(plan, c.server.fsAttrSourceWith(fh, h, a, root!, statfs), c.minor, owners);
      }
      if (!page.add({ cookie: e.cookie, name: e.name, attrs })) {
        full = true;
        break;
      }
    }
    if (full) break;
    if (batch.eof) {
      eof = true;
      break;
    }
    if (batch.entries.length === 0) {
      if (++empty > MAX_EMPTY_BATCHES) break;
    } else {
      empty = 0;
      cookie = batch.entries[batch.entries.length - 1]!.cookie;
    }
    batch = await fs.readdir(cred, fh.handle, cookie, verifier, batchFor(room), withAttrs);
  }
  if (full && page.entries.length === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_TOOSMALL, `maxcount ${a.maxcount} too small for one entry`);
  const w = new XdrWriter(Math.min(room, 64 * 1024));
  encodeEntries(w, page.entries);
  const src = w.toBuffer();
  // A page that went on into later batches is kept too: those were read after the first and the store had
  // not changed in between, or the first batch's entries would not be handed out again (listing-pages.ts).
  if (!keyable || page.entries.length === 0) {
    return { cookieverf: verifier, entries: [], eof, encoded: src };
  }
  // Memory of its own: it is kept (a slice of a pooled buffer would pin it).
  const bytes = Buffer.allocUnsafeSlow(src.length);
  src.copy(bytes);
  keptPages.set(first, { plan, leaseSeconds, limits, room, eof, bytes });
  return { cookieverf: verifier, entries: [], eof, encoded: bytes };
}

export const READDIR: Nfs4Op<READDIR4args, READDIR4resok> = {
  opnum: nfs_opnum4.OP_READDIR,
  name: 'READDIR',
  decodeArgs: (r) => ({
    cookie: r.uint64(),
    cookieverf: decodeVerifier4(r),
    dircount: r.uint32(),
    maxcount: r.uint32(),
    attr_request: decodeBitmap4(r),
  }),
  encodeArgs: (w, a) => {
    w.uint64(a.cookie);
    encodeVerifier4(w, a.cookieverf);
    w.uint32(a.dircount);
    w.uint32(a.maxcount);
    encodeBitmap4(w, a.attr_request);
  },
  async handle(c, a) {
    const fh = c.curFh();
    checkReadable(a.attr_request);
    if (a.cookie === 1n || a.cookie === 2n) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_COOKIE, 'cookies 1 and 2 are reserved');
    const limit = Math.min(a.maxcount, c.session ? c.session.fore.ca_maxresponsesize : c.server.limits.maxResponseBytes);
    const room = limit - FIXED_BYTES;
    if (room < 0) throw new Nfs4Error(nfsstat4.NFS4ERR_TOOSMALL, `maxcount ${a.maxcount}`);
    const page = new Page(room);
    if (fh.kind === 'pseudo') return listPseudo(c, a, page);
    return listCore(c, fh, a, page, room);
  },
  encodeOk: (w, r) => {
    encodeVerifier4(w, r.cookieverf);
    if (r.encoded) w.fixedOpaque(r.encoded);
    else encodeEntries(w, r.entries);
    w.bool(false);
    w.bool(r.eof);
  },
  // The sizes Page counted while it filled the reply: sessions with a reply budget need not encode it twice.
  resultBytes: (r) => {
    let n = FIXED_BYTES + (r.encoded?.length ?? 0);
    for (const e of r.entries) n += entrySize(e);
    return n;
  },
  decodeOk: (r) => {
    const cookieverf = decodeVerifier4(r);
    const entries: entry4[] = [];
    while (r.bool()) {
      const cookie = r.uint64();
      const name = Buffer.from(r.string(NFS4_NAME_MAX));
      const f = decodeFattr4(r);
      entries.push({ cookie, name, attrs: { attrmask: f.attrmask, attr_vals: Buffer.from(f.attr_vals) } });
    }
    return { cookieverf, entries, eof: r.bool() };
  },
};
