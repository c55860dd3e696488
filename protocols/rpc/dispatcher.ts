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
import { performance } from 'node:perf_hooks';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { authenticate } from './auth/authenticate';
import type { RpcBackchannel } from './backchannel';
import { DuplicateRequestCache, drcKey } from './drc';
import { errInfo, noopLogger, type Logger } from './log';
import {
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
  type RpcAuth,
  type RpcCallContext,
  type RpcPeer,
  type RpcProcedure,
  type RpcProgramVersion,
} from './types';

const DEFAULT_FLAVORS: ReadonlySet<number> = new Set([AUTH_NONE, AUTH_SYS]);
const SUCCESS_BODY: AcceptedReply = Object.freeze({ stat: SUCCESS });
const ignoreReplySent = (): void => undefined;

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
  procName: string | undefined;
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
    // Every call pays for this path: one async frame (the procedure's own await is the only one), no
    // per-call closures, spreads or log objects unless a line is actually logged.
    const started = this.onCall ? performance.now() : 0;
    let call: CallHeader | undefined;
    let reply: Buffer[] | undefined;
    let outcome: CallOutcome;
    let procName: string | undefined;
    let drcKeyOf: string | undefined;
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
        reply = this.rejectedReply(decoded.xid, decoded.reject);
        outcome = decoded.reject.stat === RPC_MISMATCH ? 'RPC_MISMATCH' : 'AUTH_ERROR';
      } else {
        call = decoded.call;
        const xid = call.xid;
        // Pre-procedure checks; each failure leaves `outcome` set and `proc` undefined.
        let proc: RpcProcedure<unknown, unknown> | undefined;
        let auth: RpcAuth | undefined;
        let pv: RpcProgramVersion | undefined;
        const authResult = authenticate(call.cred);
        if (!authResult.ok) {
          this.logger.debug({ conn: req.connId, client: req.remote.address, xid, reason: authResult.reason }, 'rpc: credential refused');
          reply = this.rejectedReply(xid, { stat: AUTH_ERROR, authStat: authResult.authStat });
          outcome = 'AUTH_ERROR';
        } else {
          auth = authResult.auth;
          const program = this.programsByNumber.get(call.prog);
          pv = program?.versions.get(call.vers);
          if (!program) {
            reply = this.acceptedReply(xid, { stat: PROG_UNAVAIL });
            outcome = 'PROG_UNAVAIL';
          } else if (!pv) {
            reply = this.acceptedReply(xid, { stat: PROG_MISMATCH, low: program.low, high: program.high });
            outcome = 'PROG_MISMATCH';
          } else if (!(pv.flavors ?? DEFAULT_FLAVORS).has(auth.flavor) && !(call.proc === 0 && auth.flavor === AUTH_NONE)) {
            // Procedure 0 (NULL) answers AUTH_NONE whatever the version requires: clients probe with it
            // before they pick a flavor (RFC 2623 §2.3.1).
            reply = this.rejectedReply(xid, { stat: AUTH_ERROR, authStat: AUTH_TOOWEAK });
            outcome = 'AUTH_ERROR';
          } else {
            proc = pv.procs.get(call.proc);
            if (!proc) {
              reply = this.acceptedReply(xid, { stat: PROC_UNAVAIL });
              outcome = 'PROC_UNAVAIL';
            }
          }
        }
        if (proc) {
          procName = proc.name;
          const ctx: RpcCallContext = {
            xid,
            prog: call.prog,
            vers: call.vers,
            proc: call.proc,
            auth: auth!,
            remote: req.remote,
            local: req.local,
            transport: req.transport,
            signal: req.signal,
            connId: req.connId,
            // Without a transport hook nothing is given back early; lent memory is then left to the GC.
            onReplySent: req.onReplySent ?? ignoreReplySent,
          };
          if (req.backchannel) ctx.backchannel = req.backchannel;
          if (req.retainRequest) ctx.retainRequest = req.retainRequest;
          let admitted = true;
          if (pv!.admit) {
            let stat = AUTH_OK;
            let threw = false;
            try {
              stat = pv!.admit(ctx);
            } catch (e) {
              this.logger.error({ ...this.logCtx(req, call, procName), ...errInfo(e) }, 'rpc: admit hook threw');
              threw = true;
            }
            if (threw) {
              reply = this.acceptedReply(xid, { stat: SYSTEM_ERR });
              outcome = 'SYSTEM_ERR';
              admitted = false;
            } else if (stat !== AUTH_OK) {
              reply = this.rejectedReply(xid, { stat: AUTH_ERROR, authStat: stat });
              outcome = 'AUTH_ERROR';
              admitted = false;
            }
          }
          let run = admitted;
          if (admitted && proc.nonIdempotent && this.drc?.enabled) {
            drcKeyOf = drcKey(req.remote.address, xid, call.prog, call.vers, call.proc, req.record.subarray(r.offset));
            const hit = this.drc.begin(drcKeyOf);
            if (hit.state === 'in-progress') {
              this.logger.debug(this.logCtx(req, call, procName), 'rpc: retransmission of a call in progress, dropped');
              drcKeyOf = undefined; // the original call owns the entry
              outcome = 'DROPPED';
              run = false;
            } else if (hit.state === 'done') {
              this.logger.debug(this.logCtx(req, call, procName), 'rpc: duplicate request, cached reply resent');
              drcKeyOf = undefined;
              reply = [hit.reply];
              outcome = 'DRC_REPLAY';
              run = false;
            }
          }
          if (run) {
            let args: unknown;
            let decodedArgs = true;
            try {
              args = proc.decodeArgs(r);
            } catch (e) {
              this.logger.debug({ ...this.logCtx(req, call, procName), ...errInfo(e) }, 'rpc: undecodable arguments');
              decodedArgs = false;
            }
            // Trailing bytes after the arguments are tolerated (some clients pad).
            if (!decodedArgs) {
              reply = this.acceptedReply(xid, { stat: GARBAGE_ARGS });
              outcome = 'GARBAGE_ARGS';
            } else {
              let res: unknown;
              let handled = true;
              try {
                res = await proc.handle(ctx, args);
              } catch (e) {
                // The program layer maps CoreError into its own result bodies; anything that escapes to here,
                // CoreError included, is a server fault.
                if (ctx.signal.aborted) this.logger.debug({ ...this.logCtx(req, call, procName), ...errInfo(e) }, 'rpc: handler failed after its connection closed');
                else this.logger.error({ ...this.logCtx(req, call, procName), ...errInfo(e) }, 'rpc: handler threw; SYSTEM_ERR');
                handled = false;
              }
              if (handled) {
                try {
                  const w = new XdrWriter(512, true);
                  encodeAcceptedReply(w, xid, NULL_AUTH, SUCCESS_BODY);
                  proc.encodeRes(w, res);
                  reply = w.segmentsOut();
                  outcome = 'SUCCESS';
                } catch (e) {
                  this.logger.error({ ...this.logCtx(req, call, procName), ...errInfo(e) }, 'rpc: result encoding failed; SYSTEM_ERR');
                  handled = false;
                }
              }
              if (!handled) {
                reply = this.acceptedReply(xid, { stat: SYSTEM_ERR });
                outcome = 'SYSTEM_ERR';
              }
            }
          }
        }
      }
    } catch (e) {
      // Only a bug in this file can get here; still answer rather than crash.
      this.logger.error({ conn: req.connId, client: req.remote.address, xid: call?.xid, ...errInfo(e) }, 'rpc: dispatcher failure');
      if (drcKeyOf !== undefined) {
        // Not a reply the procedure produced: let a retransmission run instead of replaying this.
        this.drc!.forget(drcKeyOf);
        drcKeyOf = undefined;
      }
      if (call) {
        reply = this.acceptedReply(call.xid, { stat: SYSTEM_ERR });
        outcome = 'SYSTEM_ERR';
      } else {
        reply = undefined;
        outcome = 'DROPPED';
      }
    }
    if (drcKeyOf !== undefined) {
      if (reply) this.drc!.complete(drcKeyOf, reply);
      else this.drc!.forget(drcKeyOf);
    }
    if (this.onCall && call) {
      try {
        this.onCall({
          prog: call.prog,
          vers: call.vers,
          proc: call.proc,
          procName,
          outcome: outcome!,
          transport: req.transport,
          seconds: (performance.now() - started) / 1e3,
        });
      } catch {
        // A metrics hook must not affect the reply.
      }
    }
    return reply;
  }

  /** Log fields for a call, built only when a line is written. */
  private logCtx(req: DispatchRequest, call: CallHeader, procName: string): Record<string, unknown> {
    return { conn: req.connId, client: req.remote.address, xid: call.xid, prog: call.prog, vers: call.vers, proc: procName };
  }

  private acceptedReply(xid: number, body: AcceptedReply): Buffer[] {
    const w = new XdrWriter(64, true);
    encodeAcceptedReply(w, xid, NULL_AUTH, body);
    return w.segmentsOut();
  }

  private rejectedReply(xid: number, rej: RejectedReply): Buffer[] {
    const w = new XdrWriter(64, true);
    encodeRejectedReply(w, xid, rej);
    return w.segmentsOut();
  }
}
