/**
 * One shared in-process brick as one "gateway" (one ReplicaSet) sees it, for tests that run several
 * gateways over the same bricks (journal-coherence, heal-shared, rebalance-shared). Not a test file.
 *
 * - `down`: this view's own switch; while on, every call fails as an unreachable brick (the other
 *   gateways' views of the same brick still work).
 * - `holds`: a readRange of a listed object returns only after `release` (it calls `reached` once it has
 *   read). Copies (heal, rebalance) read with readRange and the data path with readInto, so this holds a
 *   copy right after it read its source. Several views may share one array; a hold is used once.
 *   A hold with `op` 'stat' holds a stat after it answered (a copy's first step, before it deletes the
 *   target's copy); with 'writeRange' it holds a write BEFORE it reaches the brick.
 * - `restarted()`: the brick came back as a new instance (runs the onLostWrites listeners).
 */
import type { Brick, BrickCapacity, ObjectId, WriteHint } from '../../cluster/bricks/brick';
import { BrickFault } from '../../cluster/bricks/brick-fault';
import type { MemoryBrick } from '../../cluster/bricks/memory-brick';

export interface CopyHold {
  id: ObjectId;
  reached: () => void;
  release: Promise<void>;
  /** Which call is held (default 'readRange'). */
  op?: 'readRange' | 'stat' | 'writeRange';
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

  private async hold(op: NonNullable<CopyHold['op']>, id: ObjectId): Promise<void> {
    const i = this.holds.findIndex((x) => (x.op ?? 'readRange') === op && x.id.fileId === id.fileId && x.id.chunk === id.chunk);
    if (i < 0) return;
    const h = this.holds.splice(i, 1)[0]!;
    h.reached();
    await h.release;
  }
  async writeRange(id: ObjectId, o: number, d: Buffer, _hint?: WriteHint): Promise<void> {
    this.gate();
    await this.hold('writeRange', id);
    return this.inner.writeRange(id, o, d);
  }
  async readRange(id: ObjectId, o: number, n: number): Promise<Buffer> {
    this.gate();
    const got = Buffer.from(await this.inner.readRange(id, o, n));
    await this.hold('readRange', id);
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
    const st = await this.inner.stat(id);
    await this.hold('stat', id);
    return st;
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
