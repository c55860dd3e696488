/**
 * Splits a TCP byte stream into brick protocol frames (protocol.ts), however the stream is chunked, down
 * to one byte at a time. A frame that lies whole inside one received chunk is handed out as a subarray of
 * it (no copy); one that spans chunks is gathered into a buffer of exactly its size, allocated once its
 * length is known — which is bounded by `maxFrame` before anything is allocated.
 */
import { HEADER_BYTES, WireError } from './protocol';

export class FrameDecoder {
  /** Length-field bytes seen so far when it was split across chunks. */
  private readonly lenBuf = Buffer.alloc(4);
  private lenHave = 0;
  /** The frame being gathered across chunks, and how much of it is filled. */
  private partial: Buffer | undefined;
  private partialHave = 0;

  constructor(
    private readonly maxFrame: number,
    /** Called with each frame: xid, code and body, without the length field. */
    private readonly onFrame: (frame: Buffer) => void,
  ) {}

  /** Bytes held for an incomplete frame (tests and memory accounting). */
  get buffered(): number {
    return this.lenHave + this.partialHave;
  }

  /** Feeds received bytes; throws WireError on a frame length out of bounds (the stream is then dead). */
  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.partial) {
        const n = Math.min(this.partial.length - this.partialHave, chunk.length - pos);
        chunk.copy(this.partial, this.partialHave, pos, pos + n);
        this.partialHave += n;
        pos += n;
        if (this.partialHave === this.partial.length) {
          const frame = this.partial;
          this.partial = undefined;
          this.partialHave = 0;
          this.onFrame(frame);
        }
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
      if (len < HEADER_BYTES || len > this.maxFrame) throw new WireError(`frame length ${len} outside [${HEADER_BYTES}, ${this.maxFrame}]`);
      if (chunk.length - pos >= len) {
        const frame = chunk.subarray(pos, pos + len);
        pos += len;
        this.onFrame(frame);
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.partialHave = 0;
      }
    }
  }
}
