/**
 * Sparse-file and server-side-copy operations of the core (NFSv4.2 SEEK, ALLOCATE, DEALLOCATE, COPY,
 * CLONE; later SMB's FSCTL_QUERY_ALLOCATED_RANGES / SET_ZERO_DATA / COPYCHUNK), written against the
 * volume's public surface so they stay out of volume.ts:
 *
 *  - Holes are chunks with no object on the bricks (DESIGN invariant 4: holes cost nothing). `seek`
 *    answers at chunk granularity: a chunk object counts as data over its whole span, even where it holds
 *    zeros. A missing chunk below the file size is a hole.
 *  - `deallocate` drops the chunk objects the range covers whole and writes zeros over the partial
 *    chunks at its edges (only where an object exists); the file size does not change.
 *  - `allocate` extends the file to cover the range. Space is not reserved (bricks are thin); a later
 *    write can still fail with NOSPC. Documented; RFC 7862 lets the server do no more than it can.
 *  - `copyRange` moves the bytes on the gateway (brick → gateway → brick), never through the client;
 * CLONE uses it too (no shared extents on bricks; holes in the source are copied as zeros).
 *
 * Permission: `seek` needs read, the others write permission on the target (checked through the volume's
 * own read/write/access calls).
 */
import type { Brick } from '../bricks/brick';
import { splitRange } from '../bricks/chunks';
import { CoreError, Errc } from './errors';
import { AccessBits, Stable, type Attr, type Cred, type FsLimits, type Handle, type ReadResult, type SetAttrs, type WccAttr, type WriteResult } from './types';

/** The part of a Volume these operations use. */
export interface SparseHost {
  readonly brick: Brick;
  readonly chunkSize: number;
  readonly limits: FsLimits;
  getattr(cred: Cred, h: Handle): Promise<Attr>;
  access(cred: Cred, h: Handle, wanted: number): Promise<{ granted: number; attr: Attr }>;
  read(cred: Cred, h: Handle, offset: bigint, count: number): Promise<ReadResult>;
  write(cred: Cred, h: Handle, offset: bigint, data: Buffer, stable: Stable): Promise<WriteResult>;
  commit(cred: Cred, h: Handle, offset: bigint, count: number): Promise<{ verifier: Buffer; before: WccAttr; after: Attr }>;
  setattr(cred: Cred, h: Handle, attrs: SetAttrs): Promise<{ before: WccAttr; after: Attr }>;
}

export type SeekWhat = 'data' | 'hole';

/** Chunks looked at per `seek` before answering "data" (bounds the work on a huge sparse file). */
const MAX_SEEK_CHUNKS = 1 << 16;

async function requireWrite(v: SparseHost, cred: Cred, h: Handle): Promise<Attr> {
  const { granted, attr } = await v.access(cred, h, AccessBits.MODIFY);
  if (!(granted & AccessBits.MODIFY)) throw new CoreError(Errc.ACCES);
  return attr;
}

/**
 * The first offset ≥ `offset` that is data (or a hole), RFC 7862 §15.11 / lseek(2): past the end of the
 * file → NXIO is the caller's to answer (it sees `size`); no data after `offset` → `{ none: true }`;
 * a hole search always succeeds (the end of the file counts as a hole).
 */
export async function seek(v: SparseHost, cred: Cred, h: Handle, offset: bigint, what: SeekWhat): Promise<{ offset: bigint; none: boolean; size: bigint }> {
  const probe = await v.read(cred, h, 0n, 0); // read permission, and a regular file
  probe.release?.();
  const a = probe.attr;
  const size = a.size;
  if (offset >= size) return { offset: size, none: what === 'data', size };
  const cs = BigInt(v.chunkSize);
  const first = offset / cs;
  const last = (size - 1n) / cs;
  for (let i = first, n = 0; i <= last && n < MAX_SEEK_CHUNKS; i++, n++) {
    const exists = (await v.brick.stat({ fileId: a.fileId, chunk: Number(i) })) !== undefined;
    const start = i * cs > offset ? i * cs : offset;
    if (what === 'data' && exists) return { offset: start, none: false, size };
    if (what === 'hole' && !exists) return { offset: start, none: false, size };
  }
  // Nothing found within the bound: data means "the rest is a hole", a hole search ends at EOF.
  return what === 'data' ? { offset: size, none: true, size } : { offset: size, none: false, size };
}

/** Zeros [offset, offset + length) without storing zeros where a whole chunk goes (DEALLOCATE). */
export async function deallocate(v: SparseHost, cred: Cred, h: Handle, offset: bigint, length: bigint): Promise<Attr> {
  const a = await requireWrite(v, cred, h);
  const end = offset + length < a.size ? offset + length : a.size;
  if (offset >= end) return a;
  let pos = offset;
  // Pieces of at most 1 GiB at a time: splitRange takes a number.
  while (pos < end) {
    const n = end - pos > 1n << 30n ? 1 << 30 : Number(end - pos);
    for (const p of splitRange(pos, n, v.chunkSize)) {
      const id = { fileId: a.fileId, chunk: p.chunk };
      if ((await v.brick.stat(id)) === undefined) continue;
      if (p.offset === 0 && p.length === v.chunkSize) await v.brick.delete(id);
      else await v.write(cred, h, pos + BigInt(p.pos), Buffer.alloc(p.length), Stable.FILE_SYNC);
    }
    pos += BigInt(n);
  }
  return (await v.setattr(cred, h, { mtime: 'server' })).after;
}

/** Makes the file cover [offset, offset + length) (ALLOCATE): extends the size, reserves nothing. */
export async function allocate(v: SparseHost, cred: Cred, h: Handle, offset: bigint, length: bigint): Promise<Attr> {
  const a = await requireWrite(v, cred, h);
  const end = offset + length;
  if (end > v.limits.maxFileSize) throw new CoreError(Errc.FBIG);
  if (end <= a.size) return a;
  return (await v.setattr(cred, h, { size: end })).after;
}

/**
 * Copies `count` bytes (0: to the source's end) from `src` at `srcOffset` to `dst` at `dstOffset`, on the
 * gateway; stable when it returns. Stops at the source's end. Returns the bytes copied.
 */
export async function copyRange(v: SparseHost, cred: Cred, src: Handle, srcOffset: bigint, dst: Handle, dstOffset: bigint, count: bigint): Promise<bigint> {
  const sa = await v.getattr(cred, src);
  await requireWrite(v, cred, dst);
  let end = count === 0n ? sa.size : srcOffset + count;
  if (end > sa.size) end = sa.size;
  if (dstOffset + (end > srcOffset ? end - srcOffset : 0n) > v.limits.maxFileSize) throw new CoreError(Errc.FBIG);
  const step = BigInt(Math.min(v.limits.maxRead, v.limits.maxWrite, 1 << 20));
  let pos = srcOffset;
  while (pos < end) {
    const n = end - pos < step ? end - pos : step;
    const r = await v.read(cred, src, pos, Number(n));
    try {
      if (r.data.length === 0) break;
      await v.write(cred, dst, dstOffset + (pos - srcOffset), r.data, Stable.UNSTABLE);
      pos += BigInt(r.data.length);
    } finally {
      r.release?.();
    }
  }
  if (pos > srcOffset) await v.commit(cred, dst, dstOffset, 0);
  return pos > srcOffset ? pos - srcOffset : 0n;
}

/** True when `fs` is a volume these operations work on (the NFS/SMB layers answer NOTSUPP otherwise). */
export function isSparseHost(fs: object): fs is SparseHost {
  return 'brick' in fs && 'chunkSize' in fs;
}
