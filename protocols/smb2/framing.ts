/**
 * Direct TCP transport framing (MS-SMB2 2.1): each message is preceded by one zero byte and a 24-bit
 * big-endian length. The decoder takes whatever chunks TCP delivers (down to one byte at a time) and
 * yields whole messages; a message longer than the limit, or a non-zero first byte, is a framing error
 * and the connection is dropped (there is no way to resynchronise a byte stream).
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

export class SmbFrameDecoder {
  private head = Buffer.alloc(DIRECT_TCP_HEADER);
  private headHave = 0;
  private body: Buffer | undefined;
  private bodyHave = 0;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly pool?: BufferPool,
  ) {
    if (maxMessageBytes > MAX_DIRECT_TCP_MESSAGE) throw new RangeError('maxMessageBytes exceeds the 24-bit length field');
  }

  /** True while part of a message has been received. */
  get partial(): boolean {
    return this.headHave > 0 || this.body !== undefined;
  }

  /** Feeds bytes; returns the messages completed by them (each its own Buffer, not shared). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (!this.body) {
        const n = Math.min(DIRECT_TCP_HEADER - this.headHave, chunk.length - off);
        chunk.copy(this.head, this.headHave, off, off + n);
        this.headHave += n;
        off += n;
        if (this.headHave < DIRECT_TCP_HEADER) break;
        if (this.head[0] !== 0) throw new FramingError(`direct TCP header starts with 0x${this.head[0]!.toString(16)}, not 0`);
        const len = this.head.readUIntBE(1, 3);
        if (len > this.maxMessageBytes) throw new FramingError(`message of ${len} bytes exceeds the limit of ${this.maxMessageBytes}`);
        if (len === 0) throw new FramingError('empty message');
        this.headHave = 0;
        // Every byte is written below before the message is handed out.
        this.body = this.pool && len >= POOLED_MESSAGE_MIN ? this.pool.take(len) : Buffer.allocUnsafe(len);
        this.bodyHave = 0;
      }
      const need = this.body.length - this.bodyHave;
      const n = Math.min(need, chunk.length - off);
      chunk.copy(this.body, this.bodyHave, off, off + n);
      this.bodyHave += n;
      off += n;
      if (this.bodyHave === this.body.length) {
        out.push(this.body);
        this.body = undefined;
      }
    }
    return out;
  }
}

/** The 4-byte direct TCP header for a message of `len` bytes. */
export function directTcpHeader(len: number): Buffer {
  if (len <= 0 || len > MAX_DIRECT_TCP_MESSAGE) throw new RangeError(`message length ${len} out of range`);
  const h = Buffer.alloc(4);
  h.writeUIntBE(len, 1, 3);
  return h;
}
