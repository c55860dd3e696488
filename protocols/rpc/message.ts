/**
 * ONC RPC v2 message headers (RFC 5531 §9): decoding CALL headers and encoding replies on the server
 * side, and the mirror image (encoding calls, decoding replies) for our client. Pure and synchronous.
 *
 *   struct rpc_msg { unsigned int xid; union switch (msg_type mtype) { case CALL: call_body cbody;
 *                    case REPLY: reply_body rbody; } body; };
 *   struct call_body { unsigned int rpcvers; unsigned int prog; unsigned int vers; unsigned int proc;
 *                      opaque_auth cred; opaque_auth verf; };    (rpcvers must be 2; args follow)
 *   struct opaque_auth { auth_flavor flavor; opaque body<400>; };
 */
import { XdrError } from '../xdr/errors';
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import { AUTH_NONE } from './types';

export const RPC_VERSION = 2;

// enum msg_type
export const CALL = 0;
export const REPLY = 1;

// enum reply_stat
export const MSG_ACCEPTED = 0;
export const MSG_DENIED = 1;

// enum accept_stat
export const SUCCESS = 0;
export const PROG_UNAVAIL = 1;
export const PROG_MISMATCH = 2;
export const PROC_UNAVAIL = 3;
export const GARBAGE_ARGS = 4;
export const SYSTEM_ERR = 5;

// enum reject_stat
export const RPC_MISMATCH = 0;
export const AUTH_ERROR = 1;

// enum auth_stat
export const AUTH_OK = 0;
export const AUTH_BADCRED = 1;
export const AUTH_REJECTEDCRED = 2;
export const AUTH_BADVERF = 3;
export const AUTH_REJECTEDVERF = 4;
export const AUTH_TOOWEAK = 5;
export const AUTH_INVALIDRESP = 6;
export const AUTH_FAILED = 7;
export const AUTH_KERB_GENERIC = 8;
export const AUTH_TIMEEXPIRE = 9;
export const AUTH_TKT_FILE = 10;
export const AUTH_DECODE = 11;
export const AUTH_NET_ADDR = 12;
export const RPCSEC_GSS_CREDPROBLEM = 13;
export const RPCSEC_GSS_CTXPROBLEM = 14;

/** opaque_auth body limit. */
export const MAX_AUTH_BYTES = 400;

export type AcceptStat =
  | typeof SUCCESS
  | typeof PROG_UNAVAIL
  | typeof PROG_MISMATCH
  | typeof PROC_UNAVAIL
  | typeof GARBAGE_ARGS
  | typeof SYSTEM_ERR;

export const ACCEPT_STAT_NAMES: Readonly<Record<AcceptStat, string>> = {
  [SUCCESS]: 'SUCCESS',
  [PROG_UNAVAIL]: 'PROG_UNAVAIL',
  [PROG_MISMATCH]: 'PROG_MISMATCH',
  [PROC_UNAVAIL]: 'PROC_UNAVAIL',
  [GARBAGE_ARGS]: 'GARBAGE_ARGS',
  [SYSTEM_ERR]: 'SYSTEM_ERR',
};

export interface OpaqueAuth {
  flavor: number;
  body: Buffer;
}

/** AUTH_NONE with an empty body: the verifier of every reply we send. */
export const NULL_AUTH: Readonly<OpaqueAuth> = Object.freeze({ flavor: AUTH_NONE, body: Buffer.alloc(0) });

export interface CallHeader {
  xid: number;
  rpcvers: number;
  prog: number;
  vers: number;
  proc: number;
  cred: OpaqueAuth;
  verf: OpaqueAuth;
}

/** rejected_reply: RPC_MISMATCH carries the supported range, AUTH_ERROR an auth_stat. */
export type RejectedReply =
  | { stat: typeof RPC_MISMATCH; low: number; high: number }
  | { stat: typeof AUTH_ERROR; authStat: number };

/** The accepted_reply union, minus the SUCCESS results (they follow, encoded by the procedure). */
export type AcceptedReply =
  | { stat: typeof PROG_MISMATCH; low: number; high: number }
  | { stat: Exclude<AcceptStat, typeof PROG_MISMATCH> };

/**
 * Outcome of decoding a message on the server side:
 *  - `call`: a well-formed v2 call header; the reader is left at the procedure arguments.
 *  - `reject`: the xid is known but the call must be refused (wrong rpcvers, oversized auth).
 *  - `ignore`: not a CALL (a stray REPLY): no answer is due.
 * Input too short to decode throws XdrError: there is nothing to answer, the record is dropped.
 */
export type CallDecodeResult =
  | { kind: 'call'; call: CallHeader }
  | { kind: 'reject'; xid: number; reject: RejectedReply }
  | { kind: 'ignore'; xid: number; msgType: number };

export function decodeCallHeader(r: XdrReader): CallDecodeResult {
  const xid = r.uint32();
  const msgType = r.uint32();
  if (msgType !== CALL) return { kind: 'ignore', xid, msgType };
  const rpcvers = r.uint32();
  // Beyond rpcvers a different RPC version's layout is unknown: answer from what we have.
  if (rpcvers !== RPC_VERSION) {
    return { kind: 'reject', xid, reject: { stat: RPC_MISMATCH, low: RPC_VERSION, high: RPC_VERSION } };
  }
  const prog = r.uint32();
  const vers = r.uint32();
  const proc = r.uint32();
  const cred = decodeOpaqueAuthBounded(r);
  if (cred === undefined) return { kind: 'reject', xid, reject: { stat: AUTH_ERROR, authStat: AUTH_BADCRED } };
  const verf = decodeOpaqueAuthBounded(r);
  if (verf === undefined) return { kind: 'reject', xid, reject: { stat: AUTH_ERROR, authStat: AUTH_BADVERF } };
  return { kind: 'call', call: { xid, rpcvers, prog, vers, proc, cred, verf } };
}

/** opaque_auth; `undefined` when the declared body length is over 400 (answerable: we know the xid). */
function decodeOpaqueAuthBounded(r: XdrReader): OpaqueAuth | undefined {
  const flavor = r.uint32();
  const len = r.uint32();
  if (len > MAX_AUTH_BYTES) return undefined;
  // The usual verifier: one shared (frozen) object instead of two allocations per call.
  if (len === 0 && flavor === AUTH_NONE) return NULL_AUTH;
  return { flavor, body: r.fixedOpaque(len) };
}

export function decodeOpaqueAuth(r: XdrReader): OpaqueAuth {
  const flavor = r.uint32();
  return { flavor, body: r.opaque(MAX_AUTH_BYTES) };
}

export function encodeOpaqueAuth(w: XdrWriter, a: OpaqueAuth): void {
  w.uint32(a.flavor).opaque(a.body);
}

export function encodeCallHeader(w: XdrWriter, c: CallHeader): void {
  w.uint32(c.xid).uint32(CALL).uint32(c.rpcvers).uint32(c.prog).uint32(c.vers).uint32(c.proc);
  encodeOpaqueAuth(w, c.cred);
  encodeOpaqueAuth(w, c.verf);
}

/** Accepted reply header; for SUCCESS the caller appends the procedure's results. */
export function encodeAcceptedReply(w: XdrWriter, xid: number, verf: OpaqueAuth, body: AcceptedReply): void {
  w.uint32(xid).uint32(REPLY).uint32(MSG_ACCEPTED);
  encodeOpaqueAuth(w, verf);
  w.uint32(body.stat);
  if (body.stat === PROG_MISMATCH) w.uint32(body.low).uint32(body.high);
}

export function encodeRejectedReply(w: XdrWriter, xid: number, rej: RejectedReply): void {
  w.uint32(xid).uint32(REPLY).uint32(MSG_DENIED).uint32(rej.stat);
  if (rej.stat === RPC_MISMATCH) w.uint32(rej.low).uint32(rej.high);
  else w.uint32(rej.authStat);
}

export type ReplyHeader =
  | { xid: number; kind: 'accepted'; verf: OpaqueAuth; accept: AcceptedReply }
  | { xid: number; kind: 'denied'; reject: RejectedReply };

/** Client side: decodes a reply header; the reader is left at the results (for SUCCESS). */
export function decodeReplyHeader(r: XdrReader): ReplyHeader {
  const xid = r.uint32();
  const msgType = r.uint32();
  if (msgType !== REPLY) throw new XdrError(`expected REPLY, got msg_type ${msgType}`);
  const replyStat = r.uint32();
  if (replyStat === MSG_ACCEPTED) {
    const verf = decodeOpaqueAuth(r);
    const stat = r.uint32();
    switch (stat) {
      case PROG_MISMATCH:
        return { xid, kind: 'accepted', verf, accept: { stat, low: r.uint32(), high: r.uint32() } };
      case SUCCESS:
      case PROG_UNAVAIL:
      case PROC_UNAVAIL:
      case GARBAGE_ARGS:
      case SYSTEM_ERR:
        return { xid, kind: 'accepted', verf, accept: { stat } };
      default:
        throw new XdrError(`bad accept_stat ${stat}`);
    }
  }
  if (replyStat === MSG_DENIED) {
    const stat = r.uint32();
    if (stat === RPC_MISMATCH) return { xid, kind: 'denied', reject: { stat, low: r.uint32(), high: r.uint32() } };
    if (stat === AUTH_ERROR) return { xid, kind: 'denied', reject: { stat, authStat: r.uint32() } };
    throw new XdrError(`bad reject_stat ${stat}`);
  }
  throw new XdrError(`bad reply_stat ${replyStat}`);
}

/** A one-line description of a reply status, for errors and logs. */
export function describeReply(h: ReplyHeader): string {
  if (h.kind === 'accepted') {
    const name = ACCEPT_STAT_NAMES[h.accept.stat];
    return h.accept.stat === PROG_MISMATCH ? `${name} (${h.accept.low}..${h.accept.high})` : name;
  }
  return h.reject.stat === RPC_MISMATCH
    ? `RPC_MISMATCH (${h.reject.low}..${h.reject.high})`
    : `AUTH_ERROR (auth_stat ${h.reject.authStat})`;
}
