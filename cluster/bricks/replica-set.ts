/**
 * A replicated brick set that is itself a `Brick`, so the Volume's data path (chunking, write-behind,
 * COMMIT) is unchanged whether a volume has one in-process brick or R replicas on remote brick nodes.
 *
 * Placement (placement.ts) picks the R bricks of each chunk object from the volume's brick ids.
 *
 * Writes (writeRange, truncate, delete, fsync): sent to every replica of the object in parallel, except
 * replicas known stale (heal journal) or known down, which are not even tried. The call succeeds when
 *   - every replica that answered took it (an answered error, e.g. NOSPC, fails the call), and
 *   - at least `quorum` up-to-date replicas took it: 1 of 1, 2 of 3, and for replica 2, 1 of 2 with the
 *     metadata store as the arbiter (below);
 * and every replica that missed it (down, timed out, refused, or skipped as stale) is recorded in the heal
 * journal by a durable metadata transaction BEFORE the call resolves (DESIGN invariant 6). Below quorum the
 * call fails with EIO: the client sees the error, nothing is silently lost. A missed replica is recorded
 * even then (if any replica took the write), so all copies converge on what the survivors hold.
 *
 * Split brain (replica 2, and any set partitioned between writers): the journal transaction that marks
 * the missed replicas stale also checks, in the same transaction, that the replicas which took the write
 * are not themselves marked stale; if they are, it fails and the write gets EIO. Two writers that each
 * reach a different half can therefore never both be acknowledged: the metadata store (one lmdb, or one
 * Redis) serialises their marks, and the second one finds the first one's mark on its only replica.
 * Replica 2 thus stays writable with one brick down, and a brick that comes back with old data is never
 * read until healed.
 *
 * Reads: from one up-to-date replica (never one with a journal entry), spread over the replicas by chunk
 * index; a replica that fails (down, or any error) is skipped and the next one tried, so the client sees
 * no error while any good replica answers. A 'corrupt' answer (checksum mismatch) is skipped the same way
 * and the bad copy is marked stale and rebuilt in the background by the healer.
 *
 * Bricks: a brick that does not answer is marked down and probed (capacity()) every `probeIntervalMs`;
 * when it answers again it is marked up and an 'up' event lets the healer rebuild what it missed.
 *
 * Several gateways: a read first makes the journal mirror current for its object (HealJournal.refreshFor),
 * so a replica another gateway has just marked stale is never read here either.
 *
 * Lost un-fsynced writes: a brick node that comes back as a new instance (its machine restarted,
 * Brick.onLostWrites) may have lost writes it had acknowledged but not yet fsynced, and would otherwise
 * answer a later fsync of those objects with success. The set remembers which objects took writes (or
 * truncates) since their last successful fsync (`unsynced`), and when a member comes back as a new
 * instance, synchronously, before any request runs against it: records those of its replicas for heal in
 * the mirror (then durably) so that they are neither read nor counted, and tells its own listeners
 * ('lost-writes': the Volume changes its write verifier, so NFS clients resend what they have not seen
 * committed). Replication alone would not cover it: the other replicas hold the data, but nothing would
 * stop the restarted one from being read, and at replica 1 there is no other copy.
 *
 * Rebalance (rebalance.ts): while the brick set changes, `previous` holds the old placement. An object
 * whose replicas differ between the two is served at its OLD placement until the rebalancer has moved it
 * (under the object's exclusive lock), then at the new one; objects written at the old placement meanwhile
 * are queued for a move, so the rebalance can finish with everything at the new placement.
 *
 * Rebalance with several gateways (a shared store: Redis): which objects have moved is kept in the store
 * (move-state.ts), not in this process. An object that moves and is not known here to have moved is
 * read at the placement its store record names, and a change to it at the old placement is counted in
 * the store afterwards (or repeated at the new placement if it moved meanwhile), so the mover's copy,
 * which commits only if the count did not change, never loses it. Every data operation is counted per
 * layout generation, so that a new layout can be acknowledged once nothing runs under the old one
 * (`drain`).
 */
import { EventEmitter } from 'node:events';
import type { Kv } from '../meta/kv';
import { CoreError, Errc } from '../vfs/errors';
import type { Brick, BrickCapacity, ObjectId, ReadHint, WriteHint } from './brick';
import { isBrickDown, isBrickFault } from './brick-fault';
import { HealJournal, type JournalEntry, type Replica } from './heal-journal';
import { ObjectLock } from './object-lock';
import { MoveStore } from './move-state';
import { Placement } from './placement';

export interface BrickSpec {
  /** Stable id (placement hashes it; never the address). */
  id: string;
  /** host:port of the brick node (informational for in-process bricks). */
  address: string;
}

export interface Member extends BrickSpec {
  brick: Brick;
  up: boolean;
  downSince?: number;
  lastError?: string;
}

interface MiniLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

const NOLOG: MiniLog = { info() {}, warn() {} };

export interface ReplicaSetOptions {
  kv: Kv;
  replica: number;
  bricks: BrickSpec[];
  /** Brick ids of the previous layout while a rebalance is under way. */
  from?: string[];
  /** Makes the client of one brick (a RemoteBrick, or an in-process brick in tests). */
  connect: (spec: BrickSpec) => Brick | Promise<Brick>;
  probeIntervalMs?: number;
  /** Re-read the heal journal from the store this often (other gateways' marks). 0 = never. */
  journalRefreshMs?: number;
  log?: MiniLog;
}

export interface CopyResult {
  bytes: number;
  /** The source had no such object (the target's copy was deleted). */
  missing: boolean;
}

const COPY_PIECE = 1024 * 1024;
/** How long, and how many, changed objects a rebalance start counts (`countRecent`). */
const RECENT_MS = 10_000;
const RECENT_MAX = 16_384;

export const objKeyOf = (id: ObjectId): string => `${id.fileId}:${id.chunk}`;

/** Where reads of an object start among its n up-to-date replicas (spreads a file's chunks over them). */
const COLD: WriteHint = { cold: true };

export function readRotation(id: ObjectId, n: number): number {
  return (id.chunk + Number(id.fileId & 0xffffn)) % n;
}

export function quorumOf(replica: number): number {
  return replica >= 3 ? Math.floor(replica / 2) + 1 : 1;
}

export class ReplicaSet extends EventEmitter implements Brick {
  readonly journal: HealJournal;
  readonly locks = new ObjectLock();
  readonly replica: number;
  readonly quorum: number;
  private readonly members = new Map<string, Member>();
  private placement: Placement;
  private previous: Placement | undefined;
  /** Objects the running rebalance has moved to the new placement. */
  private readonly moved = new Set<string>();
  /** Objects written at their old placement during the rebalance (it must move them before finishing). */
  readonly pendingMoves = new Map<string, ObjectId>();
  private readonly probes = new Map<string, NodeJS.Timeout>();
  private refresh: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly probeMs: number;
  private readonly log: MiniLog;
  /** Counters for status and metrics. */
  readonly stats = { journalMarks: 0, degradedWrites: 0, failedWrites: 0, readFailovers: 0, corruptReads: 0, lostWriteEvents: 0, lostWriteMarks: 0 };
  /**
   * Objects written or truncated since their last successful fsync → a write generation (an fsync
   * clears the entry only if no write came in meanwhile). Bounded like the Volume's dirty chunks: by the
   * objects written UNSTABLE and not yet committed.
   */
  private readonly unsynced = new Map<bigint, Map<number, number>>();
  private writeGen = 0;
  /** Shared stores: the per-object move state of a rebalance (see the header). */
  readonly moves: MoveStore | undefined;
  /** Shared stores: the old copies of a finished rebalance are not deleted yet (only its clean-up deletes them). */
  retiring = false;
  /** The layout epoch this set serves (the move state's writes are valid only under it). */
  layoutEpoch = 0;
  /** Data operations in flight per layout generation (shared stores; `drain`). */
  private opGen = 0;
  private readonly inflight = new Map<number, number>();
  /**
   * Shared stores: objects this process changed lately (insertion order = time order, bounded). When a
   * rebalance starts, those that move are counted in the store's move state, so the mover moves them
   * even if the inode walk read their file's size before the change that grew it was stored.
   */
  private readonly recent = new Map<string, { id: ObjectId; t: number }>();

  private constructor(private readonly opts: ReplicaSetOptions) {
    super();
    if (![1, 2, 3].includes(opts.replica)) throw new CoreError(Errc.INVAL, `replica must be 1, 2 or 3 (got ${opts.replica})`);
    this.replica = opts.replica;
    this.quorum = quorumOf(opts.replica);
    this.journal = new HealJournal(opts.kv);
    if (this.journal.shared) this.moves = new MoveStore(opts.kv);
    this.placement = new Placement(opts.bricks.map((b) => b.id));
    if (opts.from) this.previous = new Placement(opts.from);
    this.probeMs = opts.probeIntervalMs ?? 1000;
    this.log = opts.log ?? NOLOG;
  }

  static async open(opts: ReplicaSetOptions): Promise<ReplicaSet> {
    const rs = new ReplicaSet(opts);
    if (opts.bricks.length < opts.replica) throw new CoreError(Errc.INVAL, `replica ${opts.replica} needs at least ${opts.replica} bricks (have ${opts.bricks.length})`);
    for (const b of opts.bricks) await rs.addMember(b);
    await rs.journal.load();
    const every = opts.journalRefreshMs ?? 5000;
    if (every > 0) {
      rs.refresh = setInterval(() => void rs.journal.load().catch(() => undefined), every);
      rs.refresh.unref();
    }
    return rs;
  }

  // ---- members and layout ----------------------------------------------------------------------------

  private async addMember(spec: BrickSpec): Promise<Member> {
    const existing = this.members.get(spec.id);
    if (existing) return existing;
    const m: Member = { ...spec, brick: await this.opts.connect(spec), up: true };
    this.members.set(spec.id, m);
    m.brick.onLostWrites?.(() => this.lostWrites(m));
    return m;
  }

  member(id: string): Member | undefined {
    return this.members.get(id);
  }

  memberList(): Member[] {
    return [...this.members.values()];
  }

  get brickIds(): string[] {
    return this.placement.brickIds;
  }

  get previousIds(): string[] | undefined {
    return this.previous?.brickIds;
  }

  get rebalancing(): boolean {
    return this.previous !== undefined;
  }

  /**
   * Switches to a new brick set; `from` (the old ids) keeps the old placement in force for objects not
   * yet moved. New members are connected first.
   */
  async setLayout(bricks: BrickSpec[], from: string[] | undefined, epoch?: number): Promise<void> {
    if (bricks.length < this.replica) throw new CoreError(Errc.INVAL, `replica ${this.replica} needs at least ${this.replica} bricks`);
    for (const b of bricks) {
      const m = this.members.get(b.id);
      if (m) m.address = b.address;
      else await this.addMember(b);
    }
    this.moved.clear();
    this.pendingMoves.clear();
    this.placement = new Placement(bricks.map((b) => b.id));
    this.previous = from ? new Placement(from) : undefined;
    if (epoch !== undefined) this.layoutEpoch = epoch;
    this.opGen++;
  }

  /**
   * Resolves once every data operation that started before the last setLayout has finished (shared
   * stores; elsewhere nothing is counted). Then no operation of this process uses the old layout.
   */
  async drain(): Promise<void> {
    const gen = this.opGen;
    for (;;) {
      let busy = 0;
      for (const [g, n] of this.inflight) if (g < gen) busy += n;
      if (!busy) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Runs a data operation counted in its layout generation (shared stores only). */
  private track<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.moves) return fn();
    const g = this.opGen;
    this.inflight.set(g, (this.inflight.get(g) ?? 0) + 1);
    const done = (): void => {
      const n = (this.inflight.get(g) ?? 1) - 1;
      if (n) this.inflight.set(g, n);
      else this.inflight.delete(g);
    };
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      done();
      throw e;
    }
    return p.finally(done);
  }

  /**
   * Replica ids of an object as they are now for every gateway: during a rebalance on a shared store,
   * an object that moves and is not known here to have moved is looked up in the store's move state.
   */
  async freshReplicaIds(id: ObjectId): Promise<string[]> {
    if (!this.moves || !this.previous) return this.replicaIds(id);
    const mv = this.moveOf(id);
    if (!mv) return this.replicaIds(id);
    if ((await this.moves.placementFor(id, this.layoutEpoch)) === 'new') {
      this.moved.add(objKeyOf(id));
      return mv.to;
    }
    return mv.from;
  }

  private noteRecent(id: ObjectId): void {
    const k = objKeyOf(id);
    this.recent.delete(k);
    this.recent.set(k, { id: { fileId: id.fileId, chunk: id.chunk }, t: Date.now() });
    if (this.recent.size > RECENT_MAX) this.recent.delete(this.recent.keys().next().value!);
  }

  /**
   * At the start of a rebalance, after `drain`: counts in the store's move state the objects this process
   * changed in the last RECENT_MS that move (see `recent`). The mover waits for this gateway's
   * acknowledgement, so it moves them.
   */
  async countRecent(): Promise<void> {
    if (!this.moves || !this.previous) return;
    const since = Date.now() - RECENT_MS;
    const ids: ObjectId[] = [];
    for (const { id, t } of this.recent.values()) if (t >= since && this.moveOf(id)) ids.push(id);
    for (const id of ids) await this.moves.noteChange(id, this.layoutEpoch);
  }

  /** Whether a change to the object must be counted in the store's move state (made at its old placement). */
  private countsChange(id: ObjectId): boolean {
    return !!this.moves && !!this.previous && !this.moved.has(objKeyOf(id)) && this.moveOf(id) !== undefined;
  }

  /** Ends a rebalance: everything is at the new placement; bricks no longer in the set are closed. */
  async finishRebalance(): Promise<string[]> {
    this.previous = undefined;
    this.moved.clear();
    this.pendingMoves.clear();
    const keep = new Set(this.placement.brickIds);
    const gone: Member[] = [];
    for (const m of this.members.values()) if (!keep.has(m.id)) gone.push(m);
    for (const m of gone) {
      this.members.delete(m.id);
      this.stopProbe(m.id);
      await m.brick.close().catch(() => undefined);
    }
    return gone.map((m) => m.id);
  }

  /** Replica brick ids of an object as served right now (old placement until moved, see header). */
  replicaIds(id: ObjectId): string[] {
    const now = this.placement.replicas(id, this.replica);
    if (!this.previous || this.moved.size && this.moved.has(objKeyOf(id))) return now;
    const old = this.previous.replicas(id, this.replica);
    return sameSet(old, now) ? now : old;
  }

  /** Old and new replicas of an object during a rebalance (undefined when it does not move). */
  moveOf(id: ObjectId): { from: string[]; to: string[] } | undefined {
    if (!this.previous || this.moved.has(objKeyOf(id))) return undefined;
    const to = this.placement.replicas(id, this.replica);
    const from = this.previous.replicas(id, this.replica);
    return sameSet(from, to) ? undefined : { from, to };
  }

  markMoved(id: ObjectId): void {
    const k = objKeyOf(id);
    this.moved.add(k);
    this.pendingMoves.delete(k);
  }

  placementOf(id: ObjectId): string[] {
    return this.placement.replicas(id, this.replica);
  }

  // ---- health ----------------------------------------------------------------------------------------

  private markDown(m: Member, e: unknown): void {
    m.lastError = e instanceof Error ? e.message : String(e);
    if (!m.up) return;
    m.up = false;
    m.downSince = Date.now();
    this.log.warn({ brick: m.id, address: m.address, err: m.lastError }, 'brick down');
    this.emit('down', m.id);
    this.startProbe(m);
  }

  private startProbe(m: Member): void {
    if (this.probes.has(m.id) || this.closed) return;
    const t = setInterval(() => {
      if (this.closed) return;
      m.brick.capacity().then(
        () => {
          if (m.up || this.members.get(m.id) !== m) return;
          m.up = true;
          m.downSince = undefined;
          this.stopProbe(m.id);
          this.log.info({ brick: m.id, address: m.address }, 'brick up');
          this.emit('up', m.id);
        },
        (err: unknown) => {
          m.lastError = err instanceof Error ? err.message : String(err);
        },
      );
    }, this.probeMs);
    t.unref();
    this.probes.set(m.id, t);
  }

  private stopProbe(id: string): void {
    const t = this.probes.get(id);
    if (t) clearInterval(t);
    this.probes.delete(id);
  }

  /** Marks a brick down now (tests, operators) — it is probed back like any other. */
  declareDown(id: string): void {
    const m = this.members.get(id);
    if (m) this.markDown(m, new Error('declared down'));
  }

  // ---- lost un-fsynced writes (see the header) --------------------------------------------------------

  /** Called synchronously when a member came back as a new instance. */
  private lostWrites(m: Member): void {
    if (this.members.get(m.id) !== m || this.closed) return;
    this.stats.lostWriteEvents++;
    const missed: Replica[] = [];
    for (const [fileId, chunks] of this.unsynced) for (const chunk of chunks.keys()) {
      const id = { fileId, chunk };
      const ids = this.replicaIds(id);
      // Only where another replica can rebuild it (replica 1: the verifier change alone makes clients resend).
      if (ids.includes(m.id) && ids.some((b) => b !== m.id && !this.journal.isStale(b, id))) missed.push({ brick: m.id, id });
    }
    this.log.warn({ brick: m.id, address: m.address, objects: missed.length }, 'brick came back as a new instance: its un-fsynced writes may be lost; recording them for heal');
    this.emit('lost-writes', m.id);
    if (!missed.length) return;
    this.stats.lostWriteMarks += missed.length;
    this.journal.markLost(missed).then(
      () => this.emit('stale'),
      (e: unknown) => this.log.warn({ brick: m.id, err: String(e) }, 'could not record lost writes durably (kept in memory: not read until healed)'),
    );
  }

  onLostWrites(listener: () => void): void {
    this.on('lost-writes', listener);
  }

  private noteUnsynced(id: ObjectId): void {
    let m = this.unsynced.get(id.fileId);
    if (!m) this.unsynced.set(id.fileId, (m = new Map()));
    m.set(id.chunk, ++this.writeGen);
  }

  /** After a successful fsync: forgets the object unless it was written again meanwhile (gen changed). */
  private synced(id: ObjectId, gen: number | undefined): void {
    const m = this.unsynced.get(id.fileId);
    if (!m || gen === undefined || m.get(id.chunk) !== gen) return;
    m.delete(id.chunk);
    if (!m.size) this.unsynced.delete(id.fileId);
  }

  // ---- writes ----------------------------------------------------------------------------------------

  private async mutate(id: ObjectId, op: (b: Brick) => Promise<void>, change = true): Promise<void> {
    if (!change || !this.countsChange(id)) return this.mutateOn(id, op, change);
    const epoch = this.layoutEpoch;
    await this.mutateOn(id, op, change);
    // Made at the old placement: counted, so the mover copies again, unless the object moved meanwhile
    // (or the rebalance ended): then the copy may lack it, and it is repeated at the new placement.
    if ((await this.moves!.noteChange(id, epoch)) === 'counted') return;
    this.moved.add(objKeyOf(id));
    await this.mutateOn(id, op, change);
  }

  private async mutateOn(id: ObjectId, op: (b: Brick) => Promise<void>, change: boolean): Promise<void> {
    if (this.moves) this.noteRecent(id);
    const ids = this.replicaIds(id);
    if (!this.moves && this.previous && !this.moved.has(objKeyOf(id))) {
      const mv = this.moveOf(id);
      if (mv) this.pendingMoves.set(objKeyOf(id), { fileId: id.fileId, chunk: id.chunk });
    }
    // Shared stores: what the mirror knew when the targets were chosen (renewStale's check of heals that
    // ran meanwhile). Taken in the same tick as the choice below.
    const since = this.journal.shared ? this.journal.mirrorVersion : 0n;
    const startedMs = this.journal.shared ? Date.now() : 0;
    const targets: Member[] = [];
    const missed: Replica[] = [];
    for (const bid of ids) {
      const m = this.members.get(bid);
      if (!m) continue;
      if (this.journal.isStale(bid, id)) {
        // Skipped: it will be rebuilt whole. Needs an OBJECT entry unless it has one (a DROP alone
        // would not say the object must be copied back after the drop is replayed).
        if (!this.journal.hasObject(bid, id)) missed.push({ brick: bid, id });
      } else if (!m.up) missed.push({ brick: bid, id });
      else targets.push(m);
    }
    const results = await Promise.allSettled(targets.map((m) => op(m.brick)));
    const good: Replica[] = [];
    let hard: unknown;
    results.forEach((r, i) => {
      const m = targets[i]!;
      if (r.status === 'fulfilled') good.push({ brick: m.id, id });
      else {
        missed.push({ brick: m.id, id });
        if (isBrickDown(r.reason)) this.markDown(m, r.reason);
        else if (!isBrickFault(r.reason, 'refused')) hard ??= r.reason;
      }
    });
    if (missed.length && good.length) {
      this.stats.journalMarks++;
      try {
        await this.journal.markStale(missed, good);
      } catch (e) {
        this.stats.failedWrites++;
        throw e instanceof CoreError ? e : new CoreError(Errc.IO, `heal journal: ${(e as Error).message}`);
      }
      this.emit('stale');
    }
    if (change && good.length && this.journal.shared) await this.renewStale(id, ids, good, since, startedMs);
    if (hard !== undefined) {
      this.stats.failedWrites++;
      throw hard;
    }
    if (good.length < Math.min(this.quorum, ids.length)) {
      this.stats.failedWrites++;
      throw new CoreError(Errc.IO, `object ${id.fileId}/${id.chunk}: only ${good.length} of ${ids.length} replicas took the write (quorum ${this.quorum})`);
    }
    if (missed.length) this.stats.degradedWrites++;
  }

  /**
   * Shared stores, after a change reached `good`: a heal running on another gateway (its object lock is
   * not ours) may be rebuilding a replica of this object from a copy read before the change landed. The
   * mirror is made current (free under the read lease, one version read otherwise), and every replica with
   * an OBJECT entry gets it re-stamped (HealJournal.renew), so such a heal cannot clear it and copies
   * again. Objects with no entry cost nothing more.
   *
   * The mirror may also have missed a mark when the targets were chosen (`since`): then this change may
   * have written the stale replica directly, and a heal may have copied over it and cleared the entry
   * before this check. HealJournal.afterChange finds such replicas by the trace the clear left (only
   * when the journal version moved past `since` through another gateway's mark: same round trips as
   * before), and their entry is made again, so the next heal copies this change there too.
   */
  private async renewStale(id: ObjectId, ids: string[], good: Replica[], since: bigint, startedMs: number): Promise<void> {
    let over: string[];
    try {
      over = await this.journal.afterChange(id, ids, good.map((g) => g.brick), since, startedMs);
    } catch (e) {
      this.stats.failedWrites++;
      throw e instanceof CoreError ? e : new CoreError(Errc.IO, `heal journal: ${(e as Error).message}`);
    }
    // A replica this change wrote that has a missed drop pending (the mirror had not heard of it) loses the
    // change when the drop is replayed: it needs an OBJECT entry too, as a skipped one gets (mutateOn).
    const stale = ids.filter((b) => this.journal.hasObject(b, id) || over.includes(b) || (this.journal.hasDrop(b, id) && good.some((g) => g.brick === b)));
    if (!stale.length) return;
    try {
      if (await this.journal.renew(stale.map((b) => ({ brick: b, id })), good.filter((g) => !stale.includes(g.brick)))) this.emit('stale');
    } catch (e) {
      this.stats.failedWrites++;
      throw e instanceof CoreError ? e : new CoreError(Errc.IO, `heal journal: ${(e as Error).message}`);
    }
  }

  writeRange(id: ObjectId, offset: number, data: Buffer, hint?: WriteHint): Promise<void> {
    this.noteUnsynced(id);
    // Reads of this chunk go to one replica (readOrder's first); the other copies are read only on
    // failover or to heal, so they are written cold (brick nodes keep them out of their page cache).
    const reader = this.replica > 1 ? this.readOrder(id, this.replicaIds(id))[0]?.brick : undefined;
    return this.track(() => this.locks.shared(objKeyOf(id), () => this.mutate(id, (b) => b.writeRange(id, offset, data, reader && b !== reader ? COLD : hint))));
  }

  truncate(id: ObjectId, length: number): Promise<void> {
    this.noteUnsynced(id);
    return this.track(() => this.locks.shared(objKeyOf(id), () => this.mutate(id, (b) => b.truncate(id, length))));
  }

  delete(id: ObjectId): Promise<void> {
    this.synced(id, this.unsynced.get(id.fileId)?.get(id.chunk));
    return this.track(() => this.locks.shared(objKeyOf(id), () => this.mutate(id, (b) => b.delete(id))));
  }

  async fsync(id: ObjectId): Promise<void> {
    const gen = this.unsynced.get(id.fileId)?.get(id.chunk);
    // Not a change: an object the mover copied was fsynced on its new bricks by the mover, and changes
    // this process made at the old placement are fsynced there (the copy includes them).
    await this.track(() => this.locks.shared(objKeyOf(id), () => this.mutate(id, (b) => b.fsync(id), false)));
    this.synced(id, gen);
  }

  /**
   * Drops a file's objects from every brick (a file's chunks are spread over all of them). A brick that
   * misses it gets a DROP entry (durable) before this resolves; it then serves none of those objects
   * until the drop is replayed on it.
   */
  async dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    const un = this.unsynced.get(fileId);
    if (un) {
      for (const c of [...un.keys()]) if (c >= firstChunk) un.delete(c);
      if (!un.size) this.unsynced.delete(fileId);
    }
    return this.track(async () => {
      if (!this.moves || !this.previous) return this.dropOnce(fileId, firstChunk);
      // During a rebalance on a shared store: a move's copy running meanwhile may write back what was just
      // dropped. The drop is counted (a copy that has not committed yet starts again), then repeated
      // (removing what a copy that committed before the count wrote).
      const epoch = this.layoutEpoch;
      await this.dropOnce(fileId, firstChunk);
      await this.moves.noteDrop(fileId, epoch);
      await this.dropOnce(fileId, firstChunk);
    });
  }

  private async dropOnce(fileId: bigint, firstChunk: number): Promise<void> {
    const all = new Set([...this.placement.brickIds, ...(this.previous?.brickIds ?? [])]);
    const ms = [...all].map((id) => this.members.get(id)).filter((m): m is Member => !!m);
    const res = await Promise.allSettled(ms.map((m) => (m.up ? m.brick.dropFrom(fileId, firstChunk) : Promise.reject(new CoreError(Errc.IO, 'down')))));
    let hard: unknown;
    let okCount = 0;
    for (let i = 0; i < ms.length; i++) {
      const r = res[i]!;
      const m = ms[i]!;
      if (r.status === 'fulfilled') {
        okCount++;
        continue;
      }
      if (isBrickDown(r.reason)) this.markDown(m, r.reason);
      else if (m.up && !isBrickFault(r.reason, 'refused')) hard ??= r.reason;
      await this.journal.markDrop(m.id, fileId, firstChunk);
    }
    if (okCount < ms.length) this.emit('stale');
    if (hard !== undefined) throw hard;
  }

  // ---- reads -----------------------------------------------------------------------------------------

  /** Up-to-date replicas, up ones first, rotated by chunk so readers of a file spread over the bricks. */
  private readOrder(id: ObjectId, replicas: string[]): Member[] {
    const ids = replicas.filter((b) => !this.journal.isStale(b, id));
    const ms = ids.map((b) => this.members.get(b)).filter((m): m is Member => !!m);
    const n = ms.length;
    if (n <= 1) return ms;
    const start = readRotation(id, n);
    const rotated = ms.slice(start).concat(ms.slice(0, start));
    return rotated.filter((m) => m.up).concat(rotated.filter((m) => !m.up));
  }

  private async readFrom<T>(id: ObjectId, fn: (b: Brick) => Promise<T>): Promise<T> {
    const replicas = this.moves && this.previous ? await this.freshReplicaIds(id) : this.replicaIds(id);
    if (this.journal.shared && !this.journal.currentNow()) await this.journal.refreshFor(id, replicas);
    const order = this.readOrder(id, replicas);
    if (!order.length) throw new CoreError(Errc.IO, `object ${id.fileId}/${id.chunk}: no up-to-date replica`);
    let last: unknown;
    for (let i = 0; i < order.length; i++) {
      const m = order[i]!;
      try {
        const v = await fn(m.brick);
        if (i > 0) this.stats.readFailovers++;
        return v;
      } catch (e) {
        last = e;
        if (isBrickFault(e, 'corrupt')) {
          this.stats.corruptReads++;
          this.repairLater(id, m.id);
        } else if (isBrickDown(e)) this.markDown(m, e);
        else this.log.warn({ brick: m.id, object: `${id.fileId}/${id.chunk}`, err: String(e) }, 'replica read failed; trying the next');
      }
    }
    throw last instanceof CoreError ? last : new CoreError(Errc.IO, `object ${id.fileId}/${id.chunk}: every replica failed`);
  }

  private async withReadLock<T>(id: ObjectId, fn: () => Promise<T>): Promise<T> {
    // Only a moving object can disappear from under a read (its old copy is deleted after the move).
    return this.previous ? this.locks.shared(objKeyOf(id), fn) : fn();
  }

  readInto(id: ObjectId, offset: number, target: Buffer, hint?: ReadHint): Promise<number> {
    return this.track(() => this.withReadLock(id, () => this.readFrom(id, (b) => b.readInto(id, offset, target, hint))));
  }

  readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    return this.track(() => this.withReadLock(id, () => this.readFrom(id, (b) => b.readRange(id, offset, length))));
  }

  stat(id: ObjectId): Promise<{ size: number } | undefined> {
    return this.track(() => this.withReadLock(id, () => this.readFrom(id, (b) => b.stat(id))));
  }

  /** A corrupt copy: mark it stale (so it is not read again) and let the healer rebuild it. */
  private repairLater(id: ObjectId, bad: string): void {
    const good = this.replicaIds(id)
      .filter((b) => b !== bad && !this.journal.isStale(b, id))
      .map((b) => ({ brick: b, id }));
    if (!good.length) return;
    this.journal.markStale([{ brick: bad, id }], []).then(
      () => {
        this.log.warn({ brick: bad, object: `${id.fileId}/${id.chunk}` }, 'corrupt copy: marked for repair');
        this.emit('stale');
      },
      (e: unknown) => this.log.warn({ brick: bad, err: String(e) }, 'could not record a corrupt copy for repair'),
    );
  }

  async capacity(): Promise<BrickCapacity> {
    const ups = this.placement.brickIds.map((id) => this.members.get(id)).filter((m): m is Member => !!m && m.up);
    const caps = await Promise.allSettled(ups.map((m) => m.brick.capacity()));
    const ok = caps.filter((c): c is PromiseFulfilledResult<BrickCapacity> => c.status === 'fulfilled').map((c) => c.value);
    if (!ok.length) throw new CoreError(Errc.IO, 'no brick answers');
    // Every byte is stored `replica` times: usable space is the sum divided by the replica count.
    const r = BigInt(this.replica);
    const sum = (f: (c: BrickCapacity) => bigint): bigint => ok.reduce((a, c) => a + f(c), 0n);
    return {
      totalBytes: sum((c) => c.totalBytes) / r,
      freeBytes: sum((c) => c.freeBytes) / r,
      availBytes: sum((c) => c.availBytes) / r,
      totalFiles: sum((c) => c.totalFiles) / r,
      freeFiles: sum((c) => c.freeFiles) / r,
    };
  }

  // ---- copies (heal and rebalance) -------------------------------------------------------------------

  /**
   * Rebuilds `id` on `target` from the first source that serves it whole: the target's copy is deleted,
   * the source's bytes written in 1 MiB pieces, and the result fsynced. The caller holds the object's
   * exclusive lock. `pace` is awaited after each piece (throttling).
   */
  async copyObject(id: ObjectId, sources: Member[], target: Member, pace?: (bytes: number) => Promise<void>): Promise<CopyResult> {
    let last: unknown = new CoreError(Errc.IO, 'no source replica');
    for (const src of sources) {
      let size: number;
      try {
        const st = await src.brick.stat(id);
        if (!st) {
          await target.brick.delete(id);
          return { bytes: 0, missing: true };
        }
        size = st.size;
      } catch (e) {
        last = e;
        if (isBrickDown(e)) this.markDown(src, e);
        continue;
      }
      try {
        await target.brick.delete(id);
        let off = 0;
        let srcFailed = false;
        if (size === 0) await target.brick.writeRange(id, 0, Buffer.alloc(0));
        while (off < size) {
          let piece: Buffer;
          try {
            piece = await src.brick.readRange(id, off, Math.min(COPY_PIECE, size - off));
          } catch (e) {
            last = e;
            if (isBrickFault(e, 'corrupt')) this.repairLater(id, src.id);
            else if (isBrickDown(e)) this.markDown(src, e);
            srcFailed = true;
            break;
          }
          if (piece.length === 0) break; // shrank meanwhile (not under our lock: another gateway)
          await target.brick.writeRange(id, off, piece);
          off += piece.length;
          if (pace) await pace(piece.length);
        }
        if (srcFailed) continue;
        await target.brick.fsync(id);
        return { bytes: off, missing: false };
      } catch (e) {
        if (isBrickDown(e)) this.markDown(target, e);
        throw e;
      }
    }
    throw last;
  }

  /** Journal entries whose brick is up (what a heal pass can work on now). */
  healable(): JournalEntry[] {
    return this.journal.entries().filter((e) => {
      const m = this.members.get(e.brick);
      return !m || m.up;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refresh) clearInterval(this.refresh);
    for (const id of [...this.probes.keys()]) this.stopProbe(id);
    await Promise.all([...this.members.values()].map((m) => m.brick.close().catch(() => undefined)));
  }
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (const x of a) if (!b.includes(x)) return false;
  return true;
}
