/**
 * NFSPROC3_CREATE (RFC 1813 §3.3.8). UNCHECKED / GUARDED carry sattr3; EXCLUSIVE carries the 8-byte
 * createverf3, which the core stores so that a retransmission with the same verifier returns the same file
 * (and another verifier gets EXIST). The client sets attributes with a SETATTR afterwards.
 */
import { CreateMode, type CreateArgs } from '../../../cluster/vfs/types';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { fromSattr3, nodeResok } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import {
  CREATEMODE3_VALUES,
  NFS3_CREATEVERFSIZE,
  NFSPROC3,
  createmode3,
  type CREATE3args,
  type CREATE3res,
  type CREATE3resfail,
  type CREATE3resok,
  type createhow3,
} from '../types';
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
  encodeVerf8,
} from '../xdr';

function decodeCreatehow3(r: XdrReader): createhow3 {
  const mode = r.enumOf<createmode3>(CREATEMODE3_VALUES, 'createmode3');
  if (mode === createmode3.EXCLUSIVE) return { mode, verf: Buffer.from(r.fixedOpaque(NFS3_CREATEVERFSIZE)) };
  return { mode, obj_attributes: decodeSattr3(r) };
}

export function decodeCREATE3args(r: XdrReader): CREATE3args {
  return { where: decodeDiropargs3(r), how: decodeCreatehow3(r) };
}

export function encodeCREATE3args(w: XdrWriter, a: CREATE3args): void {
  encodeDiropargs3(w, a.where);
  w.uint32(a.how.mode);
  if (a.how.mode === createmode3.EXCLUSIVE) encodeVerf8(w, a.how.verf);
  else encodeSattr3(w, a.how.obj_attributes);
}

export function encodeCREATE3res(w: XdrWriter, res: CREATE3res): void {
  encodeNfs3Res(w, res, encodeCREATE3resok, encodeCREATE3resfail);
}

export function decodeCREATE3res(r: XdrReader): CREATE3res {
  return decodeNfs3Res(r, decodeCREATE3resok, decodeCREATE3resfail);
}

function createArgsOf(how: createhow3): CreateArgs {
  switch (how.mode) {
    case createmode3.EXCLUSIVE:
      return { mode: CreateMode.EXCLUSIVE, verifier: how.verf };
    case createmode3.GUARDED:
      return { mode: CreateMode.GUARDED, attrs: fromSattr3(how.obj_attributes) };
    case createmode3.UNCHECKED:
      return { mode: CreateMode.UNCHECKED, attrs: fromSattr3(how.obj_attributes) };
  }
}

export const CREATE: Nfs3Procedure<CREATE3args, CREATE3resok, CREATE3resfail> = {
  proc: NFSPROC3.CREATE,
  name: 'CREATE',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.where.dir],
  decodeArgs: decodeCREATE3args,
  async handle(ctx, a) {
    return nodeResok(await ctx.fs.create(ctx.cred, a.where.dir, a.where.name, createArgsOf(a.how)));
  },
  encodeRes: encodeCREATE3res,
  failBody: async (_s, a, ctx) => ({ dir_wcc: await failWccOf(ctx, a.where.dir) }),
  encodeArgs: encodeCREATE3args,
  decodeRes: decodeCREATE3res,
};
