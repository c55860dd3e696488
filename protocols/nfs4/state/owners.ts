/**
 * Open-owners and lock-owners (RFC 7530 §9.1.5–§9.1.9, RFC 8881 §2.4.2). An owner is (client, opaque
 * owner bytes); it holds stateids. NFSv4.1 sessions make every request exactly-once, so there owners are
 * only names. NFSv4.0 has no sessions: each owner carries a sequence id that orders its OPEN, CLOSE,
 * OPEN_CONFIRM, OPEN_DOWNGRADE, LOCK and LOCKU requests, and the last reply it got, so a retransmission
 * gets that reply again instead of running twice (RFC 7530 §9.1.7):
 *
 *   seqid = last + 1          → a new request; it runs and its result is kept
 *   seqid = last, same op     → a replay: the kept result is answered, nothing runs
 *   anything else             → NFS4ERR_BAD_SEQID
 *   a new owner               → any seqid starts it
 *
 * A result does not advance the seqid when it is one of STALE_CLIENTID, STALE_STATEID, BAD_STATEID,
 * BAD_SEQID, BADXDR, RESOURCE, NOFILEHANDLE or MOVED (the request could not be tied to the owner).
 *
 * A 4.0 open-owner is "unconfirmed" until OPEN_CONFIRM (§9.1.11): its first OPEN answers
 * OPEN4_RESULT_CONFIRM and its stateids are unusable until then.
 */
import type { LockOwner } from '../../../cluster/locks/byte-range';
import type { Fh } from '../fh';
import { nfsstat4 } from '../types';
import type { ClientRecord } from './clients';

export type OwnerKind = 'open' | 'lock';

/** The result kept for a replay: the op's status, its result body, and the filehandle it left current. */
export interface KeptReply {
  opnum: number;
  status: nfsstat4;
  res: unknown;
  fh: Fh | undefined;
}

export interface StateOwner {
  kind: OwnerKind;
  client: ClientRecord;
  owner: Buffer;
  /** 4.0: the seqid of the last request that advanced the sequence (undefined: none yet, any starts it). */
  seqid: number | undefined;
  /** 4.0 open-owners: OPEN_CONFIRM done (4.1 owners and lock-owners are always confirmed). */
  confirmed: boolean;
  last?: KeptReply;
  /** Stateids it holds (opens for an open-owner, lock states for a lock-owner). */
  states: number;
}

/** Results that do not advance an owner's seqid (RFC 7530 §9.1.7). */
export const SEQID_NEUTRAL: ReadonlySet<nfsstat4> = new Set([
  nfsstat4.NFS4ERR_STALE_CLIENTID,
  nfsstat4.NFS4ERR_STALE_STATEID,
  nfsstat4.NFS4ERR_BAD_STATEID,
  nfsstat4.NFS4ERR_BAD_SEQID,
  nfsstat4.NFS4ERR_BADXDR,
  nfsstat4.NFS4ERR_RESOURCE,
  nfsstat4.NFS4ERR_NOFILEHANDLE,
  nfsstat4.NFS4ERR_MOVED,
]);

export type SeqidVerdict = 'new' | 'replay' | 'bad';

/** Where a 4.0 request with `seqid` stands in `o`'s sequence (RFC 7530 §9.1.7). */
export function seqidVerdict(o: StateOwner, seqid: number, opnum: number): SeqidVerdict {
  if (o.seqid === undefined) return 'new';
  if (seqid === ((o.seqid + 1) >>> 0)) return 'new';
  if (seqid === o.seqid && o.last && o.last.opnum === opnum) return 'replay';
  return 'bad';
}

/**
 * Owners that hold no state are kept, oldest first, up to this many (per server); older ones are
 * forgotten. Linux knfsd keeps an owner for a lease period after its last CLOSE; a count bound keeps
 * memory bounded whatever the clients do (DESIGN invariant 11): libnfs, for one, uses a new open-owner
 * for every open, so a 4.0 client that opened 100,000 files would otherwise leave 100,000 owners, each
 * with its kept reply. A retransmitted CLOSE of a forgotten owner is still answered (stateids.ts keeps
 * the owner of recently closed stateids); an owner reused after being forgotten starts afresh.
 */
export const MAX_IDLE_OWNERS = 4096;

export class OwnerTable {
  private readonly byKey = new Map<string, StateOwner>();
  /** Owners with no state, in the order they became idle (a Map keeps insertion order). */
  private readonly idle = new Map<string, StateOwner>();

  constructor(private readonly maxIdle = MAX_IDLE_OWNERS) {}

  private static key(kind: OwnerKind, client: ClientRecord, owner: Buffer): string {
    return `${kind}:${client.clientid}:${owner.toString('base64')}`;
  }

  get(kind: OwnerKind, client: ClientRecord, owner: Buffer): StateOwner | undefined {
    return this.byKey.get(OwnerTable.key(kind, client, owner));
  }

  /** The owner, created (unconfirmed for a 4.0 open-owner, no seqid yet) if it is new. */
  getOrCreate(kind: OwnerKind, client: ClientRecord, owner: Buffer, minor: number): StateOwner {
    const k = OwnerTable.key(kind, client, owner);
    let o = this.byKey.get(k);
    if (!o) {
      o = { kind, client, owner: Buffer.from(owner), seqid: undefined, confirmed: minor >= 1 || kind === 'lock', states: 0 };
      this.byKey.set(k, o);
    }
    // Stateless until its request takes state (an OPEN that fails never does): counted as idle, and
    // moved to the young end so that an owner in use is the last to be forgotten.
    if (o.states === 0) this.markIdle(k, o);
    return o;
  }

  /** `o` holds no state any more (its last open or lock stateid went): it may be forgotten later. */
  noteIdle(o: StateOwner): void {
    if (o.states !== 0) return;
    const k = OwnerTable.key(o.kind, o.client, o.owner);
    if (this.byKey.get(k) === o) this.markIdle(k, o);
  }

  private markIdle(k: string, o: StateOwner): void {
    this.idle.delete(k);
    this.idle.set(k, o);
    while (this.idle.size > this.maxIdle) {
      const [oldK, oldO] = this.idle.entries().next().value!;
      this.idle.delete(oldK);
      // It may have taken state since it was listed: then it stays (and is listed again when idle).
      if (oldO.states === 0 && this.byKey.get(oldK) === oldO) this.byKey.delete(oldK);
    }
  }

  remove(o: StateOwner): void {
    const k = OwnerTable.key(o.kind, o.client, o.owner);
    if (this.byKey.get(k) === o) this.byKey.delete(k);
    if (this.idle.get(k) === o) this.idle.delete(k);
  }

  dropClient(client: ClientRecord): void {
    for (const [k, o] of this.byKey) if (o.client === client) this.byKey.delete(k);
    for (const [k, o] of this.idle) if (o.client === client) this.idle.delete(k);
  }

  /** Owners kept with no state (tests, status). */
  get idleCount(): number {
    return this.idle.size;
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** The core lock manager's owner for an NFSv4 lock-owner: client id + owner bytes (RFC 8881 §2.4.2). */
export function lockOwnerOf(o: { client: { clientid: bigint }; owner: Buffer }): LockOwner {
  return { protocol: 'nfs4', key: `${o.client.clientid.toString(16)}:${o.owner.toString('base64')}` };
}

/** The NFSv4 lock-owner behind a core LockOwner key (for LOCK4denied); undefined for other protocols'. */
export function parseLockOwnerKey(key: string): { clientid: bigint; owner: Buffer } | undefined {
  const i = key.indexOf(':');
  if (i <= 0) return undefined;
  try {
    return { clientid: BigInt(`0x${key.slice(0, i)}`), owner: Buffer.from(key.slice(i + 1), 'base64') };
  } catch {
    return undefined;
  }
}
