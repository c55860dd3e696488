/**
 * OP_CLONE (RFC 7862 §15.13): the saved filehandle's range into the current one's. Bricks have no shared
 * extents, so the core copies the bytes on the gateway (cluster/vfs/sparse.ts); to the client this is a
 * clone: nothing crosses the wire, and the destination reads the source's bytes. cl_count 0: to the end.
 */
import { copyRange } from '../../../cluster/vfs/sparse';
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';
import { checkOverlap, copyEnds } from './copy';
import { sparseHost } from './sparse-common';

/** struct CLONE4args { stateid4 cl_src_stateid; stateid4 cl_dst_stateid; offset4 cl_src_offset; offset4 cl_dst_offset; length4 cl_count; }; */
export interface CLONE4args {
  cl_src_stateid: stateid4;
  cl_dst_stateid: stateid4;
  cl_src_offset: bigint;
  cl_dst_offset: bigint;
  cl_count: bigint;
}

export const CLONE: Nfs4Op<CLONE4args, undefined> = {
  opnum: nfs_opnum4.OP_CLONE,
  name: 'CLONE',
  decodeArgs: (r) => ({ cl_src_stateid: decodeStateid4(r), cl_dst_stateid: decodeStateid4(r), cl_src_offset: r.uint64(), cl_dst_offset: r.uint64(), cl_count: r.uint64() }),
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.cl_src_stateid);
    encodeStateid4(w, a.cl_dst_stateid);
    w.uint64(a.cl_src_offset);
    w.uint64(a.cl_dst_offset);
    w.uint64(a.cl_count);
  },
  async handle(c, a) {
    const { s, d } = await copyEnds(c, a.cl_src_stateid, a.cl_dst_stateid);
    const size = (await s.fs.getattr(s.cred, s.handle)).size;
    if (a.cl_src_offset > size || (a.cl_count > 0n && a.cl_src_offset + a.cl_count > size)) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'range past the source end');
    checkOverlap(s, d, a.cl_src_offset, a.cl_dst_offset, a.cl_count === 0n ? size - a.cl_src_offset : a.cl_count);
    await copyRange(sparseHost(d), d.cred, s.handle, a.cl_src_offset, d.handle, a.cl_dst_offset, a.cl_count);
    return undefined;
  },
  ...voidOk,
};
