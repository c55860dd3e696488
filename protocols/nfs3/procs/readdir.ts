/**
 * NFSPROC3_READDIR (RFC 1813 §3.3.16). Paging, '.'/'..', cookies and size accounting: ../dirlist.ts.
 * The reply never exceeds `count` bytes; too small for one entry → NFS3ERR_TOOSMALL.
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import { listDir } from '../dirlist';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type READDIR3args, type READDIR3res, type READDIR3resfail, type READDIR3resok, type entry3 } from '../types';
import {
  decodeCookieverf3,
  decodeFilename3,
  decodeNfs3Res,
  decodeNfsFh3,
  decodePostOpAttr,
  decodePostOpOnly,
  encodeNfs3Res,
  encodeNfsFh3,
  encodePostOpAttr,
  encodePostOpOnly,
  encodeVerf8,
  verf8,
} from '../xdr';

export function decodeREADDIR3args(r: XdrReader): READDIR3args {
  return { dir: decodeNfsFh3(r), cookie: r.uint64(), cookieverf: decodeCookieverf3(r), count: r.uint32() };
}

export function encodeREADDIR3args(w: XdrWriter, a: READDIR3args): void {
  encodeNfsFh3(w, a.dir);
  w.uint64(a.cookie);
  encodeVerf8(w, a.cookieverf);
  w.uint32(a.count);
}

export function encodeREADDIR3res(w: XdrWriter, res: READDIR3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.dir_attributes);
      encodeVerf8(w, ok.cookieverf);
      for (const e of ok.reply.entries) {
        w.bool(true).uint64(e.fileid).opaque(e.name).uint64(e.cookie);
      }
      w.bool(false).bool(ok.reply.eof);
    },
    encodePostOpOnly('dir_attributes'),
  );
}

export function decodeREADDIR3res(r: XdrReader): READDIR3res {
  return decodeNfs3Res(
    r,
    (r) => {
      const dir_attributes = decodePostOpAttr(r);
      const cookieverf = decodeCookieverf3(r);
      const entries: entry3[] = [];
      while (r.bool()) entries.push({ fileid: r.uint64(), name: decodeFilename3(r), cookie: r.uint64() });
      return { dir_attributes, cookieverf, reply: { entries, eof: r.bool() } };
    },
    decodePostOpOnly('dir_attributes'),
  );
}

export const READDIR: Nfs3Procedure<READDIR3args, READDIR3resok, READDIR3resfail> = {
  proc: NFSPROC3.READDIR,
  name: 'READDIR',
  mutating: false,
  handles: (a) => [a.dir],
  decodeArgs: decodeREADDIR3args,
  async handle(ctx, a) {
    const page = await listDir(ctx, {
      dir: a.dir,
      cookie: a.cookie,
      cookieverf: a.cookieverf,
      maxBytes: a.count,
      maxDirBytes: Infinity,
      plus: false,
    });
    return {
      dir_attributes: toFattr3(page.dirAttr),
      cookieverf: verf8(page.verifier),
      reply: { entries: page.entries.map((e) => ({ fileid: e.fileid, name: e.name, cookie: e.cookie })), eof: page.eof },
    };
  },
  encodeRes: encodeREADDIR3res,
  failBody: async (_s, a, ctx) => ({ dir_attributes: await failPostOp(ctx, a.dir) }),
  encodeArgs: encodeREADDIR3args,
  decodeRes: decodeREADDIR3res,
};
