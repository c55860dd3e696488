/**
 * OP_LOCKU (RFC 7530 §16.12, RFC 8881 §18.12): releases a byte range of the lock-owner's locks (any part:
 * POSIX owners may split a lock). Ordered by the lock-owner's seqid in 4.0; the lock stateid's seqid
 * advances. Unlocking a range that holds no lock is not an error.
 */
import { fixedResult, type Nfs4Op } from '../op';
import { cutHeld } from '../state/held-ranges';
import { lockOwnerOf } from '../state/owners';
import { nextSeqid, sequencedState, stateidOf } from '../stateid';
import { nfs_opnum4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';
import { checkLockType, lockRange, lockTarget, type nfs_lock_type4 } from './lock-common';

/** struct LOCKU4args { nfs_lock_type4 locktype; seqid4 seqid; stateid4 lock_stateid; offset4 offset; length4 length; }; */
export interface LOCKU4args {
  locktype: nfs_lock_type4;
  seqid: number;
  lock_stateid: stateid4;
  offset: bigint;
  length: bigint;
}

/** union LOCKU4res switch (nfsstat4 status) { case NFS4_OK: stateid4 lock_stateid; default: void; }; */
export interface LOCKU4resok {
  lock_stateid: stateid4;
}

export const LOCKU: Nfs4Op<LOCKU4args, LOCKU4resok> = {
  opnum: nfs_opnum4.OP_LOCKU,
  name: 'LOCKU',
  decodeArgs: (r) => ({ locktype: r.uint32(), seqid: r.uint32(), lock_stateid: decodeStateid4(r), offset: r.uint64(), length: r.uint64() }),
  encodeArgs: (w, a) => {
    w.uint32(a.locktype);
    w.uint32(a.seqid);
    encodeStateid4(w, a.lock_stateid);
    w.uint64(a.offset);
    w.uint64(a.length);
  },
  async handle(c, a) {
    const fh = lockTarget(c);
    checkLockType(a.locktype);
    const range = lockRange(a.offset, a.length);
    const lock = sequencedState(c, a.lock_stateid, a.seqid, nfs_opnum4.OP_LOCKU, fh, 'lock');
    await fh.fs.unlock(fh.cred, fh.handle, { owner: lockOwnerOf(lock.ownerRec), offset: range.offset, length: range.length });
    lock.held = cutHeld(lock.held, range.offset, range.offset + range.length);
    c.server.noteUnlock(lock, range);
    lock.seqid = nextSeqid(lock.seqid);
    const s = stateidOf(lock);
    c.curStateid = s;
    return { lock_stateid: s };
  },
  ...fixedResult(16),
  encodeOk: (w, r) => encodeStateid4(w, r.lock_stateid),
  decodeOk: (r) => ({ lock_stateid: decodeStateid4(r) }),
};

