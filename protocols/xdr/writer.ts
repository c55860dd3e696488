/**
 * XDR encoder that builds a list of segments. Small fields go into pooled scratch blocks; large
 * opaque payloads (READ data) are appended by reference, so a reply is sent with writev and file data
 * is never copied. Lengths can be back-patched (`reserve`/`patchUint32`).
 */
const BLOCK = 16 * 1024;
const ZERO_PAD = Buffer.alloc(4);

export class XdrWriter {
  private readonly segments: Buffer[] = [];
  private cur: Buffer;
  /** DataView over `cur`, made on the first 64-bit write into a block (its set*64 are far cheaper than Buffer's). */
  private dv: DataView | undefined;
  private curStart = 0;
  private pos = 0;
  private total = 0;

  constructor(initial = 512) {
    this.cur = Buffer.allocUnsafe(Math.max(initial, 64));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.total + (this.pos - this.curStart);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.flushCur();
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

  /** The encoded message as segments (for writev). The writer must not be used afterwards. */
  segmentsOut(): Buffer[] {
    this.flushCur();
    return this.segments;
  }

  /** The encoded message as one Buffer (copies when there is more than one segment). */
  toBuffer(): Buffer {
    const segs = this.segmentsOut();
    return segs.length === 1 ? segs[0]! : Buffer.concat(segs, this.total);
  }
}
