/** NFSPROC3_REMOVE (RFC 1813 §3.3.12). Success and failure carry dir_wcc. */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { dirWccData } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type REMOVE3args, type REMOVE3res, type REMOVE3resfail, type REMOVE3resok } from '../types';
import { decodeDiropargs3, decodeNfs3Res, decodeWccOnly, encodeDiropargs3, encodeNfs3Res, encodeWccOnly } from '../xdr';

export function decodeREMOVE3args(r: XdrReader): REMOVE3args {
  return { object: decodeDiropargs3(r) };
}

export function encodeREMOVE3args(w: XdrWriter, a: REMOVE3args): void {
  encodeDiropargs3(w, a.object);
}

const wcc = encodeWccOnly('dir_wcc');
export function encodeREMOVE3res(w: XdrWriter, res: REMOVE3res): void {
  encodeNfs3Res(w, res, wcc, wcc);
}

export function decodeREMOVE3res(r: XdrReader): REMOVE3res {
  return decodeNfs3Res(r, decodeWccOnly('dir_wcc'), decodeWccOnly('dir_wcc'));
}

export const REMOVE: Nfs3Procedure<REMOVE3args, REMOVE3resok, REMOVE3resfail> = {
  proc: NFSPROC3.REMOVE,
  name: 'REMOVE',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.object.dir],
  decodeArgs: decodeREMOVE3args,
  async handle(ctx, a) {
    return { dir_wcc: dirWccData(await ctx.fs.remove(ctx.cred, a.object.dir, a.object.name)) };
  },
  encodeRes: encodeREMOVE3res,
  failBody: async (_s, a, ctx) => ({ dir_wcc: await failWccOf(ctx, a.object.dir) }),
  encodeArgs: encodeREMOVE3args,
  decodeRes: decodeREMOVE3res,
};
