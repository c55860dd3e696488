/**
 * XDR (RFC 4506) decoding cursor over one Buffer. Pure and synchronous. Variable-length items are
 * checked against an explicit maximum and against what remains *before* anything is allocated, so a
 * huge declared length costs nothing. `opaque()`/`string()` return subarrays of the input (zero-copy):
 * callers that keep them beyond the request must copy.
 */
import { XdrError } from './errors';

export class XdrReader {
  private pos: number;
  private readonly end: number;

  constructor(private readonly buf: Buffer, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n > this.end - this.pos) throw new XdrError(`short input: need ${n} bytes, have ${this.end - this.pos}`);
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    const v = this.uint32();
    if (v > 1) throw new XdrError(`bad bool ${v}`);
    return v === 1;
  }

  /** An enum restricted to the given set of values. */
  enumOf<T extends number>(allowed: ReadonlySet<number>, what: string): T {
    const v = this.int32();
    if (!allowed.has(v)) throw new XdrError(`bad ${what} ${v}`);
    return v as T;
  }

  /** Fixed-length opaque[n] (padded to 4). */
  fixedOpaque(n: number): Buffer {
    // Not `(n + 3) & ~3`: that wraps to a small number for n >= 2^31 - 3 and would accept a short buffer.
    const padded = n + ((4 - (n & 3)) & 3);
    this.need(padded);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += padded;
    return out;
  }

  /** Variable-length opaque<max>. */
  opaque(max: number): Buffer {
    const len = this.uint32();
    if (len > max) throw new XdrError(`opaque length ${len} over maximum ${max}`);
    return this.fixedOpaque(len);
  }

  /** string<max>, returned as raw bytes: names are bytes as the client sent them. */
  string(max: number): Buffer {
    return this.opaque(max);
  }

  /** Optional-data (`*T`): a bool then the value. */
  optional<T>(decode: (r: XdrReader) => T): T | undefined {
    return this.bool() ? decode(this) : undefined;
  }

  /** Variable-length array<max>; each element must consume at least `minElemBytes` bytes. */
  array<T>(max: number, decode: (r: XdrReader) => T, minElemBytes = 4): T[] {
    const n = this.uint32();
    if (n > max) throw new XdrError(`array length ${n} over maximum ${max}`);
    if (n * minElemBytes > this.remaining()) throw new XdrError(`array length ${n} exceeds input`);
    const out: T[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = decode(this);
    return out;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** The unread rest, without copying. */
  rest(): Buffer {
    const out = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return out;
  }
}
