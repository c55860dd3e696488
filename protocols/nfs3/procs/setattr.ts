/**
 * NFSPROC3_SETATTR (RFC 1813 §3.3.2). sattrguard3 carries the ctime the client expects; the core compares
 * it (NOT_SYNC on mismatch). Success and failure both carry obj_wcc.
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { fromSattr3, nsFromNfstime3, toWccData } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type SETATTR3args, type SETATTR3res, type SETATTR3resfail, type SETATTR3resok } from '../types';
import {
  decodeNfs3Res,
  decodeNfsFh3,
  decodeNfstime3,
  decodeSattr3,
  decodeWccOnly,
  encodeNfs3Res,
  encodeNfsFh3,
  encodeNfstime3,
  encodeSattr3,
  encodeWccOnly,
} from '../xdr';

export function decodeSETATTR3args(r: XdrReader): SETATTR3args {
  return { object: decodeNfsFh3(r), new_attributes: decodeSattr3(r), guard: r.optional(decodeNfstime3) };
}

export function encodeSETATTR3args(w: XdrWriter, a: SETATTR3args): void {
  encodeNfsFh3(w, a.object);
  encodeSattr3(w, a.new_attributes);
  w.bool(a.guard !== undefined);
  if (a.guard) encodeNfstime3(w, a.guard);
}

const wcc = encodeWccOnly('obj_wcc');
export function encodeSETATTR3res(w: XdrWriter, res: SETATTR3res): void {
  encodeNfs3Res(w, res, wcc, wcc);
}

export function decodeSETATTR3res(r: XdrReader): SETATTR3res {
  return decodeNfs3Res(r, decodeWccOnly('obj_wcc'), decodeWccOnly('obj_wcc'));
}

export const SETATTR: Nfs3Procedure<SETATTR3args, SETATTR3resok, SETATTR3resfail> = {
  proc: NFSPROC3.SETATTR,
  name: 'SETATTR',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.object],
  decodeArgs: decodeSETATTR3args,
  async handle(ctx, a) {
    const attrs = fromSattr3(a.new_attributes);
    const guard = a.guard ? nsFromNfstime3(a.guard) : undefined;
    const r = await ctx.fs.setattr(ctx.cred, a.object, attrs, guard);
    return { obj_wcc: toWccData(r.before, r.after) };
  },
  encodeRes: encodeSETATTR3res,
  failBody: async (_s, a, ctx) => ({ obj_wcc: await failWccOf(ctx, a.object) }),
  encodeArgs: encodeSETATTR3args,
  decodeRes: decodeSETATTR3res,
};
