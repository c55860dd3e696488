/**
 * A Map with at most `max` entries whose every operation is O(1): two generations. New and promoted
 * entries go into the young map; when it holds max/2 entries it becomes the old map and the previous old
 * map is dropped whole. A hit in the old map moves the entry to the young one, so what is in use stays
 * (an approximation of LRU: an entry survives at least max/2 later insertions, at most max).
 *
 * Why not one Map trimmed with `m.delete(m.keys().next().value)`: V8 leaves a deleted entry as a hole
 * at the front of the table until its next rehash, and every new `keys()` iterator walks over those
 * holes from the start. A full cache that drops its oldest entry on each insertion therefore pays a walk
 * of up to its whole size per insertion (measured: ~1 µs at 1,024 entries, 9 µs at 8,192, 50-90 µs at
 * 65,536, on this project's bench machine).
 *
 * `undefined` is not a value (get answers it for a missing key).
 */
export class BoundedMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 2) throw new RangeError(`BoundedMap size ${max}: an integer of at least 2`);
    this.half = max >>> 1;
  }

  get(k: K): V | undefined {
    const v = this.young.get(k);
    if (v !== undefined || this.old.size === 0) return v;
    const o = this.old.get(k);
    if (o !== undefined) {
      this.old.delete(k);
      this.insert(k, o);
    }
    return o;
  }

  has(k: K): boolean {
    return this.young.has(k) || this.old.has(k);
  }

  set(k: K, v: V): this {
    if (this.old.size > 0) this.old.delete(k);
    this.insert(k, v);
    return this;
  }

  delete(k: K): boolean {
    const a = this.young.delete(k);
    const b = this.old.size > 0 && this.old.delete(k);
    return a || b;
  }

  clear(): void {
    this.young = new Map();
    this.old = new Map();
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  private insert(k: K, v: V): void {
    this.young.set(k, v);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
  }
}
