/**
 * OP_SETCLIENTID_CONFIRM (RFC 7530 §16.34): confirms the record SETCLIENTID made.
 *
 *   unknown client id (or one of an earlier server instance)      → NFS4ERR_STALE_CLIENTID
 *   another principal than SETCLIENTID's                          → NFS4ERR_CLID_INUSE
 *   unconfirmed record, right verifier → confirmed; a confirmed record of the same owner (the client
 *                                        rebooted) is expired with all its state
 *   confirmed record, its pending callback update's verifier      → the update is done
 *   confirmed record, the verifier that confirmed it              → a retransmission: OK
 *   any other verifier                                            → NFS4ERR_STALE_CLIENTID
 */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';
import { decodeVerifier4, encodeVerifier4 } from '../xdr';
import { principalOf } from './exchange-id';

/** struct SETCLIENTID_CONFIRM4args { clientid4 clientid; verifier4 setclientid_confirm; }; */
export interface SETCLIENTID_CONFIRM4args {
  clientid: bigint;
  setclientid_confirm: Buffer;
}

export const SETCLIENTID_CONFIRM: Nfs4Op<SETCLIENTID_CONFIRM4args, undefined> = {
  opnum: nfs_opnum4.OP_SETCLIENTID_CONFIRM,
  name: 'SETCLIENTID_CONFIRM',
  decodeArgs: (r) => ({ clientid: r.uint64(), setclientid_confirm: decodeVerifier4(r) }),
  encodeArgs: (w, a) => {
    w.uint64(a.clientid);
    encodeVerifier4(w, a.setclientid_confirm);
  },
  async handle(c, a) {
    const server = c.server;
    const rec = server.clients.get(a.clientid);
    if (!rec || rec.minor !== 0) throw new Nfs4Error(nfsstat4.NFS4ERR_STALE_CLIENTID);
    if (rec.principal !== principalOf(c.rpc.auth)) throw new Nfs4Error(nfsstat4.NFS4ERR_CLID_INUSE, 'principal differs from SETCLIENTID');
    const v = a.setclientid_confirm;
    if (!rec.confirmed) {
      if (!rec.confirmVerifier?.equals(v)) throw new Nfs4Error(nfsstat4.NFS4ERR_STALE_CLIENTID, 'wrong confirm verifier');
      const previous = server.clients.confirm(rec);
      if (previous) server.expireClient(previous, 'client restarted (new verifier confirmed)');
    } else if (rec.pendingConfirm?.equals(v)) {
      rec.confirmVerifier = rec.pendingConfirm;
      rec.pendingConfirm = undefined;
    } else if (!rec.confirmVerifier?.equals(v)) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_STALE_CLIENTID, 'wrong confirm verifier');
    }
    server.renew(rec);
    return undefined;
  },
  ...voidOk,
};
