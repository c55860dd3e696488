/**
 * Splits a TCP byte stream into brick protocol frames (protocol.ts), however the stream is chunked, down
 * to one byte at a time. Every frame length is checked against `maxFrame` before anything is allocated
 * for it; after a WireError the stream is dead (every later call throws it again).
 *
 * Two ways in:
 * - `push(chunk)` ('data' events, the gateway's client): a frame that lies whole inside one chunk is
 *   handed out as a subarray of it (no copy); one that spans chunks is gathered into a buffer of exactly
 *   its size.
 * - `readTarget()` / `received(buf, n)` (net.Socket `onread`, the brick server; see
 *   protocols/transport/user-buffer-socket.ts): the socket reads into a reusable 64 KiB staging buffer
 *   until a frame longer than what that read brought is seen; the frame's buffer is then taken from the
 *   pool (when large) and the following reads land straight in the rest of it. So a 1 MiB WRITE arrives in a
 *   few reads into one page-aligned slab that is reused for the next WRITE, instead of 17 'data' chunks,
 *   17 allocations and a gather copy into a fresh 1 MiB buffer each time (whose churn drove the brick's
 *   garbage collector: about a fifth of its CPU per MiB written, measured with perf).
 *   Frames never share memory with the staging buffer.
 *
 * Ownership: a frame of at least POOLED_FRAME_MIN bytes built by `received` may come from `pool`; the
 * consumer gives every frame back (`pool.give`) once nothing references it (give ignores buffers that are
 * not the pool's). `dispose()` gives back a frame still being received when the connection goes.
 */
import { HEADER_BYTES, WireError } from './protocol';

/** Frames at least this large are built in pooled memory by `received` (smaller ones: a plain copy). */
export const POOLED_FRAME_MIN = 64 * 1024;
/** Size of the reusable buffer socket reads land in while no large frame is being received. */
const STAGING_BYTES = 64 * 1024;

export interface FramePool {
  take(len: number): Buffer;
  give(buf: Buffer): void;
}

export class FrameDecoder {
  /** Length-field bytes seen so far when it was split across chunks. */
  private readonly lenBuf = Buffer.alloc(4);
  private lenHave = 0;
  /** The frame being gathered across chunks, and how much of it is filled. */
  private partial: Buffer | undefined;
  private partialHave = 0;
  private failure: WireError | undefined;
  /** True while `push` parses the staging buffer: what it hands out must be copied out of it. */
  private transient = false;
  private staging: Buffer | undefined;
  /** The last target handed out inside `partial` (received() recognises it by identity). */
  private target: Uint8Array | undefined;

  constructor(
    private readonly maxFrame: number,
    /** Called with each frame: xid, code and body, without the length field. */
    private readonly onFrame: (frame: Buffer) => void,
    /** Where `received` builds large frames (see the ownership rule above). */
    private readonly pool?: FramePool,
  ) {}

  /** Bytes held for an incomplete frame (tests and memory accounting). */
  get buffered(): number {
    return this.lenHave + this.partialHave;
  }

  /** Feeds received bytes; throws WireError on a frame length out of bounds (the stream is then dead). */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.partial) {
        const n = Math.min(this.partial.length - this.partialHave, chunk.length - pos);
        chunk.copy(this.partial, this.partialHave, pos, pos + n);
        this.partialHave += n;
        pos += n;
        if (this.partialHave === this.partial.length) this.complete();
        continue;
      }
      let len: number;
      if (this.lenHave === 0 && chunk.length - pos >= 4) {
        len = chunk.readUInt32BE(pos);
        pos += 4;
      } else {
        const n = Math.min(4 - this.lenHave, chunk.length - pos);
        chunk.copy(this.lenBuf, this.lenHave, pos, pos + n);
        this.lenHave += n;
        pos += n;
        if (this.lenHave < 4) return;
        this.lenHave = 0;
        len = this.lenBuf.readUInt32BE(0);
      }
      if (len < HEADER_BYTES || len > this.maxFrame) {
        this.failure = new WireError(`frame length ${len} outside [${HEADER_BYTES}, ${this.maxFrame}]`);
        this.dispose();
        throw this.failure;
      }
      if (chunk.length - pos >= len) {
        const frame = chunk.subarray(pos, pos + len);
        pos += len;
        this.onFrame(this.transient ? this.copyOut(frame) : frame);
      } else {
        this.partial = this.transient && this.pool && len >= POOLED_FRAME_MIN ? this.pool.take(len) : Buffer.allocUnsafe(len);
        this.partialHave = 0;
      }
    }
  }

  /**
   * Where the next socket read should land: the rest of the frame being received, or else the reusable
   * staging buffer. Pair every read with `received`.
   */
  readTarget(): Uint8Array {
    if (this.partial && !this.failure) {
      this.target = this.partial.subarray(this.partialHave);
      return this.target;
    }
    this.target = undefined;
    return (this.staging ??= Buffer.allocUnsafeSlow(STAGING_BYTES));
  }

  /**
   * `n` bytes arrived at the start of `buf`, a buffer `readTarget` returned. Frames it completes go to
   * `onFrame`; unlike with `push`, they never share memory with `buf`.
   */
  received(buf: Uint8Array, n: number): void {
    if (this.failure) throw this.failure;
    if (buf === this.target && this.partial) {
      this.target = undefined;
      this.partialHave += Math.min(n, this.partial.length - this.partialHave);
      if (this.partialHave === this.partial.length) this.complete();
      return;
    }
    this.target = undefined;
    this.transient = true;
    try {
      this.push(Buffer.from(buf.buffer, buf.byteOffset, n));
    } finally {
      this.transient = false;
    }
  }

  /** Gives back the frame still being received (the connection is gone). */
  dispose(): void {
    if (this.partial) this.pool?.give(this.partial);
    this.partial = undefined;
    this.partialHave = 0;
    this.target = undefined;
  }

  private complete(): void {
    const frame = this.partial!;
    this.partial = undefined;
    this.partialHave = 0;
    this.onFrame(frame);
  }

  private copyOut(piece: Buffer): Buffer {
    if (this.pool && piece.length >= POOLED_FRAME_MIN) {
      const f = this.pool.take(piece.length);
      piece.copy(f);
      return f;
    }
    return Buffer.from(piece);
  }
}
