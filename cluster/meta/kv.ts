/**
 * The metadata store's transactional key-value interface. The namespace (cluster/meta/namespace.ts) is
 * written once against it; engines implement it: embedded (memory, lmdb) now, Redis next.
 *
 * Keys and values are byte strings ordered bytewise (unsigned, shorter prefix first). Values are never
 * empty (engines may not distinguish an empty value from a missing one). Buffers handed out by reads may
 * be shared with the engine (stored or cached values): readers must not modify them.
 *
 * Transactions are optimistic: reads are recorded, writes are buffered in the transaction, and at commit
 * the engine checks that everything the transaction read (point reads and range reads) is unchanged; if
 * not, the callback runs again from the start, a bounded number of times, then the call fails with
 * Errc.DELAY. Callbacks must therefore be free of side effects other than `tx.put` / `tx.delete`, and
 * must not wait for anything but the transaction's own reads. A callback that throws aborts the
 * transaction (nothing is written); if its reads were already stale, it is retried instead, so a
 * decision is never taken on a torn view.
 */

export interface KvEntry {
  key: Buffer;
  value: Buffer;
}

/** Ascending range. All bounds are optional and combine (intersection). */
export interface KvRange {
  /** Only keys that start with these bytes. */
  prefix?: Buffer;
  /** Keys >= start. */
  start?: Buffer;
  /** Keys > after (resume after a key already seen). */
  after?: Buffer;
  /** Keys < end. */
  end?: Buffer;
  /** At most this many entries. */
  limit?: number;
}

export interface KvReader {
  get(key: Buffer): Promise<Buffer | undefined>;
  /** Several point reads at once (one round trip for a remote engine, e.g. Redis MGET); same order. */
  getMany(keys: readonly Buffer[]): Promise<Array<Buffer | undefined>>;
  range(r: KvRange): Promise<KvEntry[]>;
  /** The keys `range` would return, without their values (tables whose rows are all in the key). */
  rangeKeys(r: KvRange): Promise<Buffer[]>;
}

/** A transaction: reads see the transaction's own buffered writes. */
export interface KvTx extends KvReader {
  put(key: Buffer, value: Buffer): void;
  delete(key: Buffer): void;
}

export interface KvTxnOptions {
  /** Resolve only once the commit is on stable storage. Default false: visible at once, flushed soon. */
  durable?: boolean;
  /** Attempts before giving up with Errc.DELAY. Default 64. */
  maxAttempts?: number;
}

export interface KvStats {
  commits: number;
  conflicts: number;
  durableCommits: number;
}

export interface Kv extends KvReader {
  txn<T>(fn: (tx: KvTx) => Promise<T>, opts?: KvTxnOptions): Promise<T>;
  /** Resolves once every commit that has resolved so far is on stable storage. */
  sync(): Promise<void>;
  /**
   * A number that changes whenever a write set is applied to the store, so that a reader may keep what it
   * derived from the store while the number stays the same (cluster/vfs/listing-pages.ts). Only engines
   * that see every write to their store (one process owns it) have one; undefined or absent otherwise.
   */
  writeEpoch?(): number | undefined;
  stats(): KvStats;
  close(): Promise<void>;
}

// ---- byte-key helpers shared by engines -------------------------------------------------------------

/**
 * Keys as latin1 strings: one char per byte, so JS string order is bytewise key order. Used for maps
 * and sorted arrays inside the engines.
 */
export function keyStr(k: Buffer): string {
  return k.toString('latin1');
}

export function strKey(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Smallest key greater than every key that starts with `prefix`, or undefined if there is none. */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** The range as [lower bound, inclusive?, upper bound exclusive] over latin1 key strings. */
export interface StrBounds {
  lo?: string;
  loInclusive: boolean;
  hi?: string;
  limit: number;
}

export function rangeBounds(r: KvRange): StrBounds {
  let lo: string | undefined;
  let loInclusive = true;
  const raise = (s: string, inclusive: boolean) => {
    if (lo === undefined || s > lo || (s === lo && !inclusive)) {
      lo = s;
      loInclusive = inclusive;
    }
  };
  if (r.prefix && r.prefix.length) raise(keyStr(r.prefix), true);
  if (r.start) raise(keyStr(r.start), true);
  if (r.after) raise(keyStr(r.after), false);
  let hi: string | undefined;
  const lower = (s: string) => {
    if (hi === undefined || s < hi) hi = s;
  };
  if (r.prefix && r.prefix.length) {
    const pe = prefixEnd(r.prefix);
    if (pe) lower(keyStr(pe));
  }
  if (r.end) lower(keyStr(r.end));
  const limit = r.limit === undefined ? Infinity : Math.max(0, Math.floor(r.limit));
  return { lo, loInclusive, hi, limit };
}

export function inBounds(k: string, b: StrBounds): boolean {
  if (b.lo !== undefined && (k < b.lo || (k === b.lo && !b.loInclusive))) return false;
  if (b.hi !== undefined && k >= b.hi) return false;
  return true;
}
