/** OP_COMMIT (RFC 8881 §18.3): makes UNSTABLE writes stable; returns the write verifier. */
import { fixedResult, type Nfs4Op } from '../op';
import { FileType } from '../../../cluster/vfs/types';
import { Nfs4Error } from '../errors';
import { nfs_opnum4, nfsstat4 } from '../types';
import { decodeVerifier4, encodeVerifier4 } from '../xdr';

/** struct COMMIT4args { offset4 offset; count4 count; }; */
export interface COMMIT4args {
  offset: bigint;
  count: number;
}

/** struct COMMIT4resok { verifier4 writeverf; }; */
export interface COMMIT4resok {
  writeverf: Buffer;
}

export const COMMIT: Nfs4Op<COMMIT4args, COMMIT4resok> = {
  opnum: nfs_opnum4.OP_COMMIT,
  name: 'COMMIT',
  decodeArgs: (r) => ({ offset: r.uint64(), count: r.uint32() }),
  encodeArgs: (w, a) => {
    w.uint64(a.offset);
    w.uint32(a.count);
  },
  async handle(c, a) {
    const fh = c.curFs(nfsstat4.NFS4ERR_ISDIR);
    const t = (await fh.fs.getattr(fh.cred, fh.handle)).type;
    if (t === FileType.DIR) throw new Nfs4Error(nfsstat4.NFS4ERR_ISDIR);
    if (t === FileType.LNK) throw new Nfs4Error(nfsstat4.NFS4ERR_SYMLINK);
    if (t !== FileType.REG) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'COMMIT of a special file');
    const r = await fh.fs.commit(fh.cred, fh.handle, a.offset, a.count);
    return { writeverf: r.verifier };
  },
  ...fixedResult(8),
  encodeOk: (w, r) => encodeVerifier4(w, r.writeverf),
  decodeOk: (r) => ({ writeverf: decodeVerifier4(r) }),
};
