/**
 * OP_SETCLIENTID (RFC 7530 §16.33): an NFSv4.0 client owner (nfs_client_id4) gets a client id and a
 * confirm verifier; SETCLIENTID_CONFIRM then makes the record usable. The cases of §16.33.5:
 *
 *   confirmed record of another principal that holds state → NFS4ERR_CLID_INUSE (else it is replaced)
 *   confirmed record, same verifier   → a callback update: same client id, a new confirm verifier
 *   otherwise (new client, or it rebooted: another verifier) → a new unconfirmed record with a new id,
 *                                       replacing any unconfirmed one; the old confirmed record and its
 *                                       state go when the new one is confirmed
 *
 * The callback address is accepted and not used: this server never grants delegations, so it never has
 * to call a 4.0 client back (and a client behind NAT, as the kernel test's guest is, could not be reached).
 */
import { randomBytes } from 'node:crypto';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { NFS4_OPAQUE_LIMIT, nfs_opnum4, nfsstat4 } from '../types';
import { decodeVerifier4, encodeVerifier4 } from '../xdr';
import { principalOf } from './exchange-id';

/** struct netaddr4 { string na_r_netid<>; string na_r_addr<>; }; (clientaddr4 is the same) */
export interface netaddr4 {
  na_r_netid: Buffer;
  na_r_addr: Buffer;
}

/** struct SETCLIENTID4args { nfs_client_id4 client; cb_client4 callback; uint32_t callback_ident; }; */
export interface SETCLIENTID4args {
  client: { verifier: Buffer; id: Buffer };
  callback: { cb_program: number; cb_location: netaddr4 };
  callback_ident: number;
}

/** struct SETCLIENTID4resok { clientid4 clientid; verifier4 setclientid_confirm; }; */
export interface SETCLIENTID4resok {
  clientid: bigint;
  setclientid_confirm: Buffer;
}

const NETADDR_MAX = 128;

function decodeNetaddr4(r: XdrReader): netaddr4 {
  return { na_r_netid: Buffer.from(r.string(NETADDR_MAX)), na_r_addr: Buffer.from(r.string(NETADDR_MAX)) };
}

function encodeNetaddr4(w: XdrWriter, a: netaddr4): void {
  w.string(a.na_r_netid);
  w.string(a.na_r_addr);
}

export const SETCLIENTID: Nfs4Op<SETCLIENTID4args, SETCLIENTID4resok> = {
  opnum: nfs_opnum4.OP_SETCLIENTID,
  name: 'SETCLIENTID',
  decodeArgs: (r) => ({
    client: { verifier: decodeVerifier4(r), id: Buffer.from(r.opaque(NFS4_OPAQUE_LIMIT)) },
    callback: { cb_program: r.uint32(), cb_location: decodeNetaddr4(r) },
    callback_ident: r.uint32(),
  }),
  encodeArgs: (w, a) => {
    encodeVerifier4(w, a.client.verifier);
    w.opaque(a.client.id);
    w.uint32(a.callback.cb_program);
    encodeNetaddr4(w, a.callback.cb_location);
    w.uint32(a.callback_ident);
  },
  async handle(c, a) {
    const { verifier, id } = a.client;
    const principal = principalOf(c.rpc.auth);
    const server = c.server;
    const conf = server.clients.confirmedFor(id);
    if (conf && conf.principal !== principal) {
      if (server.states.countFor(conf) > 0 || conf.sessions.size > 0) {
        throw new Nfs4Error(nfsstat4.NFS4ERR_CLID_INUSE, 'owner in use by another principal', { na_r_netid: Buffer.from('tcp'), na_r_addr: Buffer.alloc(0) });
      }
      server.expireClient(conf, 'replaced by another principal');
    } else if (conf && conf.verifier.equals(verifier) && conf.minor === 0) {
      const unconf = server.clients.unconfirmedFor(id);
      if (unconf) server.clients.remove(unconf);
      conf.pendingConfirm = randomBytes(8);
      server.renew(conf);
      return { clientid: conf.clientid, setclientid_confirm: conf.pendingConfirm };
    }
    if (server.clients.size >= server.limits.maxClients) {
      server.sweep();
      if (server.clients.size >= server.limits.maxClients) throw new Nfs4Error(nfsstat4.NFS4ERR_RESOURCE, 'client record limit');
    }
    const rec = server.clients.create(id, verifier, principal, 0, server.now());
    rec.confirmVerifier = randomBytes(8);
    return { clientid: rec.clientid, setclientid_confirm: rec.confirmVerifier };
  },
  encodeOk: (w, r) => {
    w.uint64(r.clientid);
    encodeVerifier4(w, r.setclientid_confirm);
  },
  decodeOk: (r) => ({ clientid: r.uint64(), setclientid_confirm: decodeVerifier4(r) }),
  encodeFail: (w, status, body) => {
    if (status === nfsstat4.NFS4ERR_CLID_INUSE) encodeNetaddr4(w, (body as netaddr4 | undefined) ?? { na_r_netid: Buffer.alloc(0), na_r_addr: Buffer.alloc(0) });
  },
  decodeFail: (r, status) => (status === nfsstat4.NFS4ERR_CLID_INUSE ? decodeNetaddr4(r) : undefined),
};
