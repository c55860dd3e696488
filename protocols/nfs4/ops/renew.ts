/**
 * OP_RENEW (RFC 7530 §16.29): renews an NFSv4.0 client's lease. Unknown, unconfirmed or earlier-instance
 * client ids are NFS4ERR_STALE_CLIENTID. NFS4ERR_CB_PATH_DOWN is never answered: it only matters to a
 * client holding delegations, and this server grants none.
 */
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4 } from '../types';

/** struct RENEW4args { clientid4 clientid; }; */
export interface RENEW4args {
  clientid: bigint;
}

export const RENEW: Nfs4Op<RENEW4args, undefined> = {
  opnum: nfs_opnum4.OP_RENEW,
  name: 'RENEW',
  decodeArgs: (r) => ({ clientid: r.uint64() }),
  encodeArgs: (w, a) => w.uint64(a.clientid),
  async handle(c, a) {
    c.clientById(a.clientid);
    return undefined;
  },
  ...voidOk,
};
