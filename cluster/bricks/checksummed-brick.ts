/**
 * A brick node's store: chunk objects on a LocalBrick plus a CRC32 per 4 KiB block of every object, kept
 * beside it, checked on every read. Silent corruption (bitrot, a file edited by hand, a write torn by a
 * crash) is reported as BrickFault('corrupt') instead of being served, so replication repairs that copy
 * from a good replica. Layout (docs/on-disk-format.md, "Brick node"):
 *
 *   DIR/BRICK    {"layout":"checksummed-1","block":4096,"algo":"crc32","id":"<uuid>"}
 *   DIR/data/    the objects (a flat-1 LocalBrick)
 *   DIR/sums/    one "sums" object per data object, same ObjectId (another flat-1 LocalBrick): 8 bytes per
 *                block k at offset 8k: cur u32le, prev u32le
 *
 * Checksums: CRC32 (zlib's, native: ~1.7 GB/s over 4 KiB blocks on this machine, measured) of the block's
 * 4096 bytes, the part past the object's end counted as zeros, so growing an object by truncate leaves its
 * last block's checksum valid. A stored 0 stands for the CRC of an all-zero block: blocks never written
 * (holes, and sums objects that are short or missing) read as zeros and so agree with their checksums.
 *
 * Crash consistency: a write first stores the new checksums of the blocks it touches (cur = new,
 * prev = what was there) and only then writes the data. A block is good if it matches cur or prev. So after
 * kill -9 between the two writes the block still holds its old bytes, which match prev: nothing that was
 * acknowledged is lost; a write torn inside a block matches neither and is reported corrupt, never served.
 * Both objects are fsynced together on fsync, after which prev is retired (set to cur), so damage to
 * durable data is never mistaken for a lost write. (A crash twice in a row between the two writes of the same
 * block can leave a good old block matching neither: reported corrupt, repaired from a replica — the
 * direction that is safe.)
 *
 * A partial-block write reads the block's old bytes, verifies them (a corrupt block is refused with
 * 'corrupt', not laundered under a fresh checksum) and checksums old and new bytes together; whole-block
 * writes read nothing, so repairing a bad copy is writing whole blocks (or the whole object) over it.
 *
 * Locking: writes and truncates of one object are exclusive, reads of it shared (a read must not see a
 * block between its checksum and its data write); dropFrom is exclusive for the whole file. The object's
 * size is cached while its lock is held by this process (only this class writes the directory).
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import { CoreError, Errc } from '../vfs/errors';
import type { BrickCapacity, HealableBrick, ObjectId, ObjectInfo, WriteHint } from './brick';
import { BrickFault } from './brick-fault';
import { toCoreError } from './errno';
import { LocalBrick, type LocalBrickOptions } from './local-brick';
import { LocalLister } from './local-list';
import { RwLocks, type Release } from './rw-locks';

export const BLOCK_SIZE = 4096;
const ENTRY = 8;
const MARKER = 'BRICK';
const LAYOUT = 'checksummed-1';
const ZERO_BLOCK = Buffer.alloc(BLOCK_SIZE);
const SIZE_CACHE_MAX = 8192;
const UNSYNCED_MAX = 8192;
/** Piece size for whole-object digests (checksum()). */
const DIGEST_PIECE = 1 << 20;

const crc32: (data: Buffer, value?: number) => number = (zlib as unknown as { crc32?: (d: Buffer, v?: number) => number }).crc32 ?? (() => {
  throw new Error('node:zlib has no crc32 (needs Node >= 20.15)');
});
const ZERO_CRC = crc32(ZERO_BLOCK);

/** CRC of `parts` concatenated and padded with zeros to one block. */
function blockCrc(parts: Buffer[]): number {
  let c = 0;
  let n = 0;
  for (const p of parts) {
    if (p.length === 0) continue;
    c = crc32(p, c);
    n += p.length;
  }
  return n < BLOCK_SIZE ? crc32(ZERO_BLOCK.subarray(0, BLOCK_SIZE - n), c) : c;
}

/** Does a block whose CRC is `actual` agree with a stored entry (cur or prev; 0 = zero block)? */
function agrees(actual: number, cur: number, prev: number): boolean {
  return actual === (cur === 0 ? ZERO_CRC : cur) || actual === (prev === 0 ? ZERO_CRC : prev);
}

const blocksFor = (size: number): number => Math.ceil(size / BLOCK_SIZE);

function entryAt(entries: Buffer, i: number): { cur: number; prev: number } {
  const off = i * ENTRY;
  if (off + ENTRY > entries.length) return { cur: 0, prev: 0 };
  return { cur: entries.readUInt32LE(off), prev: entries.readUInt32LE(off + 4) };
}

export interface ChecksummedBrickOptions extends LocalBrickOptions {
  /** Name for logs and BrickFaults (default: the directory). */
  name?: string;
}

interface BrickMarker {
  layout: string;
  block: number;
  algo: string;
  id: string;
}

export class ChecksummedBrick implements HealableBrick {
  readonly name: string;
  private readonly objLocks = new RwLocks<string>();
  private readonly fileLocks = new RwLocks<bigint>();
  private readonly sizes = new Map<string, number>();
  /** Objects whose checksums changed since their last fsync → a write generation (see fsync). */
  private readonly unsynced = new Map<string, number>();
  private readonly lister: LocalLister;
  /** Corrupt blocks found by reads since start (metrics). */
  corruptBlocks = 0;

  constructor(
    readonly dir: string,
    /** Random id written when the directory was created: tells bricks apart even if addresses move. */
    readonly brickId: string,
    private readonly data: LocalBrick,
    private readonly sums: LocalBrick,
    opts: ChecksummedBrickOptions = {},
  ) {
    this.name = opts.name ?? dir;
    this.lister = new LocalLister(data);
  }

  /** Opens (creating on first use) a brick node directory; refuses one of another layout. */
  static async open(dir: string, opts: ChecksummedBrickOptions = {}): Promise<ChecksummedBrick> {
    let marker: BrickMarker;
    try {
      marker = await ChecksummedBrick.readOrCreateMarker(dir);
    } catch (e) {
      throw e instanceof CoreError ? e : toCoreError(e, `brick open ${dir}`);
    }
    const data = await LocalBrick.open(join(dir, 'data'), opts);
    const sums = await LocalBrick.open(join(dir, 'sums'), { maxOpenFiles: opts.maxOpenFiles });
    return new ChecksummedBrick(dir, marker.id, data, sums, opts);
  }

  private static async readOrCreateMarker(dir: string): Promise<BrickMarker> {
    const path = join(dir, MARKER);
    await fs.promises.mkdir(dir, { recursive: true });
    let text: string | undefined;
    try {
      text = await fs.promises.readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      let m: Partial<BrickMarker> = {};
      try {
        m = JSON.parse(text) as Partial<BrickMarker>;
      } catch {
        /* reported below */
      }
      if (m.layout !== LAYOUT || m.block !== BLOCK_SIZE || m.algo !== 'crc32' || typeof m.id !== 'string') {
        throw new CoreError(Errc.IO, `brick ${dir}: ${MARKER} says ${JSON.stringify(text.trim())}, this gateway reads layout ${LAYOUT} block ${BLOCK_SIZE} crc32`);
      }
      return m as BrickMarker;
    }
    const names = (await fs.promises.readdir(dir)).filter((n) => n !== `${MARKER}.tmp`);
    if (names.length > 0) throw new CoreError(Errc.IO, `brick ${dir}: not empty and no ${MARKER} file (not a brick node directory?)`);
    const m: BrickMarker = { layout: LAYOUT, block: BLOCK_SIZE, algo: 'crc32', id: randomUUID() };
    const tmp = `${path}.tmp`;
    await fs.promises.writeFile(tmp, `${JSON.stringify(m)}\n`, { mode: 0o600 });
    const h = await fs.promises.open(tmp, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.promises.rename(tmp, path);
    const d = await fs.promises.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return m;
  }

  /** Path of an object's data file (tests corrupt it by hand). */
  objectPath(id: ObjectId): string {
    return this.data.objectPath(id);
  }

  private key(id: ObjectId): string {
    return `${id.fileId}:${id.chunk}`;
  }

  /** Locks for one object: the file's lock shared, then the object's (always in that order). */
  private async lock(id: ObjectId, excl: boolean): Promise<Release> {
    const f = await this.fileLocks.acquire(id.fileId, false);
    const o = await this.objLocks.acquire(this.key(id), excl);
    return () => {
      o();
      f();
    };
  }

  /** Object size (undefined: missing). Call with the object locked. */
  private async sizeOf(id: ObjectId): Promise<number | undefined> {
    const k = this.key(id);
    const cached = this.sizes.get(k);
    if (cached !== undefined) return cached;
    const st = await this.data.stat(id);
    if (st) this.noteSize(k, st.size);
    return st?.size;
  }

  private noteSize(k: string, size: number): void {
    this.sizes.delete(k);
    this.sizes.set(k, size);
    if (this.sizes.size > SIZE_CACHE_MAX) this.sizes.delete(this.sizes.keys().next().value as string);
  }

  private corrupt(id: ObjectId, block: number, what: string): BrickFault {
    this.corruptBlocks++;
    return new BrickFault('corrupt', this.name, `object ${id.fileId.toString(16)}/${id.chunk} block ${block} (bytes ${block * BLOCK_SIZE}+${BLOCK_SIZE}) fails its checksum (${what})`);
  }

  /** Reads block `k` (zero-padded to a whole block) and checks it; returns it and its CRC. */
  private async readBlockChecked(id: ObjectId, k: number, size: number, entries: Buffer, first: number): Promise<{ buf: Buffer; crc: number }> {
    const buf = Buffer.alloc(BLOCK_SIZE);
    const len = Math.min(BLOCK_SIZE, size - k * BLOCK_SIZE);
    if (len > 0) await this.data.readInto(id, k * BLOCK_SIZE, buf.subarray(0, len));
    const crc = crc32(buf);
    const e = entryAt(entries, k - first);
    if (!agrees(crc, e.cur, e.prev)) throw this.corrupt(id, k, 'old bytes of a partly rewritten block');
    return { buf, crc };
  }

  // ---- Brick -----------------------------------------------------------------------------------------

  async writeRange(id: ObjectId, offset: number, data: Buffer, hint?: WriteHint): Promise<void> {
    const release = await this.lock(id, true);
    try {
      if (data.length === 0) {
        await this.data.writeRange(id, offset, data);
        if ((await this.sizeOf(id)) === undefined) this.noteSize(this.key(id), 0);
        return;
      }
      const size = (await this.sizeOf(id)) ?? 0;
      const end = offset + data.length;
      const b0 = Math.floor(offset / BLOCK_SIZE);
      const b1 = blocksFor(end);
      const oldBlocks = blocksFor(size);
      // Blocks between the old end and the write are holes now: their entries are reset (they may hold
      // leftovers of a longer past, e.g. a crash between a truncate's two steps).
      const first = Math.min(b0, oldBlocks);
      const oldEntries = b0 < oldBlocks ? await this.sums.readRange(id, b0 * ENTRY, (Math.min(b1, oldBlocks) - b0) * ENTRY) : Buffer.alloc(0);
      const headLen = offset - b0 * BLOCK_SIZE;
      const tailFrom = end - (b1 - 1) * BLOCK_SIZE; // where the write ends inside its last block
      const needHead = headLen > 0 && b0 < oldBlocks;
      const needTail = tailFrom < BLOCK_SIZE && end < size && (b1 - 1 !== b0 || !needHead);
      const [head, tail] = await Promise.all([
        needHead ? this.readBlockChecked(id, b0, size, oldEntries, b0) : undefined,
        needTail ? this.readBlockChecked(id, b1 - 1, size, oldEntries, b0) : undefined,
      ]);
      const entries = Buffer.alloc((b1 - first) * ENTRY);
      for (let k = b0; k < b1; k++) {
        const bs = k * BLOCK_SIZE;
        const from = Math.max(offset, bs);
        const to = Math.min(end, bs + BLOCK_SIZE);
        const old = k === b0 && head ? head : k === b1 - 1 && tail ? tail : undefined;
        // A whole block of new data (all but the ends of a large write): one crc32 call, no part list.
        const crc = old
          ? blockCrc([old.buf.subarray(0, from - bs), data.subarray(from - offset, to - offset), old.buf.subarray(to - bs)])
          : to - from === BLOCK_SIZE
            ? crc32(data.subarray(from - offset, to - offset))
            : blockCrc([ZERO_BLOCK.subarray(0, from - bs), data.subarray(from - offset, to - offset)]);
        let prev = 0;
        if (old) prev = old.crc;
        else if (k < oldBlocks) prev = entryAt(oldEntries, k - b0).cur;
        entries.writeUInt32LE(crc === ZERO_CRC ? 0 : crc, (k - first) * ENTRY);
        entries.writeUInt32LE(prev === ZERO_CRC ? 0 : prev, (k - first) * ENTRY + 4);
      }
      this.noteWritten(this.key(id));
      await this.sums.writeRange(id, first * ENTRY, entries);
      // The hint is the data's: the checksums stay cached (every read of the object needs them).
      await this.data.writeRange(id, offset, data, hint);
      this.noteSize(this.key(id), Math.max(size, end));
    } catch (e) {
      this.sizes.delete(this.key(id));
      throw e;
    } finally {
      release();
    }
  }

  async readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    const release = await this.lock(id, false);
    try {
      const size = await this.sizeOf(id);
      if (size === undefined || offset >= size) return Buffer.alloc(0);
      const buf = Buffer.allocUnsafe(Math.min(length, size - offset));
      const got = await this.readChecked(id, offset, buf, size);
      return got === buf.length ? buf : buf.subarray(0, got);
    } finally {
      release();
    }
  }

  async readInto(id: ObjectId, offset: number, target: Buffer): Promise<number> {
    const release = await this.lock(id, false);
    try {
      const size = await this.sizeOf(id);
      if (size === undefined) return 0;
      return await this.readChecked(id, offset, target, size);
    } finally {
      release();
    }
  }

  /**
   * Reads [offset, offset + target.length) ∩ [0, size) into target, verifying every block it touches. The
   * requested bytes go straight into `target`; only the parts of the first and last block outside the
   * range are read into scratch buffers (CRC32 is computed across the pieces, no copy).
   */
  private async readChecked(id: ObjectId, offset: number, target: Buffer, size: number): Promise<number> {
    if (offset >= size || target.length === 0) return 0;
    const end = Math.min(offset + target.length, size);
    const n = end - offset;
    const b0 = Math.floor(offset / BLOCK_SIZE);
    const b1 = blocksFor(end);
    const headLen = offset - b0 * BLOCK_SIZE;
    const tailEnd = Math.min(b1 * BLOCK_SIZE, size);
    const head = headLen > 0 ? Buffer.alloc(headLen) : undefined;
    const tail = tailEnd > end ? Buffer.alloc(tailEnd - end) : undefined;
    const main = target.subarray(0, n);
    const [entries, got] = await Promise.all([
      this.sums.readRange(id, b0 * ENTRY, (b1 - b0) * ENTRY),
      this.data.readInto(id, offset, main),
      head ? this.data.readInto(id, b0 * BLOCK_SIZE, head) : 0,
      tail ? this.data.readInto(id, end, tail) : 0,
    ]);
    // A data file shorter than its size (cut behind our back) reads as zeros there, and fails its checks.
    if (got < n) main.fill(0, got);
    for (let k = b0; k < b1; k++) {
      const bs = k * BLOCK_SIZE;
      const from = Math.max(offset, bs);
      const to = Math.min(end, bs + BLOCK_SIZE);
      const parts = [main.subarray(from - offset, to - offset)];
      if (k === b0 && head) parts.unshift(head);
      if (k === b1 - 1 && tail) parts.push(tail);
      const e = entryAt(entries, k - b0);
      if (!agrees(blockCrc(parts), e.cur, e.prev)) throw this.corrupt(id, k, 'read');
    }
    return n;
  }

  async truncate(id: ObjectId, length: number): Promise<void> {
    const release = await this.lock(id, true);
    try {
      const size = await this.sizeOf(id);
      if (size === undefined) return;
      if (length < size) {
        const k = Math.floor(length / BLOCK_SIZE);
        if (length % BLOCK_SIZE !== 0) {
          // The new last block keeps its head; its tail becomes zeros: new checksum (prev = the old one).
          const entries = await this.sums.readRange(id, k * ENTRY, ENTRY);
          const old = await this.readBlockChecked(id, k, size, entries, k);
          const crc = blockCrc([old.buf.subarray(0, length - k * BLOCK_SIZE)]);
          const e = Buffer.alloc(ENTRY);
          e.writeUInt32LE(crc === ZERO_CRC ? 0 : crc, 0);
          e.writeUInt32LE(old.crc === ZERO_CRC ? 0 : old.crc, 4);
          this.noteWritten(this.key(id));
          await this.sums.writeRange(id, k * ENTRY, e);
        }
        await this.data.truncate(id, length);
        this.noteSize(this.key(id), length);
        await this.sums.truncate(id, blocksFor(length) * ENTRY);
      } else if (length > size) {
        const oldBlocks = blocksFor(size);
        const newBlocks = blocksFor(length);
        if (newBlocks > oldBlocks) await this.sums.writeRange(id, oldBlocks * ENTRY, Buffer.alloc((newBlocks - oldBlocks) * ENTRY));
        await this.data.truncate(id, length);
        this.noteSize(this.key(id), length);
      }
    } catch (e) {
      this.sizes.delete(this.key(id));
      throw e;
    } finally {
      release();
    }
  }

  async delete(id: ObjectId): Promise<void> {
    const release = await this.lock(id, true);
    try {
      // Data first: a crash in between leaves checksums without data, which the next write of the object
      // overwrites (it starts from size 0); the other order would leave data without checksums (corrupt).
      await this.data.delete(id);
      this.sizes.delete(this.key(id));
      this.unsynced.delete(this.key(id));
      await this.sums.delete(id);
    } finally {
      release();
    }
  }

  async dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    const release = await this.fileLocks.acquire(fileId, true);
    try {
      await this.data.dropFrom(fileId, firstChunk);
      const prefix = `${fileId}:`;
      for (const k of [...this.sizes.keys()]) if (k.startsWith(prefix) && Number(k.slice(prefix.length)) >= firstChunk) this.sizes.delete(k);
      await this.sums.dropFrom(fileId, firstChunk);
    } finally {
      release();
    }
  }

  /**
   * Makes data and checksums durable together, then retires the previous checksums (prev := cur) of an
   * object written since its last fsync: once the bytes are durable, a block that matches only its previous
   * checksum (zeros for a block never written before) can no longer be a lost write, only damage. Skipped
   * if a write came in meanwhile (its own fsync will do it); if the retiring write is lost in a crash, the
   * old prevs stay, which only weakens detection for those blocks until the next write + fsync.
   */
  async fsync(id: ObjectId): Promise<void> {
    const k = this.key(id);
    const gen = this.unsynced.get(k);
    await Promise.all([this.data.fsync(id), this.sums.fsync(id)]);
    if (gen === undefined) return;
    const release = await this.lock(id, true);
    try {
      if (this.unsynced.get(k) !== gen) return;
      this.unsynced.delete(k);
      const size = await this.sizeOf(id);
      if (size === undefined) return;
      const entries = await this.sums.readRange(id, 0, blocksFor(size) * ENTRY);
      let changed = false;
      for (let off = 0; off + ENTRY <= entries.length; off += ENTRY) {
        const cur = entries.readUInt32LE(off);
        if (entries.readUInt32LE(off + 4) !== cur) {
          entries.writeUInt32LE(cur, off + 4);
          changed = true;
        }
      }
      if (changed) await this.sums.writeRange(id, 0, entries);
    } finally {
      release();
    }
  }

  private noteWritten(k: string): void {
    const gen = (this.unsynced.get(k) ?? 0) + 1;
    this.unsynced.delete(k);
    this.unsynced.set(k, gen);
    if (this.unsynced.size > UNSYNCED_MAX) this.unsynced.delete(this.unsynced.keys().next().value as string);
  }

  async stat(id: ObjectId): Promise<{ size: number } | undefined> {
    const release = await this.lock(id, false);
    try {
      const size = await this.sizeOf(id);
      return size === undefined ? undefined : { size };
    } finally {
      release();
    }
  }

  capacity(): Promise<BrickCapacity> {
    return this.data.capacity();
  }

  list(after: ObjectId | undefined, limit: number): Promise<ObjectInfo[]> {
    return this.lister.list(after, limit);
  }

  /** SHA-256 of the object's bytes, every block verified on the way (a bad block throws 'corrupt'). */
  async checksum(id: ObjectId): Promise<Buffer | undefined> {
    const release = await this.lock(id, false);
    try {
      const size = await this.sizeOf(id);
      if (size === undefined) return undefined;
      const h = createHash('sha256');
      const buf = Buffer.allocUnsafe(Math.min(DIGEST_PIECE, size));
      for (let off = 0; off < size; off += DIGEST_PIECE) {
        const n = await this.readChecked(id, off, buf.subarray(0, Math.min(DIGEST_PIECE, size - off)), size);
        h.update(buf.subarray(0, n));
      }
      return h.digest();
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.data.close(), this.sums.close()]);
  }
}
