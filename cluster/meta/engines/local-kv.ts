/**
 * Optimistic transactions for in-process engines (memory, lmdb). An engine supplies a synchronous view
 * of the committed state (`readKey`, `scan`) and `apply`, which makes a write set visible at once and
 * returns a promise for its commit (and, when asked, its durability). Validation and apply run in one
 * synchronous step of the event loop, so they are atomic with respect to every other transaction of
 * this process. One process owns an embedded store; several gateways share Redis instead.
 *
 * Conflicts: the first attempt runs without any lock. A transaction that conflicted retries while
 * holding the engine's retry mutex, and new transactions wait while that mutex is held, so a contended
 * key (a hot directory) degrades to serial execution instead of livelocking.
 */
import { CoreError, Errc } from '../../vfs/errors';
import { keyStr, rangeBounds, strKey, type Kv, type KvEntry, type KvRange, type KvStats, type KvTx, type KvTxnOptions, type StrBounds } from '../kv';
import { BodyTurns } from './body-turns';
import { Mutex, sameValue } from './engine-util';
/** What `apply` gets: a transaction's writes, latest value per key (null: delete), in no particular order. */
export interface WriteSet {
  readonly size: number;
  each(fn: (v: Buffer | null, k: string) => void): void;
}

/**
 * A transaction's writes: a hash map, put in key order only when a range read of the same transaction
 * needs them merged (most transactions never read a range after writing, so most never sort).
 */
class TxWrites implements WriteSet {
  private readonly map = new Map<string, Buffer | null>();
  private sorted: string[] | undefined;

  get size(): number {
    return this.map.size;
  }

  get(k: string): Buffer | null | undefined {
    return this.map.get(k);
  }

  set(k: string, v: Buffer | null): void {
    if (this.sorted && !this.map.has(k)) this.sorted = undefined;
    this.map.set(k, v);
  }

  each(fn: (v: Buffer | null, k: string) => void): void {
    this.map.forEach(fn);
  }

  /** Entries inside the bounds (limit ignored), in key order. Not to be used across a `set`. */
  *entries(b: StrBounds): Generator<[string, Buffer | null]> {
    if (this.map.size === 0) return;
    // Latin1 key strings: UTF-16 code unit order (sort's default) is bytewise key order.
    const keys = (this.sorted ??= [...this.map.keys()].sort());
    let i = 0;
    if (b.lo !== undefined) {
      let hi = keys.length;
      while (i < hi) {
        const mid = (i + hi) >>> 1;
        if (keys[mid]! < b.lo || (!b.loInclusive && keys[mid] === b.lo)) i = mid + 1;
        else hi = mid;
      }
    }
    for (; i < keys.length; i++) {
      const k = keys[i]!;
      if (b.hi !== undefined && k >= b.hi) return;
      yield [k, this.map.get(k) as Buffer | null];
    }
  }
}

interface RangeRead {
  b: StrBounds;
  /** Base entries the transaction consumed, in order. */
  seen: Array<[string, Buffer]>;
  /** Last key the scan reached (inclusive), or undefined if it ran to the end of the bounds. */
  upto?: string;
}

class LocalTx implements KvTx {
  readonly reads = new Map<string, Buffer | undefined>();
  readonly ranges: RangeRead[] = [];
  readonly writes = new TxWrites();

  constructor(private readonly kv: LocalKv) {}

  async get(key: Buffer): Promise<Buffer | undefined> {
    return this.getNow(key);
  }

  async getMany(keys: readonly Buffer[]): Promise<Array<Buffer | undefined>> {
    return keys.map((k) => this.getNow(k));
  }

  private getNow(key: Buffer): Buffer | undefined {
    const s = keyStr(key);
    const w = this.writes.get(s);
    if (w !== undefined) return w ?? undefined;
    if (this.reads.has(s)) return this.reads.get(s);
    const v = this.kv.readKeyChecked(s, key);
    this.reads.set(s, v);
    return v;
  }

  async range(r: KvRange): Promise<KvEntry[]> {
    const b = rangeBounds(r);
    const out: KvEntry[] = [];
    if (b.limit === 0) return out;
    const rec: RangeRead = { b, seen: [] };
    this.ranges.push(rec);
    const base = this.kv.scanChecked(b);
    const local = this.writes.entries(b);
    let bn = base.next();
    let ln = local.next();
    try {
      while (!bn.done || !ln.done) {
        let key: string;
        let value: Buffer | null;
        if (ln.done || (!bn.done && bn.value[0] < ln.value[0])) {
          const [k, v] = bn.value as [string, Buffer];
          rec.seen.push([k, v]);
          key = k;
          value = v;
          bn = base.next();
        } else if (bn.done || ln.value[0] < bn.value[0]) {
          [key, value] = ln.value;
          ln = local.next();
        } else {
          // Same key in both: the base entry was read (its presence matters), the local write wins.
          rec.seen.push(bn.value);
          [key, value] = ln.value;
          bn = base.next();
          ln = local.next();
        }
        if (value !== null) {
          out.push({ key: strKey(key), value });
          if (out.length >= b.limit) {
            rec.upto = key;
            return out;
          }
        }
      }
      return out;
    } finally {
      base.return?.(undefined);
      local.return?.(undefined);
    }
  }

  async rangeKeys(r: KvRange): Promise<Buffer[]> {
    // Recorded like any range read: the transaction conflicts if a row appears, goes or changes.
    return (await this.range(r)).map((e) => e.key);
  }

  put(key: Buffer, value: Buffer): void {
    if (value.length === 0) throw new CoreError(Errc.INVAL, 'kv: empty value');
    this.writes.set(keyStr(key), value);
  }

  delete(key: Buffer): void {
    this.writes.set(keyStr(key), null);
  }
}

export abstract class LocalKv implements Kv {
  private readonly retryMutex = new Mutex();
  /** One transaction body at a time while bodies do not wait for I/O (body-turns.ts). */
  private readonly turns = new BodyTurns();
  protected counters: KvStats = { commits: 0, conflicts: 0, durableCommits: 0 };
  protected closed = false;
  /** A failed commit leaves memory ahead of the disk: refuse further work. */
  protected failure: unknown;
  /**
   * See Kv.writeEpoch: every write set of this store is applied by `txn` below, in this process. Bumped
   * by the engine wherever it makes a change visible (`apply`, MemoryKv.putSync): `txn` relies on it.
   */
  protected epoch = 0;

  writeEpoch(): number {
    return this.epoch;
  }

  /** Committed-and-visible value of a key (`kb` is the same key as bytes, when the caller has it). */
  protected abstract readKey(k: string, kb?: Buffer): Buffer | undefined;
  /** Committed-and-visible entries inside the bounds, in order (ignores the limit). */
  protected abstract scan(b: StrBounds): Iterator<[string, Buffer]>;
  /**
   * Make the write set visible now; resolve when committed (and flushed to disk if `durable`). Bumps
   * `epoch` first: `txn` skips validation when the epoch did not move while its body ran.
   */
  protected abstract apply(writes: WriteSet, durable: boolean): Promise<void>;
  abstract sync(): Promise<void>;
  protected abstract closeEngine(): Promise<void>;

  protected check(): void {
    if (this.closed) throw new CoreError(Errc.IO, 'metadata store closed');
    if (this.failure !== undefined) throw new CoreError(Errc.IO, `metadata store failed: ${String(this.failure)}`);
  }

  readKeyChecked(k: string, kb?: Buffer): Buffer | undefined {
    this.check();
    return this.readKey(k, kb);
  }

  scanChecked(b: StrBounds): Iterator<[string, Buffer]> {
    this.check();
    return this.scan(b);
  }

  async get(key: Buffer): Promise<Buffer | undefined> {
    this.check();
    return this.readKey(keyStr(key), key);
  }

  async getMany(keys: readonly Buffer[]): Promise<Array<Buffer | undefined>> {
    this.check();
    return keys.map((k) => this.readKey(keyStr(k), k));
  }

  async range(r: KvRange): Promise<KvEntry[]> {
    const b = rangeBounds(r);
    const out: KvEntry[] = [];
    if (b.limit === 0) return out;
    const it = this.scanChecked(b);
    try {
      for (let n = it.next(); !n.done; n = it.next()) {
        out.push({ key: strKey(n.value[0]), value: n.value[1] });
        if (out.length >= b.limit) break;
      }
    } finally {
      it.return?.(undefined);
    }
    return out;
  }

  async rangeKeys(r: KvRange): Promise<Buffer[]> {
    return (await this.range(r)).map((e) => e.key);
  }

  private validate(tx: LocalTx): boolean {
    for (const [k, v] of tx.reads) if (!sameValue(this.readKey(k), v)) return false;
    for (const r of tx.ranges) {
      const it = this.scan(r.b);
      try {
        let i = 0;
        for (let n = it.next(); !n.done; n = it.next()) {
          const [k, v] = n.value;
          if (r.upto !== undefined && k > r.upto) break;
          const s = r.seen[i++];
          if (!s || s[0] !== k || !s[1].equals(v)) return false;
        }
        if (i !== r.seen.length) return false;
      } finally {
        it.return?.(undefined);
      }
    }
    return true;
  }

  async txn<T>(fn: (tx: KvTx) => Promise<T>, opts?: KvTxnOptions): Promise<T> {
    const maxAttempts = opts?.maxAttempts ?? 64;
    const durable = !!opts?.durable;
    let release: (() => void) | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        if (!release && this.retryMutex.locked) await this.retryMutex.idle();
        this.check();
        const turn = this.turns.take();
        const token = typeof turn === 'number' ? turn : await turn;
        const tx = new LocalTx(this);
        // No write set applied since this point means nothing the body read can have changed.
        const epoch0 = this.epoch;
        let out: T | undefined;
        let err: unknown;
        let threw = false;
        let valid: boolean;
        try {
          out = await fn(tx);
        } catch (e) {
          threw = true;
          err = e;
        }
        try {
          this.check();
          // Every write to this store goes through `apply` below, which bumps the epoch first (one process
          // owns the store): with the epoch unchanged, every value and range the body read is still what it
          // saw, so re-reading them all would only repeat the same answers.
          valid = this.epoch === epoch0 || this.validate(tx);
        } catch (e) {
          this.turns.release(token);
          throw e;
        }
        if (!valid) {
          this.turns.release(token);
          this.counters.conflicts++;
          if (attempt >= maxAttempts) throw new CoreError(Errc.DELAY, 'metadata transaction kept conflicting');
          if (!release) release = await this.retryMutex.acquire();
          else await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        if (threw || tx.writes.size === 0) {
          this.turns.release(token);
          if (threw) throw err;
          return out as T;
        }
        let committed: Promise<void>;
        try {
          committed = this.apply(tx.writes, durable);
        } finally {
          // Before waiting for the commit: the next body may run while this one is being made durable.
          this.turns.release(token);
        }
        this.counters.commits++;
        if (durable) this.counters.durableCommits++;
        release?.();
        release = undefined;
        if (durable) await committed;
        else committed.catch(() => undefined); // recorded in `failure` by the engine
        return out as T;
      }
    } finally {
      release?.();
    }
  }

  stats(): KvStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync().catch(() => undefined);
    this.closed = true;
    await this.closeEngine();
  }
}
