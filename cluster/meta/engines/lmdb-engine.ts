/**
 * Embedded persistent engine on LMDB (lmdb-js): a B+tree in one memory-mapped file, copy-on-write,
 * crash-safe (a commit is atomic; after a crash the store is at some commit boundary, never torn).
 *
 * Writes go through lmdb-js's asynchronous batching: every write set applied in one event-loop turn
 * lands in one LMDB transaction, committed on lmdb-js's write thread, and flushed to disk after the
 * commit (overlappingSync), so concurrent committers share one fsync.
 *
 * Durability comes from a write-ahead log beside the store (write-ahead-log.ts): a durable write set is
 * acknowledged once a log record holding it (and every write set applied before it) is on disk, and
 * LMDB commits every `deferMs` in the background, each commit recording in the store the last log
 * record it covers. Opening the store re-applies the log records after that one.
 *
 * Readers do not see an asynchronous write until lmdb-js has committed it, so a write set is also
 * placed in an in-memory overlay the moment it is applied; reads consult the overlay first, and the
 * overlay's part that an LMDB transaction held is dropped, as a whole, once LMDB has committed it (the
 * overlay is a list of generations: `pending`, the write sets not yet handed to LMDB, and `sent`, one
 * per LMDB transaction in flight). A non-durable transaction is therefore visible to the very next read
 * without waiting for anything; a durable one also waits for `flushed`.
 *
 * One process owns a store directory (validation runs in this process's memory).
 */
import { open, type RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { inBounds, keyStr, rangeBounds, strKey, type KvEntry, type KvRange, type StrBounds } from '../kv';
import { LocalKv, type WriteSet } from './local-kv';
import { decodeWrites, encodeWrites, WriteAheadLog } from './write-ahead-log';
import { SortedMap } from './sorted-map';
import { BoundedMap } from '../../vfs/bounded-map';

/** Write sets applied but not yet committed by LMDB, latest value per key (null: deleted). */
type Pending = SortedMap<Buffer | null>;

function toBuf(x: unknown): Buffer {
  return Buffer.isBuffer(x) ? x : Buffer.from(x as Uint8Array);
}

/**
 * Copies `n` bytes of lmdb-js's reusable buffer into a Buffer of our own. Buffer.allocUnsafe takes small
 * sizes from Node's shared pool, whereas lmdb-js's own copies (Uint8Array#slice) get a fresh ArrayBuffer
 * each: a malloc, a free and work for the GC's sweeper per key or value read. Only for short-lived
 * results (range rows): a pool slice that is kept pins its whole pool block.
 */
function pooledCopy(src: Uint8Array, start: number, end: number): Buffer {
  const n = end - start;
  const out = Buffer.allocUnsafe(n);
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = src[start + i]!;
  else out.set(src.subarray(start, end));
  return out;
}

/**
 * Keys are raw bytes either way (the same on disk as lmdb-js's 'binary' key encoding); this encoder
 * changes how a key read from a cursor is copied out (see pooledCopy), and takes the engine's latin1 key
 * strings (kv.ts keyStr) as well as Buffers: a commit writes each string's bytes straight into lmdb-js's
 * instruction buffer instead of making a Buffer of it first (an allocation per key written).
 */
const BYTES_KEY_ENCODER = {
  writeKey(key: Buffer | string, target: Uint8Array, start: number): number {
    if (typeof key === 'string') {
      for (let i = 0; i < key.length; i++) target[start + i] = key.charCodeAt(i);
      return start + key.length;
    }
    target.set(key, start);
    return start + key.length;
  },
  readKey(source: Uint8Array, start: number, end: number): Buffer {
    return pooledCopy(source, start, end);
  },
};

export interface LmdbKvOptions {
  path: string;
  /** Point-read cache entries (see `cache`). Default 65536; 0 disables it. */
  cacheEntries?: number;
  /**
   * How long a non-durable write set may wait before it is handed to LMDB (see `pending`), in ms.
   * Default 100; 0 commits every write set at once.
   */
  deferMs?: number;
  /** Durable write sets through the write-ahead log (default true); false: each waits for an LMDB flush. */
  wal?: boolean;
  /** Size of each of the two log files (default write-ahead-log.ts DEFAULT_WAL_FILE_BYTES). */
  walFileBytes?: number;
}

/**
 * The engine's own key, beside the namespace's: the sequence number of the last log record an LMDB
 * commit covers. Keys starting with 0xFF 0xFF are the engine's; no table tag of the store uses 0xFF.
 */
const WAL_SEQ_KEY = '\xff\xffengine.wal-seq';
const WAL_SEQ_KEY_BUF = Buffer.from(WAL_SEQ_KEY, 'latin1');

/**
 * Pending log bytes beyond which a durable write set is committed straight to LMDB instead (a huge
 * write set would not fit a log file; LMDB handles it in one commit like before the log).
 */
const WAL_DIRECT_BYTES = 1 << 20;

/** Pending keys beyond which the pending write sets are committed at once (bounds the overlay). */
const MAX_DEFERRED_KEYS = 4096;

const DEFAULT_CACHE_ENTRIES = 65536;

export class LmdbKv extends LocalKv {
  private readonly db: RootDatabase<Buffer, Buffer>;
  /**
   * Write sets applied and not yet handed to LMDB (the overlay's newest generation), latest value per
   * key. Why they wait: every LMDB commit ends with an fsync of the store (overlappingSync), and a
   * sequential UNSTABLE writer makes one non-durable write set (the new size and mtime) per WRITE call:
   * a thousand store fsyncs per GiB, competing with the data for the disk. With the log, a durable set
   * is on disk once its log record is; without it, nothing was promised about a non-durable set until
   * the next durable transaction or sync(), which commit the pending sets first, in order. Until then a
   * timer commits them every `deferMs`. A crash loses at most what no log record holds, exactly like the
   * data of the UNSTABLE writes they describe (the write verifier changes, and clients resend).
   */
  private pending: Pending = new SortedMap<Buffer | null>();
  /**
   * Generations handed to LMDB whose commit has not resolved yet, oldest first: each is dropped whole
   * when its commit resolves (one step, not a delete per key; lmdb-js resolves batches in call order).
   */
  private readonly sent: Pending[] = [];
  private last: Promise<void> = Promise.resolve();
  /** Resolves once the last transaction handed to LMDB (and every earlier one) is on disk. */
  private lastFlushed: PromiseLike<unknown> = Promise.resolve();
  /**
   * Committed values of recent point reads (null: known absent), by key; bounded, oldest out first.
   * A point read through lmdb-js costs about a microsecond (call into the native side, B-tree search,
   * copy), several times a Map hit, and every NFS call reads a few inodes and entries. Coherent because
   * one process owns the store and all its writes pass through `apply`, which drops the written keys
   * here before anything can read them. (A shared engine such as Redis cannot cache this way; it is
   * specific to this engine.) Cached Buffers are shared: readers must not modify them (kv.ts). A
   * BoundedMap, not a Map trimmed by deleting its first key: that trim walks the holes earlier deletes
   * left at the front of the table, up to the whole size per insertion once the cache is full (a metadata
   * workload over more inodes than the cache holds paid it on every miss; bounded-map.ts).
   */
  private readonly cache: BoundedMap<string, Buffer | null>;
  private readonly cacheMax: number;
  private deferTimer: NodeJS.Timeout | undefined;
  private readonly deferMs: number;
  private readonly wal: WriteAheadLog | undefined;
  /**
   * Write sets applied but in no log record yet (latest value per key): the next record takes them all,
   * non-durable ones included, so that a durable transaction is never replayed without a write it may
   * have read.
   */
  private walPending = new Map<string, Buffer | null>();
  /** Approximate payload bytes of walPending (keys and values as added; over-counts replaced keys). */
  private walPendingBytes = 0;
  /** Log sequence number the store's newest commit records (what WAL_SEQ_KEY holds after it). */
  private walSeqStored = 0;
  /** Resolves once the newest commit is flushed and the log has been told (see `commit`). */
  private lastCheckpoint: Promise<void> = Promise.resolve();

  constructor(opts: LmdbKvOptions) {
    super();
    this.cacheMax = Math.max(0, opts.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
    this.cache = new BoundedMap(Math.max(2, this.cacheMax));
    this.deferMs = Math.max(0, opts.deferMs ?? 100);
    mkdirSync(opts.path, { recursive: true });
    this.db = open<Buffer, Buffer>({
      path: opts.path,
      encoding: 'binary',
      keyEncoder: BYTES_KEY_ENCODER,
      cache: false,
      noMemInit: true,
      // Each write promise carries the flush of its own LMDB transaction (see `commit`).
      separateFlushed: true,
    });
    if (opts.wal !== false) {
      const stored = this.db.getBinary(WAL_SEQ_KEY_BUF);
      this.walSeqStored = stored ? Number(stored.readBigUInt64BE(0)) : 0;
      this.wal = new WriteAheadLog({
        dir: opts.path,
        fileBytes: opts.walFileBytes,
        checkpointed: this.walSeqStored,
        take: () => this.takeWalPending(),
        checkpointNow: () => this.checkpointNow(),
      });
      // Re-apply what the log holds beyond the store's last commit, in order, as write sets that are
      // already logged: visible at once through the overlay, committed with the next batch.
      for (const r of this.wal.recovered) for (const [k, v] of decodeWrites(r.payload)) this.pending.set(k, v);
      if (this.pending.size > 0) this.commit().catch(() => undefined);
    }
  }

  /** Records the log holds beyond the store's commits at open (re-applied): for tests and logs. */
  walRecovered(): number {
    return this.wal?.recovered.length ?? 0;
  }

  private takeWalPending(): Buffer | undefined {
    if (this.walPending.size === 0) return undefined;
    let bytes = 0;
    for (const [k, v] of this.walPending) bytes += k.length + (v?.length ?? 0);
    const payload = encodeWrites(this.walPending, this.walPending.size, bytes);
    this.walPending = new Map();
    this.walPendingBytes = 0;
    return payload;
  }

  /** Commits everything applied to LMDB and resolves once that commit is flushed (log space reuse). */
  private async checkpointNow(): Promise<void> {
    this.commit(true).catch(() => undefined);
    await this.last;
    if (this.failure !== undefined) throw this.failure;
    await this.lastCheckpoint;
  }

  /** The overlay's value of a key: undefined if no pending write has it, null if one deletes it. */
  private overlaid(k: string): Buffer | null | undefined {
    let v = this.pending.size > 0 ? this.pending.get(k) : undefined;
    for (let i = this.sent.length - 1; v === undefined && i >= 0; i--) v = this.sent[i]!.get(k);
    return v;
  }

  /** The overlay's entries inside the bounds, in order, newest generation winning a key. */
  private overlayEntries(b: StrBounds): Iterator<[string, Buffer | null]> {
    if (this.sent.length === 0) return this.pending.entries(b);
    return mergeNewestFirst([this.pending, ...this.sent.slice().reverse()].filter((g) => g.size > 0).map((g) => g.entries(b)));
  }

  private overlayEmpty(): boolean {
    return this.pending.size === 0 && this.sent.length === 0;
  }

  protected readKey(k: string, kb?: Buffer): Buffer | undefined {
    if (!this.overlayEmpty()) {
      const o = this.overlaid(k);
      if (o !== undefined) return o ?? undefined;
    }
    const c = this.cache.get(k);
    if (c !== undefined) return c ?? undefined;
    // getBinaryFast's buffer is only valid until the next read: copied out at once. A value that goes
    // into the cache gets memory of its own (allocUnsafeSlow): a kept slice of Node's shared pool would
    // pin a whole 8 KiB pool block per cached value.
    const raw = this.db.getBinaryFast(kb ?? strKey(k));
    if (this.cacheMax === 0) return raw === undefined ? undefined : pooledCopy(raw, 0, raw.length);
    let v: Buffer | undefined;
    if (raw !== undefined) {
      v = Buffer.allocUnsafeSlow(raw.length);
      v.set(raw.subarray(0, raw.length));
    }
    this.cache.set(k, v ?? null);
    return v;
  }

  /** The range's bounds as LMDB start/end keys, or undefined if a pending write falls inside it. */
  private directBounds(b: StrBounds): { lo?: Buffer; opts: { start?: Buffer; end?: Buffer } } | undefined {
    if (!this.overlayEmpty()) {
      const ov = this.overlayEntries(b);
      const pending = !ov.next().done;
      ov.return?.(undefined);
      if (pending) return undefined;
    }
    const lo = b.lo === undefined ? undefined : strKey(b.lo);
    const opts: { start?: Buffer; end?: Buffer } = {};
    if (lo) opts.start = lo;
    if (b.hi !== undefined) opts.end = strKey(b.hi);
    return lo ? { lo, opts } : { opts };
  }

  /**
   * Non-transactional range read. When no pending write falls inside the range, LMDB's own entries are
   * the answer: its keys and values are fresh copies already, so they are returned as they come, with
   * no string conversion or merge.
   */
  override async range(r: KvRange): Promise<KvEntry[]> {
    const b = rangeBounds(r);
    if (b.limit === 0) return [];
    this.check();
    const d = this.directBounds(b);
    if (!d) return super.range(r);
    const out: KvEntry[] = [];
    for (const { key, value } of this.db.getRange(d.opts)) {
      const k = toBuf(key);
      if (k.length === WAL_SEQ_KEY_BUF.length && k.equals(WAL_SEQ_KEY_BUF)) continue;
      if (d.lo && !b.loInclusive && out.length === 0 && k.equals(d.lo)) continue;
      out.push({ key: k, value: toBuf(value) });
      if (out.length >= b.limit) break;
    }
    return out;
  }

  /** Keys only (a READDIR page): LMDB copies no values at all. */
  override async rangeKeys(r: KvRange): Promise<Buffer[]> {
    const b = rangeBounds(r);
    if (b.limit === 0) return [];
    this.check();
    const d = this.directBounds(b);
    if (!d) return super.rangeKeys(r);
    const out: Buffer[] = [];
    for (const key of this.db.getKeys(d.opts)) {
      const k = toBuf(key);
      if (k.length === WAL_SEQ_KEY_BUF.length && k.equals(WAL_SEQ_KEY_BUF)) continue;
      if (d.lo && !b.loInclusive && out.length === 0 && k.equals(d.lo)) continue;
      out.push(k);
      if (out.length >= b.limit) break;
    }
    return out;
  }

  protected *scan(b: StrBounds): Generator<[string, Buffer]> {
    const opts: { start?: Buffer; end?: Buffer } = {};
    if (b.lo !== undefined) opts.start = strKey(b.lo);
    if (b.hi !== undefined) opts.end = strKey(b.hi);
    const dbIt = this.db.getRange(opts)[Symbol.iterator]();
    const ovIt = this.overlayEntries(b);
    const nextDb = (): [string, Buffer] | undefined => {
      for (;;) {
        const n = dbIt.next();
        if (n.done) return undefined;
        const k = keyStr(toBuf(n.value.key));
        if (!inBounds(k, b) || k === WAL_SEQ_KEY) continue;
        // lmdb-js hands out a fresh copy of each value (binary encoding): no second copy needed.
        return [k, toBuf(n.value.value)];
      }
    };
    try {
      let d = nextDb();
      let o = ovIt.next();
      while (d || !o.done) {
        if (o.done || (d && d[0] < o.value[0])) {
          yield d!;
          d = nextDb();
          continue;
        }
        const [ok, ov] = o.value;
        if (d && d[0] === ok) d = nextDb();
        o = ovIt.next();
        if (ov !== null) yield [ok, ov];
      }
    } finally {
      dbIt.return?.(undefined);
      ovIt.return?.(undefined);
    }
  }

  protected apply(writes: WriteSet, durable: boolean): Promise<void> {
    this.epoch++;
    const pending = this.pending;
    const cache = this.cache;
    writes.each((v, k) => {
      pending.set(k, v);
      cache.delete(k);
    });
    if (this.wal) return this.applyLogged(writes, durable);
    if (!durable && this.deferMs > 0) {
      if (pending.size >= MAX_DEFERRED_KEYS) this.commit();
      else this.deferTimer ??= setTimeout(() => this.commit(), this.deferMs).unref();
      // Visible through the overlay already; a failed commit surfaces at the next sync() or durable
      // transaction (see commit), which is when the client was promised anything.
      return Promise.resolve();
    }
    const done = this.commit();
    if (!durable) return Promise.resolve();
    // This transaction's own flush. (lmdb-js's `db.flushed`, asked once the commit has resolved, is the
    // flush of the newest transaction by then: under load, one that other requests queued meanwhile,
    // a whole commit+fsync cycle later.)
    const flushed = this.lastFlushed;
    return done.then(() => flushed).then(() => undefined);
  }

  /** `apply` with the log: LMDB commits in the background; a durable set waits for its log record. */
  private applyLogged(writes: WriteSet, durable: boolean): Promise<void> {
    const wal = this.wal!;
    const walPending = this.walPending;
    let bytes = 0;
    writes.each((v, k) => {
      walPending.set(k, v);
      bytes += k.length + (v?.length ?? 0) + 8;
    });
    this.walPendingBytes += bytes;
    if (this.pending.size >= MAX_DEFERRED_KEYS || this.deferMs === 0) this.commit().catch(() => undefined);
    else this.deferTimer ??= setTimeout(() => void this.commit().catch(() => undefined), this.deferMs).unref();
    if (this.walPendingBytes > WAL_DIRECT_BYTES) {
      // Too big for a log record: one durable LMDB commit of everything applied, as without the log.
      // Later records wait for its flush (they may depend on it and are replayed on top of the store).
      this.walPending = new Map();
      this.walPendingBytes = 0;
      const done = this.commit();
      const flushed = this.lastFlushed;
      const p = done.then(() => flushed).then(() => undefined);
      wal.setBarrier(p);
      return durable ? p : Promise.resolve();
    }
    if (!durable) {
      // Bounded: a long run of non-durable sets is logged without anyone waiting.
      if (this.walPending.size >= MAX_DEFERRED_KEYS) wal.flush().catch(() => undefined);
      return Promise.resolve();
    }
    return wal.flush().catch((e: unknown) => {
      this.failure ??= e;
      throw e;
    });
  }

  /**
   * Hands the pending write sets to LMDB as one transaction (lmdb-js commits batches in call order).
   * Resolves once committed; their overlay generation is then dropped (a newer write to one of
   * its keys is in a newer generation, which reads consult first). With the log, the transaction also
   * records the last log record taken (everything in it was applied before, so is in this transaction
   * or an earlier one), and once it is flushed the log may reuse the space of the records it covers.
   * `force`: commit even with nothing pending, to record a newer log position.
   */
  private commit(force = false): Promise<void> {
    if (this.deferTimer) {
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
    }
    const gen = this.pending;
    const walSeq = this.wal?.lastIssued ?? 0;
    const newSeq = walSeq > this.walSeqStored;
    if (gen.size === 0 && !(force && newSeq)) return this.last;
    if (gen.size > 0) {
      this.pending = new SortedMap<Buffer | null>();
      this.sent.push(gen);
    }
    let p: Promise<unknown>;
    try {
      const db = this.db;
      p = db.batch(() => {
        // In no particular order: ordering them would cost the main thread a sort per commit.
        gen.each((v, k) => {
          // The key as its latin1 string: BYTES_KEY_ENCODER writes its bytes.
          const key = k as unknown as Buffer;
          if (v === null) void db.remove(key);
          else void db.put(key, v);
        });
        if (newSeq) {
          const b = Buffer.allocUnsafe(8);
          b.writeBigUInt64BE(BigInt(walSeq));
          void this.db.put(WAL_SEQ_KEY_BUF, b);
        }
      });
      if (newSeq) this.walSeqStored = walSeq;
    } catch (e) {
      p = Promise.reject(e);
    }
    const done = p.then(
      () => {
        const i = this.sent.indexOf(gen);
        if (i >= 0) this.sent.splice(i, 1);
      },
      (e: unknown) => {
        this.failure ??= e;
        throw e;
      },
    );
    this.last = done.catch(() => undefined);
    // With separateFlushed, lmdb-js puts the flush of the transaction holding these writes on the batch
    // promise; overlapping syncs complete in order, so it covers every earlier transaction too.
    this.lastFlushed = (p as Promise<unknown> & { flushed?: PromiseLike<unknown> }).flushed ?? this.db.flushed;
    if (this.wal) {
      const wal = this.wal;
      const flushed = this.lastFlushed;
      this.lastCheckpoint = done.then(() => flushed).then(
        () => wal.checkpoint(walSeq),
        () => undefined,
      );
    }
    return done;
  }

  private async flushed(): Promise<void> {
    await this.db.flushed;
  }

  async sync(): Promise<void> {
    if (this.wal) {
      // Everything applied is in walPending or in a record: one more record makes all of it durable.
      await this.wal.flush().catch((e: unknown) => {
        this.failure ??= e;
      });
      if (this.failure !== undefined) throw this.failure;
      return;
    }
    if (this.pending.size > 0) this.commit().catch(() => undefined);
    await this.last;
    if (this.failure !== undefined) throw this.failure;
    await this.flushed();
  }

  /** Pending (applied, not yet committed by LMDB) keys: for tests and metrics. */
  overlaySize(): number {
    let n = this.pending.size;
    for (const g of this.sent) n += g.size;
    return n;
  }

  /** Commits everything applied to LMDB and waits for its flush (tests; the log does this by itself). */
  async checkpoint(): Promise<void> {
    if (this.wal) return this.checkpointNow();
    await this.sync();
  }

  protected async closeEngine(): Promise<void> {
    if (this.pending.size > 0 || this.wal) this.commit(true).catch(() => undefined);
    await this.last;
    if (this.wal) {
      await this.lastCheckpoint;
      await this.wal.close();
    }
    await this.db.close();
  }
}

/**
 * Entries of several ordered sources merged in key order; `its` newest first: where sources share a
 * key, the first one's entry wins and the others' are skipped.
 */
function* mergeNewestFirst<V>(its: Array<Iterator<[string, V]>>): Generator<[string, V]> {
  const heads = its.map((it) => it.next());
  try {
    for (;;) {
      let min = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (!h.done && (min < 0 || h.value[0] < (heads[min]!.value as [string, V])[0])) min = i;
      }
      if (min < 0) return;
      const e = heads[min]!.value as [string, V];
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i]!;
        if (!h.done && h.value[0] === e[0]) heads[i] = its[i]!.next();
      }
      yield e;
    }
  } finally {
    for (const it of its) it.return?.(undefined);
  }
}
