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
 *
 * Two windows that the re-stamp alone left open (closed by the heal trace and the heal claim):
 *   - gateway 2 has not heard of the mark and writes b3 directly; the mark's whole heal (copy over b3,
 *     fsync, clear) runs while that write is in flight (its write to b1 held). Its after-write check
 *     finds the trace the clear left, newer than what its mirror knew, and makes b3's entry again; the
 *     next heal puts the write on b3. Without the trace b3 keeps the old bytes, no entry anywhere.
 *   - both gateways' healers work on one entry: healer 1's copy is held, healer 2 starts. Healer 2 must
 *     find the entry claimed and leave b3 alone; otherwise, once healer 1 has cleared the entry, a gateway
 *     reads b3 while healer 2 has deleted it for its own copy (0 bytes).
 */
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import type { ObjectId } from '../../cluster/bricks/brick';
import { Healer } from '../../cluster/bricks/heal';
import { TRACE_KEEP_MS, traceKey } from '../../cluster/bricks/heal-journal';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { ReplicaSet, type BrickSpec } from '../../cluster/bricks/replica-set';
import { RedisKv } from '../../cluster/meta/engines/redis-engine';
import { BrickView, type CopyHold } from './brick-view';
import { redisForFile } from './redis-server';

const SPECS: BrickSpec[] = ['b1', 'b2', 'b3'].map((id) => ({ id, address: `mem:${id}` }));

/** Asserts that every brick holds `want` for `id`: any other copy is a lost write. */
async function assertEveryCopy(bricks: Map<string, MemoryBrick>, id: ObjectId, want: Buffer, what = `object ${id.fileId}`): Promise<void> {
  for (const s of SPECS) {
    const got = await bricks.get(s.id)!.readRange(id, 0, want.length);
    assert.ok(got.equals(want), `${what}: the copy on ${s.id} is not what was last written (${got.length} bytes, starts '${got.toString('latin1', 0, 1)}', want '${want.toString('latin1', 0, 1)}': a lost write)`);
  }
}

/** Waits until `brick` holds `want` for `id` (a write held elsewhere has reached it). */
async function untilCopy(brick: MemoryBrick, id: ObjectId, want: Buffer): Promise<void> {
  while (!(await brick.readRange(id, 0, want.length)).equals(want)) await new Promise((r) => setTimeout(r, 5));
}

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
      await assertEveryCopy(bricks, id, fill(v));
      assert.ok(!g1.set.journal.hasObject('b3', id), `object ${id.fileId}: healed, its entry cleared in gateway 1's mirror`);
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

  /** Gateways (ReplicaSets) on one key space over shared bricks; `holdsOf(brick)` gives each view's holds. */
  const cluster = (): {
    bricks: Map<string, MemoryBrick>;
    open: (holdsOf?: (brick: string) => CopyHold[]) => Promise<{ set: ReplicaSet; views: Map<string, BrickView> }>;
    healerOf: (set: ReplicaSet) => Healer;
    prefix: string;
  } => {
    const prefix = redis.prefix();
    const bricks = new Map(SPECS.map((s) => [s.id, new MemoryBrick(1n << 40n, s.id)]));
    const open = async (holdsOf: (brick: string) => CopyHold[] = () => []): Promise<{ set: ReplicaSet; views: Map<string, BrickView> }> => {
      const kv = await RedisKv.open({ url: redis.url, keyPrefix: prefix });
      const views = new Map(SPECS.map((s) => [s.id, new BrickView(bricks.get(s.id)!, holdsOf(s.id))]));
      const set = await ReplicaSet.open({ kv, replica: 3, bricks: SPECS, connect: (s) => views.get(s.id)!, journalRefreshMs: 0, probeIntervalMs: 50 });
      closers.push(() => kv.close(), () => set.close());
      return { set, views };
    };
    const healerOf = (set: ReplicaSet): Healer => {
      const h = new Healer(set, { intervalMs: 0, debounceMs: 3_600_000, bytesPerSecond: 0 });
      set.removeAllListeners('up'); // passes run only when the test kicks one
      closers.push(() => h.stop());
      return h;
    };
    return { bricks, open, healerOf, prefix };
  };
  const SIZE = 4096;
  const fill = (s: string): Buffer => Buffer.alloc(SIZE, s);
  /** b3 misses a write of `v` through `g`: recorded stale there; then b3 is probed back up. */
  const missB3 = async (g: { set: ReplicaSet; views: Map<string, BrickView> }, id: ObjectId, v: string): Promise<void> => {
    g.views.get('b3')!.down = true;
    await g.set.writeRange(id, 0, fill(v));
    g.views.get('b3')!.down = false;
    assert.ok(g.set.journal.hasObject('b3', id), 'b3 recorded stale');
    while (!g.set.member('b3')!.up) await new Promise((r) => setTimeout(r, 20));
  };
  const gate = (): { wait: Promise<void>; open: () => void } => {
    let open!: () => void;
    const wait = new Promise<void>((r) => (open = r));
    return { wait, open };
  };
  /** Holds the next `op` (default readRange) on `id` through `list`: `reached` resolves once the call waits there, `go()` lets it on. */
  const hold = (list: CopyHold[], id: ObjectId, op?: CopyHold['op']): { reached: Promise<void>; go: () => void } => {
    const r = gate();
    const g = gate();
    list.push({ id, ...(op ? { op } : {}), reached: r.open, release: g.wait });
    return { reached: r.wait, go: g.open };
  };

  it('a write that did not know of a mark and was healed over while in flight re-marks the replica (the clear leaves a trace)', { timeout: 60000 }, async () => {
    const { bricks, open, healerOf, prefix } = cluster();
    const g1Holds: CopyHold[] = [];
    const b1Writes: CopyHold[] = [];
    const g1 = await open(() => g1Holds);
    const g2 = await open((b) => (b === 'b1' ? b1Writes : []));
    const healer = healerOf(g1.set);
    const id = { fileId: 601n, chunk: 0 };
    await g1.set.writeRange(id, 0, fill('a'));
    await missB3(g1, id, 'b');
    assert.ok(!g2.set.journal.hasObject('b3', id), 'gateway 2 has not heard of the mark');

    // Gateway 1's heal copy is held right after it read the source ('b').
    const copy = hold(g1Holds, id);
    const heal = healer.kick();
    await copy.reached;
    // Gateway 2 writes 'd': it lands on b3 (stale, but gateway 2 does not know) and b2 at once; its write
    // to b1 is held, so the write is still in flight (no after-write check yet).
    const w1 = hold(b1Writes, id, 'writeRange');
    const write = g2.set.writeRange(id, 0, fill('d'));
    await w1.reached;
    await untilCopy(bricks.get('b3')!, id, fill('d'));
    // The copy goes on: it overwrites b3 with 'b', fsyncs and clears the entry, all while the write is in flight.
    copy.go();
    await heal;
    assert.equal(healer.status().healedObjects, 1);
    assert.ok((await bricks.get('b3')!.readRange(id, 0, SIZE)).equals(fill('b')), 'the heal copied over the write on b3');
    w1.go();
    await write;

    // The next heal (after gateway 1's mirror hears of the new mark) copies the write to b3.
    await g1.set.journal.load();
    await healer.kick();
    await assertEveryCopy(bricks, id, fill('d'));
    const g3 = await open();
    assert.equal(g3.set.journal.size, 0, 'no entry left in the store');
    for (const g of [g1, g2, g3]) assert.ok((await g.set.readRange(id, 0, SIZE)).equals(fill('d')));
    assert.equal(g2.set.journal.healedOver, 1, 'gateway 2 found b3 healed over while its write was in flight');
    // Traces are pruned once older than TRACE_KEEP_MS (here: a clock that far ahead).
    const kv = await RedisKv.open({ url: redis.url, keyPrefix: prefix });
    closers.push(() => kv.close());
    assert.ok(await kv.get(traceKey(id.fileId, id.chunk, 'b3')), 'the clear left a trace');
    assert.equal(await g1.set.journal.pruneTraces(Date.now() - 1000), 0, 'a fresh trace is kept');
    assert.ok((await g1.set.journal.pruneTraces(Date.now() + TRACE_KEEP_MS + 1000)) >= 1);
    assert.equal(await kv.get(traceKey(id.fileId, id.chunk, 'b3')), undefined, 'pruned');
    assert.equal(await g1.set.journal.pruneTraces(Date.now() + TRACE_KEEP_MS + 1000), 0);
  });

  it('two gateways\' healers on one entry: the second finds it claimed and leaves the replica alone', { timeout: 60000 }, async () => {
    const { bricks, open, healerOf } = cluster();
    const g1Holds: CopyHold[] = [];
    const g2Holds: CopyHold[] = [];
    const g1 = await open(() => g1Holds);
    const g2 = await open(() => g2Holds);
    const h1 = healerOf(g1.set);
    const h2 = healerOf(g2.set);
    const id = { fileId: 602n, chunk: 0 };
    await g1.set.writeRange(id, 0, fill('a'));
    await missB3(g1, id, 'b');
    assert.ok((await g2.set.readRange(id, 0, SIZE)).equals(fill('b')));
    assert.ok(g2.set.journal.hasObject('b3', id), 'gateway 2 knows the entry too');

    // Healer 1's copy is held after reading its source.
    const a = hold(g1Holds, id);
    const pass1 = h1.kick();
    await a.reached;
    // Healer 2 works on the same entry; a copy it starts is held at its first step (the source's stat,
    // before it deletes b3's copy), then again after reading the source.
    const bStat = hold(g2Holds, id, 'stat');
    const bRead = hold(g2Holds, id);
    const pass2 = h2.kick();
    const copying = await Promise.race([bStat.reached.then(() => true), pass2.then(() => false)]);
    // Healer 1 finishes: b3 rebuilt, entry cleared.
    a.go();
    await pass1;
    assert.equal(h1.status().healedObjects, 1);
    if (copying) {
      bStat.go(); // healer 2 goes on: deletes b3's copy, reads the source
      await Promise.race([bRead.reached, pass2]);
    }
    // A gateway that loads the journal now finds no entry and may read b3 (b1 and b2 are off for it).
    const g3 = await open();
    assert.equal(g3.set.journal.size, 0);
    g3.views.get('b1')!.down = true;
    g3.views.get('b2')!.down = true;
    const got = await g3.set.readRange(id, 0, SIZE);
    assert.ok(got.equals(fill('b')), `gateway 3 read b3 while another healer was rebuilding it (${got.length} bytes, starts '${got.toString('latin1', 0, 1)}')`);
    bStat.go();
    bRead.go();
    await pass2;
    assert.ok(!copying, 'healer 2 did not copy an entry healer 1 had claimed');
    assert.ok(h2.status().busy >= 1, `healer 2 counted the claimed entry (busy ${h2.status().busy})`);
    await assertEveryCopy(bricks, id, fill('b'));
  });
  it('a write that did not know of a missed drop and had it replayed over it while in flight re-marks the replica', { timeout: 60000 }, async () => {
    const { bricks, open, healerOf } = cluster();
    const b1Writes: CopyHold[] = [];
    const g1 = await open();
    const g2 = await open((b) => (b === 'b1' ? b1Writes : []));
    const healer = healerOf(g1.set);
    const id = { fileId: 603n, chunk: 0 };
    await g1.set.writeRange(id, 0, fill('a'));
    // b3 misses a drop of the file through gateway 1 (a truncate to 0): a DROP entry.
    g1.views.get('b3')!.down = true;
    await g1.set.dropFrom(id.fileId, 0);
    g1.views.get('b3')!.down = false;
    assert.ok(g1.set.journal.hasDrop('b3', id) && !g2.set.journal.hasDrop('b3', id), 'only gateway 1 knows of the missed drop');
    while (!g1.set.member('b3')!.up) await new Promise((r) => setTimeout(r, 20));
    // Gateway 2 writes 'd' (on b2 and b3 at once; its write to b1 held), and the drop is replayed on b3
    // and cleared meanwhile.
    const w1 = hold(b1Writes, id, 'writeRange');
    const write = g2.set.writeRange(id, 0, fill('d'));
    await w1.reached;
    await untilCopy(bricks.get('b3')!, id, fill('d'));
    await healer.kick();
    assert.equal(healer.status().droppedReplayed, 1);
    assert.equal(await bricks.get('b3')!.stat(id), undefined, 'the replay deleted the write on b3');
    w1.go();
    await write;
    await g1.set.journal.load();
    await healer.kick();
    await assertEveryCopy(bricks, id, fill('d'));
    const g3 = await open();
    assert.equal(g3.set.journal.size, 0, 'no entry left in the store');
  });
});
