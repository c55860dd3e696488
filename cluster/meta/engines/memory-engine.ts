/**
 * In-memory engine: a sorted map, nothing survives the process. For tests and the memory backend
 * (cluster/vfs/memory). Commits are visible and "durable" at once.
 */
import { keyStr, type StrBounds } from '../kv';
import { LocalKv, type WriteSet } from './local-kv';
import { SortedMap } from './sorted-map';

/**
 * Stored values get memory of their own: writers may hand in slices of Node's shared Buffer pool, and a
 * slice kept for the life of the store would pin its whole 8 KiB pool block.
 */
function ownCopy(v: Buffer): Buffer {
  const out = Buffer.allocUnsafeSlow(v.length);
  v.copy(out);
  return out;
}

export class MemoryKv extends LocalKv {
  private readonly data = new SortedMap<Buffer>();

  protected readKey(k: string): Buffer | undefined {
    return this.data.get(k);
  }

  protected scan(b: StrBounds): Iterator<[string, Buffer]> {
    return this.data.entries(b);
  }

  protected apply(writes: WriteSet, _durable: boolean): Promise<void> {
    this.epoch++;
    writes.each((v, k) => {
      if (v === null) this.data.delete(k);
      else this.data.set(k, ownCopy(v));
    });
    return Promise.resolve();
  }

  /** Synchronous seeding (used to build a memory volume without awaiting). */
  putSync(key: Buffer, value: Buffer): void {
    this.epoch++;
    this.data.set(keyStr(key), value);
  }

  getSync(key: Buffer): Buffer | undefined {
    return this.data.get(keyStr(key));
  }

  async sync(): Promise<void> {}

  protected async closeEngine(): Promise<void> {}
}
