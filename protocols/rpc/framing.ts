/**
 * ONC RPC record marking over stream transports (RFC 5531 §11).
 *
 * A record is one or more fragments; each fragment starts with a 4-byte big-endian header whose top
 * bit says "last fragment" and whose low 31 bits give the fragment length. TCP delivers arbitrary
 * chunks, so `RecordDecoder` keeps state across `push` calls and works even one byte at a time.
 *
 * Limits (DESIGN invariant 11): a record larger than `maxRecordBytes`, or made of more than
 * `maxFragments` fragments, is a fatal `FramingError`; the check happens when a fragment header is
 * read, before its data arrives, so a huge declared length costs nothing. After a FramingError the
 * stream cannot be resynchronised and the caller must close the connection.
 */

export const LAST_FRAGMENT = 0x80000000;
/** Largest length a fragment header can carry (31 bits). */
export const MAX_FRAGMENT_BYTES = 0x7fffffff;
/** Room for a 1 MiB READ/WRITE payload plus RPC and NFS headers. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024 + 64 * 1024;
/** Real clients send one fragment per record; a few hundred is already generous. */
export const DEFAULT_MAX_FRAGMENTS = 1024;

export class FramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FramingError';
  }
}

export interface RecordDecoderOptions {
  maxRecordBytes?: number;
  maxFragments?: number;
  /**
   * Where records that must be reassembled from several chunks are built when they are large (WRITE
   * payloads). The owner gives each record back (`pool.give`) when its call is over; records that are
   * subarrays of a chunk are not from the pool and `give` ignores them.
   */
  pool?: { take(len: number): Buffer; give?(buf: Buffer): void };
}

/** Records at least this large are reassembled into pooled memory (smaller ones: plain concat). */
const POOLED_RECORD_MIN = 64 * 1024;
/** Size of the reusable buffer socket reads land in when no large record body is expected (readTarget). */
const STAGING_BYTES = 64 * 1024;

export class RecordDecoder {
  private readonly maxRecordBytes: number;
  private readonly maxFragments: number;

  /** Partial fragment header when a chunk boundary splits it. */
  private readonly hdr = Buffer.alloc(4);
  private hdrHave = 0;
  /** True while reading fragment data (the header has been consumed). */
  private inFragment = false;
  private fragLeft = 0;
  private lastFragment = false;
  /** Pieces of the current record when it is not one contiguous subarray of a single chunk. */
  private parts: Buffer[] = [];
  private recordBytes = 0;
  private fragments = 0;
  private failure: FramingError | undefined;

  private readonly pool: RecordDecoderOptions['pool'];

  // Receiving into buffers we choose (readTarget/received): the socket reads either into `staging`,
  // which is reused, so whatever is kept from it is copied out; or, once the header of a large
  // single-fragment record has been seen, straight into that record's own pooled buffer `direct`.
  private staging: Buffer | undefined;
  /** True while `push` is parsing the staging buffer (its bytes must not be kept by reference). */
  private transient = false;
  private direct: Buffer | undefined;
  private directAt = 0;
  /** The last target handed out for `direct` (received() recognises it by identity). */
  private directTarget: Uint8Array | undefined;

  constructor(opts: RecordDecoderOptions = {}) {
    this.pool = opts.pool;
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.maxFragments = opts.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
  }

  /** True when some bytes of an unfinished record (or header) have been received. */
  get midRecord(): boolean {
    return this.hdrHave > 0 || this.inFragment || this.fragments > 0;
  }

  /** Set once a FramingError has been thrown; every later `push` throws it again. */
  get failed(): FramingError | undefined {
    return this.failure;
  }

  /**
   * Feeds one chunk; returns the records it completes, in order. A record contained in a single
   * fragment inside a single chunk is a subarray of that chunk (no copy); the caller must not
   * reuse chunk memory while it holds records. Throws FramingError on a limit violation.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failure) throw this.failure;
    const out: Buffer[] = [];
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      if (!this.inFragment) {
        let word: number;
        if (this.hdrHave === 0 && len - off >= 4) {
          word = chunk.readUInt32BE(off);
          off += 4;
        } else {
          const n = Math.min(4 - this.hdrHave, len - off);
          chunk.copy(this.hdr, this.hdrHave, off, off + n);
          this.hdrHave += n;
          off += n;
          if (this.hdrHave < 4) break;
          this.hdrHave = 0;
          word = this.hdr.readUInt32BE(0);
        }
        this.beginFragment(word);
        if (this.fragLeft === 0) this.endFragment(out);
        continue;
      }
      const take = Math.min(this.fragLeft, len - off);
      if (this.direct) {
        chunk.copy(this.direct, this.directAt, off, off + take);
        this.directAt += take;
        off += take;
        this.fragLeft -= take;
        if (this.fragLeft === 0) out.push(this.finishDirect());
        continue;
      }
      const piece = chunk.subarray(off, off + take);
      off += take;
      this.fragLeft -= take;
      if (this.fragLeft === 0 && this.lastFragment && this.parts.length === 0) {
        // The whole record is this one piece: hand out the subarray itself (a copy if the chunk is reused).
        out.push(this.transient ? this.copyOut(piece) : piece);
        this.resetRecord();
      } else {
        this.parts.push(this.transient ? Buffer.from(piece) : piece);
        if (this.fragLeft === 0) this.endFragment(out);
      }
    }
    return out;
  }

  private beginFragment(word: number): void {
    const fragLen = (word & MAX_FRAGMENT_BYTES) >>> 0;
    this.lastFragment = (word & LAST_FRAGMENT) !== 0;
    this.fragments++;
    if (this.fragments > this.maxFragments) {
      this.fail(`record has more than ${this.maxFragments} fragments`);
    }
    if (this.recordBytes + fragLen > this.maxRecordBytes) {
      this.fail(`record of at least ${this.recordBytes + fragLen} bytes exceeds limit ${this.maxRecordBytes}`);
    }
    this.recordBytes += fragLen;
    this.fragLeft = fragLen;
    this.inFragment = true;
    // A large record in one fragment, arriving through readTarget: receive its body in place.
    if (this.transient && this.pool && this.lastFragment && this.fragments === 1 && fragLen >= POOLED_RECORD_MIN) {
      this.direct = this.pool.take(fragLen);
      this.directAt = 0;
    }
  }

  /**
   * Where the next socket read should land: the rest of the large record being received, or else the
   * reusable staging buffer. Pair every read with `received`.
   */
  readTarget(): Uint8Array {
    if (this.direct && this.fragLeft > 0 && !this.failure) {
      this.directTarget = this.direct.subarray(this.directAt, this.directAt + this.fragLeft);
      return this.directTarget;
    }
    this.directTarget = undefined;
    return (this.staging ??= Buffer.allocUnsafeSlow(STAGING_BYTES));
  }

  /**
   * `n` bytes arrived at the start of `buf`, a buffer `readTarget` returned. Returns the records this
   * completes; unlike `push`, they never share memory with `buf` (which is reused for the next read).
   */
  received(buf: Uint8Array, n: number): Buffer[] {
    if (this.failure) throw this.failure;
    if (buf === this.directTarget && this.direct) {
      this.directTarget = undefined;
      const take = Math.min(n, this.fragLeft);
      this.directAt += take;
      this.fragLeft -= take;
      return this.fragLeft === 0 ? [this.finishDirect()] : [];
    }
    this.transient = true;
    try {
      return this.push(Buffer.from(buf.buffer, buf.byteOffset, n));
    } finally {
      this.transient = false;
    }
  }

  /** Gives back a record buffer still being received (the connection is gone). */
  dispose(): void {
    if (this.direct) this.pool?.give?.(this.direct);
    this.direct = undefined;
    this.directTarget = undefined;
  }

  private finishDirect(): Buffer {
    const rec = this.direct!;
    this.direct = undefined;
    this.directAt = 0;
    this.resetRecord();
    return rec;
  }

  private copyOut(piece: Buffer): Buffer {
    if (this.pool && piece.length >= POOLED_RECORD_MIN) {
      const rec = this.pool.take(piece.length);
      piece.copy(rec);
      return rec;
    }
    return Buffer.from(piece);
  }

  private endFragment(out: Buffer[]): void {
    this.inFragment = false;
    if (!this.lastFragment) return;
    const parts = this.parts;
    if (parts.length === 1) out.push(parts[0]!);
    else if (this.pool && this.recordBytes >= POOLED_RECORD_MIN) {
      const rec = this.pool.take(this.recordBytes);
      let at = 0;
      for (const p of parts) at += p.copy(rec, at);
      out.push(rec);
    } else out.push(Buffer.concat(parts, this.recordBytes));
    this.resetRecord();
  }

  private resetRecord(): void {
    this.inFragment = false;
    this.parts = [];
    this.recordBytes = 0;
    this.fragments = 0;
    this.lastFragment = false;
  }

  private fail(msg: string): never {
    this.failure = new FramingError(msg);
    this.parts = [];
    this.dispose();
    throw this.failure;
  }
}

/** The 4-byte record mark for one fragment. */
export function recordMark(length: number, last: boolean): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAGMENT_BYTES) {
    throw new RangeError(`bad fragment length ${length}`);
  }
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE((last ? LAST_FRAGMENT : 0) + length, 0);
  return b;
}

/**
 * Frames one message (given as segments) as a record: normally `[mark, ...segments]`, one last
 * fragment, without copying. A message longer than `maxFragment` is cut into several fragments
 * (subarrays, still no copy). `maxFragment` is a parameter only so tests can exercise that path.
 */
export function frameRecord(segments: readonly Buffer[], maxFragment = MAX_FRAGMENT_BYTES): Buffer[] {
  let total = 0;
  for (const s of segments) total += s.length;
  if (total <= maxFragment) return [recordMark(total, true), ...segments];

  const out: Buffer[] = [];
  let remaining = total;
  let segIdx = 0;
  let segOff = 0;
  while (remaining > 0) {
    const fragLen = Math.min(maxFragment, remaining);
    remaining -= fragLen;
    out.push(recordMark(fragLen, remaining === 0));
    let need = fragLen;
    while (need > 0) {
      const seg = segments[segIdx]!;
      const take = Math.min(need, seg.length - segOff);
      if (take > 0) out.push(segOff === 0 && take === seg.length ? seg : seg.subarray(segOff, segOff + take));
      need -= take;
      segOff += take;
      if (segOff >= seg.length) {
        segIdx++;
        segOff = 0;
      }
    }
  }
  return out;
}
