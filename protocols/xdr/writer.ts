/**
 * XDR encoder that builds a list of segments. Small fields go into pooled scratch blocks; large
 * opaque payloads (READ data) are appended by reference, so a reply is sent with writev and file data
 * is never copied. Lengths can be back-patched (`reserve`/`patchUint32`).
 */
const BLOCK = 16 * 1024;
const ZERO_PAD = Buffer.alloc(4);
const EMPTY = Buffer.alloc(0);

/**
 * Scratch memory for short-lived replies (the first block of a reply writer, a small framed reply), carved
 * from 64 KiB slabs. Node's own pool gives out 8 KiB slabs, one ArrayBuffer per ~16 small replies, and
 * making those showed up in per-call profiles. Only for memory that dies once the reply is written: a
 * slice that lived on would keep its whole slab alive (long-lived encodings use `new XdrWriter()`).
 */
const SLAB_BYTES = 64 * 1024;
let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabOff = 0;

/** `n` bytes (at most 4 KiB) of reply scratch; see above. */
export function replyScratch(n: number): Buffer {
  if (n > 4096) return Buffer.allocUnsafe(n);
  if (slabOff + n > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabOff = 0;
  }
  const b = slab.subarray(slabOff, slabOff + n);
  slabOff += (n + 7) & ~7;
  return b;
}

export class XdrWriter {
  private readonly segments: Buffer[] = [];
  private cur: Buffer;
  /** DataView over `cur`, made on the first 64-bit write into a block (its set*64 are far cheaper than Buffer's). */
  private dv: DataView | undefined;
  private curStart = 0;
  private pos = 0;
  private total = 0;

  /** Set while `cur` is a reply-scratch carve whose unused tail can go back (see `forReply`). */
  private carvedFrom: Buffer | undefined;

  /**
   * `reply`: the writer of an RPC reply that is sent and then dropped. Its first block is reply scratch,
   * and what it leaves unused goes back when the reply is taken (`segmentsOut`) if nothing was carved after.
   */
  constructor(initial = 512, reply = false) {
    const n = Math.max(initial, 64);
    if (reply && n <= 4096) {
      this.cur = replyScratch(n);
      this.carvedFrom = slab;
    } else this.cur = Buffer.allocUnsafe(n);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.total + (this.pos - this.curStart);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.flushCur();
    this.giveBackTail();
    this.cur = Buffer.allocUnsafe(Math.max(BLOCK, n));
    this.dv = undefined;
    this.curStart = 0;
    this.pos = 0;
  }

  private flushCur(): void {
    if (this.pos > this.curStart) {
      this.segments.push(this.cur.subarray(this.curStart, this.pos));
      this.total += this.pos - this.curStart;
    }
    this.curStart = this.pos;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.cur.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.cur.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  private view(): DataView {
    return (this.dv ??= new DataView(this.cur.buffer, this.cur.byteOffset, this.cur.length));
  }

  /**
   * Reserves `n` bytes for a fixed-size item that the caller writes itself, field by field, through
   * `claimed` at the returned offset (one bounds check for the whole item instead of one per field).
   * Every reserved byte must be written.
   */
  claim(n: number): number {
    this.ensure(n);
    const off = this.pos;
    this.pos += n;
    return off;
  }

  /** DataView over the block of the last `claim` (valid until the next write). */
  get claimed(): DataView {
    return this.view();
  }

  /** Values outside 64 bits are taken modulo 2^64 (DataView's ToBigUint64), as before with asUintN. */
  uint64(v: bigint): this {
    this.ensure(8);
    this.view().setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  int64(v: bigint): this {
    this.ensure(8);
    this.view().setBigInt64(this.pos, v);
    this.pos += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.uint32(v ? 1 : 0);
  }

  /** Fixed-length opaque, padded to 4; copied (use `opaqueRef` for large payloads). */
  fixedOpaque(b: Buffer): this {
    const n = b.length;
    const padded = (n + 3) & ~3;
    this.ensure(padded);
    const cur = this.cur;
    const pos = this.pos;
    // Names and handles are short: a byte loop beats the native copy's call overhead there.
    if (n <= 64) for (let i = 0; i < n; i++) cur[pos + i] = b[i]!;
    else b.copy(cur, pos);
    for (let i = pos + n; i < pos + padded; i++) cur[i] = 0;
    this.pos = pos + padded;
    return this;
  }

  opaque(b: Buffer): this {
    this.uint32(b.length);
    return this.fixedOpaque(b);
  }

  string(s: Buffer | string): this {
    return this.opaque(typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
  }

  /** Variable-length opaque whose bytes are referenced, not copied (zero-copy READ data). */
  opaqueRef(b: Buffer): this {
    this.uint32(b.length);
    if (b.length < 256) return this.fixedOpaque(b);
    this.flushCur();
    this.segments.push(b);
    this.total += b.length;
    const pad = (4 - (b.length & 3)) & 3;
    if (pad) {
      this.segments.push(ZERO_PAD.subarray(0, pad));
      this.total += pad;
    }
    return this;
  }

  /** Reserves a uint32 to be filled later; returns a token for `patchUint32`. */
  reserve(): { buf: Buffer; off: number } {
    this.ensure(4);
    const tok = { buf: this.cur, off: this.pos };
    this.pos += 4;
    return tok;
  }

  patchUint32(tok: { buf: Buffer; off: number }, v: number): void {
    tok.buf.writeUInt32BE(v >>> 0, tok.off);
  }

  /** Returns the unused end of a reply-scratch first block, if it is still the slab's last carve. */
  private giveBackTail(): void {
    const from = this.carvedFrom;
    if (from === undefined) return;
    this.carvedFrom = undefined;
    const cur = this.cur;
    const start = cur.byteOffset - from.byteOffset;
    if (from === slab && cur.buffer === from.buffer && slabOff === ((start + cur.length + 7) & ~7)) {
      slabOff = (start + this.pos + 7) & ~7;
      // Whatever is written after this (the writer should not be) goes to a new block, never into memory
      // handed out again. flushCur has already taken what `cur` held.
      this.cur = EMPTY;
      this.dv = undefined;
      this.curStart = 0;
      this.pos = 0;
    }
  }

  /** The encoded message as segments (for writev). The writer must not be used afterwards. */
  segmentsOut(): Buffer[] {
    this.flushCur();
    this.giveBackTail();
    return this.segments;
  }

  /** The encoded message as one Buffer (copies when there is more than one segment). */
  toBuffer(): Buffer {
    const segs = this.segmentsOut();
    return segs.length === 1 ? segs[0]! : Buffer.concat(segs, this.total);
  }
}
