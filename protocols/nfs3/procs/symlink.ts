/** NFSPROC3_SYMLINK (RFC 1813 §3.3.10). The target is stored as the bytes the client sent. Results as CREATE3. */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { fromSattr3, nodeResok } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type SYMLINK3args, type SYMLINK3res, type SYMLINK3resfail, type SYMLINK3resok } from '../types';
import {
  decodeCREATE3resfail,
  decodeCREATE3resok,
  decodeDiropargs3,
  decodeNfs3Res,
  decodeNfspath3,
  decodeSattr3,
  encodeCREATE3resfail,
  encodeCREATE3resok,
  encodeDiropargs3,
  encodeNfs3Res,
  encodeSattr3,
} from '../xdr';

export function decodeSYMLINK3args(r: XdrReader): SYMLINK3args {
  const where = decodeDiropargs3(r);
  return { where, symlink: { symlink_attributes: decodeSattr3(r), symlink_data: decodeNfspath3(r) } };
}

export function encodeSYMLINK3args(w: XdrWriter, a: SYMLINK3args): void {
  encodeDiropargs3(w, a.where);
  encodeSattr3(w, a.symlink.symlink_attributes);
  w.opaque(a.symlink.symlink_data);
}

export function encodeSYMLINK3res(w: XdrWriter, res: SYMLINK3res): void {
  encodeNfs3Res(w, res, encodeCREATE3resok, encodeCREATE3resfail);
}

export function decodeSYMLINK3res(r: XdrReader): SYMLINK3res {
  return decodeNfs3Res(r, decodeCREATE3resok, decodeCREATE3resfail);
}

export const SYMLINK: Nfs3Procedure<SYMLINK3args, SYMLINK3resok, SYMLINK3resfail> = {
  proc: NFSPROC3.SYMLINK,
  name: 'SYMLINK',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.where.dir],
  decodeArgs: decodeSYMLINK3args,
  async handle(ctx, a) {
    const { symlink_attributes, symlink_data } = a.symlink;
    return nodeResok(await ctx.fs.symlink(ctx.cred, a.where.dir, a.where.name, symlink_data, fromSattr3(symlink_attributes)));
  },
  encodeRes: encodeSYMLINK3res,
  failBody: async (_s, a, ctx) => ({ dir_wcc: await failWccOf(ctx, a.where.dir) }),
  encodeArgs: encodeSYMLINK3args,
  decodeRes: decodeSYMLINK3res,
};
