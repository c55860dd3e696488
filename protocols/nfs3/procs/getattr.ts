/** NFSPROC3_GETATTR (RFC 1813 §3.3.1). The failure body is void. */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import type { Nfs3Procedure } from '../procedure';
import { NFSPROC3, type GETATTR3args, type GETATTR3res, type GETATTR3resok } from '../types';
import { decodeFattr3, decodeNfs3Res, decodeNfsFh3, encodeFattr3, encodeNfs3Res, encodeNfsFh3 } from '../xdr';

export function decodeGETATTR3args(r: XdrReader): GETATTR3args {
  return { object: decodeNfsFh3(r) };
}

export function encodeGETATTR3args(w: XdrWriter, a: GETATTR3args): void {
  encodeNfsFh3(w, a.object);
}

export function encodeGETATTR3res(w: XdrWriter, res: GETATTR3res): void {
  encodeNfs3Res(w, res, (w, ok) => encodeFattr3(w, ok.obj_attributes), () => {});
}

export function decodeGETATTR3res(r: XdrReader): GETATTR3res {
  return decodeNfs3Res(r, (r) => ({ obj_attributes: decodeFattr3(r) }), () => undefined);
}

export const GETATTR: Nfs3Procedure<GETATTR3args, GETATTR3resok, void> = {
  proc: NFSPROC3.GETATTR,
  name: 'GETATTR',
  mutating: false,
  handles: (a) => [a.object],
  decodeArgs: decodeGETATTR3args,
  async handle(ctx, a) {
    return { obj_attributes: toFattr3(await ctx.fs.getattr(ctx.cred, a.object)) };
  },
  encodeRes: encodeGETATTR3res,
  failBody: async () => undefined,
  encodeArgs: encodeGETATTR3args,
  decodeRes: decodeGETATTR3res,
};
