/**
 * NFSv4 client records (RFC 8881 §2.4, §18.35; RFC 7530 §9.1.1): one per client owner (co_ownerid), keyed
 * by a 64-bit client id whose high word is this server instance's boot id, so an id minted by an earlier
 * instance is recognisably stale (NFS4ERR_STALE_CLIENTID).
 *
 * In memory for now: a restart loses every client (clients then see STALE_CLIENTID / BADSESSION and
 * establish themselves again; there is no grace period to reclaim in yet). Persisting them in the cluster
 * store is part of issue 5's reclaim work.
 */
import type { Session } from './sessions';

export interface ClientRecord {
  clientid: bigint;
  ownerId: Buffer;
  verifier: Buffer;
  /** Confirmed by CREATE_SESSION (4.1) or SETCLIENTID_CONFIRM (4.0). */
  confirmed: boolean;
  /** Minor version the client was established with. */
  minor: number;
  /** Who established it (AUTH_SYS uid/gid, or "none"): a different principal may not update it. */
  principal: string;
  /** CREATE_SESSION replay slot (RFC 8881 §18.36.4): the last sequence id that created a session, and it. */
  csSeq: number;
  csReply?: { seq: number; reply: unknown };
  sessions: Set<Session>;
  /** Date.now() of the last lease renewal. */
  lastRenew: number;
  reclaimComplete: boolean;
  /** Its owner is in the reclaim records (it took state; server.noteState). */
  recorded?: boolean;
  /** 4.0: the setclientid_confirm verifier SETCLIENTID handed out for this record. */
  confirmVerifier?: Buffer;
  /** 4.0: a callback update of this confirmed record (SETCLIENTID, same verifier) awaiting its confirm. */
  pendingConfirm?: Buffer;
}

export function ownerKey(ownerId: Buffer): string {
  return ownerId.toString('base64');
}

export class ClientTable {
  private readonly byId = new Map<bigint, ClientRecord>();
  private readonly confirmed = new Map<string, ClientRecord>();
  private readonly unconfirmed = new Map<string, ClientRecord>();
  private counter = 0;

  constructor(private readonly bootId: number) {}

  /** True if `clientid` was minted by this server instance. */
  isCurrentBoot(clientid: bigint): boolean {
    return Number(clientid >> 32n) === this.bootId;
  }

  get(clientid: bigint): ClientRecord | undefined {
    return this.byId.get(clientid);
  }

  confirmedFor(ownerId: Buffer): ClientRecord | undefined {
    return this.confirmed.get(ownerKey(ownerId));
  }

  unconfirmedFor(ownerId: Buffer): ClientRecord | undefined {
    return this.unconfirmed.get(ownerKey(ownerId));
  }

  /** A new, unconfirmed record; replaces any unconfirmed record of the same owner. */
  create(ownerId: Buffer, verifier: Buffer, principal: string, minor: number, now: number): ClientRecord {
    const old = this.unconfirmedFor(ownerId);
    if (old) this.remove(old);
    this.counter = (this.counter + 1) >>> 0;
    const rec: ClientRecord = {
      clientid: (BigInt(this.bootId) << 32n) | BigInt(this.counter),
      ownerId: Buffer.from(ownerId),
      verifier: Buffer.from(verifier),
      confirmed: false,
      minor,
      principal,
      csSeq: 0,
      sessions: new Set(),
      lastRenew: now,
      reclaimComplete: false,
    };
    this.byId.set(rec.clientid, rec);
    this.unconfirmed.set(ownerKey(ownerId), rec);
    return rec;
  }

  /** Marks `rec` confirmed; a previously confirmed record of the same owner is returned for the caller to expire. */
  confirm(rec: ClientRecord): ClientRecord | undefined {
    const key = ownerKey(rec.ownerId);
    if (this.unconfirmed.get(key) === rec) this.unconfirmed.delete(key);
    const prev = this.confirmed.get(key);
    rec.confirmed = true;
    this.confirmed.set(key, rec);
    return prev && prev !== rec ? prev : undefined;
  }

  remove(rec: ClientRecord): void {
    this.byId.delete(rec.clientid);
    const key = ownerKey(rec.ownerId);
    if (this.confirmed.get(key) === rec) this.confirmed.delete(key);
    if (this.unconfirmed.get(key) === rec) this.unconfirmed.delete(key);
  }

  all(): IterableIterator<ClientRecord> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }
}
