/**
 * NFSPROC3_MKNOD (RFC 1813 §3.3.11). NF3CHR/NF3BLK (with specdata3) and NF3SOCK/NF3FIFO go to the core,
 * which may answer NOTSUPP; NF3REG/NF3DIR/NF3LNK are NFS3ERR_BADTYPE (use CREATE/MKDIR/SYMLINK).
 */
import { CoreError, Errc } from '../../../cluster/vfs/errors';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { fileTypeOf, fromSattr3, nodeResok } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, ftype3, type MKNOD3args, type MKNOD3res, type MKNOD3resfail, type MKNOD3resok, type mknoddata3 } from '../types';
import {
  decodeCREATE3resfail,
  decodeCREATE3resok,
  decodeDiropargs3,
  decodeFtype3,
  decodeNfs3Res,
  decodeSattr3,
  decodeSpecdata3,
  encodeCREATE3resfail,
  encodeCREATE3resok,
  encodeDiropargs3,
  encodeNfs3Res,
  encodeSattr3,
  encodeSpecdata3,
} from '../xdr';

function decodeMknoddata3(r: XdrReader): mknoddata3 {
  const type = decodeFtype3(r);
  switch (type) {
    case ftype3.NF3CHR:
    case ftype3.NF3BLK:
      return { type, device: { dev_attributes: decodeSattr3(r), spec: decodeSpecdata3(r) } };
    case ftype3.NF3SOCK:
    case ftype3.NF3FIFO:
      return { type, pipe_attributes: decodeSattr3(r) };
    default:
      return { type };
  }
}

function encodeMknoddata3(w: XdrWriter, d: mknoddata3): void {
  w.uint32(d.type);
  if ('device' in d) {
    encodeSattr3(w, d.device.dev_attributes);
    encodeSpecdata3(w, d.device.spec);
  } else if ('pipe_attributes' in d) {
    encodeSattr3(w, d.pipe_attributes);
  }
}

export function decodeMKNOD3args(r: XdrReader): MKNOD3args {
  return { where: decodeDiropargs3(r), what: decodeMknoddata3(r) };
}

export function encodeMKNOD3args(w: XdrWriter, a: MKNOD3args): void {
  encodeDiropargs3(w, a.where);
  encodeMknoddata3(w, a.what);
}

export function encodeMKNOD3res(w: XdrWriter, res: MKNOD3res): void {
  encodeNfs3Res(w, res, encodeCREATE3resok, encodeCREATE3resfail);
}

export function decodeMKNOD3res(r: XdrReader): MKNOD3res {
  return decodeNfs3Res(r, decodeCREATE3resok, decodeCREATE3resfail);
}

export const MKNOD: Nfs3Procedure<MKNOD3args, MKNOD3resok, MKNOD3resfail> = {
  proc: NFSPROC3.MKNOD,
  name: 'MKNOD',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.where.dir],
  decodeArgs: decodeMKNOD3args,
  async handle(ctx, a) {
    const { dir, name } = a.where;
    const w = a.what;
    switch (w.type) {
      case ftype3.NF3CHR:
      case ftype3.NF3BLK: {
        const rdev = { major: w.device.spec.specdata1, minor: w.device.spec.specdata2 };
        return nodeResok(await ctx.fs.mknod(ctx.cred, dir, name, fileTypeOf(w.type), fromSattr3(w.device.dev_attributes), rdev));
      }
      case ftype3.NF3SOCK:
      case ftype3.NF3FIFO:
        return nodeResok(await ctx.fs.mknod(ctx.cred, dir, name, fileTypeOf(w.type), fromSattr3(w.pipe_attributes)));
      default:
        throw new CoreError(Errc.BADTYPE, `MKNOD of ${ftype3[w.type]}`);
    }
  },
  encodeRes: encodeMKNOD3res,
  failBody: async (_s, a, ctx) => ({ dir_wcc: await failWccOf(ctx, a.where.dir) }),
  encodeArgs: encodeMKNOD3args,
  decodeRes: decodeMKNOD3res,
};
