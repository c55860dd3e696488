/**
 * Page-aligned staging memory for a brick node's direct (O_DIRECT) writes (LocalBrick.writeDirect).
 *
 * O_DIRECT needs the user buffer, the file offset and the length aligned to the device's logical block.
 * Offsets and lengths are the caller's business (only whole-block writes go direct); the memory is ours:
 * a WRITE's data arrives inside a pooled frame right after the frame header, so it never starts on a
 * page. It is copied once into one of these slabs, a copy between warm pages that costs a small fraction
 * of the page-cache copy the direct write avoids.
 *
 * Why a WebAssembly.Memory: it is the one allocation plain JavaScript can make that starts on a page
 * boundary (V8 maps it whole), so every slab at a multiple of 64 KiB inside it is page-aligned. Buffers
 * from Buffer.alloc* come from malloc and carry no alignment guarantee.
 *
 * Bounded: a fixed number of slabs; when all are lent the write simply goes buffered, so memory never grows
 * with the number of writes in flight.
 */

/** Alignment of memory, offset and length for a direct write: covers 512-byte and 4 KiB logical blocks. */
export const DIRECT_ALIGN = 4096;
/** The smallest write worth going direct: below it the page-cache copy is cheap and reads may follow. */
export const DIRECT_MIN = 64 * 1024;

const WASM_PAGE = 64 * 1024;

interface WasmGlobal {
  Memory: new (d: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmGlobal }).WebAssembly;

/** Can a write of `length` bytes at `offset` go direct (given aligned memory)? */
export function directEligible(offset: number, length: number, maxSlab: number): boolean {
  return length >= DIRECT_MIN && length <= maxSlab && offset % DIRECT_ALIGN === 0 && length % DIRECT_ALIGN === 0;
}

export class DirectStaging {
  private readonly arena: ArrayBuffer | undefined;
  private readonly stride: number;
  /** Free slab indexes; the most recently returned is reused first (its pages are warm). */
  private readonly free: number[] = [];

  constructor(
    readonly slabSize: number,
    slabs: number,
  ) {
    this.stride = Math.ceil(slabSize / WASM_PAGE) * WASM_PAGE;
    let arena: ArrayBuffer | undefined;
    try {
      const pages = (this.stride / WASM_PAGE) * slabs;
      arena = slabs > 0 && wasm ? new wasm.Memory({ initial: pages, maximum: pages }).buffer : undefined;
    } catch {
      arena = undefined; // no WebAssembly or no address space: every write stays buffered
    }
    this.arena = arena;
    if (arena) for (let i = slabs - 1; i >= 0; i--) this.free.push(i);
  }

  /** Is there aligned memory at all (false: direct writes are impossible here)? */
  get available(): boolean {
    return this.arena !== undefined;
  }

  /** A page-aligned buffer of `len` bytes (len ≤ slabSize), or undefined when every slab is lent. */
  take(len: number): Buffer | undefined {
    if (!this.arena || len > this.slabSize) return undefined;
    const i = this.free.pop();
    return i === undefined ? undefined : Buffer.from(this.arena, i * this.stride, len);
  }

  /** Returns a buffer from `take`. */
  give(buf: Buffer): void {
    if (buf.buffer !== this.arena) return;
    const i = buf.byteOffset / this.stride;
    if (Number.isInteger(i) && !this.free.includes(i)) this.free.push(i);
  }
}
