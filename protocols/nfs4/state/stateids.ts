/**
 * Open and lock state (RFC 8881 §8.2, §9; RFC 7530 §9.1.4): one open stateid per (client, open-owner,
 * file), with share access and deny bits checked against every other open of the file, and one lock
 * stateid per (lock-owner, open) naming the byte-range locks that lock-owner holds on the file (the locks
 * themselves live in the core's lock manager, cluster/locks/byte-range.ts, shared with SMB).
 * Stateids are { seqid, other[12] }; `other` is this server instance's boot id (4 bytes) + a counter
 * (8 bytes), so a stateid of an earlier instance is recognisable (NFS4ERR_STALE_STATEID in 4.0,
 * NFS4ERR_BAD_STATEID in 4.1).
 *
 * Each NFSv4 open is also an open in the core (FileSystem.open, `core`), so share reservations conflict
 * with SMB opens of the same file; this table keeps the NFSv4 view (owners, seqids, courtesy expiry).
 *
 * A 4.0 CLOSE forgets the open but remembers its `other` for a while (`closed`, bounded FIFO), so a
 * retransmitted CLOSE finds its owner and gets the kept reply instead of BAD_STATEID (RFC 7530 §9.1.7).
 */
import type { HeldRange } from './held-ranges';
import type { FileSystem, OpenState } from '../../../cluster/vfs/types';
import type { ClientRecord } from './clients';
import type { StateOwner } from './owners';

export interface OpenStateRec {
  kind: 'open';
  other: Buffer;
  seqid: number;
  client: ClientRecord;
  owner: Buffer;
  ownerRec: StateOwner;
  /** Volume-wide file identity (same file through two exports conflicts). */
  fileKey: string;
  fileId: bigint;
  /** The file handle the open was made through: READ/WRITE/CLOSE must use the same one. */
  fh: Buffer;
  fs: FileSystem;
  access: number;
  deny: number;
  /** Bit (1 << mode) for every share_access / share_deny value an OPEN of it asked for (OPEN_DOWNGRADE). */
  accessModes: number;
  denyModes: number;
  /** The open in the core (share modes against SMB); undefined while being replaced. */
  core: OpenState | undefined;
  /** Lock stateids taken through this open. */
  locks: Set<LockStateRec>;
}

export interface LockStateRec {
  kind: 'lock';
  other: Buffer;
  seqid: number;
  client: ClientRecord;
  ownerRec: StateOwner;
  open: OpenStateRec;
  fileKey: string;
  fh: Buffer;
  /** The ranges LOCK took and LOCKU has not given back (held-ranges.ts): non-empty → LOCKS_HELD. */
  held: HeldRange[];
}

export type StateRec = OpenStateRec | LockStateRec;

export type StateLookup =
  | { kind: 'open'; rec: OpenStateRec }
  | { kind: 'lock'; rec: LockStateRec }
  /** A 4.0 open closed recently: only its owner's replay cache can answer. */
  | { kind: 'closed'; owner: StateOwner }
  /** State of a client whose lease expired (or that was purged by a client restart): NFS4ERR_EXPIRED. */
  | { kind: 'expired' }
  | { kind: 'stale' }
  | { kind: 'bad' };

const MAX_CLOSED = 4096;

export class StateTable {
  private readonly byOther = new Map<string, StateRec>();
  private readonly byFile = new Map<string, Set<OpenStateRec>>();
  private readonly byOwnerFile = new Map<string, OpenStateRec>();
  private readonly lockByOwnerOpen = new Map<string, LockStateRec>();
  private readonly closed = new Map<string, StateOwner>();
  private readonly expired = new Set<string>();
  private counter = 0n;
  private opens = 0;

  /** `onIdle`: an owner's last stateid went (owners.ts keeps a bounded number of idle owners). */
  constructor(
    private readonly bootId: number,
    private readonly onIdle: (owner: StateOwner) => void = () => {},
  ) {}

  private static ownerFileKey(client: ClientRecord, owner: Buffer, fileKey: string): string {
    return `${client.clientid}:${owner.toString('base64')}:${fileKey}`;
  }

  private static lockKey(owner: StateOwner, open: OpenStateRec): string {
    return `${owner.client.clientid}:${owner.owner.toString('base64')}:${open.other.toString('hex')}`;
  }

  private mintOther(): Buffer {
    this.counter++;
    const b = Buffer.alloc(12);
    b.writeUInt32BE(this.bootId >>> 0, 0);
    b.writeBigUInt64BE(this.counter, 4);
    return b;
  }

  /** The other opens of `fileKey` that conflict with (access, deny), excluding `self`. */
  conflicts(fileKey: string, access: number, deny: number, self?: OpenStateRec): OpenStateRec[] {
    const set = this.byFile.get(fileKey);
    const out: OpenStateRec[] = [];
    if (!set) return out;
    for (const o of set) {
      if (o === self) continue;
      if (o.deny & access || o.access & deny) out.push(o);
    }
    return out;
  }

  existing(client: ClientRecord, owner: Buffer, fileKey: string): OpenStateRec | undefined {
    return this.byOwnerFile.get(StateTable.ownerFileKey(client, owner, fileKey));
  }

  /** New open state with seqid 1. */
  add(ownerRec: StateOwner, f: { fileKey: string; fileId: bigint; fh: Buffer; fs: FileSystem }, access: number, deny: number, core: OpenState | undefined): OpenStateRec {
    const rec: OpenStateRec = {
      kind: 'open',
      other: this.mintOther(),
      seqid: 1,
      client: ownerRec.client,
      owner: ownerRec.owner,
      ownerRec,
      fileKey: f.fileKey,
      fileId: f.fileId,
      fh: Buffer.from(f.fh),
      fs: f.fs,
      access,
      deny,
      accessModes: 1 << access,
      denyModes: 1 << deny,
      core,
      locks: new Set(),
    };
    this.byOther.set(rec.other.toString('hex'), rec);
    let set = this.byFile.get(f.fileKey);
    if (!set) this.byFile.set(f.fileKey, (set = new Set()));
    set.add(rec);
    this.byOwnerFile.set(StateTable.ownerFileKey(rec.client, rec.owner, rec.fileKey), rec);
    ownerRec.states++;
    this.opens++;
    return rec;
  }

  /** Forgets an open and its lock stateids (the caller releases the core open and the locks). */
  remove(rec: OpenStateRec, rememberClosed = false): void {
    const hex = rec.other.toString('hex');
    if (this.byOther.get(hex) !== rec) return;
    this.byOther.delete(hex);
    this.opens--;
    rec.ownerRec.states--;
    const set = this.byFile.get(rec.fileKey);
    if (set) {
      set.delete(rec);
      if (set.size === 0) this.byFile.delete(rec.fileKey);
    }
    const k = StateTable.ownerFileKey(rec.client, rec.owner, rec.fileKey);
    if (this.byOwnerFile.get(k) === rec) this.byOwnerFile.delete(k);
    for (const l of [...rec.locks]) this.removeLock(l);
    if (rememberClosed) {
      this.closed.set(hex, rec.ownerRec);
      if (this.closed.size > MAX_CLOSED) this.closed.delete(this.closed.keys().next().value!);
    }
    if (rec.ownerRec.states === 0) this.onIdle(rec.ownerRec);
  }

  lockFor(owner: StateOwner, open: OpenStateRec): LockStateRec | undefined {
    return this.lockByOwnerOpen.get(StateTable.lockKey(owner, open));
  }

  /** New lock stateid (seqid 1) for `owner`'s locks through `open`. */
  addLock(owner: StateOwner, open: OpenStateRec): LockStateRec {
    const rec: LockStateRec = { kind: 'lock', other: this.mintOther(), seqid: 1, client: owner.client, ownerRec: owner, open, fileKey: open.fileKey, fh: open.fh, held: [] };
    this.byOther.set(rec.other.toString('hex'), rec);
    this.lockByOwnerOpen.set(StateTable.lockKey(owner, open), rec);
    open.locks.add(rec);
    owner.states++;
    return rec;
  }

  removeLock(rec: LockStateRec): void {
    const hex = rec.other.toString('hex');
    if (this.byOther.get(hex) !== rec) return;
    this.byOther.delete(hex);
    const k = StateTable.lockKey(rec.ownerRec, rec.open);
    if (this.lockByOwnerOpen.get(k) === rec) this.lockByOwnerOpen.delete(k);
    rec.open.locks.delete(rec);
    rec.ownerRec.states--;
    if (rec.ownerRec.states === 0) this.onIdle(rec.ownerRec);
  }

  /** Lock stateids of one lock-owner (RELEASE_LOCKOWNER). */
  locksOfOwner(owner: StateOwner): LockStateRec[] {
    const out: LockStateRec[] = [];
    for (const r of this.byOther.values()) if (r.kind === 'lock' && r.ownerRec === owner) out.push(r);
    return out;
  }

  lookup(other: Buffer): StateLookup {
    const hex = other.toString('hex');
    const rec = this.byOther.get(hex);
    if (rec) return rec.kind === 'open' ? { kind: 'open', rec } : { kind: 'lock', rec };
    const owner = this.closed.get(hex);
    if (owner) return { kind: 'closed', owner };
    if (this.expired.has(hex)) return { kind: 'expired' };
    return other.readUInt32BE(0) === this.bootId >>> 0 ? { kind: 'bad' } : { kind: 'stale' };
  }

  /** Opens of one client. */
  opensOf(client: ClientRecord): OpenStateRec[] {
    const out: OpenStateRec[] = [];
    for (const rec of this.byOther.values()) if (rec.kind === 'open' && rec.client === client) out.push(rec);
    return out;
  }

  /** Opens of one owner. */
  opensOfOwner(owner: StateOwner): OpenStateRec[] {
    const out: OpenStateRec[] = [];
    for (const rec of this.byOther.values()) if (rec.kind === 'open' && rec.ownerRec === owner) out.push(rec);
    return out;
  }

  /** Drops every open (and lock stateid) of a client; returns them so the caller can release core state. */
  dropClient(client: ClientRecord): OpenStateRec[] {
    const opens = this.opensOf(client);
    for (const rec of opens) {
      for (const id of [rec.other, ...[...rec.locks].map((l) => l.other)]) {
        this.expired.add(id.toString('hex'));
        if (this.expired.size > MAX_CLOSED) this.expired.delete(this.expired.values().next().value!);
      }
      this.remove(rec);
    }
    for (const [k, o] of this.closed) if (o.client === client) this.closed.delete(k);
    return opens;
  }

  countFor(client: ClientRecord): number {
    let n = 0;
    for (const rec of this.byOther.values()) if (rec.client === client) n++;
    return n;
  }

  /** Open stateids held. */
  get size(): number {
    return this.opens;
  }
}
