/**
 * An ordered map over latin1 key strings (bytewise key order, see kv.ts keyStr): a sorted array of keys
 * beside a hash map. Point reads are O(1), inserts and deletes O(n) memmove, range scans O(log n + k).
 * Good for the memory engine's test-sized volumes and the lmdb engine's small overlay of pending writes.
 */
import { type StrBounds } from '../kv';

export class SortedMap<V> {
  private readonly keys: string[] = [];
  private readonly map = new Map<string, V>();

  get size(): number {
    return this.map.size;
  }

  get(k: string): V | undefined {
    return this.map.get(k);
  }

  has(k: string): boolean {
    return this.map.has(k);
  }

  set(k: string, v: V): void {
    if (!this.map.has(k)) this.keys.splice(this.lowerIndex(k), 0, k);
    this.map.set(k, v);
  }

  delete(k: string): boolean {
    if (!this.map.delete(k)) return false;
    const i = this.lowerIndex(k);
    this.keys.splice(i, 1);
    return true;
  }

  /** First index whose key is >= k. */
  private lowerIndex(k: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Entries inside the bounds (limit ignored: callers stop when they have enough). Safe against
   * inserts and deletes between steps: it re-seeks by the last key yielded, so nothing is repeated.
   */
  *entries(b: StrBounds): Generator<[string, V]> {
    let i = b.lo === undefined ? 0 : this.lowerIndex(b.lo);
    if (b.lo !== undefined && !b.loInclusive && this.keys[i] === b.lo) i++;
    while (i < this.keys.length) {
      const k = this.keys[i]!;
      if (b.hi !== undefined && k >= b.hi) return;
      yield [k, this.map.get(k) as V];
      if (this.keys[i] === k) i++;
      else {
        i = this.lowerIndex(k);
        if (this.keys[i] === k) i++;
      }
    }
  }
}
