import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Kv } from '../../cluster/meta/kv';
import { LmdbKv } from '../../cluster/meta/engines/lmdb-engine';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { RedisKv } from '../../cluster/meta/engines/redis-engine';
import { Errc } from '../../cluster/vfs/errors';
import { rejectsWith, tempDir } from './helpers';
import { redisForFile } from './redis-server';

const k = (s: string) => Buffer.from(s, 'latin1');
const v = (s: string) => Buffer.from(s, 'latin1');
const tick = () => new Promise<void>((r) => setImmediate(r));

const dirs: Array<() => void> = [];
after(() => dirs.forEach((c) => c()));

const redis = redisForFile('kvtest');
const redisOpts = () => ({ url: redis.url, keyPrefix: redis.prefix() });

/** Writes a key behind a running transaction's back, as another process (gateway) would. */
async function localInterfere(kv: Kv, key: string, val: string): Promise<void> {
  await (kv as unknown as { apply: (w: unknown, d: boolean) => Promise<void> }).apply.call(kv, makeWrite(key, val), false);
}

interface Engine {
  name: string;
  make(): Promise<Kv>;
  /** Changes a key without going through `kv`'s own transactions (which would wait for a retrying one). */
  interfere(kv: Kv, key: string, val: string): Promise<void>;
}

const engines: Engine[] = [
  { name: 'memory', make: async () => new MemoryKv(), interfere: localInterfere },
  {
    name: 'lmdb',
    make: async () => {
      const t = tempDir('kv');
      dirs.push(t.cleanup);
      return new LmdbKv({ path: t.dir });
    },
    interfere: localInterfere,
  },
  {
    name: 'redis',
    make: () => RedisKv.open(redisOpts()),
    // A second client on the same store: another gateway.
    interfere: async (kv, key, val) => {
      const other = await RedisKv.open({ url: redis.url, keyPrefix: (kv as unknown as { opts: { keyPrefix: string } }).opts.keyPrefix });
      await other.txn(async (tx) => tx.put(k(key), v(val)));
      await other.close();
    },
  },
];

for (const { name, make, interfere } of engines) {
  describe(`kv ${name}`, () => {
    test('put/get/delete and ordered ranges with prefix, start, after, end, limit', async () => {
      const kv = await make();
      await kv.txn(async (tx) => {
        for (const s of ['a1', 'a2', 'a3', 'b1', 'b2', 'c', 'a\xff', 'a\x00']) tx.put(k(s), v('v' + s));
      });
      assert.deepEqual(await kv.get(k('a2')), v('va2'));
      assert.equal(await kv.get(k('zz')), undefined);
      const keys = async (r: Parameters<Kv['range']>[0]) => (await kv.range(r)).map((e) => e.key.toString('latin1'));
      assert.deepEqual(await keys({ prefix: k('a') }), ['a\x00', 'a1', 'a2', 'a3', 'a\xff']);
      assert.deepEqual(await keys({ prefix: k('a'), after: k('a1'), limit: 2 }), ['a2', 'a3']);
      assert.deepEqual(await keys({ start: k('a3'), end: k('b2') }), ['a3', 'a\xff', 'b1']);
      assert.deepEqual(await keys({ prefix: k('b'), limit: 0 }), []);
      await kv.txn(async (tx) => tx.delete(k('a2')));
      assert.deepEqual(await keys({ prefix: k('a'), start: k('a1'), limit: 2 }), ['a1', 'a3']);
      await kv.close();
    });

    test('a transaction reads its own writes, also in ranges', async () => {
      const kv = await make();
      await kv.txn(async (tx) => {
        tx.put(k('x1'), v('1'));
        tx.put(k('x3'), v('3'));
      });
      const seen = await kv.txn(async (tx) => {
        tx.put(k('x2'), v('2'));
        tx.delete(k('x3'));
        assert.deepEqual(await tx.get(k('x2')), v('2'));
        assert.equal(await tx.get(k('x3')), undefined);
        return (await tx.range({ prefix: k('x') })).map((e) => e.key.toString());
      });
      assert.deepEqual(seen, ['x1', 'x2']);
      await kv.close();
    });

    test('a throwing callback writes nothing', async () => {
      const kv = await make();
      await assert.rejects(
        kv.txn(async (tx) => {
          tx.put(k('t'), v('1'));
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await kv.get(k('t')), undefined);
      await kv.close();
    });

    test('optimistic concurrency: concurrent read-modify-write increments are never lost', async () => {
      const kv = await make();
      await kv.txn(async (tx) => tx.put(k('ctr'), v('0')));
      const inc = () =>
        kv.txn(async (tx) => {
          const n = Number((await tx.get(k('ctr')))!.toString());
          await tick(); // let the others interleave
          tx.put(k('ctr'), v(String(n + 1)));
        });
      await Promise.all(Array.from({ length: 50 }, inc));
      assert.equal((await kv.get(k('ctr')))!.toString(), '50');
      assert.ok(kv.stats().conflicts > 0, 'the interleaving produced conflicts that were retried');
      await kv.close();
    });

    test('range reads are validated too (phantoms cause a retry)', async () => {
      const kv = await make();
      let runs = 0;
      const p = kv.txn(async (tx) => {
        runs++;
        const rows = await tx.range({ prefix: k('p') });
        await tick();
        await tick();
        tx.put(k('count'), v(String(rows.length)));
      });
      await kv.txn(async (tx) => tx.put(k('p1'), v('x')));
      await p;
      assert.equal((await kv.get(k('count')))!.toString(), '1');
      assert.ok(runs >= 2);
      await kv.close();
    });

    test('bounded retries end in DELAY', async () => {
      const kv = await make();
      await kv.txn(async (tx) => tx.put(k('hot'), v('0')));
      let flip = 0;
      const p = kv.txn(
        async (tx) => {
          await tx.get(k('hot'));
          // Someone else changes the key behind our back every time (not through `kv`: a nested txn
          // would wait for this one's retry lock).
          await interfere(kv, 'hot', String(++flip));
          tx.put(k('x'), v('1'));
        },
        { maxAttempts: 3 },
      );
      await rejectsWith(p, Errc.DELAY);
      await kv.close();
    });

    test('getMany and rangeKeys answer like get and range, also inside a transaction', async () => {
      const kv = await make();
      await kv.txn(async (tx) => {
        for (const s of ['m1', 'm2', 'm3', 'n1']) tx.put(k(s), v('v' + s));
      });
      const many = await kv.getMany([k('m2'), k('zz'), k('m1')]);
      assert.deepEqual(many.map((b) => b?.toString()), ['vm2', undefined, 'vm1']);
      const keys = (bs: Buffer[]) => bs.map((b) => b.toString('latin1'));
      assert.deepEqual(keys(await kv.rangeKeys({ prefix: k('m') })), ['m1', 'm2', 'm3']);
      assert.deepEqual(keys(await kv.rangeKeys({ prefix: k('m'), after: k('m1'), limit: 1 })), ['m2']);
      assert.deepEqual(keys(await kv.rangeKeys({ start: k('m2'), end: k('n1') })), ['m2', 'm3']);
      await kv.txn(async (tx) => {
        tx.put(k('m0'), v('new'));
        tx.delete(k('m2'));
        assert.deepEqual(keys(await tx.rangeKeys({ prefix: k('m') })), ['m0', 'm1', 'm3']);
        assert.deepEqual((await tx.getMany([k('m0'), k('m2')])).map((b) => b?.toString()), ['new', undefined]);
      });
      assert.deepEqual(keys(await kv.rangeKeys({ prefix: k('m') })), ['m0', 'm1', 'm3']);
      await kv.close();
    });

    test('reads see every write at once: repeated reads, overwrites and deletes of one key', async () => {
      const kv = await make();
      for (let i = 0; i < 50; i++) {
        assert.equal((await kv.get(k('hot')))?.toString(), i === 0 ? undefined : String(i - 1));
        await kv.txn(async (tx) => tx.put(k('hot'), v(String(i))));
        assert.equal((await kv.get(k('hot')))!.toString(), String(i));
        assert.equal((await kv.getMany([k('hot')]))[0]!.toString(), String(i));
        if (i % 10 === 9) await tick(); // let LMDB commit in between
      }
      await kv.txn(async (tx) => tx.delete(k('hot')));
      assert.equal(await kv.get(k('hot')), undefined);
      await kv.sync();
      await tick();
      assert.equal(await kv.get(k('hot')), undefined);
      await kv.close();
    });

    test('non-durable commits are visible at once; durable ones resolve after the flush', async () => {
      const kv = await make();
      for (let i = 0; i < 200; i++) {
        await kv.txn(async (tx) => tx.put(k(`n${String(i).padStart(4, '0')}`), v(String(i))));
        assert.equal((await kv.get(k(`n${String(i).padStart(4, '0')}`)))!.toString(), String(i));
      }
      assert.equal((await kv.range({ prefix: k('n') })).length, 200);
      await kv.txn(async (tx) => tx.put(k('d'), v('1')), { durable: true });
      await kv.sync();
      assert.equal(kv.stats().durableCommits, 1);
      await kv.close();
    });
  });
}

import { SortedMap } from '../../cluster/meta/engines/sorted-map';
function makeWrite(key: string, val: string): SortedMap<Buffer | null> {
  const m = new SortedMap<Buffer | null>();
  m.set(key, Buffer.from(val));
  return m;
}

test('lmdb: data survives close and reopen; the overlay drains', async () => {
  const t = tempDir('kv-reopen');
  try {
    let kv = new LmdbKv({ path: t.dir });
    await kv.txn(async (tx) => tx.put(k('early'), v('1')));
    assert.ok(kv.overlaySize() > 0, 'not committed by LMDB yet...');
    assert.equal((await kv.get(k('early')))!.toString(), '1', '...but already visible');
    assert.equal((await kv.range({ prefix: k('ear') })).length, 1);
    const burst = [];
    for (let i = 0; i < 100; i++) burst.push(kv.txn(async (tx) => tx.put(k(`r${i}`), v(String(i)))));
    await Promise.all(burst);
    assert.equal((await kv.range({ prefix: k('r') })).length, 100);
    await kv.checkpoint();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(kv.overlaySize(), 0);
    await kv.close();
    kv = new LmdbKv({ path: t.dir });
    assert.equal((await kv.get(k('r42')))!.toString(), '42');
    assert.equal((await kv.range({ prefix: k('r') })).length, 100);
    await kv.close();
  } finally {
    t.cleanup();
  }
});

test('lmdb: the point-read cache stays coherent and bounded', async () => {
  const t = tempDir('kv-cache');
  try {
    const kv = new LmdbKv({ path: t.dir, cacheEntries: 8 });
    await kv.txn(async (tx) => {
      for (let i = 0; i < 20; i++) tx.put(k(`c${i}`), v(`a${i}`));
    });
    await kv.checkpoint();
    await tick();
    // Fill and overflow the cache; every read is still right.
    for (let round = 0; round < 2; round++) for (let i = 0; i < 20; i++) assert.equal((await kv.get(k(`c${i}`)))!.toString(), `a${i}`);
    // A cached value is replaced by a write, also across LMDB's commit (overlay gone).
    assert.equal((await kv.get(k('c19')))!.toString(), 'a19');
    await kv.txn(async (tx) => tx.put(k('c19'), v('b19')));
    assert.equal((await kv.get(k('c19')))!.toString(), 'b19');
    await kv.checkpoint();
    await tick();
    assert.equal(kv.overlaySize(), 0);
    assert.equal((await kv.get(k('c19')))!.toString(), 'b19');
    // Known-absent keys are cached too, and a later put is seen.
    assert.equal(await kv.get(k('absent')), undefined);
    await kv.txn(async (tx) => tx.put(k('absent'), v('here')));
    await kv.sync();
    await tick();
    assert.equal((await kv.get(k('absent')))!.toString(), 'here');
    // Transactions validate against the same view: a conflicting write forces a retry.
    let runs = 0;
    await kv.txn(async (tx) => {
      runs++;
      const cur = (await tx.get(k('c1')))!.toString();
      if (runs === 1) await kv.txn(async (t2) => t2.put(k('c1'), v('bumped')));
      tx.put(k('c1'), v(cur + '+'));
    });
    assert.equal(runs, 2);
    assert.equal((await kv.get(k('c1')))!.toString(), 'bumped+');
    await kv.close();
  } finally {
    t.cleanup();
  }
});
