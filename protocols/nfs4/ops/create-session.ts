/**
 * OP_CREATE_SESSION (RFC 8881 §18.36): creates a session for a client id and, the first time, confirms it
 * (a confirmed record of the same owner with another verifier, a rebooted client, is then expired).
 *
 *   csa_sequence = the client's CREATE_SESSION slot: last + 1 → new request; = last → the session created
 *   then, again; anything else → NFS4ERR_SEQ_MISORDERED. Failures do not use up the sequence id (as Linux
 *   knfsd: bad arguments are answered before the slot is looked at; a principal mismatch stays one). Unknown client id →
 *   NFS4ERR_STALE_CLIENTID. Another principal than EXCHANGE_ID's on an unconfirmed record → NFS4ERR_CLID_INUSE.
 *
 * Channel attributes: the fore channel gets min(asked, this server's limits); a request or response size too
 * small to carry a SEQUENCE (fore) or CB_SEQUENCE (back) is NFS4ERR_TOOSMALL; ca_maxrequests 0 is NFS4ERR_INVAL. No RDMA, no
 * persistence; the back channel attributes are echoed.
 *
 * Back channel: with CREATE_SESSION4_FLAG_CONN_BACK_CHAN over TCP this connection becomes the session's back
 * channel too (csr_flags says so) and is checked with a CB_NULL (server.bindBackchannel); the callback
 * credential is the first AUTH_SYS (else AUTH_NONE) entry of csa_sec_parms.
 */
import { XdrError } from '../../xdr/errors';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { authSysCred } from '../../rpc/auth/sys';
import { NULL_AUTH, type OpaqueAuth } from '../../rpc/message';
import { AUTH_NONE, AUTH_SYS, RPCSEC_GSS } from '../../rpc/types';
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { CREATE_SESSION4_FLAG_CONN_BACK_CHAN, NFS4_LIST_MAX, nfs_opnum4, nfsstat4, type channel_attrs4 } from '../types';
import { decodeChannelAttrs4, decodeSessionid4, encodeChannelAttrs4, encodeSessionid4 } from '../xdr';
import { principalOf } from './exchange-id';

/** union callback_sec_parms4 switch (uint32_t cb_secflavor) { AUTH_NONE: void; AUTH_SYS: authsys_parms; RPCSEC_GSS: gss_cb_handles4 }; */
export type callback_sec_parms4 =
  | { cb_secflavor: typeof AUTH_NONE }
  | { cb_secflavor: typeof AUTH_SYS; stamp: number; machinename: Buffer; uid: number; gid: number; gids: number[] }
  | { cb_secflavor: typeof RPCSEC_GSS; service: number; handle_from_server: Buffer; handle_from_client: Buffer };

/** struct CREATE_SESSION4args { … }; */
export interface CREATE_SESSION4args {
  csa_clientid: bigint;
  csa_sequence: number;
  csa_flags: number;
  csa_fore_chan_attrs: channel_attrs4;
  csa_back_chan_attrs: channel_attrs4;
  csa_cb_program: number;
  csa_sec_parms: callback_sec_parms4[];
}

/** struct CREATE_SESSION4resok { … }; */
export interface CREATE_SESSION4resok {
  csr_sessionid: Buffer;
  csr_sequence: number;
  csr_flags: number;
  csr_fore_chan_attrs: channel_attrs4;
  csr_back_chan_attrs: channel_attrs4;
}

/** Smallest ca_maxrequestsize / ca_maxresponsesize that can carry a SEQUENCE-only COMPOUND and its reply. */
export const MIN_CHANNEL_BYTES = 128;
const CREATE_SESSION_FLAGS = 0x7;

function decodeSecParms(r: XdrReader): callback_sec_parms4 {
  const f = r.uint32();
  if (f === AUTH_NONE) return { cb_secflavor: f };
  if (f === AUTH_SYS) {
    const stamp = r.uint32();
    const machinename = Buffer.from(r.string(255));
    const uid = r.uint32();
    const gid = r.uint32();
    return { cb_secflavor: f, stamp, machinename, uid, gid, gids: r.array(16, (x) => x.uint32()) };
  }
  if (f === RPCSEC_GSS) {
    const service = r.uint32();
    return { cb_secflavor: f, service, handle_from_server: Buffer.from(r.opaque(1024)), handle_from_client: Buffer.from(r.opaque(1024)) };
  }
  throw new XdrError(`bad callback_sec_parms4 flavor ${f}`);
}

/** The credential for callbacks: the client's first AUTH_SYS parameters, else AUTH_NONE if offered. */
export function callbackCred(parms: readonly callback_sec_parms4[]): OpaqueAuth | undefined {
  for (const p of parms) {
    if (p.cb_secflavor === AUTH_SYS) {
      return authSysCred({ stamp: p.stamp, machineName: p.machinename.toString('latin1'), uid: p.uid, gid: p.gid, gids: p.gids });
    }
  }
  return parms.some((p) => p.cb_secflavor === AUTH_NONE) ? NULL_AUTH : undefined;
}

function encodeSecParms(w: XdrWriter, p: callback_sec_parms4): void {
  w.uint32(p.cb_secflavor);
  if (p.cb_secflavor === AUTH_SYS) {
    w.uint32(p.stamp);
    w.string(p.machinename);
    w.uint32(p.uid);
    w.uint32(p.gid);
    w.uint32(p.gids.length);
    for (const g of p.gids) w.uint32(g);
  } else if (p.cb_secflavor === RPCSEC_GSS) {
    w.uint32(p.service);
    w.opaque(p.handle_from_server);
    w.opaque(p.handle_from_client);
  }
}

export const CREATE_SESSION: Nfs4Op<CREATE_SESSION4args, CREATE_SESSION4resok> = {
  opnum: nfs_opnum4.OP_CREATE_SESSION,
  name: 'CREATE_SESSION',
  decodeArgs: (r) => ({
    csa_clientid: r.uint64(),
    csa_sequence: r.uint32(),
    csa_flags: r.uint32(),
    csa_fore_chan_attrs: decodeChannelAttrs4(r),
    csa_back_chan_attrs: decodeChannelAttrs4(r),
    csa_cb_program: r.uint32(),
    csa_sec_parms: r.array(NFS4_LIST_MAX, decodeSecParms),
  }),
  encodeArgs: (w, a) => {
    w.uint64(a.csa_clientid);
    w.uint32(a.csa_sequence);
    w.uint32(a.csa_flags);
    encodeChannelAttrs4(w, a.csa_fore_chan_attrs);
    encodeChannelAttrs4(w, a.csa_back_chan_attrs);
    w.uint32(a.csa_cb_program);
    w.uint32(a.csa_sec_parms.length);
    for (const p of a.csa_sec_parms) encodeSecParms(w, p);
  },
  async handle(c, a) {
    const server = c.server;
    // Argument checks first: like Linux knfsd they consume no sequence id and are not recorded for replay.
    if (a.csa_flags & ~CREATE_SESSION_FLAGS) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `csa_flags ${a.csa_flags.toString(16)}`);
    const f = a.csa_fore_chan_attrs;
    if (f.ca_maxrequests === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'ca_maxrequests 0');
    if (f.ca_maxrequestsize < MIN_CHANNEL_BYTES || f.ca_maxresponsesize < MIN_CHANNEL_BYTES) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_TOOSMALL, 'fore channel sizes cannot carry a SEQUENCE');
    }
    const b = a.csa_back_chan_attrs;
    if (b.ca_maxrequestsize < MIN_CHANNEL_BYTES || b.ca_maxresponsesize < MIN_CHANNEL_BYTES) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_TOOSMALL, 'back channel sizes cannot carry a CB_SEQUENCE');
    }
    const rec = server.liveClient(a.csa_clientid);
    if (!rec) throw new Nfs4Error(nfsstat4.NFS4ERR_STALE_CLIENTID);
    if (rec.csReply && rec.csReply.seq === a.csa_sequence) return rec.csReply.reply as CREATE_SESSION4resok;
    if (a.csa_sequence !== ((rec.csSeq + 1) >>> 0)) throw new Nfs4Error(nfsstat4.NFS4ERR_SEQ_MISORDERED);
    if (!rec.confirmed && rec.principal !== principalOf(c.rpc.auth)) throw new Nfs4Error(nfsstat4.NFS4ERR_CLID_INUSE, 'principal differs from EXCHANGE_ID');
    const L = server.limits;
    const fore: channel_attrs4 = {
      ca_headerpadsize: 0,
      ca_maxrequestsize: Math.min(f.ca_maxrequestsize, L.maxRequestBytes),
      ca_maxresponsesize: Math.min(f.ca_maxresponsesize, L.maxResponseBytes),
      ca_maxresponsesize_cached: Math.min(f.ca_maxresponsesize_cached, L.maxCachedResponseBytes),
      ca_maxoperations: Math.min(f.ca_maxoperations, L.maxOps),
      ca_maxrequests: Math.min(f.ca_maxrequests, L.maxSlots),
      ca_rdma_ird: [],
    };
    const back: channel_attrs4 = { ...b, ca_rdma_ird: [] };
    if (!rec.confirmed) {
      const previous = server.clients.confirm(rec);
      if (previous) server.expireClient(previous, 'client restarted (new verifier confirmed)');
    }
    const backchannel = a.csa_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN ? c.rpc.backchannel : undefined;
    const flags = backchannel ? CREATE_SESSION4_FLAG_CONN_BACK_CHAN : 0;
    const session = server.sessions.create(rec, fore, back, flags, a.csa_cb_program, callbackCred(a.csa_sec_parms));
    if (backchannel) server.bindBackchannel(session, backchannel());
    server.renew(rec);
    const res: CREATE_SESSION4resok = {
      csr_sessionid: session.id,
      csr_sequence: a.csa_sequence,
      csr_flags: flags,
      csr_fore_chan_attrs: fore,
      csr_back_chan_attrs: back,
    };
    // This sequence id is used: a retransmission gets this same session back (RFC 8881 §18.36.4).
    rec.csSeq = a.csa_sequence;
    rec.csReply = { seq: a.csa_sequence, reply: res };
    c.log.info({ clientid: rec.clientid.toString(16), session: session.id.toString('hex'), slots: fore.ca_maxrequests, backChannel: !!backchannel, client: c.rpc.remote.address }, 'NFSv4.1 session created');
    return res;
  },
  encodeOk: (w, r) => {
    encodeSessionid4(w, r.csr_sessionid);
    w.uint32(r.csr_sequence);
    w.uint32(r.csr_flags);
    encodeChannelAttrs4(w, r.csr_fore_chan_attrs);
    encodeChannelAttrs4(w, r.csr_back_chan_attrs);
  },
  decodeOk: (r) => ({
    csr_sessionid: decodeSessionid4(r),
    csr_sequence: r.uint32(),
    csr_flags: r.uint32(),
    csr_fore_chan_attrs: decodeChannelAttrs4(r),
    csr_back_chan_attrs: decodeChannelAttrs4(r),
  }),
};
