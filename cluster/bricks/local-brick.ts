/**
 * A brick on a local directory. Layout ("flat-1"):
 *
 *   <root>/<ff>/<fileId as 16 hex>            chunk 0 of the file
 *   <root>/<ff>/<fileId as 16 hex>.d/<n>      chunk n ≥ 1 (the directory exists only for multi-chunk files)
 *
 * `ff` is the low byte of the inode number as two hex digits: 256 fan-out directories under the root, so
 * none collects more than 1/256 of the objects, and files created at the same time (consecutive numbers)
 * land in different directories. (Grouping them instead would let their directory fsyncs coalesce more,
 * but then concurrent creates queue on one directory's lock, which costs more: measured on ext4.)
 * A fan-out directory is created the first time an object needs it and made durable (fsync of it and of
 * the root) before that object is created, so in steady state all 256 exist and creating a small file's
 * object is one open(O_CREAT|O_EXCL): no mkdir, and no per-file directory. Its first use by a process
 * fsyncs it once more, which makes durable whatever an earlier process left unsynced in it (so objects
 * created before a restart need no directory fsync afterwards); ".d" directories get the same treatment
 * (trustChunkDir).
 *
 * Durability (fsync): fdatasync of the object, and, if the object was created since its last fsync, an
 * fsync of the directory holding its name, run side by side. Directory fsyncs are shared: one fsync of a
 * directory covers every object created in it before the fsync started, so concurrent COMMITs of new
 * files in one fan-out directory wait for one directory fsync instead of queueing one each. Fan-out
 * directory descriptors stay open (at most 256 + the root); a ".d" directory is opened per sync.
 *
 * Dropping a file's objects: unlink chunk 0, and read the ".d" directory (usually absent) for the
 * others; done in batches on a worker thread (janitor.ts), which also closes the dropped objects' idle
 * descriptors when they come through dropMany. I/O is positional (pread/pwrite) on raw descriptors from a bounded LRU cache; a
 * descriptor in use is never closed under a caller.
 *
 * A brick directory made by another layout is refused at open (the `LAYOUT` file names the layout).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { CoreError, Errc } from '../vfs/errors';
import type { Brick, BrickCapacity, DropRequest, ObjectId, ReadHint, WriteHint } from './brick';
import { markTopDir } from './dir-spread';
import { DirectStaging, directEligible, DIRECT_ALIGN } from './direct-staging';
import { toCoreError } from './errno';
import { Janitor, type DropJob, type DropOutcome } from './janitor';

const LAYOUT_FILE = 'LAYOUT';
const LAYOUT = 'flat-1\n';
const { O_RDWR, O_RDONLY, O_CREAT, O_EXCL, O_DIRECT } = fs.constants;
const MAX_TRUSTED_CHUNK_DIRS = 4096;

interface FdEntry {
  fd: number;
  /** A second descriptor of the object opened with O_DIRECT, once a direct write needed one. */
  directFd?: Promise<number>;
  refs: number;
  doomed: boolean;
  /** Until when (Date.now() ms) the object counts as recently used, its pages likely cached (readInto). */
  warmUntil: number;
}

/**
 * An object read or written less than this long ago is read with a synchronous pread on the event loop.
 * Why: a read served from the page cache costs less than the two thread hand-offs of an asynchronous
 * one (to a pool thread and back, each a wake-up), and for a client with one call in flight those
 * hand-offs are most of the latency. Data used a moment ago is almost always still cached; a cold
 * object (first touch, or idle for a while) goes through the thread pool so a disk read never blocks
 * the loop on a miss we could have foreseen.
 */
const WARM_MS = 10_000;

/** Directory fsync bookkeeping for one directory (see `syncDir`). Sequence numbers are brick-wide. */
interface DirState {
  /** Sequence number of the latest entry created in the directory. */
  created: number;
  /** Every entry with a sequence number <= synced is durable. */
  synced: number;
  running?: Promise<void>;
}

/** A directory entry an object's durability depends on: `dir` must be synced up to `seq`. */
interface DirDep {
  dir: string;
  seq: number;
}

export interface LocalBrickOptions {
  /** Open object descriptors kept (LRU). Default 256. */
  maxOpenFiles?: number;
  /**
   * Write large block-aligned ranges that the writer marks cold (WriteHint) with O_DIRECT (see
   * writeDirect). For brick nodes; default false.
   */
  directWrites?: boolean;
}

/** Aligned staging for direct writes: slabs as large as the largest WRITE frame, a few in flight. */
const DIRECT_SLAB = 1024 * 1024;
const DIRECT_SLABS = 8;

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

// Callback fs calls wrapped by hand: fs/promises' FileHandle costs noticeably more main-thread time per
// operation, and a metadata-heavy load does several operations per small file.
const fsOpen = (path: string, flags: number, mode?: number): Promise<number> =>
  new Promise((res, rej) => fs.open(path, flags, mode, (e, fd) => (e ? rej(e) : res(fd))));
const fsClose = (fd: number): Promise<void> => new Promise((res, rej) => fs.close(fd, (e) => (e ? rej(e) : res())));
const fsFdatasync = (fd: number): Promise<void> => new Promise((res, rej) => fs.fdatasync(fd, (e) => (e ? rej(e) : res())));
const fsFsync = (fd: number): Promise<void> => new Promise((res, rej) => fs.fsync(fd, (e) => (e ? rej(e) : res())));
const fsWrite = (fd: number, b: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((res, rej) => fs.write(fd, b, off, len, pos, (e, n) => (e ? rej(e) : res(n))));
const fsRead = (fd: number, b: Buffer, off: number, len: number, pos: number): Promise<number> =>
  new Promise((res, rej) => fs.read(fd, b, off, len, pos, (e, n) => (e ? rej(e) : res(n))));
const fsFtruncate = (fd: number, len: number): Promise<void> => new Promise((res, rej) => fs.ftruncate(fd, len, (e) => (e ? rej(e) : res())));
const fsUnlink = (path: string): Promise<void> => new Promise((res, rej) => fs.unlink(path, (e) => (e ? rej(e) : res())));
const fsMkdir = (path: string): Promise<void> => new Promise((res, rej) => fs.mkdir(path, 0o700, (e) => (e ? rej(e) : res())));

export class LocalBrick implements Brick {
  private readonly fds = new Map<string, FdEntry>();
  private readonly opening = new Map<string, Promise<boolean>>();
  /** Objects created since their last fsync → directory entries that must be synced with them. */
  private readonly unsynced = new Map<string, DirDep[]>();
  /** Directories with entries created since the brick opened; ".d" ones are dropped once synced. */
  private readonly dirs = new Map<string, DirState>();
  /** Open descriptors of the fan-out directories and the root, for their fsyncs (≤ 257). */
  private readonly dirFds = new Map<string, Promise<number>>();
  /** Fan-out directories known to exist (and to be durable). */
  private readonly fanouts = new Set<string>();
  private readonly creatingFanout = new Map<string, Promise<void>>();
  /** ".d" directories fsynced in this process (bounded; see trustChunkDir). */
  private readonly trustedChunkDirs = new Set<string>();
  /** The 256 fan-out directories' paths (fanoutDir), filled on use. */
  private readonly fanoutNames: string[] = [];
  private seq = 0;
  private readonly janitor = new Janitor();
  private readonly maxOpen: number;
  /** See LocalBrickOptions.directWrites; switched off for good if the filesystem refuses O_DIRECT. */
  private direct: boolean;
  private readonly staging: DirectStaging | undefined;
  /** Directory fsyncs issued (tests check that concurrent ones coalesce). */
  dirFsyncs = 0;
  /** Writes that went through O_DIRECT (tests and metrics). */
  directWriteCount = 0;
  private closed = false;

  constructor(
    readonly root: string,
    opts: LocalBrickOptions = {},
  ) {
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 256);
    this.direct = opts.directWrites === true && O_DIRECT !== undefined;
    this.staging = this.direct ? new DirectStaging(DIRECT_SLAB, DIRECT_SLABS) : undefined;
    if (!this.staging?.available) this.direct = false;
  }

  /** Opens (creating on first use) a brick directory; refuses one written with another layout. */
  static async open(root: string, opts?: LocalBrickOptions): Promise<LocalBrick> {
    const marker = join(root, LAYOUT_FILE);
    try {
      await fs.promises.mkdir(root, { recursive: true });
      let found: string | undefined;
      try {
        found = await fs.promises.readFile(marker, 'utf8');
      } catch (e) {
        if (errCode(e) !== 'ENOENT') throw e;
      }
      if (found === undefined) {
        const names = (await fs.promises.readdir(root)).filter((n) => n !== `${LAYOUT_FILE}.tmp`);
        if (names.length > 0) throw new CoreError(Errc.IO, `brick ${root}: not empty and no ${LAYOUT_FILE} file (another layout?)`);
        // Before any fan-out directory exists (dir-spread.ts).
        await markTopDir(root);
        // Marker written atomically and made durable with its directory entry.
        const tmp = `${marker}.tmp`;
        await fs.promises.writeFile(tmp, LAYOUT, { mode: 0o600 });
        const h = await fs.promises.open(tmp, 'r');
        try {
          await h.sync();
        } finally {
          await h.close();
        }
        await fs.promises.rename(tmp, marker);
        const d = await fs.promises.open(root, 'r');
        try {
          await d.sync();
        } finally {
          await d.close();
        }
      } else if (found !== LAYOUT) {
        throw new CoreError(Errc.IO, `brick ${root}: layout ${JSON.stringify(found.trim())}, this gateway reads ${JSON.stringify(LAYOUT.trim())}`);
      }
    } catch (e) {
      throw e instanceof CoreError ? e : toCoreError(e, `brick open ${root}`);
    }
    return new LocalBrick(root, opts);
  }

  fanoutDir(fileId: bigint): string {
    // Every object operation names its path; path.join's normalisation is worth computing once per directory.
    const i = Number(fileId & 0xffn);
    return (this.fanoutNames[i] ??= join(this.root, (i | 0x100).toString(16).slice(1)));
  }

  /** The ".d" directory holding chunks ≥ 1 of a file. */
  chunkDir(fileId: bigint): string {
    return `${this.fanoutDir(fileId)}/${fileId.toString(16).padStart(16, '0')}.d`;
  }

  objectPath(id: ObjectId): string {
    const base = `${this.fanoutDir(id.fileId)}/${id.fileId.toString(16).padStart(16, '0')}`;
    return id.chunk === 0 ? base : `${base}.d/${id.chunk}`;
  }

  /** Open object descriptors right now (tests check the bound). */
  openCount(): number {
    return this.fds.size;
  }

  // ---- directory durability --------------------------------------------------------------------------

  /** Records a new entry in `dir`; returns the dependency an fsync of the new object must honour. */
  private noteCreated(dir: string): DirDep {
    let s = this.dirs.get(dir);
    // A fresh state starts "synced" at the current sequence: anything older was covered by an earlier
    // state that was dropped only once it had synced everything.
    if (!s) this.dirs.set(dir, (s = { created: this.seq, synced: this.seq }));
    s.created = ++this.seq;
    return { dir, seq: s.created };
  }

  /**
   * Makes every entry of `dir` up to `seq` durable. One fsync covers all entries created before it
   * started, so callers that arrive while one runs wait for it and, if it does not cover them, share the
   * next one.
   */
  private async syncDir(dir: string, seq: number): Promise<void> {
    for (;;) {
      const s = this.dirs.get(dir);
      if (!s || s.synced >= seq) return;
      if (s.running) {
        await s.running;
        continue;
      }
      const upto = s.created;
      const run = this.fsyncDir(dir).then(() => {
        if (upto > s.synced) s.synced = upto;
        // ".d" directories are many; forget a clean one (fan-out states are bounded at 256).
        if (s.synced >= s.created && this.isChunkDir(dir) && this.dirs.get(dir) === s) this.dirs.delete(dir);
      });
      s.running = run.finally(() => {
        if (s.running === shared) s.running = undefined;
      });
      const shared = s.running;
      await shared;
    }
  }

  private isChunkDir(dir: string): boolean {
    return dir !== this.root && dir.endsWith('.d');
  }

  private async fsyncDir(dir: string): Promise<void> {
    this.dirFsyncs++;
    if (this.isChunkDir(dir)) {
      let fd: number;
      try {
        fd = await fsOpen(dir, O_RDONLY);
      } catch (e) {
        if (errCode(e) === 'ENOENT') return; // dropped since: nothing left to make durable
        throw e;
      }
      try {
        await fsFsync(fd);
      } finally {
        await fsClose(fd).catch(() => undefined);
      }
      return;
    }
    let p = this.dirFds.get(dir);
    if (!p) {
      p = fsOpen(dir, O_RDONLY);
      this.dirFds.set(dir, p);
      p.catch(() => this.dirFds.get(dir) === p && this.dirFds.delete(dir));
    }
    await fsFsync(await p);
  }

  /**
   * First use of a fan-out directory in this process: create it if needed and fsync it and the root.
   * That also makes durable whatever a previous process left in it unsynced (names of objects and ".d"
   * directories), so objects created before a restart need no directory fsync of their own afterwards.
   */
  private ensureFanout(dir: string): Promise<void> {
    if (this.fanouts.has(dir)) return Promise.resolve();
    let p = this.creatingFanout.get(dir);
    if (!p) {
      p = (async () => {
        try {
          await fsMkdir(dir);
        } catch (e) {
          if (errCode(e) !== 'EEXIST') throw e;
        }
        await this.fsyncDir(dir);
        await this.syncDir(this.root, this.noteCreated(this.root).seq);
        this.fanouts.add(dir);
      })().finally(() => this.creatingFanout.delete(dir));
      this.creatingFanout.set(dir, p);
    }
    return p;
  }

  /**
   * A ".d" directory must have been fsynced in this process before one of its objects is reported
   * durable (the objects' names may date from an earlier process). Remembered in a bounded set; a
   * directory that falls out is simply synced again.
   */
  private async trustChunkDir(dir: string): Promise<void> {
    if (this.trustedChunkDirs.has(dir)) return;
    await this.fsyncDir(dir);
    if (this.trustedChunkDirs.size >= MAX_TRUSTED_CHUNK_DIRS) this.trustedChunkDirs.delete(this.trustedChunkDirs.values().next().value as string);
    this.trustedChunkDirs.add(dir);
  }

  // ---- fd cache --------------------------------------------------------------------------------------

  private async acquire(id: ObjectId, path: string, create: boolean): Promise<FdEntry | undefined> {
    for (;;) {
      if (this.closed) throw new Error('brick closed');
      const e = this.fds.get(path);
      if (e) {
        this.fds.delete(path);
        this.fds.set(path, e);
        e.refs++;
        return e;
      }
      const pending = this.opening.get(path);
      if (pending) {
        await pending;
        continue;
      }
      const p = this.openObject(id, path, create).then((fd) => {
        if (fd === undefined) return false;
        this.fds.set(path, { fd, refs: 0, doomed: false, warmUntil: 0 });
        this.evict();
        return true;
      });
      this.opening.set(path, p);
      let found: boolean;
      try {
        found = await p;
      } finally {
        this.opening.delete(path);
      }
      if (!found) return undefined;
    }
  }

  /** Opens an object; with `create`, creates it (and its directories) if missing. */
  private async openObject(id: ObjectId, path: string, create: boolean): Promise<number | undefined> {
    if (!create) {
      try {
        return await fsOpen(path, O_RDWR);
      } catch (e) {
        if (errCode(e) === 'ENOENT') return undefined;
        throw e;
      }
    }
    const fan = this.fanoutDir(id.fileId);
    if (!this.fanouts.has(fan)) await this.ensureFanout(fan);
    // Creating is the common case when the descriptor is not cached (a new small file), so try it first.
    const dir = id.chunk === 0 ? fan : this.chunkDir(id.fileId);
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = await fsOpen(path, O_RDWR | O_CREAT | O_EXCL, 0o600);
        this.unsynced.set(path, [this.noteCreated(dir)]);
        return fd;
      } catch (e) {
        const code = errCode(e);
        if (code === 'EEXIST') {
          try {
            return await fsOpen(path, O_RDWR);
          } catch (e2) {
            if (errCode(e2) === 'ENOENT' && attempt < 3) continue; // dropped in between: create again
            throw e2;
          }
        }
        if (code !== 'ENOENT' || id.chunk === 0 || attempt >= 3) throw e;
      }
      // The ".d" directory is missing. Its name is made durable before any object goes in (once per
      // multi-chunk file), so those objects only ever depend on the ".d" directory itself. If another
      // caller created it a moment ago, its fsync of the fan-out directory may still be running: share it.
      let dep: number;
      try {
        await fsMkdir(dir);
        dep = this.noteCreated(fan).seq;
      } catch (e) {
        if (errCode(e) !== 'EEXIST') throw e;
        dep = this.dirs.get(fan)?.created ?? 0;
      }
      await this.syncDir(fan, dep);
      this.trustedChunkDirs.add(dir);
    }
  }

  private closeFd(e: FdEntry): void {
    fs.close(e.fd, () => undefined);
    void e.directFd?.then(
      (fd) => fs.close(fd, () => undefined),
      () => undefined,
    );
  }

  private release(e: FdEntry): void {
    e.refs--;
    if (e.refs === 0 && e.doomed) this.closeFd(e);
    else this.evict();
  }

  private evict(): void {
    if (this.fds.size <= this.maxOpen) return;
    for (const [p, e] of this.fds) {
      if (this.fds.size <= this.maxOpen) break;
      if (e.refs > 0) continue;
      this.fds.delete(p);
      this.closeFd(e);
    }
  }

  private forget(path: string): void {
    const e = this.fds.get(path);
    if (!e) return;
    this.fds.delete(path);
    if (e.refs === 0) this.closeFd(e);
    else e.doomed = true;
  }

  private async withFd<T>(id: ObjectId, path: string, create: boolean, what: string, fn: (fd: number) => Promise<T>, missing: () => T): Promise<T> {
    let e: FdEntry | undefined;
    try {
      e = await this.acquire(id, path, create);
      if (!e) return missing();
      return await fn(e.fd);
    } catch (err) {
      throw err instanceof CoreError ? err : toCoreError(err, `brick ${what} ${path}`);
    } finally {
      if (e) this.release(e);
    }
  }

  // ---- Brick -----------------------------------------------------------------------------------------

  writeRange(id: ObjectId, offset: number, data: Buffer, hint?: WriteHint): Promise<void> {
    const path = this.objectPath(id);
    if (hint?.cold && this.direct && directEligible(offset, data.length, DIRECT_SLAB)) return this.writeDirect(id, path, offset, data);
    return this.withFd(id, path, true, 'write', async (fd) => {
      let done = 0;
      while (done < data.length) done += await fsWrite(fd, data, done, data.length - done, offset + done);
      this.markWarm(path);
    }, () => undefined);
  }

  /**
   * A large block-aligned write marked cold, with O_DIRECT: the bytes go from page-aligned memory to the
   * disk without being copied into the page cache. Why: on a brick node that copy was the largest single
   * cost of a replicated write (perf of a replica-3 write: copy_folio_from_iter_atomic 31-48% of a brick's
   * samples), more where fresh page-cache pages fault into the hypervisor (this bench VM reports free
   * pages to its host); O_DIRECT from aligned memory measured 0.22-0.25 ms of system time per MiB against
   * 1.4-2.8 buffered. Only writes the sender marks cold come here: a replica set reads each chunk from one
   * preferred replica (replica-set.ts, readRotation), and the other replicas' copies are read only when
   * that one is down or stale, or to heal. Those copies gain nothing from the page cache; the preferred one
   * keeps its cached pages, so reads right after writes still come from memory.
   *
   * Durability is unchanged: the write is not stable until fsync (fdatasync of the object flushes its
   * metadata and the disk's cache whichever descriptor wrote the blocks). The kernel keeps direct and
   * buffered I/O of one file coherent (a direct write first writes back and drops cached pages of its
   * range), so the small or unaligned writes that stay buffered mix safely with these.
   *
   * The data is copied once into aligned staging memory (direct-staging.ts); when all of it is in use, or
   * the filesystem refuses O_DIRECT (tmpfs: direct writes are then off for good), the write is buffered.
   */
  private async writeDirect(id: ObjectId, path: string, offset: number, data: Buffer): Promise<void> {
    let e: FdEntry | undefined;
    let scratch: Buffer | undefined;
    try {
      e = await this.acquire(id, path, true);
      if (!e) return;
      scratch = this.staging?.take(data.length);
      // Buffer#copy, not TypedArray#set: set falls back to a slow relaxed-atomic copy when either side is
      // shared memory (pooled frames may be).
      if (scratch) data.copy(scratch);
      let done = 0;
      if (scratch) {
        const src = scratch;
        try {
          const dfd = await (e.directFd ??= fsOpen(path, O_RDWR | O_DIRECT));
          // A short direct write of a regular file ends on a block boundary; whatever remains (none in
          // practice) is written through the ordinary descriptor below, as is everything after an error.
          while (done < src.length) {
            const n = await fsWrite(dfd, src, done, src.length - done, offset + done);
            done += n;
            if (n === 0 || n % DIRECT_ALIGN !== 0) break;
          }
          this.directWriteCount++;
        } catch (err) {
          if (errCode(err) !== 'EINVAL') throw err;
          this.direct = false; // the filesystem does not do O_DIRECT: buffered from now on
          e.directFd = undefined;
        }
      }
      // Not cached now: a read of this object goes through the thread pool, not a blocking pread (WARM_MS).
      e.warmUntil = 0;
      while (done < data.length) done += await fsWrite(e.fd, data, done, data.length - done, offset + done);
    } catch (err) {
      throw err instanceof CoreError ? err : toCoreError(err, `brick write ${path}`);
    } finally {
      if (scratch) this.staging?.give(scratch);
      if (e) this.release(e);
    }
  }

  readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    return this.readInto(id, offset, buf).then((got) => (got === length ? buf : buf.subarray(0, got)));
  }

  readInto(id: ObjectId, offset: number, target: Buffer, hint?: ReadHint): Promise<number> {
    const path = this.objectPath(id);
    const warm = this.fds.get(path);
    if (warm && !warm.doomed && !this.closed && !hint?.background && warm.warmUntil > Date.now()) return this.readWarm(path, warm, offset, target);
    return this.withFd(id, path, false, 'read', async (fd) => {
      let got = 0;
      while (got < target.length) {
        const n = await fsRead(fd, target, got, target.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      this.markWarm(path);
      return got;
    }, () => 0);
  }

  /** readInto for a recently used object with a cached descriptor: synchronous pread (see WARM_MS). */
  private readWarm(path: string, e: FdEntry, offset: number, target: Buffer): Promise<number> {
    this.fds.delete(path); // most recently used last (evict)
    this.fds.set(path, e);
    e.refs++;
    try {
      let got = 0;
      while (got < target.length) {
        const n = fs.readSync(e.fd, target, got, target.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      e.warmUntil = Date.now() + WARM_MS;
      return Promise.resolve(got);
    } catch (err) {
      return Promise.reject(toCoreError(err, `brick read ${path}`));
    } finally {
      this.release(e);
    }
  }

  private markWarm(path: string): void {
    const e = this.fds.get(path);
    if (e) e.warmUntil = Date.now() + WARM_MS;
  }

  truncate(id: ObjectId, length: number): Promise<void> {
    const path = this.objectPath(id);
    return this.withFd(id, path, false, 'truncate', (fd) => fsFtruncate(fd, length), () => undefined);
  }

  async delete(id: ObjectId): Promise<void> {
    const path = this.objectPath(id);
    this.forget(path);
    this.unsynced.delete(path);
    try {
      await fsUnlink(path);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw toCoreError(e, `brick delete ${path}`);
    }
  }

  async dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    const dir = this.chunkDir(fileId);
    let chunk0: string | undefined;
    if (firstChunk === 0) {
      chunk0 = this.objectPath({ fileId, chunk: 0 });
      this.forget(chunk0);
      this.unsynced.delete(chunk0);
    }
    // The unlinks run on the janitor thread (janitor.ts); this thread only forgets what went.
    const err = this.dropped(dir, await this.janitor.drop({ chunk0, chunkDir: dir, firstChunk }));
    if (err) throw err;
  }

  /**
   * Brick.dropMany: one janitor message for the whole batch, which also carries the dropped chunk-0
   * objects' idle descriptors for the janitor thread to close (see janitor.ts).
   */
  async dropMany(reqs: readonly DropRequest[]): Promise<unknown[]> {
    const jobs: DropJob[] = [];
    const fds: number[] = [];
    for (const r of reqs) {
      const base = `${this.fanoutDir(r.fileId)}/${r.fileId.toString(16).padStart(16, '0')}`;
      let chunk0: string | undefined;
      if (r.firstChunk === 0) {
        chunk0 = base;
        const e = this.fds.get(base);
        if (e) {
          this.fds.delete(base);
          // An idle descriptor without an O_DIRECT twin goes to the janitor; anything else as in forget.
          if (e.refs === 0 && e.directFd === undefined) fds.push(e.fd);
          else if (e.refs === 0) this.closeFd(e);
          else e.doomed = true;
        }
        this.unsynced.delete(base);
      }
      jobs.push({ chunk0, chunkDir: `${base}.d`, firstChunk: r.firstChunk });
    }
    let outs: DropOutcome[];
    try {
      outs = await this.janitor.dropMany(jobs, fds);
    } catch (e) {
      return reqs.map(() => e);
    }
    return outs.map((o, i) => this.dropped(jobs[i]!.chunkDir, o));
  }

  /** Forgets what a drop removed; returns its error, if it failed. */
  private dropped(dir: string, out: DropOutcome): CoreError | undefined {
    if (!out.ok) return toCoreError(Object.assign(new Error(out.message), { code: out.code }), `brick drop ${out.path}`);
    for (const chunk of out.removed) {
      const path = `${dir}/${chunk}`;
      this.forget(path);
      this.unsynced.delete(path);
    }
    if (out.dirGone) {
      const s = this.dirs.get(dir);
      if (s && !s.running) this.dirs.delete(dir);
      this.trustedChunkDirs.delete(dir);
    }
    return undefined;
  }

  async fsync(id: ObjectId): Promise<void> {
    const path = this.objectPath(id);
    const deps = this.unsynced.get(path);
    const waits: Promise<void>[] = [this.withFd(id, path, false, 'fsync', (fd) => fsFdatasync(fd), () => undefined)];
    if (id.chunk === 0) {
      const fan = this.fanoutDir(id.fileId);
      if (!this.fanouts.has(fan)) waits.push(this.ensureFanout(fan));
    } else waits.push(this.trustChunkDir(this.chunkDir(id.fileId)));
    if (deps) for (const d of deps) waits.push(this.syncDir(d.dir, d.seq));
    try {
      await Promise.all(waits);
    } catch (e) {
      throw e instanceof CoreError ? e : toCoreError(e, `brick fsync ${path}`);
    }
    if (deps && this.unsynced.get(path) === deps) this.unsynced.delete(path);
  }

  async stat(id: ObjectId): Promise<{ size: number } | undefined> {
    const path = this.objectPath(id);
    try {
      const st = await fs.promises.stat(path);
      return { size: st.size };
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined;
      throw toCoreError(e, `brick stat ${path}`);
    }
  }

  async capacity(): Promise<BrickCapacity> {
    try {
      const s = await fs.promises.statfs(this.root, { bigint: true });
      return {
        totalBytes: s.blocks * s.bsize,
        freeBytes: s.bfree * s.bsize,
        availBytes: s.bavail * s.bsize,
        totalFiles: s.files,
        freeFiles: s.ffree,
      };
    } catch (e) {
      throw toCoreError(e, `brick statfs ${this.root}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.opening.values(), ...this.creatingFanout.values()]);
    await Promise.allSettled([...this.dirs.values()].map((s) => s.running));
    await this.janitor.close();
    this.closed = true;
    const all = [...this.fds.values()];
    this.fds.clear();
    const dirFds = [...this.dirFds.values()];
    this.dirFds.clear();
    await Promise.allSettled([
      ...all.map((e) => fsClose(e.fd)),
      ...all.map(async (e) => e.directFd && fsClose(await e.directFd)),
      ...dirFds.map(async (p) => fsClose(await p)),
    ]);
  }
}
