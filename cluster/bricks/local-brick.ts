/**
 * A brick on a local directory: each chunk object is one sparse file,
 *
 *   <root>/<fileId byte 7>/<fileId byte 6>/<fileId as 16 hex>/<chunk index>
 *
 * (two fan-out levels of 256 on the fastest-changing bytes of the inode number, then one directory per
 * file, so dropping a file's objects is one readdir and no directory collects millions of entries).
 * I/O is positional (pread/pwrite) through a bounded LRU cache of open file descriptors; an fd in use is
 * never closed under a caller. fsync = fdatasync of the object plus an fsync of each directory created
 * for it since its last fsync, so a new object's name is durable too.
 */
import { constants as C, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Brick, BrickCapacity, ObjectId } from './brick';
import { toCoreError } from './errno';

interface FdEntry {
  path: string;
  fh: FileHandle;
  refs: number;
  doomed: boolean;
}

export interface LocalBrickOptions {
  /** Open file descriptors kept (LRU). Default 256. */
  maxOpenFiles?: number;
}

function isNoEnt(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export class LocalBrick implements Brick {
  private readonly fds = new Map<string, FdEntry>();
  private readonly opening = new Map<string, Promise<void>>();
  /** Objects created since their last fsync → directories whose entries must be synced with them. */
  private readonly unsyncedDirs = new Map<string, string[]>();
  private readonly maxOpen: number;
  private closed = false;

  constructor(
    readonly root: string,
    opts: LocalBrickOptions = {},
  ) {
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 256);
  }

  static async open(root: string, opts?: LocalBrickOptions): Promise<LocalBrick> {
    try {
      await fsp.mkdir(root, { recursive: true });
    } catch (e) {
      throw toCoreError(e, `brick mkdir ${root}`);
    }
    return new LocalBrick(root, opts);
  }

  fileDir(fileId: bigint): string {
    const hex = fileId.toString(16).padStart(16, '0');
    return join(this.root, hex.slice(14, 16), hex.slice(12, 14), hex);
  }

  objectPath(id: ObjectId): string {
    return join(this.fileDir(id.fileId), String(id.chunk));
  }

  /** Open descriptors right now (tests check the bound). */
  openCount(): number {
    return this.fds.size;
  }

  // ---- fd cache --------------------------------------------------------------------------------------

  private async acquire(path: string, create: boolean): Promise<FdEntry | undefined> {
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
      let found = true;
      const p = this.openFile(path, create).then((fh) => {
        if (!fh) {
          found = false;
          return;
        }
        this.fds.set(path, { path, fh, refs: 0, doomed: false });
        this.evict();
      });
      this.opening.set(path, p);
      try {
        await p;
      } finally {
        this.opening.delete(path);
      }
      if (!found) return undefined;
    }
  }

  private async openFile(path: string, create: boolean): Promise<FileHandle | undefined> {
    try {
      return await fsp.open(path, C.O_RDWR);
    } catch (e) {
      if (!isNoEnt(e) || !create) {
        if (isNoEnt(e)) return undefined;
        throw e;
      }
    }
    const dir = dirname(path);
    const firstCreated = await fsp.mkdir(dir, { recursive: true });
    const fh = await fsp.open(path, C.O_RDWR | C.O_CREAT, 0o600);
    const dirs = [dir];
    if (firstCreated) {
      for (let d = dir; d !== dirname(firstCreated) && d.length > this.root.length; ) {
        d = dirname(d);
        dirs.push(d);
      }
    }
    this.unsyncedDirs.set(path, dirs);
    return fh;
  }

  private release(e: FdEntry): void {
    e.refs--;
    if (e.refs === 0 && e.doomed) void e.fh.close().catch(() => undefined);
    else this.evict();
  }

  private evict(): void {
    if (this.fds.size <= this.maxOpen) return;
    for (const [p, e] of this.fds) {
      if (this.fds.size <= this.maxOpen) break;
      if (e.refs > 0) continue;
      this.fds.delete(p);
      void e.fh.close().catch(() => undefined);
    }
  }

  private forget(path: string): void {
    const e = this.fds.get(path);
    if (!e) return;
    this.fds.delete(path);
    if (e.refs === 0) void e.fh.close().catch(() => undefined);
    else e.doomed = true;
  }

  private async withFd<T>(path: string, create: boolean, what: string, fn: (fh: FileHandle) => Promise<T>, missing: () => T): Promise<T> {
    let e: FdEntry | undefined;
    try {
      e = await this.acquire(path, create);
      if (!e) return missing();
      return await fn(e.fh);
    } catch (err) {
      throw toCoreError(err, `brick ${what} ${path}`);
    } finally {
      if (e) this.release(e);
    }
  }

  // ---- Brick -----------------------------------------------------------------------------------------

  writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
    return this.withFd(this.objectPath(id), true, 'write', async (fh) => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
        done += bytesWritten;
      }
    }, () => undefined);
  }

  readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    return this.withFd(this.objectPath(id), false, 'read', async (fh) => {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? buf : buf.subarray(0, got);
    }, () => Buffer.alloc(0));
  }

  readInto(id: ObjectId, offset: number, target: Buffer): Promise<number> {
    return this.withFd(this.objectPath(id), false, 'read', async (fh) => {
      let got = 0;
      while (got < target.length) {
        const { bytesRead } = await fh.read(target, got, target.length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got;
    }, () => 0);
  }

  truncate(id: ObjectId, length: number): Promise<void> {
    return this.withFd(this.objectPath(id), false, 'truncate', (fh) => fh.truncate(length), () => undefined);
  }

  async delete(id: ObjectId): Promise<void> {
    const path = this.objectPath(id);
    this.forget(path);
    this.unsyncedDirs.delete(path);
    try {
      await fsp.unlink(path);
    } catch (e) {
      if (!isNoEnt(e)) throw toCoreError(e, `brick delete ${path}`);
    }
  }

  async dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    const dir = this.fileDir(fileId);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (isNoEnt(e)) return;
      throw toCoreError(e, `brick readdir ${dir}`);
    }
    for (const name of names) {
      const chunk = Number(name);
      if (Number.isInteger(chunk) && chunk >= firstChunk) await this.delete({ fileId, chunk });
    }
    if (firstChunk === 0) {
      try {
        await fsp.rmdir(dir);
      } catch {
        // a concurrent writer re-created an object: leave the directory
      }
    }
  }

  async fsync(id: ObjectId): Promise<void> {
    const path = this.objectPath(id);
    await this.withFd(path, false, 'fsync', (fh) => fh.datasync(), () => undefined);
    const dirs = this.unsyncedDirs.get(path);
    if (!dirs) return;
    this.unsyncedDirs.delete(path);
    for (const d of dirs) {
      try {
        const h = await fsp.open(d, C.O_RDONLY);
        try {
          await h.sync();
        } finally {
          await h.close();
        }
      } catch (e) {
        if (!isNoEnt(e)) throw toCoreError(e, `brick fsync dir ${d}`);
      }
    }
  }

  async stat(id: ObjectId): Promise<{ size: number } | undefined> {
    const path = this.objectPath(id);
    try {
      const st = await fsp.stat(path);
      return { size: st.size };
    } catch (e) {
      if (isNoEnt(e)) return undefined;
      throw toCoreError(e, `brick stat ${path}`);
    }
  }

  async capacity(): Promise<BrickCapacity> {
    try {
      const s = await fsp.statfs(this.root, { bigint: true });
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
    await Promise.allSettled([...this.opening.values()]);
    this.closed = true;
    const all = [...this.fds.values()];
    this.fds.clear();
    await Promise.allSettled(all.map((e) => e.fh.close()));
  }
}
