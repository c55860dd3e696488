/**
 * Direct TCP transport framing (MS-SMB2 2.1): each message is preceded by one zero byte and a 24-bit
 * big-endian length. The decoder takes whatever chunks TCP delivers (down to one byte at a time) and
 * yields whole messages; a message longer than the limit, or a non-zero first byte, is a framing error
 * and the connection is dropped (there is no way to resynchronise a byte stream).
 *
 * Two ways in: `push` takes chunks the socket allocated ('data' events); `readTarget`/`received` let the
 * socket read into buffers the decoder picks (transport/user-buffer-socket.ts): a reused staging buffer
 * for headers and small messages, and, once the header of a large message has been seen, the rest of
 * that message's own (pooled) buffer, so a bulk WRITE's payload lands where the command reads it, with
 * no 64 KiB chunk allocated per read and no reassembly copy.
 */

import type { BufferPool } from '../../cluster/vfs/buffer-pool';

export class FramingError extends Error {}

/**
 * Messages at least this long are assembled in a buffer from the pool given to the decoder (bulk
 * WRITEs and sealed messages: a fresh 1-8 MiB buffer per message is external memory that drives V8 into
 * full collections). Whoever takes such a message decides whether to give it back (`BufferPool.give`
 * ignores buffers it never lent).
 */
export const POOLED_MESSAGE_MIN = 64 * 1024;

export const DIRECT_TCP_HEADER = 4;
/** The 24-bit length field's own limit. */
export const MAX_DIRECT_TCP_MESSAGE = 0xffffff;

/** Size of the reused buffer socket reads land in when no large message body is being received. */
const STAGING_BYTES = 64 * 1024;

/** Messages at least this long may be handed out before they have arrived whole (`early`). */
export const EARLY_MESSAGE_MIN = 1024 * 1024;
/** How much of such a message must have arrived before `early` is asked (SMB2 header + WRITE request). */
export const EARLY_PEEK_BYTES = 64 + 48;

/** Takes a message handed out early (protocols/smb2/arriving.ts). */
export interface EarlyReceiver {
  /** Bytes [0, have) of the message have arrived. */
  progress(have: number): void;
  /** The message will never arrive whole (framing error, or the connection went away). */
  abort(): void;
}

/**
 * Asked once per message of at least EARLY_MESSAGE_MIN bytes, when its first EARLY_PEEK_BYTES have
 * arrived: a receiver takes the message now (it is then not returned again when complete, and its
 * buffer belongs to the receiver, also on abort), undefined leaves it to be returned whole as usual.
 */
export type EarlyHook = (msg: Buffer, have: number) => EarlyReceiver | undefined;

export class SmbFrameDecoder {
  private head = Buffer.alloc(DIRECT_TCP_HEADER);
  private headHave = 0;
  private body: Buffer | undefined;
  private bodyHave = 0;
  /** readTarget/received: the reused buffer for headers and small messages (push copies out of it). */
  private staging: Buffer | undefined;
  /** The last target handed out inside `body` (received() recognises it by identity). */
  private direct: Uint8Array | undefined;
  private failure: FramingError | undefined;
  /** `early` was asked about the message being received. */
  private earlyAsked = false;
  /** The receiver that took the message being received. */
  private earlyRx: EarlyReceiver | undefined;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly pool?: BufferPool,
    private readonly early?: EarlyHook,
  ) {
    if (maxMessageBytes > MAX_DIRECT_TCP_MESSAGE) throw new RangeError('maxMessageBytes exceeds the 24-bit length field');
  }

  /** True while part of a message has been received. */
  get partial(): boolean {
    return this.headHave > 0 || this.body !== undefined;
  }

  /**
   * Where the next socket read should land: the rest of the message being received when at least
   * STAGING_BYTES of it are missing, else the staging buffer. Pair every read with `received`.
   */
  readTarget(): Uint8Array {
    if (this.body && !this.failure && this.body.length - this.bodyHave >= STAGING_BYTES) {
      this.direct = this.body.subarray(this.bodyHave);
      return this.direct;
    }
    this.direct = undefined;
    return (this.staging ??= Buffer.allocUnsafeSlow(STAGING_BYTES));
  }

  /**
   * `n` bytes arrived at the start of `buf`, a buffer `readTarget` returned. Returns the messages this
   * completes; none shares memory with the staging buffer (which the next read overwrites).
   */
  received(buf: Uint8Array, n: number): Buffer[] {
    if (this.failure) throw this.failure;
    if (this.direct !== undefined && buf === this.direct && this.body) {
      this.direct = undefined;
      this.bodyHave += Math.min(n, this.body.length - this.bodyHave);
      const out: Buffer[] = [];
      this.advanced(out);
      return out;
    }
    // push copies every byte it keeps into the message's own buffer: the staging buffer can be reused.
    return this.push(Buffer.from(buf.buffer, buf.byteOffset, n));
  }

  /**
   * Gives back the pooled buffer of a message still being received (the connection is gone), or tells
   * the receiver that took it early (which then owns the buffer) that it will not complete.
   */
  dispose(): void {
    if (this.earlyRx) this.earlyRx.abort();
    else if (this.body) this.pool?.give(this.body);
    this.earlyRx = undefined;
    this.body = undefined;
    this.direct = undefined;
  }

  /** Feeds bytes; returns the messages completed by them (each its own Buffer, not shared). */
  push(chunk: Buffer): Buffer[] {
    if (this.failure) throw this.failure;
    const out: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (!this.body) {
        const n = Math.min(DIRECT_TCP_HEADER - this.headHave, chunk.length - off);
        chunk.copy(this.head, this.headHave, off, off + n);
        this.headHave += n;
        off += n;
        if (this.headHave < DIRECT_TCP_HEADER) break;
        if (this.head[0] !== 0) this.fail(`direct TCP header starts with 0x${this.head[0]!.toString(16)}, not 0`);
        const len = this.head.readUIntBE(1, 3);
        if (len > this.maxMessageBytes) this.fail(`message of ${len} bytes exceeds the limit of ${this.maxMessageBytes}`);
        if (len === 0) this.fail('empty message');
        this.headHave = 0;
        // Every byte is written below before the message is handed out.
        this.body = this.pool && len >= POOLED_MESSAGE_MIN ? this.pool.take(len) : Buffer.allocUnsafe(len);
        this.bodyHave = 0;
        this.earlyAsked = false;
      }
      const need = this.body.length - this.bodyHave;
      const n = Math.min(need, chunk.length - off);
      chunk.copy(this.body, this.bodyHave, off, off + n);
      this.bodyHave += n;
      off += n;
      this.advanced(out);
    }
    return out;
  }

  /** After bytes of `body` arrived: reports them to an early receiver (or asks `early`), finishes the message. */
  private advanced(out: Buffer[]): void {
    const body = this.body!;
    if (this.earlyRx) this.earlyRx.progress(this.bodyHave);
    else if (this.early && !this.earlyAsked && body.length >= EARLY_MESSAGE_MIN && this.bodyHave >= EARLY_PEEK_BYTES) {
      this.earlyAsked = true;
      this.earlyRx = this.early(body, this.bodyHave);
    }
    if (this.bodyHave === body.length) {
      if (!this.earlyRx) out.push(body);
      this.earlyRx = undefined;
      this.body = undefined;
    }
  }

  /** A framing error is final: the stream cannot be resynchronised, so every later call throws it too. */
  private fail(msg: string): never {
    this.failure = new FramingError(msg);
    this.dispose();
    throw this.failure;
  }
}

/** The 4-byte direct TCP header for a message of `len` bytes. */
export function directTcpHeader(len: number): Buffer {
  if (len <= 0 || len > MAX_DIRECT_TCP_MESSAGE) throw new RangeError(`message length ${len} out of range`);
  const h = Buffer.alloc(4);
  h.writeUIntBE(len, 1, 3);
  return h;
}
