/**
 * OP_WRITE (RFC 8881 §18.32). `stable_how4` and the core's `Stable` have the same values; the reply says
 * what was actually done (at least what was asked) and the write verifier, which changes when the server
 * may have lost UNSTABLE data (restart).
 */
import { Stable } from '../../../cluster/vfs/types';
import { XdrError } from '../../xdr/errors';
import { fixedResult, type Nfs4Op } from '../op';
import { checkIoStateid } from '../stateid';
import { lockOwnerOf } from '../state/owners';
import { NFS4_DATA_MAX, nfs_opnum4, nfsstat4, stable_how4, type stateid4 } from '../types';
import { decodeStateid4, decodeVerifier4, encodeStateid4, encodeVerifier4 } from '../xdr';

/** struct WRITE4args { stateid4 stateid; offset4 offset; stable_how4 stable; opaque data<>; }; */
export interface WRITE4args {
  stateid: stateid4;
  offset: bigint;
  stable: stable_how4;
  data: Buffer;
}

/** struct WRITE4resok { count4 count; stable_how4 committed; verifier4 writeverf; }; */
export interface WRITE4resok {
  count: number;
  committed: stable_how4;
  writeverf: Buffer;
}

function decodeStable(r: { uint32(): number }): stable_how4 {
  const s = r.uint32();
  if (s > stable_how4.FILE_SYNC4) throw new XdrError(`bad stable_how4 ${s}`);
  return s;
}

export const WRITE: Nfs4Op<WRITE4args, WRITE4resok> = {
  opnum: nfs_opnum4.OP_WRITE,
  name: 'WRITE',
  decodeArgs: (r) => {
    const stateid = decodeStateid4(r);
    const offset = r.uint64();
    const stable = decodeStable(r);
    // Zero-copy: a view of the request record, valid for this call.
    return { stateid, offset, stable, data: r.opaque(NFS4_DATA_MAX) };
  },
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.stateid);
    w.uint64(a.offset);
    w.uint32(a.stable);
    w.opaque(a.data);
  },
  async handle(c, a) {
    const fh = c.writable(c.curFs(nfsstat4.NFS4ERR_ISDIR));
    const st = checkIoStateid(c, a.stateid, fh, 'write');
    if (!st) await c.server.anonymousIoCheck(fh, true, a.offset, BigInt(a.data.length));
    // SMB byte-range locks are mandatory for everyone's I/O (cluster/locks/byte-range.ts): LOCKED.
    if (st) fh.fs.checkIo(st.open.fileId, { offset: a.offset, length: BigInt(a.data.length), write: true, ...(st.lock ? { owner: lockOwnerOf(st.lock.ownerRec) } : {}) });
    // UNSTABLE data may stay in the request record past the reply (cluster/bricks/write-behind.ts).
    const retain = c.rpc.retainRequest;
    const r = await fh.fs.write(fh.cred, fh.handle, a.offset, a.data, a.stable as number as Stable, retain ? { retain } : undefined);
    return { count: r.count, committed: r.committed as number as stable_how4, writeverf: r.verifier };
  },
  ...fixedResult(16),
  encodeOk: (w, r) => {
    w.uint32(r.count);
    w.uint32(r.committed);
    encodeVerifier4(w, r.writeverf);
  },
  decodeOk: (r) => ({ count: r.uint32(), committed: decodeStable(r), writeverf: decodeVerifier4(r) }),
};
