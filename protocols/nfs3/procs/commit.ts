/**
 * NFSPROC3_COMMIT (RFC 1813 §3.3.21). Returns the write verifier: a client that sees it change re-sends its
 * UNSTABLE writes. Allowed on read-only exports (it changes nothing a client can see).
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toWccData } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFS3_WRITEVERFSIZE, NFSPROC3, type COMMIT3args, type COMMIT3res, type COMMIT3resfail, type COMMIT3resok } from '../types';
import {
  decodeNfs3Res,
  decodeNfsFh3,
  decodeWccData,
  decodeWccOnly,
  encodeNfs3Res,
  encodeNfsFh3,
  encodeVerf8,
  encodeWccData,
  encodeWccOnly,
  verf8,
} from '../xdr';

export function decodeCOMMIT3args(r: XdrReader): COMMIT3args {
  return { file: decodeNfsFh3(r), offset: r.uint64(), count: r.uint32() };
}

export function encodeCOMMIT3args(w: XdrWriter, a: COMMIT3args): void {
  encodeNfsFh3(w, a.file);
  w.uint64(a.offset).uint32(a.count);
}

export function encodeCOMMIT3res(w: XdrWriter, res: COMMIT3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodeWccData(w, ok.file_wcc);
      encodeVerf8(w, ok.verf);
    },
    encodeWccOnly('file_wcc'),
  );
}

export function decodeCOMMIT3res(r: XdrReader): COMMIT3res {
  return decodeNfs3Res(
    r,
    (r) => ({ file_wcc: decodeWccData(r), verf: Buffer.from(r.fixedOpaque(NFS3_WRITEVERFSIZE)) }),
    decodeWccOnly('file_wcc'),
  );
}

export const COMMIT: Nfs3Procedure<COMMIT3args, COMMIT3resok, COMMIT3resfail> = {
  proc: NFSPROC3.COMMIT,
  name: 'COMMIT',
  mutating: false,
  handles: (a) => [a.file],
  decodeArgs: decodeCOMMIT3args,
  async handle(ctx, a) {
    const r = await ctx.fs.commit(ctx.cred, a.file, a.offset, a.count);
    return { file_wcc: toWccData(r.before, r.after), verf: verf8(r.verifier) };
  },
  encodeRes: encodeCOMMIT3res,
  failBody: async (_s, a, ctx) => ({ file_wcc: await failWccOf(ctx, a.file) }),
  encodeArgs: encodeCOMMIT3args,
  decodeRes: decodeCOMMIT3res,
};
