/** In-memory brick for tests and the memory backend. Objects grow on demand; holes are zeros. */
import { createHash } from 'node:crypto';
import type { BrickCapacity, HealableBrick, ObjectId, ObjectInfo } from './brick';

interface Obj {
  buf: Buffer;
  len: number;
}

export class MemoryBrick implements HealableBrick {
  private readonly files = new Map<bigint, Map<number, Obj>>();
  private used = 0;
  /** Counts for tests: how often each operation ran. */
  readonly ops = { write: 0, read: 0, fsync: 0, truncate: 0, delete: 0 };

  constructor(
    private readonly totalBytes = 1n << 40n,
    readonly name = 'memory',
  ) {}

  private obj(id: ObjectId, create: boolean): Obj | undefined {
    let f = this.files.get(id.fileId);
    if (!f) {
      if (!create) return undefined;
      f = new Map();
      this.files.set(id.fileId, f);
    }
    let o = f.get(id.chunk);
    if (!o && create) {
      o = { buf: Buffer.alloc(0), len: 0 };
      f.set(id.chunk, o);
    }
    return o;
  }

  private resize(o: Obj, len: number): void {
    if (len > o.buf.length) {
      const nb = Buffer.alloc(Math.max(len, Math.min(o.buf.length * 2, 1 << 26)));
      o.buf.copy(nb, 0, 0, o.len);
      o.buf = nb;
    } else if (len < o.len) {
      o.buf.fill(0, len, o.len);
    }
    this.used += len - o.len;
    o.len = len;
  }

  async writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
    this.ops.write++;
    const o = this.obj(id, true)!;
    const end = offset + data.length;
    if (end > o.len) this.resize(o, end);
    data.copy(o.buf, offset);
  }

  async readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    this.ops.read++;
    const o = this.obj(id, false);
    if (!o || offset >= o.len) return Buffer.alloc(0);
    return Buffer.from(o.buf.subarray(offset, Math.min(o.len, offset + length)));
  }

  async readInto(id: ObjectId, offset: number, target: Buffer): Promise<number> {
    this.ops.read++;
    const o = this.obj(id, false);
    if (!o || offset >= o.len) return 0;
    return o.buf.copy(target, 0, offset, Math.min(o.len, offset + target.length));
  }

  async truncate(id: ObjectId, length: number): Promise<void> {
    this.ops.truncate++;
    const o = this.obj(id, false);
    if (o) this.resize(o, length);
  }

  async delete(id: ObjectId): Promise<void> {
    this.ops.delete++;
    const f = this.files.get(id.fileId);
    const o = f?.get(id.chunk);
    if (!f || !o) return;
    this.used -= o.len;
    f.delete(id.chunk);
    if (f.size === 0) this.files.delete(id.fileId);
  }

  async dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    const f = this.files.get(fileId);
    if (!f) return;
    for (const c of [...f.keys()]) if (c >= firstChunk) await this.delete({ fileId, chunk: c });
  }

  async fsync(_id: ObjectId): Promise<void> {
    this.ops.fsync++;
  }

  async stat(id: ObjectId): Promise<{ size: number } | undefined> {
    const o = this.obj(id, false);
    return o ? { size: o.len } : undefined;
  }

  /** Object count (tests check that deletes free chunks). */
  objectCount(fileId?: bigint): number {
    if (fileId !== undefined) return this.files.get(fileId)?.size ?? 0;
    let n = 0;
    for (const f of this.files.values()) n += f.size;
    return n;
  }

  async capacity(): Promise<BrickCapacity> {
    const free = this.totalBytes - BigInt(this.used);
    return { totalBytes: this.totalBytes, freeBytes: free, availBytes: free, totalFiles: 1n << 32n, freeFiles: (1n << 32n) - BigInt(this.objectCount()) };
  }

  async list(after: ObjectId | undefined, limit: number): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const fileIds = [...this.files.keys()].filter((f) => after === undefined || f >= after.fileId).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const fileId of fileIds) {
      const chunks = [...this.files.get(fileId)!.keys()].sort((a, b) => a - b);
      for (const chunk of chunks) {
        if (after !== undefined && fileId === after.fileId && chunk <= after.chunk) continue;
        if (out.length >= limit) return out;
        out.push({ id: { fileId, chunk }, size: this.files.get(fileId)!.get(chunk)!.len });
      }
    }
    return out;
  }

  async checksum(id: ObjectId): Promise<Buffer | undefined> {
    const o = this.obj(id, false);
    return o ? createHash('sha256').update(o.buf.subarray(0, o.len)).digest() : undefined;
  }

  async close(): Promise<void> {}
}
