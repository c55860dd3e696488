/**
 * Self-heal: rebuilds the replicas listed in the heal journal (heal-journal.ts) from good ones, in the
 * background, throttled. A pass runs when a brick comes back up, when a replica is newly marked stale
 * (debounced), on demand (`gateway heal start`), and every `intervalMs` while a backlog remains.
 *
 * Per entry, under the object's exclusive lock (no write to that object interleaves with the copy):
 *   DROP    replay the missed drop on the brick, then clear the entry;
 *   OBJECT  copy the object from an up-to-date, reachable replica (copyObject: delete, write, fsync),
 *           then clear the entry. A brick no longer among the object's replicas just loses its copy.
 * An entry is cleared only after the rebuilt copy is fsynced; the clear is a compare-and-delete, so a
 * newer "missed" mark made meanwhile (by another gateway) survives. Entries of a brick that is down, or
 * of objects with no good source right now, stay for a later pass.
 *
 * Several gateways on one store: the lock above is this process's only. A change through another gateway
 * to an object with an entry re-stamps the entry (new nonce) after it reached the bricks
 * (ReplicaSet.renewStale). The healer reads the entry's nonce from the store BEFORE its copy and clears
 * with that nonce: a change that landed on the source after the copy read it has re-stamped the entry
 * before the clear (the clear fails and the object is copied again), or comes after the clear (and makes
 * the entry again). docs/distributed.md "Self-heal" and its known limit.
 *
 * Several healers (one per gateway) on one entry: before it rewrites a replica, a healer claims the entry
 * in the store (HealJournal.claim; the same transaction reads the nonce). Another healer that finds the
 * claim skips the entry (`busy`), and may not clear it, so no replica is rewritten while a clear by
 * someone else lets readers use it. A claim lasts CLAIM_MS (5 min). Before each piece after the first,
 * a copy extends a claim older than CLAIM_EXTEND_MS (30 s); its first writes follow the claim after a few
 * brick requests of its own (stat, delete, read: each bounded by the brick request timeout, 30 s by
 * default). So a write of the copy is issued at most about two minutes after the claim was last taken
 * and lands within one more timeout: no write of an expired claim can still land while the timeout stays
 * well below a minute. A healer that gives up cleanly releases its claim; one that failed mid-copy (a
 * write may still be under way) or crashed leaves it to expire.
 */
import { randomInt } from 'node:crypto';
import { KIND_DROP, type JournalEntry } from './heal-journal';
import { objKeyOf, type Member, type ReplicaSet } from './replica-set';
import { Throttle } from './throttle';

/** Copies of one entry in one pass when other gateways keep writing the object (then the next pass). */
const COPY_ATTEMPTS = 3;
/** A claim is extended before a copy writes more once this long has passed since it was taken. */
const CLAIM_EXTEND_MS = 30_000;

export interface HealOptions {
  /** Copy rate limit in bytes per second (0 = unlimited). Default 128 MiB/s. */
  bytesPerSecond?: number;
  /** Objects rebuilt at once. Default 4. */
  concurrency?: number;
  /** Pass interval while entries remain. Default 5 s. */
  intervalMs?: number;
  /** Delay after a new stale mark before a pass starts (marks come in bursts). Default 500 ms. */
  debounceMs?: number;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export interface HealStatus {
  backlog: number;
  backlogByBrick: Record<string, number>;
  running: boolean;
  passes: number;
  healedObjects: number;
  healedBytes: number;
  droppedReplayed: number;
  /** Entries a pass could not heal yet (no good source reachable, or the copy failed). */
  deferred: number;
  /** Copies not committed because the object was written through another gateway meanwhile (copied again). */
  raced: number;
  /** Entries skipped because another gateway's healer had claimed them (it heals them). */
  busy: number;
  lastError?: string;
  lastPassMs?: number;
}

export class Healer {
  private readonly throttle: Throttle;
  private readonly concurrency: number;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly st = { passes: 0, healedObjects: 0, healedBytes: 0, droppedReplayed: 0, deferred: 0, raced: 0, busy: 0, lastError: undefined as string | undefined, lastPassMs: undefined as number | undefined };
  /** This healer's claim id (heal-journal `claim`): never 0, which means "unclaimed". */
  private readonly holder = 1 + randomInt(0x7ffffffe);
  private readonly onUp = (): void => void this.kick();
  private readonly onStale = (): void => this.kickSoon();

  constructor(
    private readonly set: ReplicaSet,
    private readonly opts: HealOptions = {},
  ) {
    this.throttle = new Throttle(opts.bytesPerSecond ?? 128 * 1024 * 1024);
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    set.on('up', this.onUp);
    set.on('stale', this.onStale);
    const every = opts.intervalMs ?? 5000;
    if (every > 0) {
      this.timer = setInterval(() => {
        if (set.journal.size > 0) void this.kick();
        else if (set.journal.shared) set.journal.pruneTraces().catch(() => undefined);
      }, every);
      this.timer.unref();
    }
  }

  /** Starts a pass now (or right after the running one). Resolves when that pass is over. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private kickSoon(): void {
    if (this.debounce || this.stopped) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.kick();
    }, this.opts.debounceMs ?? 500);
    this.debounce.unref();
  }

  /** Heals until nothing healable is left or `timeoutMs` passes; true if the journal is empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      await this.kick();
      if (this.set.journal.size === 0) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return this.set.journal.size === 0;
  }

  private async pass(): Promise<void> {
    const t0 = Date.now();
    this.st.passes++;
    this.st.deferred = 0;
    this.st.lastError = undefined;
    if (this.set.journal.shared) await this.set.journal.pruneTraces().catch(() => undefined);
    const todo = this.set.healable();
    // DROPs first: a brick replays the drops it missed before objects are copied back onto it.
    const drops = todo.filter((e) => e.kind === KIND_DROP);
    const objects = todo.filter((e) => e.kind !== KIND_DROP);
    await this.runAll(drops);
    await this.runAll(objects);
    this.st.lastPassMs = Date.now() - t0;
  }

  private async runAll(entries: JournalEntry[]): Promise<void> {
    let i = 0;
    const worker = async (): Promise<void> => {
      while (i < entries.length && !this.stopped) {
        const e = entries[i++]!;
        try {
          await this.healOne(e);
        } catch (err) {
          this.st.deferred++;
          this.st.lastError = err instanceof Error ? err.message : String(err);
          this.opts.log?.warn({ brick: e.brick, object: `${e.fileId}/${e.chunk}`, err: this.st.lastError }, 'heal deferred');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, entries.length) }, worker));
  }

  private async healOne(e: JournalEntry): Promise<void> {
    const set = this.set;
    if (!set.journal.isCurrent(e)) return;
    const target = set.member(e.brick);
    if (e.kind === KIND_DROP) {
      if (target && !target.up) return;
      // Claimed, so that no other healer replays this drop after the clear (when new writes may be there).
      const cur = await set.journal.claim(e, this.holder);
      if (cur === 'busy') {
        this.st.busy++;
        return;
      }
      if (!cur) return;
      if (target) await set.locks.exclusive(`drop:${e.fileId}`, () => target.brick.dropFrom(e.fileId, e.chunk));
      await set.journal.clear(cur, e, this.holder);
      this.st.droppedReplayed++;
      return;
    }
    const id = { fileId: e.fileId, chunk: e.chunk };
    await set.locks.exclusive(objKeyOf(id), async () => {
      if (!set.journal.isCurrent(e)) return;
      if (target && !target.up) return;
      // A DROP still pending on this brick for this file is replayed first (a later pass).
      if (target && set.journal.hasDrop(e.brick, id)) {
        this.st.deferred++;
        return;
      }
      // Another gateway's writes to this object are not excluded by our lock: each re-stamps the entry
      // after it wrote (ReplicaSet.renewStale). The entry is claimed (its nonce read) before the copy and
      // cleared only if unchanged since, else copied again (a few times; then left for the next pass).
      let cur: JournalEntry | undefined = e;
      let claimed = false;
      for (let attempt = 0; attempt < COPY_ATTEMPTS; attempt++) {
        const got = await set.journal.claim(cur, this.holder);
        if (got === 'busy') {
          this.st.busy++; // another gateway's healer is on it
          return;
        }
        cur = got;
        if (!cur) return; // cleared meanwhile (by another gateway's healer)
        claimed = true;
        let claimedAt = Date.now();
        if (!target) {
          // The brick left the volume: nothing to rebuild there.
          await set.journal.clear(cur, e, this.holder);
          return;
        }
        // During a rebalance on a shared store, where the object is now for every gateway (move-state.ts).
        const replicas = await set.freshReplicaIds(id);
        // Another gateway may have marked a would-be source stale just now: never copy from it.
        await set.journal.refreshFor(id, replicas);
        if (!replicas.includes(e.brick)) {
          // Not a replica (any more). During a rebalance with several gateways, another one may still be
          // reading that copy: the rebalance's clean-up deletes it once every gateway has switched.
          if (!(set.moves && (set.rebalancing || set.retiring))) await target.brick.delete(id);
          await set.journal.clear(cur, e, this.holder);
          return;
        }
        const sources = replicas
          .filter((b) => b !== e.brick && !set.journal.isStale(b, id))
          .map((b) => set.member(b))
          .filter((m): m is Member => !!m && m.up);
        if (!sources.length) {
          this.st.deferred++;
          await set.journal.unclaim(cur, this.holder).catch(() => undefined);
          return;
        }
        const held: JournalEntry = cur;
        const pace = async (n: number): Promise<void> => {
          await this.throttle.take(n);
          // No write of this copy is issued on a claim older than CLAIM_EXTEND_MS (see the header).
          if (set.journal.shared && Date.now() - claimedAt > CLAIM_EXTEND_MS) {
            const again = await set.journal.claim(held, this.holder);
            if (again === 'busy' || !again) throw new Error('heal claim lost during the copy');
            claimedAt = Date.now();
          }
        };
        const r = await set.copyObject(id, sources, target, pace);
        if (await set.journal.clear(cur, e, this.holder)) {
          this.st.healedObjects++;
          this.st.healedBytes += r.bytes;
          return;
        }
        this.st.raced++; // written through another gateway during the copy
      }
      this.st.deferred++;
      if (claimed && cur) await set.journal.unclaim(cur, this.holder).catch(() => undefined);
    });
  }

  status(): HealStatus {
    const by: Record<string, number> = {};
    for (const [b, n] of this.set.journal.countByBrick()) by[b] = n;
    return {
      backlog: this.set.journal.size,
      backlogByBrick: by,
      running: this.running !== undefined,
      passes: this.st.passes,
      healedObjects: this.st.healedObjects,
      healedBytes: this.st.healedBytes,
      droppedReplayed: this.st.droppedReplayed,
      deferred: this.st.deferred,
      raced: this.st.raced,
      busy: this.st.busy,
      ...(this.st.lastError ? { lastError: this.st.lastError } : {}),
      ...(this.st.lastPassMs !== undefined ? { lastPassMs: this.st.lastPassMs } : {}),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    this.set.off('up', this.onUp);
    this.set.off('stale', this.onStale);
    await this.running?.catch(() => undefined);
  }
}
