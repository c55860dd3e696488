/**
 * A brick stores chunk objects: named by (fileId, chunk index), each at most one chunk long, sparse.
 * The in-process LocalBrick and (next) the remote brick client implement this; the core talks only to
 * this interface. Errors are CoreErrors (OS errno is mapped once, in errno.ts).
 */

export interface ObjectId {
  fileId: bigint;
  chunk: number;
}

/** One file's `dropFrom` inside a `dropMany`. */
export interface DropRequest {
  fileId: bigint;
  firstChunk: number;
}

export interface BrickCapacity {
  totalBytes: bigint;
  freeBytes: bigint;
  availBytes: bigint;
  totalFiles: bigint;
  freeFiles: bigint;
}

/**
 * What the writer knows about a copy it writes. `cold`: this copy will not be read back soon (a replica
 * that is not its chunk's preferred reader), so a brick node may keep it out of its page cache.
 */
export interface WriteHint {
  cold?: boolean;
}

/**
 * What the reader knows about a read. `background`: nobody waits for these bytes yet (read-ahead), so the
 * brick should keep the work off the caller's thread (the local brick's synchronous warm read would run
 * it on the event loop). A brick is free to ignore it.
 */
export interface ReadHint {
  background?: boolean;
}

export interface Brick {
  /**
   * Writes `data` at `offset` inside the object, creating it (sparse) if needed. `hint` may say how the
   * copy will be used; a brick is free to ignore it (the bytes and their durability are the same).
   */
  writeRange(id: ObjectId, offset: number, data: Buffer, hint?: WriteHint): Promise<void>;
  /** Up to `length` bytes from `offset`; holes read as zeros; short (or empty) at the object's end. */
  readRange(id: ObjectId, offset: number, length: number): Promise<Buffer>;
  /**
   * Reads up to `target.length` bytes from `offset` into `target` (caller-owned memory, e.g. pooled);
   * returns how many were read: fewer at the object's end, 0 for a missing object. Bytes past the
   * returned count are left untouched (the caller zero-fills them).
   */
  readInto(id: ObjectId, offset: number, target: Buffer, hint?: ReadHint): Promise<number>;
  /** Cuts (or sparsely extends) an existing object; a missing object stays missing. */
  truncate(id: ObjectId, length: number): Promise<void>;
  delete(id: ObjectId): Promise<void>;
  /** Deletes every object of the file whose chunk index is >= firstChunk. */
  dropFrom(fileId: bigint, firstChunk: number): Promise<void>;
  /**
   * Optional: `dropFrom` for several files at once, for a brick where one call per file costs more than
   * the work (the local brick: one janitor message per batch instead of a promise chain and a message
   * per file). Never rejects: entry i is undefined once request i is done, else its error. A request
   * that failed may be partly done, as with dropFrom. Call it through `dropMany` below, which falls
   * back to dropFrom per request for bricks without it.
   */
  dropMany?(reqs: readonly DropRequest[]): Promise<unknown[]>;
  /** Makes what was written to the object durable (data and, for new objects, its directory entry). */
  fsync(id: ObjectId): Promise<void>;
  /** Object length, or undefined if it does not exist. */
  stat(id: ObjectId): Promise<{ size: number } | undefined>;
  capacity(): Promise<BrickCapacity>;
  close(): Promise<void>;
  /**
   * Optional: `listener` is called when the brick may have lost writes it acknowledged but had not yet
   * fsynced (a brick node whose machine restarted), synchronously, before any request runs against the
   * brick as it is now. The Volume changes its write verifier then (NFS COMMIT must either cover the data
   * or change the verifier); a replica set also records the affected replicas for heal.
   */
  onLostWrites?(listener: () => void): void;
}

/**
 * `brick.dropMany(reqs)`, or dropFrom per request for a brick without it. Never rejects: entry i is
 * undefined when request i is done, else its error (an Error even if the brick threw something falsy).
 */
export async function dropMany(brick: Brick, reqs: readonly DropRequest[]): Promise<unknown[]> {
  const failed = (e: unknown): unknown => e ?? new Error('drop failed');
  if (!brick.dropMany) return Promise.all(reqs.map((r) => brick.dropFrom(r.fileId, r.firstChunk).then(() => undefined, failed)));
  try {
    return await brick.dropMany(reqs);
  } catch (e) {
    return reqs.map(() => failed(e));
  }
}

/** One object of a brick listing. */
export interface ObjectInfo {
  id: ObjectId;
  size: number;
}

/** The order of `HealableBrick.list`: by fileId, then chunk index. */
export function compareObjectIds(a: ObjectId, b: ObjectId): number {
  if (a.fileId !== b.fileId) return a.fileId < b.fileId ? -1 : 1;
  return a.chunk - b.chunk;
}

/**
 * What heal and rebalance need beyond plain I/O. Optional: check with `isHealableBrick`.
 * Errors that say "this replica is down" or "this copy is bad" are BrickFaults (brick-fault.ts).
 */
export interface HealableBrick extends Brick {
  /** Stable name for logs, metrics and BrickFaults ("host:port" for a remote brick, unless named). */
  readonly name: string;
  /**
   * Up to `limit` objects with an id strictly after `after` (from the start when undefined), in
   * `compareObjectIds` order. An empty page means the end. Objects created or deleted while a scan runs
   * may or may not appear (a scan is not a snapshot; writes racing it are covered by the heal log).
   */
  list(after: ObjectId | undefined, limit: number): Promise<ObjectInfo[]>;
  /**
   * A digest of the object's whole contents (32 bytes, SHA-256 of the bytes), equal on two bricks iff the
   * bytes are equal; undefined if the object does not exist. A checksummed brick verifies every block while
   * reading and throws BrickFault('corrupt') instead of digesting bad data.
   */
  checksum(id: ObjectId): Promise<Buffer | undefined>;
}

export function isHealableBrick(b: Brick): b is HealableBrick {
  const h = b as Partial<HealableBrick>;
  return typeof h.list === 'function' && typeof h.checksum === 'function' && typeof h.name === 'string';
}
