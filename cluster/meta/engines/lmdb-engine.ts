/**
 * Embedded persistent engine on LMDB (lmdb-js): a B+tree in one memory-mapped file, copy-on-write,
 * crash-safe (a commit is atomic; after a crash the store is at some commit boundary, never torn).
 *
 * Writes go through lmdb-js's asynchronous batching: every write set applied in one event-loop turn
 * lands in one LMDB transaction, committed on lmdb-js's write thread, and flushed to disk after the
 * commit (overlappingSync), so concurrent committers share one fsync.
 *
 * Readers do not see an asynchronous write until lmdb-js has committed it, so a write set is also
 * placed in an in-memory overlay the moment it is applied; reads consult the overlay first and the
 * overlay entry is dropped once LMDB has committed it. A non-durable transaction is therefore visible
 * to the very next read without waiting for anything; a durable one also waits for `flushed`.
 *
 * One process owns a store directory (validation runs in this process's memory).
 */
import { open, type RootDatabase } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { inBounds, keyStr, strKey, type StrBounds } from '../kv';
import { LocalKv, type WriteSet } from './local-kv';
import { SortedMap } from './sorted-map';

interface Pending {
  v: Buffer | null;
  seq: number;
}

const ALL: StrBounds = { loInclusive: true, limit: Infinity };

function toBuf(x: unknown): Buffer {
  return Buffer.isBuffer(x) ? x : Buffer.from(x as Uint8Array);
}

export interface LmdbKvOptions {
  path: string;
}

export class LmdbKv extends LocalKv {
  private readonly db: RootDatabase<Buffer, Buffer>;
  private readonly overlay = new SortedMap<Pending>();
  private seq = 0;
  private last: Promise<void> = Promise.resolve();

  constructor(opts: LmdbKvOptions) {
    super();
    mkdirSync(opts.path, { recursive: true });
    this.db = open<Buffer, Buffer>({
      path: opts.path,
      encoding: 'binary',
      keyEncoding: 'binary',
      cache: false,
      noMemInit: true,
    });
  }

  protected readKey(k: string): Buffer | undefined {
    const o = this.overlay.get(k);
    if (o) return o.v ?? undefined;
    const v = this.db.getBinary(strKey(k));
    return v === undefined ? undefined : toBuf(v);
  }

  protected *scan(b: StrBounds): Generator<[string, Buffer]> {
    const opts: { start?: Buffer; end?: Buffer } = {};
    if (b.lo !== undefined) opts.start = strKey(b.lo);
    if (b.hi !== undefined) opts.end = strKey(b.hi);
    const dbIt = this.db.getRange(opts)[Symbol.iterator]();
    const ovIt = this.overlay.entries(b);
    const nextDb = (): [string, Buffer] | undefined => {
      for (;;) {
        const n = dbIt.next();
        if (n.done) return undefined;
        const k = keyStr(toBuf(n.value.key));
        if (!inBounds(k, b)) continue;
        return [k, Buffer.from(n.value.value as Uint8Array)];
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
        if (ov.v !== null) yield [ok, ov.v];
      }
    } finally {
      dbIt.return?.(undefined);
      ovIt.return?.(undefined);
    }
  }

  protected apply(writes: WriteSet, durable: boolean): Promise<void> {
    const seq = ++this.seq;
    const list = [...writes.entries(ALL)];
    for (const [k, v] of list) this.overlay.set(k, { v, seq });
    let p: Promise<unknown>;
    try {
      p = this.db.batch(() => {
        for (const [k, v] of list) {
          if (v === null) void this.db.remove(strKey(k));
          else void this.db.put(strKey(k), v);
        }
      });
    } catch (e) {
      p = Promise.reject(e);
    }
    const done = p.then(
      () => {
        for (const [k] of list) if (this.overlay.get(k)?.seq === seq) this.overlay.delete(k);
      },
      (e: unknown) => {
        this.failure ??= e;
        throw e;
      },
    );
    this.last = done.catch(() => undefined);
    // A non-durable write set is visible through the overlay already; waiting for LMDB's commit would
    // put a write-thread round trip on every UNSTABLE WRITE. A failed commit is kept in `failure` and
    // surfaces at the next sync() (COMMIT, FILE_SYNC) or durable transaction, which is exactly when the
    // client was promised anything.
    if (!durable) return Promise.resolve();
    return done.then(() => this.flushed());
  }

  private async flushed(): Promise<void> {
    await this.db.flushed;
  }

  async sync(): Promise<void> {
    await this.last;
    if (this.failure !== undefined) throw this.failure;
    await this.flushed();
  }

  /** Pending (applied, not yet committed by LMDB) keys: for tests and metrics. */
  overlaySize(): number {
    return this.overlay.size;
  }

  protected async closeEngine(): Promise<void> {
    await this.last;
    await this.db.close();
  }
}
