/**
 * Self-heal while another gateway writes the same object, below the protocols: two ReplicaSets
 * ("gateway 1" and "gateway 2") on one Redis key space over the same three in-process bricks.
 *
 * Gateway 1's healer rebuilds b3's stale copy of an object from a good replica, under its own object
 * lock, which does not exclude gateway 2. The copy is held right after it has read the source's bytes,
 * and gateway 2 writes the object meanwhile; then the copy completes with the OLD bytes. The heal must
 * not clear the entry (gateway 2's write re-stamped it): it copies again, and b3 ends with the new bytes
 * and no entry. Forced twice:
 *   - gateway 2 knows b3 is stale and skips it (its write reaches b1 and b2 only);
 *   - gateway 2 does not know (its mirror never heard of the mark) and also writes b3, before the copy
 *     overwrites b3 with the old bytes.
 * Without the rule (writers re-stamp, the healer clears only an unchanged entry) b3 keeps the old bytes
 * with its entry gone: a lost write that every later read may return as up to date.
 */
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import type { ObjectId } from '../../cluster/bricks/brick';
import { Healer } from '../../cluster/bricks/heal';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { ReplicaSet, type BrickSpec } from '../../cluster/bricks/replica-set';
import { RedisKv } from '../../cluster/meta/engines/redis-engine';
import { BrickView, type CopyHold } from './brick-view';
import { redisForFile } from './redis-server';

const SPECS: BrickSpec[] = ['b1', 'b2', 'b3'].map((id) => ({ id, address: `mem:${id}` }));

describe('heal with two gateways on one Redis', () => {
  const redis = redisForFile('heal-shared');
  const closers: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });

  it('a heal copy that raced another gateway\'s write to its object is redone; the write is on every replica', { timeout: 60000 }, async () => {
    const prefix = redis.prefix();
    const bricks = new Map(SPECS.map((s) => [s.id, new MemoryBrick(1n << 40n, s.id)]));
    const holds: CopyHold[] = [];
    const open = async (): Promise<{ set: ReplicaSet; views: Map<string, BrickView>; kv: RedisKv }> => {
      const kv = await RedisKv.open({ url: redis.url, keyPrefix: prefix });
      const views = new Map(SPECS.map((s) => [s.id, new BrickView(bricks.get(s.id)!, holds)]));
      const set = await ReplicaSet.open({ kv, replica: 3, bricks: SPECS, connect: (s) => views.get(s.id)!, journalRefreshMs: 0, probeIntervalMs: 50 });
      closers.push(() => kv.close(), () => set.close());
      return { set, views, kv };
    };
    const g1 = await open();
    const g2 = await open();
    assert.ok(g1.set.journal.shared && g2.set.journal.shared, 'a Redis store is shared');
    const healer = new Healer(g1.set, { intervalMs: 0, debounceMs: 3_600_000, bytesPerSecond: 0 });
    // Passes run only when the test kicks one (not on the 'up' of b3 after each forced miss).
    g1.set.removeAllListeners('up');
    closers.push(() => healer.stop());

    const SIZE = 4096;
    const fill = (s: string): Buffer => Buffer.alloc(SIZE, s);
    const known = { fileId: 501n, chunk: 0 }; // gateway 2 knows b3 is stale: skips it
    const unknown = { fileId: 502n, chunk: 0 }; // gateway 2 does not know: writes b3 too
    for (const id of [known, unknown]) await g1.set.writeRange(id, 0, fill('a'));
    // b3 misses the next write of `known` through gateway 1: recorded stale. Gateway 2 hears of it (a read
    // of that object), and its background catch-up is let finish.
    const missB3 = async (id: ObjectId): Promise<void> => {
      g1.views.get('b3')!.down = true;
      await g1.set.writeRange(id, 0, fill('b'));
      g1.views.get('b3')!.down = false;
      assert.ok(g1.set.journal.hasObject('b3', id), 'b3 recorded stale');
      while (!g1.set.member('b3')!.up) await new Promise((r) => setTimeout(r, 20)); // probed back up
    };
    await missB3(known);
    assert.equal((await g2.set.readRange(known, 0, SIZE)).toString('latin1', 0, 1), 'b');
    assert.ok(g2.set.journal.hasObject('b3', known));
    await new Promise((r) => setTimeout(r, 500));
    // Then b3 misses a write of `unknown`: gateway 2's mirror never hears of that mark (no read, no reload).
    await missB3(unknown);
    assert.ok(!g2.set.journal.hasObject('b3', unknown), 'gateway 2 has not heard of the mark on the second object');

    // Both copies held after reading the source's current bytes ('b'); gateway 2 writes both objects.
    const reached: Array<Promise<void>> = [];
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    for (const id of [known, unknown]) reached.push(new Promise<void>((r) => holds.push({ id, reached: r, release: released })));
    const renewals = g2.set.journal.renewals;
    const heal = healer.kick();
    await Promise.all(reached);
    // (`unknown` first: a write that finds the mirror behind also starts its background catch-up.)
    await g2.set.writeRange(unknown, 0, fill('d')); // reaches b3 too: the held copy overwrites it later
    await g2.set.writeRange(known, 0, fill('c')); // skips b3
    assert.ok((await bricks.get('b3')!.readRange(unknown, 0, SIZE)).equals(fill('d')), 'gateway 2 wrote b3 directly');
    assert.ok(!(await bricks.get('b3')!.readRange(known, 0, SIZE)).equals(fill('c')), 'gateway 2 skipped b3');
    const renewed = g2.set.journal.renewals - renewals;
    release();
    await heal;

    for (const [id, v] of [[known, 'c'], [unknown, 'd']] as const) {
      const what = `object ${id.fileId}`;
      for (const s of SPECS) {
        const got = await bricks.get(s.id)!.readRange(id, 0, SIZE);
        assert.ok(got.equals(fill(v)), `${what}: the copy on ${s.id} is not what was last written (starts '${got.toString('latin1', 0, 1)}', want '${v}': a lost write)`);
      }
      assert.ok(!g1.set.journal.hasObject('b3', id), `${what}: healed, its entry cleared in gateway 1's mirror`);
    }
    const st = healer.status();
    assert.ok(st.raced >= 2, `both copies found the object written meanwhile and were redone (raced ${st.raced})`);
    assert.equal(st.healedObjects, 2);
    assert.equal(renewed, 2, 'gateway 2 re-stamped both entries after its writes');
    // The store holds no entry either (a fresh gateway loads none), and both gateways read the last bytes.
    const g3 = await open();
    assert.equal(g3.set.journal.size, 0, 'no entry left in the store');
    for (const [id, v] of [[known, 'c'], [unknown, 'd']] as const) {
      for (const g of [g1, g2, g3]) assert.ok((await g.set.readRange(id, 0, SIZE)).equals(fill(v)));
    }
  });
});
