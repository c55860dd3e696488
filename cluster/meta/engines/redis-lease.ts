/**
 * The Redis engine's read cache and the lease that keeps it coherent across gateways
 * (redis-engine.ts; docs/redis-metadata.md "Read lease").
 *
 * Why: with `appendfsync always` Redis answers nothing before the AOF fsync of the event-loop turn that
 * carried a write, so while creates are running every read round trip costs an fsync; an NFS LOOKUP makes
 * three dependent reads, a CREATE two before its commit. A gateway that may answer plain reads from memory
 * needs round trips for its commits only.
 *
 * The rule that makes that safe for NFS close-to-open across gateways: a gateway answers reads from its
 * cache only while it holds the volume's read lease, a Redis key (`<prefix>l` = the holder's id, with a
 * TTL) that the COMMIT script checks. While one gateway holds it, a commit with writes from any other
 * gateway is refused (answer 2): the only writes Redis accepts are the holder's own, and the holder
 * updates its cache from each commit's answer. Redis stays the single source of truth (the cache is
 * write-through): a gateway without the lease reads Redis as before.
 *
 * A gateway whose commit was refused asks for the lease back (BREAK: it sets `<prefix>b`, a short
 * "contended" mark, and publishes on `<prefix>brk`) and retries its commit. The holder, told by the
 * message or at its next renewal, empties its cache, stops using it, and deletes the lease key; a holder
 * that has died lets it expire (TTL). The holder trusts its lease only until the time it sent the last
 * successful acquire/renew plus the TTL minus a margin, so it stops serving from memory before Redis can
 * expire the key and let another gateway write. While the contended mark lives nobody acquires the
 * lease, so gateways that write to one volume together simply read Redis (the pre-lease behaviour); a
 * gateway that loses the lease waits longer (doubling, bounded) before it tries again.
 *
 * Cache fill: the cache learns values from commit answers (the values written) and from read answers. A
 * read answer fills only if no commit of this process that writes the key is unanswered (Redis answers a
 * connection's commands in order, so every commit sent before the read is reflected in its answer and
 * every commit sent after it is still pending when it arrives) and the lease epoch is the one the read
 * was sent in. Losing the lease, a dropped connection, or an unclear commit outcome empties the cache
 * and starts a new epoch. The cache is bounded (entries; two generations, bounded-map.ts).
 */
import { BoundedMap } from '../../vfs/bounded-map';

/** One cached value: undefined = the key is known to be absent. */
export interface CachedValue {
  v: Buffer | undefined;
}

export interface LeaseCacheOptions {
  /** Cache entries at most (0 = no cache and no lease). */
  maxEntries: number;
  /** Lease TTL in Redis, ms. */
  ttlMs: number;
}

/** Lease state and the cache it guards (no I/O here: redis-engine.ts sends the scripts). */
export class LeaseCache {
  /** O(1) bounded (bounded-map.ts: a Map trimmed by deleting its first key costs up to its size per insertion once full). */
  private readonly map: BoundedMap<string, CachedValue>;
  /** Bumped whenever the cache is emptied: answers to reads/commits sent earlier must not fill. */
  epoch = 0;
  /** Local deadline of the lease (ms since epoch, Date.now clock); 0 = not held. */
  private validUntil = 0;
  hits = 0;

  constructor(readonly opts: LeaseCacheOptions) {
    this.map = new BoundedMap(Math.max(2, opts.maxEntries));
  }

  get enabled(): boolean {
    return this.opts.maxEntries > 0;
  }

  /** The lease is held (as far as this process may assume) and the cache may answer reads. */
  get usable(): boolean {
    return this.validUntil !== 0 && Date.now() < this.validUntil;
  }

  get held(): boolean {
    return this.validUntil !== 0;
  }

  /**
   * A lease acquire/renew sent at `sentAt` succeeded. The margin covers clock-rate differences between
   * this host and Redis and the delay before Redis ran the command (which only makes Redis's expiry later).
   */
  granted(sentAt: number): void {
    const margin = Math.max(100, Math.floor(this.opts.ttlMs / 4));
    if (this.validUntil === 0) this.clear();
    this.validUntil = sentAt + this.opts.ttlMs - margin;
  }

  /** Not (or no longer certainly) the holder: stop answering from memory at once. */
  lose(): void {
    this.validUntil = 0;
    this.clear();
  }

  /** Empties the cache; answers of commands sent before now will not fill it. */
  clear(): void {
    this.map.clear();
    this.epoch++;
  }

  lookup(s: string): CachedValue | undefined {
    if (!this.usable) return undefined;
    const c = this.map.get(s);
    if (c) this.hits++;
    return c;
  }

  /** A value Redis answered (or a commit wrote) in epoch `epoch`; ignored if the epoch has ended. */
  set(s: string, v: Buffer | undefined | null, epoch: number): void {
    if (epoch !== this.epoch || !this.held) return;
    let own: Buffer | undefined;
    if (v) {
      // Memory of its own: reply parsers and writers hand out slices of larger buffers, and a kept slice
      // would pin its whole block.
      own = Buffer.allocUnsafeSlow(v.length);
      v.copy(own);
    }
    this.map.set(s, { v: own });
  }

  /** Drops one key (its value may be stale: a transaction that read it conflicted). */
  forget(s: string): void {
    this.map.delete(s);
  }

  get size(): number {
    return this.map.size;
  }
}
