/**
 * A brick stores chunk objects: named by (fileId, chunk index), each at most one chunk long, sparse.
 * The in-process LocalBrick and (next) the remote brick client implement this; the core talks only to
 * this interface. Errors are CoreErrors (OS errno is mapped once, in errno.ts).
 */

export interface ObjectId {
  fileId: bigint;
  chunk: number;
}

export interface BrickCapacity {
  totalBytes: bigint;
  freeBytes: bigint;
  availBytes: bigint;
  totalFiles: bigint;
  freeFiles: bigint;
}

export interface Brick {
  /** Writes `data` at `offset` inside the object, creating it (sparse) if needed. */
  writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void>;
  /** Up to `length` bytes from `offset`; holes read as zeros; short (or empty) at the object's end. */
  readRange(id: ObjectId, offset: number, length: number): Promise<Buffer>;
  /**
   * Reads up to `target.length` bytes from `offset` into `target` (caller-owned memory, e.g. pooled);
   * returns how many were read: fewer at the object's end, 0 for a missing object. Bytes past the
   * returned count are left untouched (the caller zero-fills them).
   */
  readInto(id: ObjectId, offset: number, target: Buffer): Promise<number>;
  /** Cuts (or sparsely extends) an existing object; a missing object stays missing. */
  truncate(id: ObjectId, length: number): Promise<void>;
  delete(id: ObjectId): Promise<void>;
  /** Deletes every object of the file whose chunk index is >= firstChunk. */
  dropFrom(fileId: bigint, firstChunk: number): Promise<void>;
  /** Makes what was written to the object durable (data and, for new objects, its directory entry). */
  fsync(id: ObjectId): Promise<void>;
  /** Object length, or undefined if it does not exist. */
  stat(id: ObjectId): Promise<{ size: number } | undefined>;
  capacity(): Promise<BrickCapacity>;
  close(): Promise<void>;
}
