/**
 * An ordered map over latin1 key strings (bytewise key order, see kv.ts keyStr): the keys live in
 * sorted blocks of at most BLOCK keys (a one-level B-tree), beside a hash map for the values. Point
 * reads are O(1); inserts and deletes cost a binary search plus a memmove inside one block; range
 * scans are O(log n + k). Used by the memory engine and by the lmdb engine's overlay of pending writes.
 *
 * New keys are put in order lazily: `set` only notes them, and the first ordered operation (a scan, a
 * delete) sorts what was noted and merges it in. The lmdb engine's overlay takes every key a metadata
 * transaction writes and is usually dropped whole without ever being scanned; its keys (latin1 strings
 * with long shared prefixes) then never pay the ordered insert.
 */
import type { StrBounds } from '../kv';

const BLOCK = 512;

export class SortedMap<V> {
  private blocks: string[][] = [];
  private readonly map = new Map<string, V>();
  /** Keys in `map` not yet in `blocks`, in no order. */
  private unplaced: string[] = [];

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
    if (!this.map.has(k)) this.unplaced.push(k);
    this.map.set(k, v);
  }

  delete(k: string): boolean {
    if (!this.map.has(k)) return false;
    this.place();
    this.map.delete(k);
    const bi = this.blockFor(k);
    const blk = this.blocks[bi]!;
    blk.splice(lowerIndex(blk, k), 1);
    if (blk.length === 0) this.blocks.splice(bi, 1);
    return true;
  }

  /** Every entry, in no particular order, without an iterator or an array per entry. */
  each(fn: (v: V, k: string) => void): void {
    this.map.forEach(fn);
  }

  /** Every entry in key order, without an iterator or an array per entry. */
  eachSorted(fn: (k: string, v: V) => void): void {
    this.place();
    for (const blk of this.blocks) for (const k of blk) fn(k, this.map.get(k) as V);
  }

  /** Puts the noted new keys in order: one by one when few, else sorted and merged in one pass. */
  private place(): void {
    const add = this.unplaced;
    if (add.length === 0) return;
    this.unplaced = [];
    if (add.length <= 16) {
      for (const k of add) this.insertKey(k);
      return;
    }
    // Latin1 key strings: sort's default order (UTF-16 code units) is their bytewise order.
    add.sort();
    const merged: string[] = [];
    let i = 0;
    for (const blk of this.blocks) {
      for (const k of blk) {
        while (i < add.length && add[i]! < k) merged.push(add[i++]!);
        merged.push(k);
      }
    }
    while (i < add.length) merged.push(add[i++]!);
    const blocks: string[][] = [];
    const fill = BLOCK >>> 1;
    for (let j = 0; j < merged.length; j += fill) blocks.push(merged.slice(j, j + fill));
    this.blocks = blocks;
  }

  /** Index of the last block whose first key is <= k (0 if none). */
  private blockFor(k: string): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.blocks[mid]![0]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private insertKey(k: string): void {
    if (this.blocks.length === 0) {
      this.blocks.push([k]);
      return;
    }
    const bi = this.blockFor(k);
    const blk = this.blocks[bi]!;
    blk.splice(lowerIndex(blk, k), 0, k);
    if (blk.length > BLOCK) this.blocks.splice(bi + 1, 0, blk.splice(BLOCK >>> 1));
  }

  /** Position of the first key >= k (or > k when !inclusive): [block, index]. */
  private seek(k: string, inclusive: boolean): [number, number] {
    if (this.blocks.length === 0) return [0, 0];
    let bi = this.blockFor(k);
    const blk = this.blocks[bi]!;
    let i = lowerIndex(blk, k);
    if (!inclusive && blk[i] === k) i++;
    if (i >= blk.length) {
      bi++;
      i = 0;
    }
    return [bi, i];
  }

  /**
   * Entries inside the bounds, in order (limit ignored: callers stop when they have enough). Safe
   * against inserts and deletes between steps: it re-seeks after the last key it yielded.
   */
  *entries(b: StrBounds): Generator<[string, V]> {
    this.place();
    let [bi, i] = b.lo === undefined ? [0, 0] : this.seek(b.lo, b.loInclusive);
    while (bi < this.blocks.length) {
      const blk = this.blocks[bi]!;
      if (i >= blk.length) {
        bi++;
        i = 0;
        continue;
      }
      const k = blk[i]!;
      if (b.hi !== undefined && k >= b.hi) return;
      yield [k, this.map.get(k) as V];
      // Keys are unique: if k is still at [bi, i] the position is right, else re-seek after k (after
      // placing keys set meanwhile).
      this.place();
      if (this.blocks[bi]?.[i] === k) i++;
      else [bi, i] = this.seek(k, false);
    }
  }
}

function lowerIndex(a: string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
