/**
 * A bounded pool of large, equally sized buffers (READ data, reassembled WRITE records).
 *
 * Why: a 1 MiB Buffer per READ or WRITE is external memory to V8; churning through hundreds of them a
 * second drives the collector into full mark-compacts that stall every request on the event loop.
 * Reusing a few slabs removes that. A slab is lent out as a subarray and must be given back exactly once
 * when nothing references it any more (for replies: after the socket write completed). Giving back a
 * buffer the pool does not have on loan is ignored, so a double `give` cannot hand one slab to two users.
 * Memory lent out is not zeroed: callers must write every byte they expose.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(
    readonly slabSize: number,
    private readonly maxFree: number,
  ) {}

  /** A buffer of `len` bytes, pooled when `len` fits a slab, else a fresh allocation. Contents undefined. */
  take(len: number): Buffer {
    if (len > this.slabSize) return Buffer.allocUnsafeSlow(len);
    const ab = this.free.pop() ?? new ArrayBuffer(this.slabSize);
    this.lent.add(ab);
    return Buffer.from(ab, 0, len);
  }

  /** Returns a buffer from `take`. Anything else (or a second give) is ignored. */
  give(buf: Buffer): void {
    const ab = buf.buffer;
    if (!(ab instanceof ArrayBuffer) || !this.lent.has(ab)) return;
    this.lent.delete(ab);
    if (this.free.length < this.maxFree) this.free.push(ab);
  }

  get freeCount(): number {
    return this.free.length;
  }
}

/**
 * The process-wide pool for bulk data: slabs large enough for a maximal NFS WRITE record
 * (1 MiB payload + RPC/NFS headers), at most 64 kept idle (~68 MiB).
 */
export const bulkPool = new BufferPool(1024 * 1024 + 64 * 1024, 64);
