/** Rendezvous placement: deterministic, even, and adding a brick moves only about 1/N of the copies. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Placement } from '../../../cluster/bricks/placement';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `b${i + 1}`);

describe('placement (rendezvous hashing)', () => {
  it('is deterministic and independent of the order the bricks are listed in', () => {
    const a = new Placement(['b1', 'b2', 'b3', 'b4']);
    const b = new Placement(['b4', 'b2', 'b1', 'b3']);
    for (let f = 1n; f < 200n; f++) {
      for (let c = 0; c < 5; c++) {
        const id = { fileId: f * 7919n, chunk: c };
        assert.deepEqual(a.replicas(id, 3), b.replicas(id, 3));
        assert.deepEqual(a.replicas(id, 3), a.replicas(id, 3));
      }
    }
  });

  it('returns R distinct bricks (all of them, ordered, when R >= N)', () => {
    const p = new Placement(ids(5));
    for (let f = 1n; f < 500n; f++) {
      const r = p.replicas({ fileId: f, chunk: 0 }, 3);
      assert.equal(r.length, 3);
      assert.equal(new Set(r).size, 3);
    }
    const all = new Placement(ids(3)).replicas({ fileId: 5n, chunk: 1 }, 3);
    assert.deepEqual([...all].sort(), ['b1', 'b2', 'b3']);
  });

  it('spreads objects evenly over the bricks (within 10% of the mean)', () => {
    const p = new Placement(ids(4));
    const count = new Map<string, number>();
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const first = p.replicas({ fileId: BigInt(1000 + Math.floor(i / 8)), chunk: i % 8 }, 1)[0]!;
      count.set(first, (count.get(first) ?? 0) + 1);
    }
    for (const [b, n] of count) assert.ok(Math.abs(n - N / 4) < N / 40, `${b}: ${n} of ${N}`);
  });

  it('adding a 4th brick moves about 1/4 of the stored copies, and only onto the new brick', () => {
    const before = new Placement(ids(3).concat(['b7']));
    const after = new Placement(ids(3).concat(['b7', 'b9']));
    for (const R of [1, 3]) {
      const p3 = new Placement(ids(3));
      const p4 = new Placement(ids(4));
      let moved = 0;
      const N = 10000;
      for (let i = 0; i < N; i++) {
        const id = { fileId: BigInt(i + 1), chunk: i % 3 };
        const a = p3.replicas(id, R);
        const b = p4.replicas(id, R);
        const gained = b.filter((x) => !a.includes(x));
        for (const g of gained) assert.equal(g, 'b4', 'copies move only onto the new brick');
        moved += gained.length;
      }
      const fraction = moved / (N * R);
      assert.ok(fraction > 0.22 && fraction < 0.28, `R=${R}: moved fraction ${fraction}`);
    }
    // Adding a brick never moves a copy between two old bricks.
    for (let i = 0; i < 2000; i++) {
      const id = { fileId: BigInt(i + 1), chunk: 0 };
      const a = before.replicas(id, 2);
      const b = after.replicas(id, 2);
      for (const x of b) assert.ok(a.includes(x) || x === 'b9');
    }
  });

  it('refuses bad or duplicate brick ids', () => {
    assert.throws(() => new Placement(['a', 'a']));
    assert.throws(() => new Placement(['has space']));
  });
});
