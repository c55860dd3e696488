/**
 * OP_READ (RFC 8881 §18.22). The data is sent zero-copy from the core's (possibly pooled) buffer, which
 * goes back to the pool once the reply has been sent. A directory (or the pseudo root) is NFS4ERR_ISDIR.
 */
import type { Nfs4Op } from '../op';
import { checkIoStateid } from '../stateid';
import { lockOwnerOf } from '../state/owners';
import { NFS4_DATA_MAX, nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';

/** struct READ4args { stateid4 stateid; offset4 offset; count4 count; }; */
export interface READ4args {
  stateid: stateid4;
  offset: bigint;
  count: number;
}

/** struct READ4resok { bool eof; opaque data<>; }; */
export interface READ4resok {
  eof: boolean;
  data: Buffer;
}

export const READ: Nfs4Op<READ4args, READ4resok> = {
  opnum: nfs_opnum4.OP_READ,
  name: 'READ',
  decodeArgs: (r) => ({ stateid: decodeStateid4(r), offset: r.uint64(), count: r.uint32() }),
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.stateid);
    w.uint64(a.offset);
    w.uint32(a.count);
  },
  async handle(c, a) {
    const fh = c.curFs(nfsstat4.NFS4ERR_ISDIR);
    const st = checkIoStateid(c, a.stateid, fh, 'read');
    if (!st) await c.server.anonymousIoCheck(fh, false, a.offset, BigInt(a.count));
    // SMB byte-range locks are mandatory for everyone's I/O (cluster/locks/byte-range.ts): LOCKED.
    if (st) fh.fs.checkIo(st.open.fileId, { offset: a.offset, length: BigInt(a.count), write: false, ...(st.lock ? { owner: lockOwnerOf(st.lock.ownerRec) } : {}) });
    const r = await fh.fs.read(fh.cred, fh.handle, a.offset, a.count, c.rpc.signal);
    if (r.release) c.rpc.onReplySent(r.release);
    return { eof: r.eof, data: r.data };
  },
  resultBytes: (r) => 8 + ((r.data.length + 3) & ~3),
  encodeOk: (w, r) => {
    w.bool(r.eof);
    w.opaqueRef(r.data);
  },
  decodeOk: (r) => ({ eof: r.bool(), data: Buffer.from(r.opaque(NFS4_DATA_MAX)) }),
};
