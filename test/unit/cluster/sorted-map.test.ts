/**
 * The ordered map under the memory engine and the lmdb engine's overlay (cluster/meta/engines/sorted-map.ts):
 * keys set are put in order lazily (sorted and merged at the first ordered operation), so ordered reads,
 * deletes and scans must see exactly what a plain sorted reference sees, whatever mix of operations came
 * before, and a scan must stay right when keys are set and deleted between its steps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SortedMap } from '../../../cluster/meta/engines/sorted-map';
import type { StrBounds } from '../../../cluster/meta/kv';
import { rng } from '../fuzz-rng';

/** Latin1 keys with long shared prefixes, as the namespace's keys have. */
function keyOf(r: () => number): string {
  const n = Math.floor(r() * 3000);
  const tail = Math.floor(r() * 4) === 0 ? '\xff\x00' : '';
  return `D\x00\x00\x00\x00\x00\x00\x00\x07${String(n).padStart(5, '0')}${tail}`;
}

function reference(m: Map<string, number>, b: StrBounds): Array<[string, number]> {
  return [...m.keys()]
    .sort()
    .filter((k) => (b.lo === undefined || k > b.lo || (k === b.lo && b.loInclusive)) && (b.hi === undefined || k < b.hi))
    .map((k) => [k, m.get(k)!]);
}

describe('sorted map', () => {
  for (const seed of [1, 7, 42, 1234]) {
    it(`matches a sorted reference under random sets, deletes and scans (seed ${seed})`, () => {
      const r = rng(seed);
      const m = new SortedMap<number>();
      const ref = new Map<string, number>();
      for (let step = 0; step < 6000; step++) {
        const x = r();
        if (x < 0.6) {
          // Bursts of sets, so that both ways of placing keys (one by one, sort and merge) run.
          const burst = r() < 0.1 ? 200 : 1;
          for (let i = 0; i < burst; i++) {
            const k = keyOf(r);
            m.set(k, step);
            ref.set(k, step);
          }
        } else if (x < 0.8) {
          const k = keyOf(r);
          assert.equal(m.delete(k), ref.delete(k));
        } else if (x < 0.9) {
          const k = keyOf(r);
          assert.equal(m.get(k), ref.get(k));
          assert.equal(m.has(k), ref.has(k));
        } else {
          const a = keyOf(r);
          const c = keyOf(r);
          const b: StrBounds = { lo: r() < 0.2 ? undefined : a < c ? a : c, loInclusive: r() < 0.5, hi: r() < 0.2 ? undefined : a < c ? c : a, limit: Infinity };
          assert.deepEqual([...m.entries(b)], reference(ref, b));
        }
        assert.equal(m.size, ref.size);
      }
      const all: StrBounds = { loInclusive: true, limit: Infinity };
      assert.deepEqual([...m.entries(all)], reference(ref, all));
      const sorted: string[] = [];
      m.eachSorted((k) => sorted.push(k));
      assert.deepEqual(sorted, [...ref.keys()].sort());
      let n = 0;
      m.each((v, k) => {
        assert.equal(ref.get(k), v);
        n++;
      });
      assert.equal(n, ref.size);
    });
  }

  it('a scan sees keys set after its position and skips keys deleted ahead of it', () => {
    const m = new SortedMap<number>();
    for (let i = 0; i < 100; i += 2) m.set(`k${String(i).padStart(3, '0')}`, i);
    const seen: string[] = [];
    for (const [k] of m.entries({ loInclusive: true, limit: Infinity })) {
      seen.push(k);
      if (k === 'k010') {
        for (let i = 1; i < 100; i += 2) m.set(`k${String(i).padStart(3, '0')}`, i); // 50 new keys: sorted and merged
        m.delete('k012');
        m.set('k005', 5); // behind the scan: not seen
      }
    }
    const want = ['k000', 'k002', 'k004', 'k006', 'k008', 'k010'];
    for (let i = 11; i < 100; i++) if (i !== 12) want.push(`k${String(i).padStart(3, '0')}`);
    assert.deepEqual(seen, want);
  });
});
