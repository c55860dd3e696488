/** NFSPROC3_MKDIR (RFC 1813 §3.3.9). Results as CREATE3. */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { fromSattr3, nodeResok } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type MKDIR3args, type MKDIR3res, type MKDIR3resfail, type MKDIR3resok } from '../types';
import {
  decodeCREATE3resfail,
  decodeCREATE3resok,
  decodeDiropargs3,
  decodeNfs3Res,
  decodeSattr3,
  encodeCREATE3resfail,
  encodeCREATE3resok,
  encodeDiropargs3,
  encodeNfs3Res,
  encodeSattr3,
} from '../xdr';

export function decodeMKDIR3args(r: XdrReader): MKDIR3args {
  return { where: decodeDiropargs3(r), attributes: decodeSattr3(r) };
}

export function encodeMKDIR3args(w: XdrWriter, a: MKDIR3args): void {
  encodeDiropargs3(w, a.where);
  encodeSattr3(w, a.attributes);
}

export function encodeMKDIR3res(w: XdrWriter, res: MKDIR3res): void {
  encodeNfs3Res(w, res, encodeCREATE3resok, encodeCREATE3resfail);
}

export function decodeMKDIR3res(r: XdrReader): MKDIR3res {
  return decodeNfs3Res(r, decodeCREATE3resok, decodeCREATE3resfail);
}

export const MKDIR: Nfs3Procedure<MKDIR3args, MKDIR3resok, MKDIR3resfail> = {
  proc: NFSPROC3.MKDIR,
  name: 'MKDIR',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.where.dir],
  decodeArgs: decodeMKDIR3args,
  async handle(ctx, a) {
    return nodeResok(await ctx.fs.mkdir(ctx.cred, a.where.dir, a.where.name, fromSattr3(a.attributes)));
  },
  encodeRes: encodeMKDIR3res,
  failBody: async (_s, a, ctx) => ({ dir_wcc: await failWccOf(ctx, a.where.dir) }),
  encodeArgs: encodeMKDIR3args,
  decodeRes: decodeMKDIR3res,
};
