/**
 * Helpers for the SMB2 codecs: request views over one command's bytes (offsets in MS-SMB2 are counted
 * from the start of the SMB2 header), the error response body, 8-byte alignment.
 *
 * A request decoder is a view: `validate()` runs first and checks StructureSize and every offset/length
 * pair against the message; getters then read fixed offsets. Any failure is a DecodeError, which the
 * dispatcher answers with STATUS_INVALID_PARAMETER.
 */
import { SMB2_HEADER_SIZE } from './constants';
import { NtStatus } from './ntstatus';

export class DecodeError extends Error {
  constructor(
    message: string,
    readonly status: number = NtStatus.STATUS_INVALID_PARAMETER,
  ) {
    super(message);
  }
}

export abstract class RequestView {
  /** The command body: the message after the 64-byte header. */
  protected readonly b: Buffer;

  constructor(
    /** This command's bytes, from its SMB2 header to the end of the command. */
    protected readonly msg: Buffer,
  ) {
    this.b = msg.subarray(SMB2_HEADER_SIZE);
  }

  /** Checks the fixed part: StructureSize equals `size` (which counts one byte of a variable buffer). */
  protected structure(size: number): void {
    const fixed = size & ~1;
    if (this.b.length < fixed) throw new DecodeError(`body of ${this.b.length} bytes is shorter than its fixed part (${fixed})`);
    const ss = this.b.readUInt16LE(0);
    if (ss !== size) throw new DecodeError(`StructureSize ${ss}, expected ${size}`);
  }

  /**
   * A variable buffer given by an offset from the header and a length; empty if length is 0. The range
   * must lie in the message and not overlap the header and fixed body.
   */
  protected region(offset: number, length: number, fixedEnd: number, max = Number.MAX_SAFE_INTEGER): Buffer {
    if (length === 0) return this.msg.subarray(0, 0);
    if (length > max) throw new DecodeError(`buffer of ${length} bytes exceeds ${max}`);
    if (offset < SMB2_HEADER_SIZE + fixedEnd || offset + length > this.msg.length) {
      throw new DecodeError(`buffer [${offset}, ${offset + length}) lies outside the message of ${this.msg.length} bytes`);
    }
    return this.msg.subarray(offset, offset + length);
  }

  protected u8(o: number): number {
    return this.b.readUInt8(o);
  }
  protected u16(o: number): number {
    return this.b.readUInt16LE(o);
  }
  protected u32(o: number): number {
    return this.b.readUInt32LE(o);
  }
  protected u64(o: number): bigint {
    return this.b.readBigUInt64LE(o);
  }
  protected bytes(o: number, n: number): Buffer {
    return this.b.subarray(o, o + n);
  }
}

export const align8 = (n: number): number => (n + 7) & ~7;

/** SMB2 ERROR Response (2.2.2) with no error data: StructureSize 9, one zero byte of ErrorData. */
export function errorBody(data?: Buffer): Buffer {
  const d = data ?? Buffer.alloc(0);
  const b = Buffer.alloc(8 + Math.max(1, d.length));
  b.writeUInt16LE(9, 0);
  b.writeUInt32LE(d.length, 4);
  d.copy(b, 8);
  return b;
}

/** Fixed-layout little-endian writer for response bodies (every byte written or zeroed). */
export class BodyWriter {
  readonly buf: Buffer;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u8(o: number, v: number): this {
    this.buf.writeUInt8(v, o);
    return this;
  }
  u16(o: number, v: number): this {
    this.buf.writeUInt16LE(v, o);
    return this;
  }
  u32(o: number, v: number): this {
    this.buf.writeUInt32LE(v >>> 0, o);
    return this;
  }
  u64(o: number, v: bigint): this {
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), o);
    return this;
  }
  put(o: number, b: Buffer): this {
    b.copy(this.buf, o);
    return this;
  }
}
