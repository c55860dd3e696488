/**
 * Write-behind for UNSTABLE data writes: the volume may answer an NFS UNSTABLE WRITE once the bytes are
 * queued here, before the brick has them, and the brick write then overlaps the client's next request.
 *
 * Why this is allowed: an UNSTABLE reply promises nothing about stability (RFC 1813 §3.3.7, RFC 8881
 * §18.32.3). The client keeps the data until a COMMIT answers with the same write verifier it got from
 * the WRITE. If the gateway dies with writes still queued, its next run has a new verifier and the client
 * sends them again; if a queued write fails, the volume changes its verifier at once (`onError`), as
 * knfsd does on a writeback error, so the client resends too. What a client was told is stable (FILE_SYNC,
 * COMMIT, SMB flush or write-through) never goes through the queue.
 *
 * Why every other operation stays correct: the queue sits in front of the volume's brick, and every
 * other brick operation first waits for the queued writes it could observe: reads, truncates, deletes,
 * fsyncs and stats of the same object, and whole-file drops of the same file. A foreground write of the
 * same object is ordered after the queued ones. So reads see earlier writes, a truncate or delete is
 * never undone by a late write, and COMMIT's fsync covers everything written before it.
 *
 * Bounded: at most `maxBytes` are queued; beyond that the caller writes in the foreground. The queued
 * bytes are the caller's buffer (a pooled RPC record, no copy): the caller's `release` runs when the
 * brick is done with it.
 */
import { dropMany, type Brick, type BrickCapacity, type DropRequest, type ObjectId, type ReadHint } from './brick';

export interface WriteBehindOptions {
  /** Most bytes queued at once. */
  maxBytes: number;
  /** A queued write failed: whatever was acknowledged as UNSTABLE may be lost (the volume resets its verifier). */
  onError: (id: ObjectId, err: unknown) => void;
}

interface FileQueue {
  /** Tail of the queued writes per chunk: resolves (never rejects) when the last one is done. */
  chunks: Map<number, Promise<void>>;
}

/** Failed objects remembered for their next fsync. */
const MAX_FAILED = 4096;

const key = (id: ObjectId): string => `${id.fileId}/${id.chunk}`;

export class WriteBehindBrick implements Brick {
  private readonly files = new Map<bigint, FileQueue>();
  private queuedBytes = 0;
  /** Per object: the error of a failed queued write, reported by the next fsync of that object. */
  private readonly failed = new Map<string, unknown>();

  constructor(
    readonly inner: Brick,
    private readonly opts: WriteBehindOptions,
  ) {}

  /** Bytes queued now (for tests and metrics). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** True when `bytes` more fit in the queue now. */
  hasRoom(bytes: number): boolean {
    return this.queuedBytes + bytes <= this.opts.maxBytes;
  }

  /**
   * Queues a write of `data` (check `hasRoom` first; the bound is the caller's to keep); `release` runs
   * once the brick is done with `data`, whether the write succeeded or not.
   */
  queue(id: ObjectId, offset: number, data: Buffer, release: () => void): void {
    this.queuedBytes += data.length;
    let f = this.files.get(id.fileId);
    if (!f) this.files.set(id.fileId, (f = { chunks: new Map() }));
    const prev = f.chunks.get(id.chunk);
    const run = (): Promise<void> => this.inner.writeRange(id, offset, data);
    const p: Promise<void> = (prev ? prev.then(run) : run())
      .catch((err: unknown) => {
        // Bounded: the verifier change is what makes the client resend; this only reports early.
        if (this.failed.size >= MAX_FAILED) this.failed.delete(this.failed.keys().next().value!);
        this.failed.set(key(id), err);
        try {
          this.opts.onError(id, err);
        } catch {
          // The hook must not break the queue.
        }
      })
      .finally(() => {
        this.queuedBytes -= data.length;
        const q = this.files.get(id.fileId);
        if (q && q.chunks.get(id.chunk) === p) {
          q.chunks.delete(id.chunk);
          if (q.chunks.size === 0) this.files.delete(id.fileId);
        }
        try {
          release();
        } catch {
          // The owner's hook must not turn this write's promise into a rejection others would see.
        }
      });
    f.chunks.set(id.chunk, p);
  }

  /** Resolves when every write queued so far for the object is done (undefined when none is). */
  private settled(id: ObjectId): Promise<void> | undefined {
    return this.files.get(id.fileId)?.chunks.get(id.chunk);
  }

  private settledFile(fileId: bigint, firstChunk = 0): Promise<void> | undefined {
    const f = this.files.get(fileId);
    if (!f) return undefined;
    const waits: Promise<void>[] = [];
    for (const [c, p] of f.chunks) if (c >= firstChunk) waits.push(p);
    return waits.length ? Promise.all(waits).then(() => undefined) : undefined;
  }

  /** Resolves when nothing is queued (close, tests). */
  async drain(): Promise<void> {
    while (this.files.size > 0) {
      const all: Promise<void>[] = [];
      for (const f of this.files.values()) all.push(...f.chunks.values());
      await Promise.all(all);
    }
  }

  // Each operation: straight through when nothing is queued for what it touches (the common case costs
  // one map lookup), else after the queued writes.

  writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
    const w = this.settled(id);
    return w ? w.then(() => this.inner.writeRange(id, offset, data)) : this.inner.writeRange(id, offset, data);
  }

  readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    const w = this.settled(id);
    return w ? w.then(() => this.inner.readRange(id, offset, length)) : this.inner.readRange(id, offset, length);
  }

  readInto(id: ObjectId, offset: number, target: Buffer, hint?: ReadHint): Promise<number> {
    const w = this.settled(id);
    return w ? w.then(() => this.inner.readInto(id, offset, target, hint)) : this.inner.readInto(id, offset, target, hint);
  }

  truncate(id: ObjectId, length: number): Promise<void> {
    const w = this.settled(id);
    return w ? w.then(() => this.inner.truncate(id, length)) : this.inner.truncate(id, length);
  }

  delete(id: ObjectId): Promise<void> {
    const w = this.settled(id);
    return w ? w.then(() => this.inner.delete(id)) : this.inner.delete(id);
  }

  dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    const w = this.settledFile(fileId, firstChunk);
    return w ? w.then(() => this.inner.dropFrom(fileId, firstChunk)) : this.inner.dropFrom(fileId, firstChunk);
  }

  /** Requests with queued writes to wait for go one by one through dropFrom; the rest as one batch. */
  dropMany(reqs: readonly DropRequest[]): Promise<unknown[]> {
    if (this.files.size === 0) return dropMany(this.inner, reqs);
    const now: DropRequest[] = [];
    const at: number[] = [];
    const out = new Array<unknown>(reqs.length);
    const waits: Promise<void>[] = [];
    reqs.forEach((r, i) => {
      if (!this.settledFile(r.fileId, r.firstChunk)) {
        now.push(r);
        at.push(i);
        return;
      }
      waits.push(this.dropFrom(r.fileId, r.firstChunk).then(
        () => undefined,
        (e: unknown) => void (out[i] = e ?? new Error('drop failed')),
      ));
    });
    if (now.length) waits.push(dropMany(this.inner, now).then((errs) => errs.forEach((e, k) => void (out[at[k]!] = e))));
    return Promise.all(waits).then(() => out);
  }

  async fsync(id: ObjectId): Promise<void> {
    const w = this.settled(id);
    if (w) await w;
    const k = key(id);
    const err = this.failed.get(k);
    if (err !== undefined) {
      // Reported once: the verifier has changed already, so the client resends whatever was lost.
      this.failed.delete(k);
      throw err;
    }
    await this.inner.fsync(id);
  }

  stat(id: ObjectId): Promise<{ size: number } | undefined> {
    const w = this.settled(id);
    return w ? w.then(() => this.inner.stat(id)) : this.inner.stat(id);
  }

  capacity(): Promise<BrickCapacity> {
    return this.inner.capacity();
  }

  async close(): Promise<void> {
    await this.drain();
    await this.inner.close();
  }
}
