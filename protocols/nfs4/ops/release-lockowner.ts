/**
 * OP_RELEASE_LOCKOWNER (RFC 7530 §16.37, NFSv4.0 only): the client is done with a lock-owner; its lock
 * stateids are freed. While it still holds locks (a range LOCK took that LOCKUs, whole or piece by piece,
 * have not given back: state/held-ranges.ts) the answer is NFS4ERR_LOCKS_HELD and nothing changes. An
 * unknown lock-owner is not an error.
 */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { lockOwnerOf } from '../state/owners';
import { nfs_opnum4, nfsstat4, type state_owner4 } from '../types';
import { decodeStateOwner4, encodeStateOwner4 } from '../xdr';

/** struct RELEASE_LOCKOWNER4args { lock_owner4 lock_owner; }; */
export interface RELEASE_LOCKOWNER4args {
  lock_owner: state_owner4;
}

export const RELEASE_LOCKOWNER: Nfs4Op<RELEASE_LOCKOWNER4args, undefined> = {
  opnum: nfs_opnum4.OP_RELEASE_LOCKOWNER,
  name: 'RELEASE_LOCKOWNER',
  decodeArgs: (r) => ({ lock_owner: decodeStateOwner4(r) }),
  encodeArgs: (w, a) => encodeStateOwner4(w, a.lock_owner),
  async handle(c, a) {
    const client = c.clientById(a.lock_owner.clientid);
    const owner = c.server.owners.get('lock', client, a.lock_owner.owner);
    if (!owner) return undefined;
    const locks = c.server.states.locksOfOwner(owner);
    if (locks.some((l) => l.held.length > 0)) throw new Nfs4Error(nfsstat4.NFS4ERR_LOCKS_HELD);
    for (const l of locks) {
      c.server.states.removeLock(l);
      l.open.fs.releaseLocks({ owner: lockOwnerOf(owner) });
    }
    c.server.owners.remove(owner);
    return undefined;
  },
  ...voidOk,
};
