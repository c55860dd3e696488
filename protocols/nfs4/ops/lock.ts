/**
 * OP_LOCK (RFC 7530 §16.10, RFC 8881 §18.10): a byte-range lock in the core's lock manager (shared with
 * SMB, so the two protocols' locks conflict), named by a lock stateid per (lock-owner, open).
 *
 *   new lock-owner (open_to_lock_owner4): ordered by the open-owner's seqid (4.0), through its open
 *     stateid; the lock-owner's sequence starts at lock_seqid
 *   existing lock-owner: ordered by the lock-owner's seqid, through its lock stateid
 *   a WRITE lock through an open without write access (or READ without read) → NFS4ERR_OPENMODE
 *   conflict → NFS4ERR_DENIED with LOCK4denied (a lock of a client whose lease ran out is released first). Blocking types (READW/WRITEW) are answered the same:
 *     the client polls (no CB_NOTIFY_LOCK is sent; the 4.0 callback path is never used)
 *   reclaim outside a grace period → NFS4ERR_NO_GRACE; a non-reclaim lock during grace → NFS4ERR_GRACE
 *   success: the lock stateid, its seqid advanced (1 for a new one)
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { isCoreError, Errc } from '../../../cluster/vfs/errors';
import { Nfs4Error } from '../errors';
import { fixedResult, type Nfs4Op } from '../op';
import { addHeld } from '../state/held-ranges';
import { lockOwnerOf } from '../state/owners';
import type { LockStateRec, OpenStateRec } from '../state/stateids';
import { nextSeqid, sequencedState, stateidOf } from '../stateid';
import { OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_ACCESS_WRITE, nfs_opnum4, nfsstat4, type state_owner4, type stateid4 } from '../types';
import { decodeStateOwner4, decodeStateid4, encodeStateOwner4, encodeStateid4 } from '../xdr';
import { checkLockType, decodeLOCK4denied, deniedError, encodeLOCK4denied, isWriteLock, lockRange, lockTarget, type LOCK4denied, type nfs_lock_type4 } from './lock-common';

/** union locker4 switch (bool new_lock_owner) { TRUE: open_to_lock_owner4; FALSE: exist_lock_owner4 }; */
export type locker4 =
  | { new_lock_owner: true; open_seqid: number; open_stateid: stateid4; lock_seqid: number; lock_owner: state_owner4 }
  | { new_lock_owner: false; lock_stateid: stateid4; lock_seqid: number };

/** struct LOCK4args { nfs_lock_type4 locktype; bool reclaim; offset4 offset; length4 length; locker4 locker; }; */
export interface LOCK4args {
  locktype: nfs_lock_type4;
  reclaim: boolean;
  offset: bigint;
  length: bigint;
  locker: locker4;
}

/** struct LOCK4resok { stateid4 lock_stateid; }; */
export interface LOCK4resok {
  lock_stateid: stateid4;
}

function decodeLocker4(r: XdrReader): locker4 {
  if (r.bool()) return { new_lock_owner: true, open_seqid: r.uint32(), open_stateid: decodeStateid4(r), lock_seqid: r.uint32(), lock_owner: decodeStateOwner4(r) };
  return { new_lock_owner: false, lock_stateid: decodeStateid4(r), lock_seqid: r.uint32() };
}

function encodeLocker4(w: XdrWriter, l: locker4): void {
  w.bool(l.new_lock_owner);
  if (l.new_lock_owner) {
    w.uint32(l.open_seqid);
    encodeStateid4(w, l.open_stateid);
    w.uint32(l.lock_seqid);
    encodeStateOwner4(w, l.lock_owner);
  } else {
    encodeStateid4(w, l.lock_stateid);
    w.uint32(l.lock_seqid);
  }
}

export const LOCK: Nfs4Op<LOCK4args, LOCK4resok> = {
  opnum: nfs_opnum4.OP_LOCK,
  name: 'LOCK',
  decodeArgs: (r) => ({ locktype: r.uint32(), reclaim: r.bool(), offset: r.uint64(), length: r.uint64(), locker: decodeLocker4(r) }),
  encodeArgs: (w, a) => {
    w.uint32(a.locktype);
    w.bool(a.reclaim);
    w.uint64(a.offset);
    w.uint64(a.length);
    encodeLocker4(w, a.locker);
  },
  async handle(c, a) {
    const fh = lockTarget(c);
    checkLockType(a.locktype);
    const range = lockRange(a.offset, a.length);
    const server = c.server;
    let open: OpenStateRec;
    let lock: LockStateRec | undefined;
    const l = a.locker;
    let owner;
    if (l.new_lock_owner) {
      open = sequencedState(c, l.open_stateid, l.open_seqid, nfs_opnum4.OP_LOCK, fh, 'open');
      if (c.minor === 0 && l.lock_owner.clientid !== open.client.clientid) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'lock-owner of another client');
      owner = server.owners.getOrCreate('lock', open.client, l.lock_owner.owner, c.minor);
      // A "new" lock-owner that already has a lock stateid for this open reuses it (as knfsd does).
      lock = server.states.lockFor(owner, open);
    } else {
      lock = sequencedState(c, l.lock_stateid, l.lock_seqid, nfs_opnum4.OP_LOCK, fh, 'lock');
      open = lock.open;
      owner = lock.ownerRec;
    }
    const write = isWriteLock(a.locktype);
    if (write && !(open.access & OPEN4_SHARE_ACCESS_WRITE)) throw new Nfs4Error(nfsstat4.NFS4ERR_OPENMODE, 'write lock through a read-only open');
    if (!write && !(open.access & OPEN4_SHARE_ACCESS_READ)) throw new Nfs4Error(nfsstat4.NFS4ERR_OPENMODE, 'read lock through a write-only open');
    server.checkGrace(c, open.client, a.reclaim);

    const req = { owner: lockOwnerOf(owner), offset: range.offset, length: range.length, exclusive: write };
    try {
      await fh.fs.lock(fh.cred, fh.handle, req);
    } catch (e) {
      if (!isCoreError(e) || e.errc !== Errc.DENIED) throw e;
      // A lock of a client whose lease ran out ("courtesy" state) does not block: that client goes first.
      const conflict = await fh.fs.testLock(fh.cred, fh.handle, req);
      if (!server.expireIfLapsed(conflict)) throw deniedError(conflict);
      await fh.fs.lock(fh.cred, fh.handle, req).catch(async (e2: unknown) => {
        if (isCoreError(e2) && e2.errc === Errc.DENIED) throw deniedError(await fh.fs.testLock(fh.cred, fh.handle, req));
        throw e2;
      });
    }
    if (!lock) lock = server.states.addLock(owner, open);
    else lock.seqid = nextSeqid(lock.seqid);
    if (l.new_lock_owner && c.minor === 0) owner.seqid = l.lock_seqid;
    lock.held = addHeld(lock.held, range.offset, range.offset + range.length);
    server.noteLock(lock, range, write);
    const s = stateidOf(lock);
    c.curStateid = s;
    return { lock_stateid: s };
  },
  ...fixedResult(16),
  encodeOk: (w, r) => encodeStateid4(w, r.lock_stateid),
  decodeOk: (r) => ({ lock_stateid: decodeStateid4(r) }),
  encodeFail: (w, status, body) => {
    if (status === nfsstat4.NFS4ERR_DENIED) encodeLOCK4denied(w, body as LOCK4denied);
  },
  decodeFail: (r, status) => (status === nfsstat4.NFS4ERR_DENIED ? decodeLOCK4denied(r) : undefined),
};
