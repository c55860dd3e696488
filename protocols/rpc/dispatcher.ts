/**
 * The program/version/procedure table and the life of one call, transport-independent:
 *
 *   header → auth → program → version (PROG_MISMATCH low/high) → flavor allowed? (AUTH_TOOWEAK)
 *   → procedure (PROC_UNAVAIL) → admit hook → duplicate-request cache → decode args (GARBAGE_ARGS)
 *   → await handle (a throw → SYSTEM_ERR, logged with the xid) → encode reply.
 *
 * `dispatch` never throws: every failure becomes a reply or a silent drop, so bad input cannot take
 * the process down. Replies are returned as segments (XdrWriter.segmentsOut) so READ data goes to
 * writev without a copy; the transport adds the record mark (TCP) or concatenates (UDP).
 */
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { authenticate } from './auth/authenticate';
import type { RpcBackchannel } from './backchannel';
import { DuplicateRequestCache, drcKey } from './drc';
import { errInfo, noopLogger, type Logger } from './log';
import {
  ACCEPT_STAT_NAMES,
  AUTH_ERROR,
  AUTH_OK,
  AUTH_TOOWEAK,
  GARBAGE_ARGS,
  NULL_AUTH,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  RPC_MISMATCH,
  SUCCESS,
  SYSTEM_ERR,
  decodeCallHeader,
  encodeAcceptedReply,
  encodeRejectedReply,
  type AcceptedReply,
  type CallHeader,
  type RejectedReply,
} from './message';
import {
  AUTH_NONE,
  AUTH_SYS,
  type RpcCallContext,
  type RpcPeer,
  type RpcProcedure,
  type RpcProgramVersion,
} from './types';

const DEFAULT_FLAVORS: ReadonlySet<number> = new Set([AUTH_NONE, AUTH_SYS]);

/** One received message and where it came from. */
export interface DispatchRequest {
  record: Buffer;
  remote: RpcPeer;
  local: { address: string; port: number };
  transport: 'tcp' | 'udp';
  connId: number;
  /** Aborted when the connection closes or the server shuts down. */
  signal: AbortSignal;
  /** Where procedures register work to run after the reply has been sent (see RpcCallContext). */
  onReplySent?: (fn: () => void) => void;
  /** Keeps the record alive past the reply (see RpcCallContext.retainRequest). */
  retainRequest?: () => () => void;
  /** TCP: the connection's back channel (see RpcCallContext). */
  backchannel?: () => RpcBackchannel;
}

export type CallOutcome =
  | 'SUCCESS'
  | 'PROG_UNAVAIL'
  | 'PROG_MISMATCH'
  | 'PROC_UNAVAIL'
  | 'GARBAGE_ARGS'
  | 'SYSTEM_ERR'
  | 'RPC_MISMATCH'
  | 'AUTH_ERROR'
  /** Reply resent from the duplicate-request cache. */
  | 'DRC_REPLAY'
  /** No reply: undecodable header, stray REPLY, or a retransmission of a call still running. */
  | 'DROPPED';

/** Reported once per message, for metrics. */
export interface CallObservation {
  prog: number;
  vers: number;
  proc: number;
  /** Procedure name when the procedure exists. */
  procName?: string;
  outcome: CallOutcome;
  transport: 'tcp' | 'udp';
  seconds: number;
}

export interface DispatcherOptions {
  logger?: Logger;
  /** Shared cache for non-idempotent procedures; `null` disables it. */
  drc?: DuplicateRequestCache | null;
  onCall?: (o: CallObservation) => void;
}

interface ProgramEntry {
  versions: Map<number, RpcProgramVersion>;
  low: number;
  high: number;
}

/** Result of one dispatch step: the reply segments (or none) and what happened. */
interface Step {
  reply: Buffer[] | undefined;
  outcome: CallOutcome;
  procName?: string;
}

export class RpcDispatcher {
  private readonly programsByNumber = new Map<number, ProgramEntry>();
  private readonly logger: Logger;
  private readonly drc: DuplicateRequestCache | null;
  private readonly onCall: ((o: CallObservation) => void) | undefined;

  constructor(opts: DispatcherOptions = {}) {
    this.logger = opts.logger ?? noopLogger;
    this.drc = opts.drc === undefined ? new DuplicateRequestCache() : opts.drc;
    this.onCall = opts.onCall;
  }

  /** Adds one program version. Adding the same (prog, vers) twice is a programming error. */
  addProgram(pv: RpcProgramVersion): void {
    let p = this.programsByNumber.get(pv.prog);
    if (!p) {
      p = { versions: new Map(), low: pv.vers, high: pv.vers };
      this.programsByNumber.set(pv.prog, p);
    }
    if (p.versions.has(pv.vers)) throw new Error(`program ${pv.prog} version ${pv.vers} already added`);
    p.versions.set(pv.vers, pv);
    p.low = Math.min(p.low, pv.vers);
    p.high = Math.max(p.high, pv.vers);
  }

  programs(): RpcProgramVersion[] {
    const out: RpcProgramVersion[] = [];
    for (const p of this.programsByNumber.values()) out.push(...p.versions.values());
    return out;
  }

  /** Lowest and highest supported version of `prog`, as PROG_MISMATCH reports them. */
  versionRange(prog: number): { low: number; high: number } | undefined {
    const p = this.programsByNumber.get(prog);
    return p ? { low: p.low, high: p.high } : undefined;
  }

  /** Handles one message. Resolves to the reply message (without record mark), or undefined to send nothing. */
  async dispatch(req: DispatchRequest): Promise<Buffer[] | undefined> {
    const started = process.hrtime.bigint();
    let call: CallHeader | undefined;
    let step: Step;
    try {
      const r = new XdrReader(req.record);
      let decoded;
      try {
        decoded = decodeCallHeader(r);
      } catch (e) {
        this.logger.debug({ conn: req.connId, client: req.remote.address, bytes: req.record.length, ...errInfo(e) }, 'rpc: undecodable call header, dropped');
        return undefined;
      }
      if (decoded.kind === 'ignore') {
        this.logger.debug({ conn: req.connId, client: req.remote.address, xid: decoded.xid, msgType: decoded.msgType }, 'rpc: not a CALL, ignored');
        return undefined;
      }
      if (decoded.kind === 'reject') {
        step = this.rejected(decoded.xid, decoded.reject);
      } else {
        call = decoded.call;
        step = await this.dispatchCall(req, call, r);
      }
    } catch (e) {
      // Only a bug in this file can get here; still answer rather than crash.
      this.logger.error({ conn: req.connId, client: req.remote.address, xid: call?.xid, ...errInfo(e) }, 'rpc: dispatcher failure');
      step = call ? this.accepted(call.xid, { stat: SYSTEM_ERR }) : { reply: undefined, outcome: 'DROPPED' };
    }
    if (this.onCall && call) {
      try {
        this.onCall({
          prog: call.prog,
          vers: call.vers,
          proc: call.proc,
          ...(step.procName !== undefined ? { procName: step.procName } : {}),
          outcome: step.outcome,
          transport: req.transport,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
        });
      } catch {
        // A metrics hook must not affect the reply.
      }
    }
    return step.reply;
  }

  private async dispatchCall(req: DispatchRequest, call: CallHeader, r: XdrReader): Promise<Step> {
    const { xid } = call;
    const auth = authenticate(call.cred);
    if (!auth.ok) {
      this.logger.debug({ conn: req.connId, client: req.remote.address, xid, reason: auth.reason }, 'rpc: credential refused');
      return this.rejected(xid, { stat: AUTH_ERROR, authStat: auth.authStat });
    }
    const program = this.programsByNumber.get(call.prog);
    if (!program) return this.accepted(xid, { stat: PROG_UNAVAIL });
    const pv = program.versions.get(call.vers);
    if (!pv) return this.accepted(xid, { stat: PROG_MISMATCH, low: program.low, high: program.high });

    // Procedure 0 (NULL) answers AUTH_NONE whatever the version requires: clients probe with it
    // before they pick a flavor (RFC 2623 §2.3.1).
    const flavors = pv.flavors ?? DEFAULT_FLAVORS;
    if (!flavors.has(auth.auth.flavor) && !(call.proc === 0 && auth.auth.flavor === AUTH_NONE)) {
      return this.rejected(xid, { stat: AUTH_ERROR, authStat: AUTH_TOOWEAK });
    }
    const proc = pv.procs.get(call.proc);
    if (!proc) return this.accepted(xid, { stat: PROC_UNAVAIL });
    const procName = proc.name;

    const ctx: RpcCallContext = {
      xid,
      prog: call.prog,
      vers: call.vers,
      proc: call.proc,
      auth: auth.auth,
      remote: req.remote,
      local: req.local,
      transport: req.transport,
      signal: req.signal,
      connId: req.connId,
      // Without a transport hook nothing is given back early; lent memory is then left to the GC.
      onReplySent: req.onReplySent ?? (() => undefined),
    };
    if (req.backchannel) ctx.backchannel = req.backchannel;
    if (req.retainRequest) ctx.retainRequest = req.retainRequest;
    const logCtx = { conn: req.connId, client: req.remote.address, xid, prog: call.prog, vers: call.vers, proc: procName };

    if (pv.admit) {
      let stat: number;
      try {
        stat = pv.admit(ctx);
      } catch (e) {
        this.logger.error({ ...logCtx, ...errInfo(e) }, 'rpc: admit hook threw');
        return { ...this.accepted(xid, { stat: SYSTEM_ERR }), procName };
      }
      if (stat !== AUTH_OK) return { ...this.rejected(xid, { stat: AUTH_ERROR, authStat: stat }), procName };
    }

    let key: string | undefined;
    if (proc.nonIdempotent && this.drc?.enabled) {
      key = drcKey(req.remote.address, xid, call.prog, call.vers, call.proc, req.record.subarray(r.offset));
      const hit = this.drc.begin(key);
      if (hit.state === 'in-progress') {
        this.logger.debug(logCtx, 'rpc: retransmission of a call in progress, dropped');
        return { reply: undefined, outcome: 'DROPPED', procName };
      }
      if (hit.state === 'done') {
        this.logger.debug(logCtx, 'rpc: duplicate request, cached reply resent');
        return { reply: [hit.reply], outcome: 'DRC_REPLAY', procName };
      }
    }

    let step: Step | undefined;
    try {
      step = await this.execute(ctx, call, r, proc, logCtx);
      return { ...step, procName };
    } finally {
      if (key !== undefined) {
        if (step?.reply) this.drc!.complete(key, step.reply);
        else this.drc!.forget(key);
      }
    }
  }

  private async execute(
    ctx: RpcCallContext,
    call: CallHeader,
    r: XdrReader,
    proc: RpcProcedure<unknown, unknown>,
    logCtx: object,
  ): Promise<Step> {
    let args: unknown;
    try {
      args = proc.decodeArgs(r);
    } catch (e) {
      this.logger.debug({ ...logCtx, ...errInfo(e) }, 'rpc: undecodable arguments');
      return this.accepted(call.xid, { stat: GARBAGE_ARGS });
    }
    // Trailing bytes after the arguments are tolerated (some clients pad).

    let res: unknown;
    try {
      res = await proc.handle(ctx, args);
    } catch (e) {
      // The program layer maps CoreError into its own result bodies; anything that escapes to here,
      // CoreError included, is a server fault.
      if (ctx.signal.aborted) this.logger.debug({ ...logCtx, ...errInfo(e) }, 'rpc: handler failed after its connection closed');
      else this.logger.error({ ...logCtx, ...errInfo(e) }, 'rpc: handler threw; SYSTEM_ERR');
      return this.accepted(call.xid, { stat: SYSTEM_ERR });
    }

    try {
      const w = new XdrWriter();
      encodeAcceptedReply(w, call.xid, NULL_AUTH, { stat: SUCCESS });
      proc.encodeRes(w, res);
      return { reply: w.segmentsOut(), outcome: 'SUCCESS' };
    } catch (e) {
      this.logger.error({ ...logCtx, ...errInfo(e) }, 'rpc: result encoding failed; SYSTEM_ERR');
      return this.accepted(call.xid, { stat: SYSTEM_ERR });
    }
  }

  private accepted(xid: number, body: AcceptedReply): Step {
    const w = new XdrWriter(64);
    encodeAcceptedReply(w, xid, NULL_AUTH, body);
    return { reply: w.segmentsOut(), outcome: ACCEPT_STAT_NAMES[body.stat] as CallOutcome };
  }

  private rejected(xid: number, rej: RejectedReply): Step {
    const w = new XdrWriter(64);
    encodeRejectedReply(w, xid, rej);
    return { reply: w.segmentsOut(), outcome: rej.stat === RPC_MISMATCH ? 'RPC_MISMATCH' : 'AUTH_ERROR' };
  }
}
