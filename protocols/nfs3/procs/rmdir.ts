/** NFSPROC3_RMDIR (RFC 1813 §3.3.13). Arguments and results as REMOVE3. */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { dirWccData } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type RMDIR3args, type RMDIR3res, type RMDIR3resfail, type RMDIR3resok } from '../types';
import { decodeDiropargs3, decodeNfs3Res, decodeWccOnly, encodeDiropargs3, encodeNfs3Res, encodeWccOnly } from '../xdr';

export function decodeRMDIR3args(r: XdrReader): RMDIR3args {
  return { object: decodeDiropargs3(r) };
}

export function encodeRMDIR3args(w: XdrWriter, a: RMDIR3args): void {
  encodeDiropargs3(w, a.object);
}

const wcc = encodeWccOnly('dir_wcc');
export function encodeRMDIR3res(w: XdrWriter, res: RMDIR3res): void {
  encodeNfs3Res(w, res, wcc, wcc);
}

export function decodeRMDIR3res(r: XdrReader): RMDIR3res {
  return decodeNfs3Res(r, decodeWccOnly('dir_wcc'), decodeWccOnly('dir_wcc'));
}

export const RMDIR: Nfs3Procedure<RMDIR3args, RMDIR3resok, RMDIR3resfail> = {
  proc: NFSPROC3.RMDIR,
  name: 'RMDIR',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.object.dir],
  decodeArgs: decodeRMDIR3args,
  async handle(ctx, a) {
    return { dir_wcc: dirWccData(await ctx.fs.rmdir(ctx.cred, a.object.dir, a.object.name)) };
  },
  encodeRes: encodeRMDIR3res,
  failBody: async (_s, a, ctx) => ({ dir_wcc: await failWccOf(ctx, a.object.dir) }),
  encodeArgs: encodeRMDIR3args,
  decodeRes: decodeRMDIR3res,
};
