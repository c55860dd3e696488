/**
 * OP_FREE_STATEID (RFC 8881 §18.38): frees a stateid that holds nothing any more. An open stateid still
 * holds its open (CLOSE frees it): NFS4ERR_LOCKS_HELD; an unknown one: NFS4ERR_BAD_STATEID. The special
 * "current" stateid names the COMPOUND's current stateid.
 */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { CURRENT_STATEID, anyState, stateidEquals } from '../stateid';
import { nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';

/** struct FREE_STATEID4args { stateid4 fsa_stateid; }; */
export interface FREE_STATEID4args {
  fsa_stateid: stateid4;
}

export const FREE_STATEID: Nfs4Op<FREE_STATEID4args, undefined> = {
  opnum: nfs_opnum4.OP_FREE_STATEID,
  name: 'FREE_STATEID',
  decodeArgs: (r) => ({ fsa_stateid: decodeStateid4(r) }),
  encodeArgs: (w, a) => encodeStateid4(w, a.fsa_stateid),
  async handle(c, a) {
    c.client();
    let s = a.fsa_stateid;
    if (stateidEquals(s, CURRENT_STATEID)) {
      if (!c.curStateid) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'no current stateid');
      s = c.curStateid;
    }
    const rec = anyState(c, s);
    if (rec.kind === 'open') throw new Nfs4Error(nfsstat4.NFS4ERR_LOCKS_HELD, 'open stateid: CLOSE it');
    if (rec.held.length > 0) throw new Nfs4Error(nfsstat4.NFS4ERR_LOCKS_HELD, 'the lock stateid may still hold locks');
    c.server.states.removeLock(rec);
    return undefined;
  },
  ...voidOk,
};
