/**
 * OP_RECLAIM_COMPLETE (RFC 8881 §18.51): the client has reclaimed all it will: its reclaims end, its new
 * opens and locks may start (outside a grace period), and once every client of the earlier server
 * instance has said so the grace period ends early. A second global RECLAIM_COMPLETE is
 * NFS4ERR_COMPLETE_ALREADY; rca_one_fs needs a current filehandle.
 */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';

/** struct RECLAIM_COMPLETE4args { bool rca_one_fs; }; */
export interface RECLAIM_COMPLETE4args {
  rca_one_fs: boolean;
}

export const RECLAIM_COMPLETE: Nfs4Op<RECLAIM_COMPLETE4args, undefined> = {
  opnum: nfs_opnum4.OP_RECLAIM_COMPLETE,
  name: 'RECLAIM_COMPLETE',
  decodeArgs: (r) => ({ rca_one_fs: r.bool() }),
  encodeArgs: (w, a) => w.bool(a.rca_one_fs),
  async handle(c, a) {
    const client = c.client();
    if (a.rca_one_fs) {
      c.curFh();
      return undefined;
    }
    if (client.reclaimComplete) throw new Nfs4Error(nfsstat4.NFS4ERR_COMPLETE_ALREADY);
    client.reclaimComplete = true;
    c.server.reclaimComplete(client);
    return undefined;
  },
  ...voidOk,
};
