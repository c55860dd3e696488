/**
 * OP_SEQUENCE (RFC 8881 §18.46, slot rules §2.10.6.1): the first op of every NFSv4.1 COMPOUND outside
 * session setup. Binds the COMPOUND to a session and slot, renews the client's lease, and decides whether
 * the request is new, a retry, or out of order:
 *
 *   unknown session → BADSESSION; slot ≥ table size → BADSLOT; more ops than ca_maxoperations →
 *   TOO_MANY_OPS; operations larger than ca_maxrequestsize → REQ_TOO_BIG; sa_cachethis with a cached-reply
 *   limit too small for any reply → REP_TOO_BIG_TO_CACHE.
 *   seqid = slot's + 1            → new request (the slot is busy until the COMPOUND ends)
 *   seqid = slot's, still running → DELAY
 *   seqid = slot's, reply cached  → that reply again, byte for byte (SEQ_FALSE_RETRY if the operations differ)
 *   seqid = slot's, not cached    → RETRY_UNCACHED_REP
 *   anything else                 → SEQ_MISORDERED
 *
 * sr_status_flags: SEQ4_STATUS_CB_PATH_DOWN while no session of the client has a working back channel
 * (none was bound, its CB_NULL failed, or its connection closed), as RFC 8881 §18.46.3 asks; the client then
 * binds one with BIND_CONN_TO_SESSION.
 */
import { Nfs4Error } from '../errors';
import { fixedResult, opsFingerprint, SlotReplay, type Nfs4Op } from '../op';
import { SEQ4_STATUS_CB_PATH_DOWN, nfs_opnum4, nfsstat4 } from '../types';
import { decodeSessionid4, encodeSessionid4 } from '../xdr';

/** struct SEQUENCE4args { sessionid4 sa_sessionid; sequenceid4 sa_sequenceid; slotid4 sa_slotid; slotid4 sa_highest_slotid; bool sa_cachethis; }; */
export interface SEQUENCE4args {
  sa_sessionid: Buffer;
  sa_sequenceid: number;
  sa_slotid: number;
  sa_highest_slotid: number;
  sa_cachethis: boolean;
}

/** struct SEQUENCE4resok { … }; */
export interface SEQUENCE4resok {
  sr_sessionid: Buffer;
  sr_sequenceid: number;
  sr_slotid: number;
  sr_highest_slotid: number;
  sr_target_highest_slotid: number;
  sr_status_flags: number;
}

/** A SEQUENCE-only COMPOUND reply: status, empty tag, count, SEQUENCE's opnum, status and resok. */
const MIN_REPLY_BYTES = 4 + 4 + 4 + 4 + 4 + 16 + 4 * 5;

export const SEQUENCE: Nfs4Op<SEQUENCE4args, SEQUENCE4resok> = {
  opnum: nfs_opnum4.OP_SEQUENCE,
  name: 'SEQUENCE',
  decodeArgs: (r) => ({
    sa_sessionid: decodeSessionid4(r),
    sa_sequenceid: r.uint32(),
    sa_slotid: r.uint32(),
    sa_highest_slotid: r.uint32(),
    sa_cachethis: r.bool(),
  }),
  encodeArgs: (w, a) => {
    encodeSessionid4(w, a.sa_sessionid);
    w.uint32(a.sa_sequenceid);
    w.uint32(a.sa_slotid);
    w.uint32(a.sa_highest_slotid);
    w.bool(a.sa_cachethis);
  },
  async handle(c, a) {
    const s = c.server.sessions.get(a.sa_sessionid);
    if (!s || s.dead) throw new Nfs4Error(nfsstat4.NFS4ERR_BADSESSION);
    if (c.opCount > s.fore.ca_maxoperations) throw new Nfs4Error(nfsstat4.NFS4ERR_TOO_MANY_OPS, `${c.opCount} > ${s.fore.ca_maxoperations}`);
    if (c.ops.length > s.fore.ca_maxrequestsize) throw new Nfs4Error(nfsstat4.NFS4ERR_REQ_TOO_BIG);
    if (a.sa_slotid >= s.slots.length) throw new Nfs4Error(nfsstat4.NFS4ERR_BADSLOT, `slot ${a.sa_slotid} of ${s.slots.length}`);
    const slot = s.slots[a.sa_slotid]!;
    const fingerprint = opsFingerprint(c.ops);
    if (a.sa_sequenceid === slot.seqid && slot.fingerprint !== undefined) {
      if (slot.inUse) throw new Nfs4Error(nfsstat4.NFS4ERR_DELAY, 'retry of a request still running');
      if (slot.fingerprint !== fingerprint) throw new Nfs4Error(nfsstat4.NFS4ERR_SEQ_FALSE_RETRY);
      if (slot.reply) throw new SlotReplay(slot.reply);
      throw new Nfs4Error(nfsstat4.NFS4ERR_RETRY_UNCACHED_REP);
    }
    if (a.sa_sequenceid !== ((slot.seqid + 1) >>> 0)) throw new Nfs4Error(nfsstat4.NFS4ERR_SEQ_MISORDERED, `slot ${a.sa_slotid} has ${slot.seqid}, got ${a.sa_sequenceid}`);
    if (a.sa_cachethis && s.fore.ca_maxresponsesize_cached < MIN_REPLY_BYTES) throw new Nfs4Error(nfsstat4.NFS4ERR_REP_TOO_BIG_TO_CACHE);
    slot.seqid = a.sa_sequenceid;
    slot.inUse = true;
    slot.reply = undefined;
    slot.fingerprint = fingerprint;
    c.session = s;
    c.slot = slot;
    c.cacheThis = a.sa_cachethis;
    c.server.renew(s.client);
    const highest = s.slots.length - 1;
    return {
      sr_sessionid: s.id,
      sr_sequenceid: a.sa_sequenceid,
      sr_slotid: a.sa_slotid,
      sr_highest_slotid: highest,
      sr_target_highest_slotid: highest,
      sr_status_flags: c.server.callbackPathDown(s.client) ? SEQ4_STATUS_CB_PATH_DOWN : 0,
    };
  },
  ...fixedResult(36),
  encodeOk: (w, r) => {
    encodeSessionid4(w, r.sr_sessionid);
    w.uint32(r.sr_sequenceid);
    w.uint32(r.sr_slotid);
    w.uint32(r.sr_highest_slotid);
    w.uint32(r.sr_target_highest_slotid);
    w.uint32(r.sr_status_flags);
  },
  decodeOk: (r) => ({
    sr_sessionid: decodeSessionid4(r),
    sr_sequenceid: r.uint32(),
    sr_slotid: r.uint32(),
    sr_highest_slotid: r.uint32(),
    sr_target_highest_slotid: r.uint32(),
    sr_status_flags: r.uint32(),
  }),
};
