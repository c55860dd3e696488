/**
 * The shape of one NFSv4 operation (protocols/nfs4/ops/<op>.ts) and the COMPOUND context its handler gets.
 * Handlers see the current/saved filehandles, the session and the server's tables; they never see sockets,
 * RPC headers or status mapping: they return their resok or throw (Nfs4Error for protocol errors, CoreError
 * from the core), and compound.ts turns that into the op's result and stops the COMPOUND.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Errc } from '../../cluster/vfs/errors';
import { CoreError, Errc as E } from '../../cluster/vfs/errors';
import type { Logger } from '../rpc/log';
import type { RpcCallContext } from '../rpc/types';
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import { Nfs4Error } from './errors';
import type { Fh, FsFh } from './fh';
import type { OwnerEncoder } from './idmap';
import type { Nfs4Server } from './server';
import type { ClientRecord } from './state/clients';
import { seqidVerdict, type KeptReply, type StateOwner } from './state/owners';
import type { Session, Slot } from './state/sessions';
import { nfsstat4, type nfs_opnum4, type stateid4 } from './types';

export interface Nfs4Op<A = any, R = any> {
  opnum: nfs_opnum4;
  /** Spec name without prefix: "PUTFH". */
  name: string;
  decodeArgs(r: XdrReader): A;
  handle(c: Nfs4Compound, args: A): Promise<R>;
  /** resok, after the NFS4_OK status word. */
  encodeOk(w: XdrWriter, res: R): void;
  /**
   * What follows a failure status. Most results are `union switch (nfsstat4) { case NFS4_OK: …; default: void; }`
   * and write nothing; the exceptions (SETATTR's attrsset, LOCK's denied…) say so here.
   */
  encodeFail?(w: XdrWriter, status: nfsstat4, body: unknown): void;
  /**
   * The exact number of bytes `encodeOk` writes for `res`, computed without encoding. Sessions whose
   * ca_maxresponsesize is below the server's reply cap count every result against it (compound.ts
   * `ReplyBudget`); an op without this is encoded once more just to be measured.
   */
  resultBytes?(res: R): number;
  /**
   * An upper bound of `resultBytes`, known from the arguments before the op runs. Set on operations that
   * change something: under a ReplyBudget such an op whose result might not fit is answered
   * NFS4ERR_REP_TOO_BIG without being run (RFC 8881 §2.10.6.4), as knfsd estimates before it runs one.
   */
  maxResultBytes?(args: A): number;
  /** Where the RFC's error list for this op differs from status.ts, the exception, as data. */
  statusOverrides?: Partial<Record<Errc, nfsstat4>>;
  /** Client side (tests, tools). */
  encodeArgs(w: XdrWriter, args: A): void;
  decodeOk(r: XdrReader): R;
  decodeFail?(r: XdrReader, status: nfsstat4): unknown;
}

export type AnyNfs4Op = Nfs4Op<any, any>;

/** The state one COMPOUND carries from op to op (RFC 8881 §16.2.3; §8.2.3 for the current stateid). */
export class Nfs4Compound {
  cur: Fh | undefined;
  saved: Fh | undefined;
  /** NFSv4.1 current stateid (set by OPEN/CLOSE…, used for the special "current" stateid). */
  curStateid: stateid4 | undefined;
  savedStateid: stateid4 | undefined;
  session: Session | undefined;
  slot: Slot | undefined;
  /** SEQUENCE's sa_cachethis. */
  cacheThis = false;
  /** Index of the op being run, and how many the COMPOUND has. */
  opIndex = 0;
  /**
   * 4.0: the owner whose sequence the running op takes part in, and its seqid (set by `sequenced`);
   * compound.ts advances the owner and keeps the op's result for replays once the op is done.
   */
  seqidOp: { owner: StateOwner; seqid: number } | undefined;

  constructor(
    readonly server: Nfs4Server,
    readonly rpc: RpcCallContext,
    readonly minor: number,
    readonly opCount: number,
    readonly log: Logger,
    /** The encoded operations (SEQUENCE checks their size and fingerprints them for the reply cache). */
    readonly ops: Buffer,
  ) {}

  /** How owner/owner_group are sent to this caller (idmap.ts: numbers for AUTH_SYS by default). */
  owners(): OwnerEncoder {
    return this.server.idmap.encoderFor(this.rpc.auth.flavor);
  }

  /** The current filehandle, or NFS4ERR_NOFILEHANDLE. */
  curFh(): Fh {
    if (!this.cur) throw new Nfs4Error(nfsstat4.NFS4ERR_NOFILEHANDLE);
    return this.cur;
  }

  savedFh(): Fh {
    if (!this.saved) throw new Nfs4Error(nfsstat4.NFS4ERR_NOFILEHANDLE, 'no saved filehandle');
    return this.saved;
  }

  /**
   * The current filehandle as a core object. The pseudo root is a directory no data operation applies to:
   * `pseudoStatus` is what the op answers there (e.g. ISDIR for READ, ROFS for CREATE).
   */
  curFs(pseudoStatus: Exclude<nfsstat4, nfsstat4.NFS4_OK>): FsFh {
    const fh = this.curFh();
    if (fh.kind === 'pseudo') throw new Nfs4Error(pseudoStatus, 'pseudo-filesystem root');
    return fh;
  }

  /** NFS4ERR_ROFS for a mutation of a read-only export (or client rule). */
  writable(fh: FsFh): FsFh {
    if (fh.readOnly) throw new CoreError(E.ROFS, `export ${fh.exp.name} is read-only`);
    return fh;
  }

  /**
   * The client this COMPOUND acts for: the session's (4.1+). A 4.0 COMPOUND names its client in each
   * operation instead (`clientById`); an op that needs a session is NFS4ERR_NOTSUPP there.
   */
  client(): ClientRecord {
    if (this.session) return this.session.client;
    if (this.minor === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_NOTSUPP, 'needs an NFSv4.1 session');
    throw new Nfs4Error(nfsstat4.NFS4ERR_OP_NOT_IN_SESSION);
  }

  /**
   * The client an operation names by client id (open_owner4, lock_owner4, RENEW). 4.0: a confirmed client
   * of this server instance, else NFS4ERR_STALE_CLIENTID; using it renews its lease (RFC 7530 §9.5).
   * 4.1+: the session's client (RFC 8881 §18.16.3: the clientid in an owner is ignored).
   */
  clientById(clientid: bigint): ClientRecord {
    if (this.minor >= 1) return this.client();
    const rec = this.server.clients.get(clientid);
    if (!rec && this.server.expiredClients.has(clientid)) throw new Nfs4Error(nfsstat4.NFS4ERR_EXPIRED, `client ${clientid.toString(16)}: lease expired`);
    if (!rec || !rec.confirmed || rec.minor !== 0) throw new Nfs4Error(nfsstat4.NFS4ERR_STALE_CLIENTID, `client ${clientid.toString(16)}`);
    this.server.renew(rec);
    return rec;
  }

  /**
   * 4.0: places a request with `seqid` in `owner`'s sequence (state/owners.ts): a replay ends the op with
   * the kept result (SeqidReplay), a seqid out of order is NFS4ERR_BAD_SEQID. 4.1+: nothing (slots order
   * requests).
   */
  sequenced(owner: StateOwner, seqid: number, opnum: number): void {
    if (this.minor >= 1) return;
    const v = seqidVerdict(owner, seqid, opnum);
    if (v === 'replay') throw new SeqidReplay(owner.last!);
    if (v === 'bad') throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_SEQID, `owner seqid ${owner.seqid}, got ${seqid}`);
    this.seqidOp = { owner, seqid };
  }
}

// ---- codec pieces for operations whose arguments or results are void ----

export const voidArgs = {
  decodeArgs: (): undefined => undefined,
  encodeArgs: (): void => {},
};

export const voidOk = {
  encodeOk: (): void => {},
  decodeOk: (): undefined => undefined,
  resultBytes: (): number => 0,
  maxResultBytes: (): number => 0,
};

/** resultBytes and maxResultBytes of an op whose resok always has `n` bytes. */
export function fixedResult(n: number): { resultBytes(): number; maxResultBytes(): number } {
  return { resultBytes: () => n, maxResultBytes: () => n };
}

/**
 * A retransmission whose reply is kept: SEQUENCE found it in its slot's reply cache (4.1+), or the 4.0
 * duplicate-request cache had it (state/reply-cache40.ts). The COMPOUND answers with these bytes.
 */
export class SlotReplay extends Error {
  constructor(readonly reply: Buffer) {
    super('slot replay');
  }
}

/** A 4.0 seqid-ordered request that already ran: its kept result is the answer (state/owners.ts). */
export class SeqidReplay extends Error {
  constructor(readonly kept: KeptReply) {
    super('seqid replay');
  }
}

/**
 * Fingerprint of a request's operations for the slot cache: a retry must carry the same ones. It only has
 * to tell a client's reuse of a slot and sequence id for a different request (SEQ_FALSE_RETRY) from a true
 * retry, not resist forgery: CRC-32 of the first KiB seeded with the length (a SHA-1 object per COMPOUND
 * cost several µs).
 */
export function opsFingerprint(ops: Buffer): number {
  const head = ops.length > 1024 ? ops.subarray(0, 1024) : ops;
  if (zlibCrc32) return zlibCrc32(head, ops.length >>> 0);
  return createHash('sha1').update(head).update(String(ops.length)).digest().readUInt32BE(0);
}

/** zlib.crc32 (Node 20.15 and later; engines allows any Node 20, hence the SHA-1 fallback above). */
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
