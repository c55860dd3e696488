/**
 * A bounded pool of large, equally sized buffers (READ data, reassembled WRITE records).
 *
 * Why a pool: a 1 MiB Buffer per READ or WRITE is external memory to V8; churning through hundreds of
 * them a second drives the collector into full mark-compacts that stall every request on the event loop.
 * Reusing a few slabs removes that.
 *
 * Why page-aligned slabs: the kernel copies into user memory with `rep movsb`, which on x86 runs several
 * times slower when the destination is not cache-line aligned, and V8 takes ArrayBuffer memory from
 * malloc, whose large blocks start 16 bytes into a page. Measured on the 2-core bench machine (C, pread
 * of 1 MiB from the page cache): 0.85-1.35 GiB/s into a buffer 16 bytes past a page boundary, 2.6-6.5
 * GiB/s into an aligned one; for a READ that copy is most of the gateway's CPU. WebAssembly.Memory is
 * the one page-aligned allocation plain JavaScript can make, so the slabs are carved from one such memory
 * of fixed size (never grown: growing would detach every Buffer that views it). Its pages cost memory
 * only once touched, and the free list is LIFO, so a light load keeps touching the same few slabs.
 *
 * A slab is lent out as a Buffer and must be given back exactly once when nothing references it any
 * more (for replies: after the socket write completed). Giving back a buffer the pool does not have on
 * loan is ignored, so a double `give` cannot hand one slab to two users. When every slab is on loan,
 * `take` falls back to a plain allocation (correct, only slower), which `give` then ignores.
 * Memory lent out is not zeroed: callers must write every byte they expose.
 */
const WASM_PAGE = 64 * 1024;

/** The part of the WebAssembly global used here (the project's TypeScript lib has no DOM/wasm types). */
interface WasmGlobal {
  Memory: new (d: { initial: number; maximum: number; shared?: boolean }) => { readonly buffer: ArrayBuffer };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;

export class BufferPool {
  private readonly arena: ArrayBufferLike | undefined;
  /** Bytes per slab in the arena: slabSize rounded up to whole 64 KiB pages (so slabs stay aligned). */
  private readonly stride: number;
  /** Free slab indexes, most recently returned last (reused first: its pages are warm). */
  private readonly free: number[] = [];
  private readonly lent: Uint8Array;

  /**
   * `shared`: carve the slabs from a shared memory (a SharedArrayBuffer), so a slab can be handed to a
   * worker thread without a copy (SMB3 sealing, protocols/smb2/session/seal-offload.ts).
   */
  constructor(
    readonly slabSize: number,
    slabs: number,
    readonly shared = false,
  ) {
    this.stride = Math.ceil(slabSize / WASM_PAGE) * WASM_PAGE;
    let arena: ArrayBufferLike | undefined;
    try {
      const pages = (this.stride / WASM_PAGE) * slabs;
      arena = slabs > 0 && wasm ? new wasm.Memory({ initial: pages, maximum: pages, shared }).buffer : undefined;
    } catch {
      arena = undefined; // no WebAssembly (or no address space for it): plain allocations throughout
    }
    this.arena = arena;
    const n = arena ? slabs : 0;
    this.lent = new Uint8Array(n);
    for (let i = n - 1; i >= 0; i--) this.free.push(i);
  }

  /** A buffer of `len` bytes, from an aligned slab when `len` fits one and one is free. Contents undefined. */
  take(len: number): Buffer {
    if (len <= this.slabSize) {
      const i = this.free.pop();
      if (i !== undefined) {
        this.lent[i] = 1;
        return Buffer.from(this.arena!, i * this.stride, len);
      }
    }
    return Buffer.allocUnsafeSlow(len);
  }

  /** Returns a buffer from `take`. Anything else (or a second give) is ignored. */
  give(buf: Buffer): void {
    if ((buf.buffer as ArrayBufferLike) !== this.arena || this.arena === undefined) return;
    const i = buf.byteOffset / this.stride;
    if (!Number.isInteger(i) || this.lent[i] !== 1) return;
    this.lent[i] = 0;
    this.free.push(i);
  }

  get freeCount(): number {
    return this.free.length;
  }
}

/** Size classes, smallest first: `take` uses the first that fits; `give` finds the owner. */
export class TieredBufferPool {
  constructor(private readonly tiers: readonly BufferPool[]) {}

  take(len: number): Buffer {
    for (const t of this.tiers) if (len <= t.slabSize) return t.take(len);
    return Buffer.allocUnsafeSlow(len);
  }

  give(buf: Buffer): void {
    for (const t of this.tiers) t.give(buf);
  }

  get freeCount(): number {
    return this.tiers.reduce((n, t) => n + t.freeCount, 0);
  }

  /** Free slabs of the tier a `take(len)` would use (0 when no tier fits). */
  spare(len: number): number {
    for (const t of this.tiers) if (len <= t.slabSize) return t.freeCount;
    return 0;
  }
}

/**
 * The process-wide pool for bulk data: 64 slabs large enough for a maximal NFS WRITE record (1 MiB
 * payload + RPC/NFS headers; 68 MiB of address space), and 8 for SMB's 8 MiB READ/WRITE payloads (72 MiB);
 * resident only once used.
 */
export const bulkPool = new TieredBufferPool([new BufferPool(1024 * 1024 + 64 * 1024, 64), new BufferPool(8 * 1024 * 1024 + 64 * 1024, 8)]);

/**
 * The same, in shared memory: for data a worker thread reads or writes in place (SMB3 sealing of READ
 * data, protocols/smb2/session/seal-offload.ts). Only what needs it takes from here: V8 copies into or
 * out of shared memory with a relaxed-atomic memmove, which runs 8-10 times slower than memcpy when the
 * two sides are not equally aligned (measured: 0.8 ms per MiB against 0.05-0.1), and the NFS, RPC and
 * brick paths make such copies (a brick WRITE's data sits 21 bytes into its frame).
 */
export const sharedBulkPool = new TieredBufferPool([new BufferPool(1024 * 1024 + 64 * 1024, 16, true), new BufferPool(8 * 1024 * 1024 + 64 * 1024, 8, true)]);
