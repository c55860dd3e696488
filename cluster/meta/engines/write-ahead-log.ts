/**
 * Write-ahead log of the embedded engine (lmdb-engine.ts): makes a durable metadata transaction durable
 * with one small synchronous write instead of an LMDB commit and its flushes.
 *
 * Why: an LMDB commit rewrites the B-tree pages on the path to every changed key (copy-on-write), writes
 * them, flushes the data file and then writes the "flushed" meta page synchronously: two device flushes
 * and ~1 ms of CPU across threads per commit, however few keys it holds. Namespace changes (CREATE,
 * REMOVE, RENAME...) must be on stable storage before the reply (RFC 1813 3.3 on the "must be committed"
 * operations; MS-SMB2 gives no weaker rule for a create or a delete), so every one of them paid that. With
 * the log, a durable transaction costs one record written through an O_DSYNC descriptor (the data and one
 * device flush), and LMDB commits every `deferMs` with everything since (a checkpoint) without anyone
 * waiting for it.
 *
 * Layout: two preallocated files (`wal.0`, `wal.1`), zero-filled at creation so that an O_DSYNC
 * overwrite never changes file metadata (no journal commit of the filesystem per record). Records are
 * appended to the current file; when it is full, writing moves to offset 0 of the other file, once every
 * record in that file is covered by a flushed LMDB commit (its `lastSeq` <= the checkpointed sequence);
 * if it is not yet, the writer asks the engine for a checkpoint and waits.
 *
 * Record: magic u32 | payload length u32 | seq (u64, as two u32) | crc32 of seq and payload u32 | payload.
 * Each write also puts 4 zero bytes after its record (overwritten by the next record): whatever older
 * bytes follow, even a valid record of an earlier run that was cut off by a torn write, are never read
 * as this run's continuation.
 * Sequence numbers are consecutive across both files. Recovery reads each file from offset 0 and keeps
 * its run of valid records with consecutive sequence numbers (stopping at a bad magic, a bad checksum, a
 * short record or a sequence break: the tail of an interrupted write, or older records of a previous
 * cycle that a checkpoint already covered), then returns the records after the engine's checkpointed
 * sequence, in order, stopping at the first gap.
 *
 * Group commit: one record is written at a time. Requests that arrive while a write is in flight are
 * served together by the next record, which takes everything pending at the moment it starts (`take`).
 */
import { closeSync, constants, fsyncSync, openSync, readSync, write as fsWrite, writeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const MAGIC = 0x57414c31; // 'WAL1'
const HEADER = 20;
const FILES = 2;
const END_MARK = 4;

/** Default size of each log file. Every LMDB checkpoint frees them, so this bounds the log between two. */
export const DEFAULT_WAL_FILE_BYTES = 4 << 20;

export interface WalRecord {
  seq: number;
  payload: Buffer;
}

export interface WriteAheadLogOptions {
  dir: string;
  fileBytes?: number;
  /** The sequence number the engine's flushed state already covers (stored in LMDB with each commit). */
  checkpointed: number;
  /**
   * The payload of the next record: everything pending now, which the engine then no longer holds as
   * pending. Undefined when nothing is pending.
   */
  take: () => Buffer | undefined;
  /** Commits everything to LMDB and resolves once that commit is flushed (it calls `checkpoint`). */
  checkpointNow: () => Promise<void>;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

function writeAt(fd: number, buf: Buffer, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fsWrite(fd, buf, 0, buf.length, pos, (err, n) => {
      if (err) reject(err);
      else if (n !== buf.length) reject(new Error(`short write to the metadata log (${n} of ${buf.length})`));
      else resolve();
    });
  });
}

interface Found extends WalRecord {
  off: number;
}

/** Reads a file's run of valid consecutive records from offset 0. */
function readRun(fd: number, size: number): Found[] {
  const records: Found[] = [];
  const head = Buffer.alloc(HEADER);
  let pos = 0;
  let prev = -1;
  while (pos + HEADER <= size) {
    if (readSync(fd, head, 0, HEADER, pos) !== HEADER) break;
    if (head.readUInt32BE(0) !== MAGIC) break;
    const len = head.readUInt32BE(4);
    if (pos + HEADER + len > size) break;
    const seq = head.readUInt32BE(8) * 2 ** 32 + head.readUInt32BE(12);
    if (prev >= 0 && seq !== prev + 1) break;
    const payload = Buffer.allocUnsafe(len);
    if (readSync(fd, payload, 0, len, pos + HEADER) !== len) break;
    if (crc32(payload, crc32(head.subarray(8, 16))) !== head.readUInt32BE(16)) break;
    records.push({ seq, payload, off: pos });
    prev = seq;
    pos += HEADER + len;
  }
  return records;
}

export class WriteAheadLog {
  private readonly fds: number[] = [];
  private readonly fileBytes: number;
  /** Highest sequence number in each file that recovery or a write put there (0: none to keep). */
  private readonly lastSeq: number[];
  private cur = 0;
  private pos = 0;
  /** Sequence number of the last record taken (written or being written). */
  private issued: number;
  private checkpointedSeq: number;
  private inflight = false;
  private scheduled = false;
  private waiters: Waiter[] = [];
  /** Writes wait for this (a durable LMDB commit made outside the log must be flushed first). */
  private barrier: Promise<unknown> | undefined;
  private failure: unknown;
  private closed = false;
  /** Records after the checkpoint found at open, for the engine to re-apply. */
  readonly recovered: WalRecord[];
  readonly counters = { records: 0, bytes: 0, checkpointWaits: 0 };

  constructor(private readonly opts: WriteAheadLogOptions) {
    this.fileBytes = Math.max(4096, opts.fileBytes ?? DEFAULT_WAL_FILE_BYTES);
    this.checkpointedSeq = opts.checkpointed;
    const runs: Found[][] = [];
    let created = false;
    for (let i = 0; i < FILES; i++) {
      const path = join(opts.dir, `wal.${i}`);
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDWR | constants.O_DSYNC);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC, 0o600);
        created = true;
      }
      this.fds.push(fd);
      if (fstatSync(fd).size < this.fileBytes) {
        // Zero-fill (not ftruncate, which leaves a hole, nor fallocate, whose unwritten extents are
        // converted on first write): later overwrites then touch no metadata.
        const zeros = Buffer.alloc(1 << 20);
        for (let off = fstatSync(fd).size; off < this.fileBytes; ) {
          const n = Math.min(zeros.length, this.fileBytes - off);
          writeSync(fd, zeros, 0, n, off);
          off += n;
        }
        fsyncSync(fd);
      }
      runs.push(readRun(fd, this.fileBytes));
    }
    if (created) {
      // The new files' directory entries must be durable before a record in them is acknowledged.
      const dfd = openSync(opts.dir, constants.O_RDONLY);
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    }
    // The records to replay: consecutive from the checkpoint on, wherever they are.
    const bySeq = new Map<number, { r: Found; file: number }>();
    for (let i = 0; i < FILES; i++) {
      for (const r of runs[i]!) if (r.seq > opts.checkpointed && !bySeq.has(r.seq)) bySeq.set(r.seq, { r, file: i });
    }
    this.recovered = [];
    this.lastSeq = new Array<number>(FILES).fill(0);
    for (let s = opts.checkpointed + 1; bySeq.has(s); s++) {
      const { r, file } = bySeq.get(s)!;
      this.recovered.push({ seq: r.seq, payload: r.payload });
      this.lastSeq[file] = s;
      this.cur = file;
      this.pos = r.off + HEADER + r.payload.length;
    }
    this.issued = opts.checkpointed + this.recovered.length;
    // Records past a gap (only after corruption) are never replayed; their headers are wiped so that
    // none of them can later pass for the continuation of a new run.
    const wipe = Buffer.alloc(4);
    for (let i = 0; i < FILES; i++) {
      for (const r of runs[i]!) if (r.seq > this.issued) writeSync(this.fds[i]!, wipe, 0, 4, r.off);
    }
  }

  /** Sequence number of the last record taken: what an LMDB commit made now covers. */
  get lastIssued(): number {
    return this.issued;
  }

  /** Everything up to `seq` is in a flushed LMDB commit: files holding only such records are free. */
  checkpoint(seq: number): void {
    if (seq > this.checkpointedSeq) this.checkpointedSeq = seq;
  }

  /** Later records wait until `p` settles (a durable commit made directly in LMDB must be flushed first). */
  setBarrier(p: Promise<unknown>): void {
    const b = p.then(
      () => undefined,
      () => undefined,
    );
    this.barrier = b;
    void b.then(() => {
      if (this.barrier === b) this.barrier = undefined;
    });
  }

  /** Resolves once everything pending now (and every earlier record) is on stable storage. */
  flush(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('metadata log closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.inflight && !this.scheduled) {
        this.scheduled = true;
        // At the end of this turn: every request the turn's I/O delivered joins the same record.
        setImmediate(() => void this.run());
      }
    });
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    if (this.inflight) return;
    this.inflight = true;
    try {
      while (this.waiters.length > 0 && this.failure === undefined) {
        const group = this.waiters;
        this.waiters = [];
        try {
          if (this.barrier) await this.barrier;
          const payload = this.opts.take();
          if (payload) await this.append(payload);
          for (const w of group) w.resolve();
        } catch (e) {
          this.failure ??= e;
          for (const w of group) w.reject(e);
        }
      }
      if (this.failure !== undefined) {
        const rest = this.waiters;
        this.waiters = [];
        for (const w of rest) w.reject(this.failure);
      }
    } finally {
      this.inflight = false;
    }
  }

  private async append(payload: Buffer): Promise<void> {
    const len = HEADER + payload.length;
    if (len + END_MARK > this.fileBytes) throw new Error(`metadata log record of ${len} bytes exceeds the file size`);
    const seq = ++this.issued;
    if (this.pos + len > this.fileBytes) {
      const next = (this.cur + 1) % FILES;
      while (this.lastSeq[next]! > this.checkpointedSeq) {
        // The other file still holds records LMDB has not flushed: checkpoint now. `seq` is already
        // issued, so this commit covers the payload taken above too (it was applied before `take`).
        this.counters.checkpointWaits++;
        await this.opts.checkpointNow();
        if (this.lastSeq[next]! > this.checkpointedSeq) throw new Error('metadata log checkpoint did not advance');
      }
      this.cur = next;
      this.pos = 0;
    }
    const mark = this.pos + len + END_MARK <= this.fileBytes ? END_MARK : 0;
    const rec = Buffer.allocUnsafe(len + mark);
    if (mark) rec.writeUInt32BE(0, len);
    rec.writeUInt32BE(MAGIC, 0);
    rec.writeUInt32BE(payload.length, 4);
    rec.writeUInt32BE(Math.floor(seq / 2 ** 32), 8);
    rec.writeUInt32BE(seq >>> 0, 12);
    payload.copy(rec, HEADER);
    rec.writeUInt32BE(crc32(payload, crc32(rec.subarray(8, 16))), 16);
    const at = this.pos;
    this.pos += len;
    this.lastSeq[this.cur] = seq;
    await writeAt(this.fds[this.cur]!, rec, at);
    this.counters.records++;
    this.counters.bytes += len;
  }

  /** Waits for the record in flight; closes the files. Records stay for the next open to skip or replay. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    for (const fd of this.fds) closeSync(fd);
  }
}

// ---- payload codec: the write set of one record ------------------------------------------------------
// count u32, then per entry: key length u32, key (latin1, as the engine's key strings), value length
// i32 (-1: delete), value.

export function encodeWrites(entries: Iterable<[string, Buffer | null]>, count: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(4 + count * 8 + bytes);
  let p = out.writeUInt32BE(count, 0);
  let n = 0;
  for (const [k, v] of entries) {
    p = out.writeUInt32BE(k.length, p);
    p += out.write(k, p, 'latin1');
    if (v === null) p = out.writeInt32BE(-1, p);
    else {
      p = out.writeInt32BE(v.length, p);
      p += v.copy(out, p);
    }
    n++;
  }
  if (n !== count || p !== out.length) throw new Error('metadata log payload size mismatch');
  return out;
}

export function decodeWrites(payload: Buffer): Array<[string, Buffer | null]> {
  const out: Array<[string, Buffer | null]> = [];
  const count = payload.readUInt32BE(0);
  let p = 4;
  for (let i = 0; i < count; i++) {
    const kl = payload.readUInt32BE(p);
    p += 4;
    const k = payload.toString('latin1', p, p + kl);
    p += kl;
    const vl = payload.readInt32BE(p);
    p += 4;
    if (vl < 0) out.push([k, null]);
    else {
      out.push([k, Buffer.from(payload.subarray(p, p + vl))]);
      p += vl;
    }
  }
  if (p !== payload.length) throw new Error('metadata log payload is malformed');
  return out;
}
