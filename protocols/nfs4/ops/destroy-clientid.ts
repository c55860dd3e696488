/**
 * OP_DESTROY_CLIENTID (RFC 8881 §18.50): forgets a client that holds no sessions and no state
 * (NFS4ERR_CLIENTID_BUSY otherwise). Unknown client id → NFS4ERR_STALE_CLIENTID.
 */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';

/** struct DESTROY_CLIENTID4args { clientid4 dca_clientid; }; */
export interface DESTROY_CLIENTID4args {
  dca_clientid: bigint;
}

export const DESTROY_CLIENTID: Nfs4Op<DESTROY_CLIENTID4args, undefined> = {
  opnum: nfs_opnum4.OP_DESTROY_CLIENTID,
  name: 'DESTROY_CLIENTID',
  decodeArgs: (r) => ({ dca_clientid: r.uint64() }),
  encodeArgs: (w, a) => w.uint64(a.dca_clientid),
  async handle(c, a) {
    const rec = c.server.liveClient(a.dca_clientid);
    if (!rec) throw new Nfs4Error(nfsstat4.NFS4ERR_STALE_CLIENTID);
    if (rec.sessions.size > 0 || c.server.states.countFor(rec) > 0) throw new Nfs4Error(nfsstat4.NFS4ERR_CLIENTID_BUSY);
    c.server.clients.remove(rec);
    c.server.forgetRecord(rec);
    return undefined;
  },
  ...voidOk,
};
