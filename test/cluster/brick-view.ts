/**
 * One shared in-process brick as one "gateway" (one ReplicaSet) sees it, for tests that run several
 * gateways over the same bricks (journal-coherence, heal-shared, rebalance-shared). Not a test file.
 *
 * - `down`: this view's own switch; while on, every call fails as an unreachable brick (the other
 *   gateways' views of the same brick still work).
 * - `holds`: a readRange of a listed object returns only after `release` (it calls `reached` once it has
 *   read). Copies (heal, rebalance) read with readRange and the data path with readInto, so this holds a
 *   copy right after it read its source. Several views may share one array; a hold is used once.
 * - `restarted()`: the brick came back as a new instance (runs the onLostWrites listeners).
 */
import type { Brick, BrickCapacity, ObjectId, WriteHint } from '../../cluster/bricks/brick';
import { BrickFault } from '../../cluster/bricks/brick-fault';
import type { MemoryBrick } from '../../cluster/bricks/memory-brick';

export interface CopyHold {
  id: ObjectId;
  reached: () => void;
  release: Promise<void>;
}

export class BrickView implements Brick {
  down = false;
  private readonly lost: Array<() => void> = [];

  constructor(
    readonly inner: MemoryBrick,
    readonly holds: CopyHold[] = [],
  ) {}

  private gate(): void {
    if (this.down) throw new BrickFault('unreachable', 'view', 'switched off');
  }

  async writeRange(id: ObjectId, o: number, d: Buffer, _hint?: WriteHint): Promise<void> {
    this.gate();
    return this.inner.writeRange(id, o, d);
  }
  async readRange(id: ObjectId, o: number, n: number): Promise<Buffer> {
    this.gate();
    const got = Buffer.from(await this.inner.readRange(id, o, n));
    const i = this.holds.findIndex((x) => x.id.fileId === id.fileId && x.id.chunk === id.chunk);
    if (i >= 0) {
      const h = this.holds.splice(i, 1)[0]!;
      h.reached();
      await h.release;
    }
    return got;
  }
  async readInto(id: ObjectId, o: number, t: Buffer): Promise<number> {
    this.gate();
    return this.inner.readInto(id, o, t);
  }
  async truncate(id: ObjectId, n: number): Promise<void> {
    this.gate();
    return this.inner.truncate(id, n);
  }
  async delete(id: ObjectId): Promise<void> {
    this.gate();
    return this.inner.delete(id);
  }
  async dropFrom(f: bigint, c: number): Promise<void> {
    this.gate();
    return this.inner.dropFrom(f, c);
  }
  async fsync(id: ObjectId): Promise<void> {
    this.gate();
    return this.inner.fsync(id);
  }
  async stat(id: ObjectId): Promise<{ size: number } | undefined> {
    this.gate();
    return this.inner.stat(id);
  }
  capacity(): Promise<BrickCapacity> {
    return this.inner.capacity();
  }
  async close(): Promise<void> {}
  onLostWrites(l: () => void): void {
    this.lost.push(l);
  }
  restarted(): void {
    for (const l of this.lost) l();
  }
}
