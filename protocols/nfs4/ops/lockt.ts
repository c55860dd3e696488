/**
 * OP_LOCKT (RFC 7530 §16.11, RFC 8881 §18.11): would this lock-owner get this lock? NFS4ERR_DENIED with
 * the conflicting lock (LOCK4denied) or NFS4_OK; nothing is taken. In 4.0 the owner's client id must be a
 * confirmed client (NFS4ERR_STALE_CLIENTID). The range rules are LOCK's.
 */
import { voidOk, type Nfs4Op } from '../op';
import { lockOwnerOf } from '../state/owners';
import { nfs_opnum4, nfsstat4, type state_owner4 } from '../types';
import { decodeStateOwner4, encodeStateOwner4 } from '../xdr';
import { checkLockType, decodeLOCK4denied, deniedError, encodeLOCK4denied, isWriteLock, lockRange, lockTarget, type LOCK4denied, type nfs_lock_type4 } from './lock-common';

/** struct LOCKT4args { nfs_lock_type4 locktype; offset4 offset; length4 length; lock_owner4 owner; }; */
export interface LOCKT4args {
  locktype: nfs_lock_type4;
  offset: bigint;
  length: bigint;
  owner: state_owner4;
}

export const LOCKT: Nfs4Op<LOCKT4args, undefined> = {
  opnum: nfs_opnum4.OP_LOCKT,
  name: 'LOCKT',
  decodeArgs: (r) => ({ locktype: r.uint32(), offset: r.uint64(), length: r.uint64(), owner: decodeStateOwner4(r) }),
  encodeArgs: (w, a) => {
    w.uint32(a.locktype);
    w.uint64(a.offset);
    w.uint64(a.length);
    encodeStateOwner4(w, a.owner);
  },
  async handle(c, a) {
    const fh = lockTarget(c);
    checkLockType(a.locktype);
    const range = lockRange(a.offset, a.length);
    const client = c.clientById(a.owner.clientid);
    const req = { owner: lockOwnerOf({ client, owner: a.owner.owner }), offset: range.offset, length: range.length, exclusive: isWriteLock(a.locktype) };
    const conflict = await fh.fs.testLock(fh.cred, fh.handle, req);
    if (conflict) throw deniedError(conflict);
    return undefined;
  },
  ...voidOk,
  encodeFail: (w, status, body) => {
    if (status === nfsstat4.NFS4ERR_DENIED) encodeLOCK4denied(w, body as LOCK4denied);
  },
  decodeFail: (r, status) => (status === nfsstat4.NFS4ERR_DENIED ? decodeLOCK4denied(r) : undefined),
};

