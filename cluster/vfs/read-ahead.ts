/**
 * Read-ahead for a client that reads a file in order with one READ in flight at a time.
 *
 * Why: such a client (libnfs's nfs-cat and nfs-cp, a program doing read(2) on an NFS mount with the
 * kernel's read-ahead used up, smbclient) waits for each reply before it asks for the next range, so
 * the gateway's copy of that range out of the page cache sits on the path of every request: about a
 * fifth of a 1 MiB READ's server time, measured with perf on the bench machine (copy_to_iter). Reading
 * the next range on a thread-pool thread while this reply goes out and the client takes it in moves
 * that copy off the path. A client with several READs in flight already keeps the gateway busy with
 * real requests, so no read-ahead is issued while another read of the same file is running.
 *
 * Validity: a range read ahead is served only while the store's write epoch (Kv.writeEpoch) is the one
 * it was started at. Every change of a file's bytes commits a metadata transaction (size, mtime, change)
 * after the data reached the brick, and that moves the epoch, so a READ never returns bytes older than
 * a write acknowledged before it began. Stores shared between gateways have no epoch (another gateway
 * could change the bytes unseen): no read-ahead there.
 *
 * Bounds: at most one range per file and `maxStreams` files, each range at most one READ long. A range
 * nobody takes is dropped when its reader goes elsewhere in the file, when the epoch moves, or when
 * newer streams push its file out. Its memory comes from the reader's pool and goes back there only
 * after the brick read settled (a pool slab must never be lent twice while a thread still writes it).
 */
import type { TieredBufferPool } from './buffer-pool';

interface Ahead {
  readonly offset: bigint;
  readonly length: number;
  readonly epoch: number;
  readonly pool: TieredBufferPool;
  readonly buf: Buffer;
  /** true once `buf` holds the range; false if the read failed (the READ then reads again itself). */
  readonly done: Promise<boolean>;
}

interface Stream {
  /** Where a sequential reader reads next: the end of the last read. */
  next: bigint;
  /** Reads of this file between `begin` and `end`. */
  active: number;
  ahead: Ahead | undefined;
}

/** Reads [offset, offset + target.length) of file `fileId` into target, holes as zeros, off the event loop. */
export type FillRange = (fileId: bigint, offset: bigint, target: Buffer) => Promise<void>;

/** Ranges read ahead, ranges that served a READ, and ranges dropped unused. */
export interface ReadAheadStats {
  issued: number;
  hits: number;
  dropped: number;
}

/** Free slabs a pool must keep for read-ahead to take one. */
const MIN_SPARE_SLABS = 8;

export class ReadAhead {
  /** By file id, least recently read first. */
  private readonly streams = new Map<bigint, Stream>();
  private readonly counters: ReadAheadStats = { issued: 0, hits: 0, dropped: 0 };

  constructor(
    private readonly epoch: () => number | undefined,
    private readonly fill: FillRange,
    private readonly maxStreams = 16,
  ) {}

  /**
   * A read of [offset, offset + length) is starting. Returns the range's bytes if they were read ahead
   * (the buffer is then the caller's, to give back to `pool`), undefined otherwise (read it yourself).
   * Every `begin` must be followed by one `end`.
   */
  begin(fileId: bigint, offset: bigint, length: number, pool: TieredBufferPool): Promise<Buffer | undefined> | undefined {
    let s = this.streams.get(fileId);
    if (s) {
      this.streams.delete(fileId); // most recently read last
    } else {
      s = { next: 0n, active: 0, ahead: undefined };
      if (this.streams.size >= this.maxStreams) this.evictOldest();
    }
    this.streams.set(fileId, s);
    s.active++;
    const a = s.ahead;
    if (!a) return undefined;
    if (a.epoch !== this.epoch() || a.pool !== pool) {
      s.ahead = undefined;
      this.drop(a);
      return undefined;
    }
    // Another range of the file: a reader that jumped, or one of several reads in flight. The range
    // stays for whoever asks for it; `end` replaces it if the reader moved on.
    if (a.offset !== offset || a.length !== length) return undefined;
    s.ahead = undefined;
    this.counters.hits++;
    return a.done.then((ok) => {
      if (ok) return a.buf;
      a.pool.give(a.buf);
      return undefined;
    });
  }

  /**
   * The read of [offset, end) that `begin` announced is over (`ok`: it succeeded) in a file of `size`
   * bytes. A reader still going forward gets the next `length` bytes read ahead.
   */
  end(fileId: bigint, offset: bigint, end: bigint, ok: boolean, size: bigint, length: number, pool: TieredBufferPool): void {
    const s = this.streams.get(fileId);
    if (!s) return; // evicted meanwhile
    s.active--;
    const sequential = ok && offset === s.next;
    if (ok) s.next = end;
    const epoch = this.epoch();
    const stop = end + BigInt(length) < size ? end + BigInt(length) : size;
    const len = Number(stop - end);
    const old = s.ahead;
    if (old) {
      if (old.offset === end && old.length === len && old.epoch === epoch && old.pool === pool) return;
      // The reader went elsewhere (or the file changed): nobody will ask for this range.
      if (ok) {
        s.ahead = undefined;
        this.drop(old);
      }
    }
    if (!sequential || s.active > 0 || end >= size || epoch === undefined) return;
    // Never the pool's last slabs: a READ without one gets unaligned memory, whose copies run several
    // times slower (buffer-pool.ts). SMB's large READs hold 8 slabs each, two or more at a time.
    if (pool.spare(len) < MIN_SPARE_SLABS) return;
    const buf = pool.take(len);
    this.counters.issued++;
    s.ahead = { offset: end, length: len, epoch, pool, buf, done: this.fill(fileId, end, buf).then(() => true, () => false) };
  }

  /** Drops every range (the volume closes). */
  clear(): void {
    for (const s of this.streams.values()) if (s.ahead) this.drop(s.ahead);
    this.streams.clear();
  }

  /** For tests and metrics. */
  get stats(): Readonly<ReadAheadStats> {
    return this.counters;
  }

  private evictOldest(): void {
    for (const [id, s] of this.streams) {
      // A stream with a read running keeps its place: `end` must find it.
      if (s.active > 0) continue;
      this.streams.delete(id);
      if (s.ahead) this.drop(s.ahead);
      return;
    }
  }

  private drop(a: Ahead): void {
    this.counters.dropped++;
    void a.done.then(() => a.pool.give(a.buf));
  }
}
