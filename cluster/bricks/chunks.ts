/**
 * Fixed-size chunking (DESIGN invariant 4): file byte ranges map onto per-chunk object ranges. A write
 * of a few bytes touches only those bytes of one chunk object; nothing is buffered per chunk.
 */
import { CoreError, Errc } from '../vfs/errors';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
export const MIN_CHUNK_SIZE = 4096;
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;

export interface ChunkPiece {
  /** Chunk index inside the file. */
  chunk: number;
  /** Offset inside the chunk object. */
  offset: number;
  length: number;
  /** Offset of this piece inside the caller's buffer (relative to the range start). */
  pos: number;
}

export function checkChunkSize(size: number): number {
  if (!Number.isInteger(size) || size < MIN_CHUNK_SIZE || size > MAX_CHUNK_SIZE || (size & (size - 1)) !== 0) {
    throw new CoreError(Errc.INVAL, `chunk size must be a power of two in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}]`);
  }
  return size;
}

/** Splits [offset, offset + length) into per-chunk pieces, in order. */
export function splitRange(offset: bigint, length: number, chunkSize: number): ChunkPiece[] {
  const out: ChunkPiece[] = [];
  if (length <= 0) return out;
  const cs = BigInt(chunkSize);
  let chunk = offset / cs;
  let inChunk = Number(offset % cs);
  let pos = 0;
  while (pos < length) {
    const n = Math.min(chunkSize - inChunk, length - pos);
    out.push({ chunk: Number(chunk), offset: inChunk, length: n, pos });
    pos += n;
    chunk++;
    inChunk = 0;
  }
  return out;
}

/** Where a file of `size` bytes ends in chunk terms: objects >= `firstDropped` hold no data. */
export function chunkTail(size: bigint, chunkSize: number): { lastChunk: number; lastLength: number; firstDropped: number } {
  const cs = BigInt(chunkSize);
  const full = Number(size / cs);
  const rest = Number(size % cs);
  if (rest === 0) return { lastChunk: full - 1, lastLength: full > 0 ? chunkSize : 0, firstDropped: full };
  return { lastChunk: full, lastLength: rest, firstDropped: full + 1 };
}
