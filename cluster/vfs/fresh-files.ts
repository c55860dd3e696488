/**
 * Files this process created that have never had a brick object: removing one needs no trim.
 *
 * Why: freeing a regular file records a 'G' trim and drops the file's objects on the bricks after the
 * reply (volume.ts runGc), which costs a hand-off to the brick (the local brick's janitor thread), a
 * second metadata transaction to drop the record, and event-loop turns: about 40% of the CPU of a REMOVE
 * of an empty file. A file that was created and removed without a byte ever written (lock files, temp
 * files, `touch`, the bench's empty-file phase) has nothing to drop.
 *
 * The fact has to be reliable, or objects would outlive their file. It is kept in memory only, and only:
 *  - an id enters the set when the volume allocates it for a new regular file, before the create
 *    transaction makes the file visible, so no other request can have written to it before it entered;
 *  - it leaves the set before any brick call that may create an object of that file (the brick wrapper
 *    below sees every writeRange and truncate the volume or anything holding `volume.brick` makes;
 *    the write-behind queue calls `touch` itself);
 *  - the namespace asks (`has`) inside the transaction that frees the file, so a retried transaction
 *    asks again; the volume forgets the id once the removal has committed.
 * A write racing the REMOVE is covered as before: the write's own metadata update finds the inode gone
 * (STALE) and drops what it wrote. After a restart the set is empty and every removal trims.
 *
 * Only for stores that one process owns (Kv.writeEpoch defined): with a shared store another gateway
 * could write to a file this one created.
 *
 * Bounded: at most MAX_FRESH ids; the oldest is forgotten first (it is then trimmed like any file).
 */
import { dropMany, type Brick, type BrickCapacity, type DropRequest, type ObjectId, type ReadHint } from '../bricks/brick';

const MAX_FRESH = 65536;

export class FreshFiles {
  private readonly ids = new Set<bigint>();

  /** A new regular file's id, before the file becomes visible. */
  add(id: bigint): void {
    if (this.ids.size >= MAX_FRESH) this.ids.delete(this.ids.values().next().value as bigint);
    this.ids.add(id);
  }

  /** The file may have objects from now on. */
  touch(id: bigint): void {
    if (this.ids.size > 0) this.ids.delete(id);
  }

  /** True if the file never had an object: its removal needs no trim. */
  has(id: bigint): boolean {
    return this.ids.has(id);
  }

  /** The file is gone (or its id was not used): forget it. */
  take(id: bigint): void {
    this.ids.delete(id);
  }

  get size(): number {
    return this.ids.size;
  }
}

/** The volume's brick, telling `fresh` about every call that may create an object. */
export class FreshTrackingBrick implements Brick {
  constructor(
    private readonly inner: Brick,
    private readonly fresh: FreshFiles,
  ) {
    if (inner.onLostWrites) this.onLostWrites = (l) => inner.onLostWrites!(l);
  }

  onLostWrites?: (listener: () => void) => void;

  writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
    this.fresh.touch(id.fileId);
    return this.inner.writeRange(id, offset, data);
  }

  truncate(id: ObjectId, length: number): Promise<void> {
    this.fresh.touch(id.fileId);
    return this.inner.truncate(id, length);
  }

  readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    return this.inner.readRange(id, offset, length);
  }

  readInto(id: ObjectId, offset: number, target: Buffer, hint?: ReadHint): Promise<number> {
    return this.inner.readInto(id, offset, target, hint);
  }

  delete(id: ObjectId): Promise<void> {
    return this.inner.delete(id);
  }

  dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    return this.inner.dropFrom(fileId, firstChunk);
  }

  dropMany(reqs: readonly DropRequest[]): Promise<unknown[]> {
    return dropMany(this.inner, reqs);
  }

  fsync(id: ObjectId): Promise<void> {
    return this.inner.fsync(id);
  }

  stat(id: ObjectId): Promise<{ size: number } | undefined> {
    return this.inner.stat(id);
  }

  capacity(): Promise<BrickCapacity> {
    return this.inner.capacity();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
