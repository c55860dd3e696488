/**
 * Heal-journal coherence between gateways on one Redis, and the lost-write reaction of a replica set,
 * below the protocols (the e2e tests multi-gateway-replica and brick-reboot show the same end to end):
 *
 *  - two ReplicaSets ("gateway 1" and "gateway 2") on one Redis store and the same three in-process
 *    bricks: a replica that gateway 1 records as stale is never read by gateway 2, with no background
 *    reload at all, and gateway 2's own marks keep its mirror current without asking the store again;
 *  - a brick that reports lost writes (onLostWrites) gets exactly the objects written since their last
 *    fsync recorded for heal, at once (before the durable mark), and the set's listeners hear it.
 */
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import type { ObjectId } from '../../cluster/bricks/brick';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { readRotation, ReplicaSet, type BrickSpec } from '../../cluster/bricks/replica-set';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { RedisKv } from '../../cluster/meta/engines/redis-engine';
import { BrickView } from './brick-view';
import { redisForFile } from './redis-server';

const SPECS: BrickSpec[] = ['b1', 'b2', 'b3'].map((id) => ({ id, address: `mem:${id}` }));

async function openSet(kv: RedisKv | MemoryKv, views: Map<string, BrickView>): Promise<ReplicaSet> {
  return ReplicaSet.open({ kv, replica: 3, bricks: SPECS, connect: (s) => views.get(s.id)!, journalRefreshMs: 0, probeIntervalMs: 3_600_000 });
}

describe('heal journal: marks of another gateway on one Redis', () => {
  const redis = redisForFile('journal-coherence');
  const closers: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it('gateway 2 never reads a replica gateway 1 marked stale, without any reload; its own marks need no store check', async () => {
    const prefix = redis.prefix();
    const kv1 = await RedisKv.open({ url: redis.url, keyPrefix: prefix });
    const kv2 = await RedisKv.open({ url: redis.url, keyPrefix: prefix });
    closers.push(() => kv1.close(), () => kv2.close());
    const bricks = new Map(SPECS.map((s) => [s.id, new MemoryBrick(1n << 40n, s.id)]));
    const v1 = new Map(SPECS.map((s) => [s.id, new BrickView(bricks.get(s.id)!)]));
    const v2 = new Map(SPECS.map((s) => [s.id, new BrickView(bricks.get(s.id)!)]));
    const g1 = await openSet(kv1, v1);
    const g2 = await openSet(kv2, v2);
    closers.push(() => g1.close(), () => g2.close());
    assert.ok(g1.journal.shared && g2.journal.shared, 'a Redis store is shared');

    // Objects whose reads start at b3 on gateway 2 (reads rotate over the replicas by chunk).
    const ids: ObjectId[] = [];
    for (let c = 0; ids.length < 4; c++) {
      const id = { fileId: 77n, chunk: c };
      await g1.writeRange(id, 0, Buffer.from(`old ${c}`));
      assert.equal((await g2.readRange(id, 0, 100)).toString(), `old ${c}`);
      if (g2.replicaIds(id)[readRotation(id, 3)] === 'b3') ids.push(id);
    }
    v1.get('b3')!.down = true;
    for (const id of ids) await g1.writeRange(id, 0, Buffer.from(`NEW ${id.chunk}`)); // b3 misses them: marked
    v1.get('b3')!.down = false;
    const checks = g2.journal.storeChecks;
    for (const id of ids) assert.equal((await g2.readRange(id, 0, 100)).toString(), `NEW ${id.chunk}`, `chunk ${id.chunk} through gateway 2`);
    assert.ok(g2.journal.storeChecks > checks, 'gateway 2 found its mirror behind the journal version');
    for (const id of ids) assert.ok(g2.journal.isStale('b3', id), 'and now holds the marks');

    // Gateway 2 catches up in the background; afterwards its own marks keep the mirror current.
    await new Promise((r) => setTimeout(r, 600));
    const id = { fileId: 78n, chunk: 0 };
    await g2.writeRange(id, 0, Buffer.from('x'));
    v2.get('b2')!.down = true;
    await g2.writeRange(id, 0, Buffer.from('y')); // b2 missed: gateway 2's own mark
    v2.get('b2')!.down = false;
    const before = g2.journal.storeChecks;
    assert.equal((await g2.readRange(id, 0, 1)).toString(), 'y');
    assert.equal(g2.journal.storeChecks, before, 'no store lookup after this gateway\'s own mark');
    // Gateway 1 hears of that mark on its next read of the object.
    assert.equal((await g1.readRange(id, 0, 1)).toString(), 'y');
    assert.ok(g1.journal.isStale('b2', id));
  });

  it('a gateway holding the read lease chooses replicas without waiting: the version comes from its read cache', async () => {
    const kv = await RedisKv.open({ url: redis.url, keyPrefix: redis.prefix() });
    closers.push(() => kv.close());
    assert.equal(kv.cacheStats().held, true, 'the only gateway of a fresh key space takes the lease');
    const bricks = new Map(SPECS.map((s) => [s.id, new BrickView(new MemoryBrick(1n << 40n, s.id))]));
    const g = await openSet(kv, bricks);
    closers.push(() => g.close());
    const id = { fileId: 90n, chunk: 0 };
    await g.writeRange(id, 0, Buffer.from('fast'));
    assert.equal((await g.readRange(id, 0, 4)).toString(), 'fast'); // fills the cache with the version
    const hits = g.journal.currentHits;
    for (let i = 0; i < 3; i++) assert.equal((await g.readRange(id, 0, 4)).toString(), 'fast');
    assert.equal(g.journal.currentHits, hits + 3, 'every read knew the mirror current with no store round trip');
  });
});

describe('replica set: a brick that may have lost un-fsynced writes', () => {
  it('exactly the objects written since their last fsync are recorded for heal, at once; listeners hear it', async () => {
    const kv = new MemoryKv();
    const views = new Map(SPECS.map((s) => [s.id, new BrickView(new MemoryBrick(1n << 40n, s.id))]));
    const set = await openSet(kv, views);
    assert.equal(set.journal.shared, false, 'a one-process store needs no version check');
    let heard = 0;
    set.onLostWrites(() => heard++);
    const synced = { fileId: 5n, chunk: 0 };
    const unsynced = { fileId: 5n, chunk: 1 };
    const rewritten = { fileId: 6n, chunk: 0 };
    const dropped = { fileId: 7n, chunk: 0 };
    await set.writeRange(synced, 0, Buffer.from('durable'));
    await set.fsync(synced);
    await set.writeRange(unsynced, 0, Buffer.from('in the page cache only'));
    await set.writeRange(rewritten, 0, Buffer.from('one'));
    await set.fsync(rewritten);
    await set.truncate(rewritten, 1); // written again after its fsync
    await set.writeRange(dropped, 0, Buffer.from('gone'));
    await set.dropFrom(7n, 0);
    views.get('b2')!.restarted();
    assert.equal(heard, 1, 'the Volume hears it synchronously (it changes its write verifier)');
    // In the mirror at once: not read and not counted from now on, before the durable mark lands.
    assert.ok(set.journal.isStale('b2', unsynced));
    assert.ok(set.journal.isStale('b2', rewritten));
    assert.ok(!set.journal.isStale('b2', synced), 'an fsynced object is not affected');
    assert.ok(!set.journal.isStale('b2', dropped), 'nor a dropped one');
    assert.ok(!set.journal.isStale('b1', unsynced), 'nor the other bricks');
    assert.equal(set.stats.lostWriteMarks, 2);
    await new Promise((r) => setTimeout(r, 50));
    const reloaded = await openSet(kv, views);
    assert.ok(reloaded.journal.isStale('b2', unsynced) && reloaded.journal.isStale('b2', rewritten), 'the marks are durable');
    await reloaded.close();
    await set.close();
  });
});
