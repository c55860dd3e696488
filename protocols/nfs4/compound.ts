/**
 * NFSPROC4_COMPOUND (RFC 7530 §15.2, RFC 8881 §16.2): runs the operations in order over one context
 * (current/saved filehandle, current stateid, session), stops at the first that fails, and answers with
 * the results so far; the COMPOUND's status is that of the last operation run.
 *
 *   minorversion not served          → NFS4ERR_MINOR_VERS_MISMATCH, no results (before any op is looked at)
 *   tag not UTF-8                    → NFS4ERR_INVAL, no results
 *   op number unknown in this minor  → result OP_ILLEGAL / NFS4ERR_OP_ILLEGAL
 *   4.0-only op in 4.1+, or an op this server does not implement → NFS4ERR_NOTSUPP
 *   arguments that do not decode     → NFS4ERR_BADXDR for that op
 *   4.0: more than `maxOps` ops      → NFS4ERR_RESOURCE at the first op past the limit
 *   4.1+: the first op must be SEQUENCE (NFS4ERR_OP_NOT_IN_SESSION), except EXCHANGE_ID, CREATE_SESSION,
 *         DESTROY_SESSION, BIND_CONN_TO_SESSION and DESTROY_CLIENTID, which must then be the only op
 *         (NFS4ERR_NOT_ONLY_OP); SEQUENCE anywhere else is NFS4ERR_SEQUENCE_POS (RFC 8881 §2.10.6.1.5, §18.46.3).
 *
 * 4.1+: a reply that would exceed the session's ca_maxresponsesize (RPC header included) ends at the op
 *         that overflows it with NFS4ERR_REP_TOO_BIG (RFC 8881 §2.10.6.4, §15.1.3.3; `ReplyBudget`). An op
 *         that changes something is checked against the bound of its result before it runs, so it is not
 *         run when the reply could not carry its result; the others are measured once they ran.
 *
 * Operations are decoded one at a time as they run, so a COMPOUND that fails early never decodes the rest.
 * The slot reply cache (SEQUENCE) needs the encoded reply: when the request asked for caching it is encoded
 * here, kept in the slot, and sent as raw bytes.
 */
import { isCoreError } from '../../cluster/vfs/errors';
import { debugEnabled, errInfo, type Logger } from '../rpc/log';
import type { RpcCallContext } from '../rpc/types';
import { XdrError } from '../xdr/errors';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { Nfs4Error } from './errors';
import { Nfs4Compound, SeqidReplay, SlotReplay, type AnyNfs4Op } from './op';
import { SEQID_NEUTRAL } from './state/owners';
import { NON_IDEMPOTENT_40 } from './state/reply-cache40';
import type { Nfs4Server } from './server';
import { nfs4StatusOf } from './status';
import { NFS4_OPS } from './table';
import {
  FIRST_OP,
  LAST_OP_BY_MINOR,
  NFS4_TAG_MAX,
  V40_ONLY_OPS,
  nfs_opnum4,
  nfsstat4,
  type COMPOUND4res,
  type nfs_resop4,
} from './types';
import { isUtf8 } from './xdr';

/** COMPOUND4args with the operations left undecoded (they are decoded as they run). */
export interface COMPOUND4args {
  tag: Buffer;
  minorversion: number;
  /** argarray<> length. */
  count: number;
  /** The encoded nfs_argop4s. */
  ops: Buffer;
}

export function decodeCOMPOUND4args(r: XdrReader): COMPOUND4args {
  const tag = Buffer.from(r.string(NFS4_TAG_MAX));
  const minorversion = r.uint32();
  const count = r.uint32();
  const ops = r.rest();
  // Every nfs_argop4 is at least its 4-byte op number: a count the bytes cannot hold is garbage.
  if (count > ops.length / 4) throw new XdrError(`argarray length ${count} exceeds input`);
  return { tag, minorversion, count, ops };
}

export interface ArgOp {
  op: AnyNfs4Op;
  args: unknown;
}

/** Client side: a COMPOUND from typed ops. `raw` ops (tests) are written as given. */
export function encodeCOMPOUND4args(w: XdrWriter, tag: Buffer | string, minorversion: number, ops: readonly (ArgOp | { raw: Buffer; count?: number })[]): void {
  w.string(tag);
  w.uint32(minorversion);
  let n = 0;
  for (const o of ops) n += 'raw' in o ? o.count ?? 1 : 1;
  w.uint32(n);
  for (const o of ops) {
    if ('raw' in o) {
      w.fixedOpaque(o.raw);
      continue;
    }
    w.uint32(o.op.opnum);
    o.op.encodeArgs(w, o.args);
  }
}

/** The ops SEQUENCE need not precede, when alone in their COMPOUND. */
const SESSIONLESS_OPS: ReadonlySet<number> = new Set([
  nfs_opnum4.OP_EXCHANGE_ID,
  nfs_opnum4.OP_CREATE_SESSION,
  nfs_opnum4.OP_DESTROY_SESSION,
  nfs_opnum4.OP_BIND_CONN_TO_SESSION,
  nfs_opnum4.OP_DESTROY_CLIENTID,
]);

export type CompoundReply = { kind: 'res'; res: COMPOUND4res } | { kind: 'raw'; bytes: Buffer };

function opName(opnum: number): string {
  return nfs_opnum4[opnum] ?? `OP_${opnum}`;
}

function failure(c: Nfs4Compound, op: AnyNfs4Op, e: unknown, log: Logger): nfs_resop4 {
  const fields = { conn: c.rpc.connId, xid: c.rpc.xid, op: op.name, index: c.opIndex, client: c.rpc.remote.address };
  if (e instanceof Nfs4Error) {
    log.debug({ ...fields, status: nfsstat4[e.status], detail: e.detail }, 'NFSv4 op error');
    const out: nfs_resop4 = { resop: op.opnum, status: e.status };
    if (e.body !== undefined) out.res = e.body;
    return out;
  }
  if (isCoreError(e)) {
    const status = op.statusOverrides?.[e.errc] ?? nfs4StatusOf(e.errc);
    log.debug({ ...fields, status: nfsstat4[status], detail: e.detail }, 'NFSv4 op error');
    return { resop: op.opnum, status };
  }
  log.error({ ...fields, ...errInfo(e) }, 'NFSv4 op failed');
  return { resop: op.opnum, status: nfsstat4.NFS4ERR_SERVERFAULT };
}

/** 4.0: a seqid-ordered op advances its owner's sequence and keeps its result for replays (state/owners.ts). */
function keepForReplay(c: Nfs4Compound, opnum: number, r: nfs_resop4): void {
  const so = c.seqidOp;
  if (!so) return;
  c.seqidOp = undefined;
  if (SEQID_NEUTRAL.has(r.status)) return;
  so.owner.seqid = so.seqid;
  so.owner.last = { opnum, status: r.status, res: r.res, fh: c.cur };
}

/**
 * Runs a COMPOUND's operations in order. `guard40` (4.0 only, from state/reply-cache40.ts) is called
 * before each operation that changes something; it throws SlotReplay when the request is a retransmission
 * whose reply is kept.
 */
export async function runCompound(server: Nfs4Server, rpc: RpcCallContext, args: COMPOUND4args, log: Logger, guard40?: () => Promise<void>): Promise<CompoundReply> {
  const { tag, minorversion: minor, count } = args;
  if (!server.limits.minorVersions.has(minor)) {
    return { kind: 'res', res: { status: nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH, tag, resarray: [] } };
  }
  if (!isUtf8(tag)) return { kind: 'res', res: { status: nfsstat4.NFS4ERR_INVAL, tag, resarray: [] } };

  const c = new Nfs4Compound(server, rpc, minor, count, log, args.ops);
  const resarray: nfs_resop4[] = [];
  const r = new XdrReader(args.ops);
  const lastOp = LAST_OP_BY_MINOR[minor] ?? LAST_OP_BY_MINOR[LAST_OP_BY_MINOR.length - 1]!;
  let budget: ReplyBudget | undefined;
  try {
    for (let i = 0; i < count; i++) {
      c.opIndex = i;
      let opnum: number;
      try {
        opnum = r.uint32();
      } catch {
        resarray.push({ resop: nfs_opnum4.OP_ILLEGAL, status: nfsstat4.NFS4ERR_BADXDR });
        break;
      }
      if (opnum < FIRST_OP || opnum > lastOp) {
        resarray.push({ resop: nfs_opnum4.OP_ILLEGAL, status: nfsstat4.NFS4ERR_OP_ILLEGAL });
        break;
      }
      const op = NFS4_OPS.get(opnum);
      if (!op || (minor >= 1 && V40_ONLY_OPS.has(opnum))) {
        log.debug({ conn: rpc.connId, xid: rpc.xid, op: opName(opnum), minor }, 'NFSv4 op not supported');
        resarray.push({ resop: opnum, status: nfsstat4.NFS4ERR_NOTSUPP });
        break;
      }
      if (minor >= 1) {
        let rule: nfsstat4 | undefined;
        if (i === 0) {
          if (opnum !== nfs_opnum4.OP_SEQUENCE) {
            if (!SESSIONLESS_OPS.has(opnum)) rule = nfsstat4.NFS4ERR_OP_NOT_IN_SESSION;
            else if (count > 1) rule = nfsstat4.NFS4ERR_NOT_ONLY_OP;
          }
        } else if (opnum === nfs_opnum4.OP_SEQUENCE) rule = nfsstat4.NFS4ERR_SEQUENCE_POS;
        if (rule !== undefined) {
          resarray.push({ resop: opnum, status: rule });
          break;
        }
      } else if (i >= server.limits.maxOps) {
        resarray.push({ resop: opnum, status: nfsstat4.NFS4ERR_RESOURCE });
        break;
      }
      let opArgs: unknown;
      try {
        opArgs = op.decodeArgs(r);
      } catch (e) {
        log.debug({ conn: rpc.connId, xid: rpc.xid, op: op.name, ...errInfo(e) }, 'NFSv4 op arguments do not decode');
        resarray.push({ resop: opnum, status: nfsstat4.NFS4ERR_BADXDR });
        break;
      }
      // Under a budget an op that changes something runs only if its result is sure to fit (its bound);
      // the others run and are measured after.
      if (budget && !budget.fits(8 + (op.maxResultBytes?.(opArgs) ?? 0) + (i < count - 1 ? 8 : 0))) {
        resarray.push({ resop: opnum, status: nfsstat4.NFS4ERR_REP_TOO_BIG });
        break;
      }
      let res: unknown;
      c.seqidOp = undefined;
      try {
        if (guard40 !== undefined && NON_IDEMPOTENT_40.has(opnum)) await guard40();
        res = await op.handle(c, opArgs);
      } catch (e) {
        if (e instanceof SlotReplay) return { kind: 'raw', bytes: e.reply };
        if (e instanceof SeqidReplay) {
          // 4.0 retransmission of a seqid-ordered op: its kept result, and the filehandle it left current.
          resarray.push(e.kept.res === undefined ? { resop: opnum, status: e.kept.status } : { resop: opnum, status: e.kept.status, res: e.kept.res });
          c.cur = e.kept.fh;
          if (e.kept.status !== nfsstat4.NFS4_OK) break;
          continue;
        }
        const f = failure(c, op, e, log);
        keepForReplay(c, opnum, f);
        resarray.push(f);
        break;
      }
      const ok: nfs_resop4 = { resop: opnum, status: nfsstat4.NFS4_OK, res };
      if (i === 0) budget = ReplyBudget.forSession(c, tag);
      if (budget && !budget.add(op, ok, i < count - 1)) {
        // The op ran (one without side effects, or the same as knfsd when its estimate was short): its
        // result just cannot be sent.
        resarray.push({ resop: opnum, status: nfsstat4.NFS4ERR_REP_TOO_BIG });
        break;
      }
      keepForReplay(c, opnum, ok);
      resarray.push(ok);
    }
  } finally {
    // The slot is free again whatever happened; the reply is recorded below when it was asked for.
    if (c.slot) c.slot.inUse = false;
  }
  const last = resarray[resarray.length - 1];
  const res: COMPOUND4res = { status: last ? last.status : nfsstat4.NFS4_OK, tag, resarray };
  for (const r of resarray) server.countOp(r.resop);
  // Only when debug lines are written: building these fields for every COMPOUND cost a microsecond or more.
  if (debugEnabled(log)) {
    log.debug({ conn: rpc.connId, xid: rpc.xid, minor, ops: resarray.map((x) => opName(x.resop).slice(3)).join(','), status: nfsstat4[res.status] }, 'NFSv4 COMPOUND');
  }
  if (c.slot) {
    c.slot.reply = undefined;
    if (c.cacheThis) {
      const w = new XdrWriter();
      encodeCOMPOUND4res(w, res);
      const bytes = Buffer.from(w.toBuffer());
      // Kept only within the negotiated ca_maxresponsesize_cached, so the reply cache stays bounded; a
      // retry of a larger one is answered RETRY_UNCACHED_REP. (Checking each op against the limit as it
      // runs, to answer REP_TOO_BIG_TO_CACHE, is not done yet.)
      if (c.session && bytes.length <= c.session.fore.ca_maxresponsesize_cached) c.slot.reply = bytes;
      return { kind: 'raw', bytes };
    }
  }
  return { kind: 'res', res };
}

export function encodeCOMPOUND4res(w: XdrWriter, res: COMPOUND4res): void {
  w.uint32(res.status);
  w.string(res.tag);
  w.uint32(res.resarray.length);
  for (const r of res.resarray) encodeResop(w, r);
}

function encodeResop(w: XdrWriter, r: nfs_resop4): void {
  w.uint32(r.resop);
  w.uint32(r.status);
  const op = NFS4_OPS.get(r.resop);
  if (!op) return;
  if (r.status === nfsstat4.NFS4_OK) op.encodeOk(w, r.res);
  else op.encodeFail?.(w, r.status, r.res);
}

/** RPC accepted-reply header with an AUTH_NONE verifier: xid, REPLY, MSG_ACCEPTED, verifier (2 words), SUCCESS. */
const RPC_REPLY_HEADER_BYTES = 24;

/**
 * Bytes left under a session's ca_maxresponsesize. Only sessions that negotiated less than this server's
 * own reply cap get one: for the others no reply can exceed what they accept (READ is capped at maxRead,
 * READDIR at its maxcount, and the cap leaves 64 KiB for the rest), so they pay nothing per op.
 */
class ReplyBudget {
  private constructor(private room: number) {}

  static forSession(c: Nfs4Compound, tag: Buffer): ReplyBudget | undefined {
    const limit = c.session?.fore.ca_maxresponsesize;
    if (limit === undefined || limit >= c.server.limits.maxResponseBytes) return undefined;
    // status, tag, result count; then the SEQUENCE result (the first op) is added by the caller.
    return new ReplyBudget(limit - RPC_REPLY_HEADER_BYTES - 12 - ((tag.length + 3) & ~3));
  }

  /** Whether `bytes` more would still fit. */
  fits(bytes: number): boolean {
    return bytes <= this.room;
  }

  /**
   * Counts a result (op number, status and resok); false (nothing counted) when it does not fit. When more
   * ops follow, 8 bytes must stay free for the next one's op number and status: a REP_TOO_BIG there must
   * fit in the reply too.
   */
  add(op: AnyNfs4Op, r: nfs_resop4, more: boolean): boolean {
    let n: number;
    if (op.resultBytes) n = 8 + op.resultBytes(r.res);
    else {
      const w = new XdrWriter(256);
      encodeResop(w, r);
      n = w.length;
    }
    if (n + (more ? 8 : 0) > this.room) return false;
    this.room -= n;
    return true;
  }
}

/** Client side. An op this table cannot decode ends the result list with an XdrError. */
export function decodeCOMPOUND4res(r: XdrReader): COMPOUND4res {
  const status = r.uint32() as nfsstat4;
  const tag = Buffer.from(r.string(NFS4_TAG_MAX));
  const n = r.uint32();
  const resarray: nfs_resop4[] = [];
  for (let i = 0; i < n; i++) {
    const resop = r.uint32();
    const st = r.uint32() as nfsstat4;
    const op = NFS4_OPS.get(resop);
    const out: nfs_resop4 = { resop, status: st };
    if (op) {
      if (st === nfsstat4.NFS4_OK) out.res = op.decodeOk(r);
      else if (op.decodeFail) out.res = op.decodeFail(r, st);
    } else if (st === nfsstat4.NFS4_OK) throw new XdrError(`cannot decode result of op ${resop}`);
    resarray.push(out);
  }
  return { status, tag, resarray };
}
