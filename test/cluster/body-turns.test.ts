/**
 * Transaction bodies of the in-process engines take turns (cluster/meta/engines/body-turns.ts):
 * concurrent read-modify-write transactions of one key do not conflict and all land; a body that waits
 * for real I/O, or runs another transaction inside it, holds nobody up for good.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { LmdbKv } from '../../cluster/meta/engines/lmdb-engine';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import type { Kv } from '../../cluster/meta/kv';
import { tempDir } from './helpers';

const KEY = Buffer.from('counter');
const dirs: Array<() => void> = [];
after(() => dirs.forEach((c) => c()));

async function increment(kv: Kv, durable: boolean, pause?: () => Promise<void>): Promise<void> {
  await kv.txn(
    async (tx) => {
      const cur = await tx.get(KEY);
      if (pause) await pause();
      tx.put(KEY, Buffer.from(String(cur ? Number(cur.toString()) + 1 : 1)));
    },
    { durable },
  );
}

async function value(kv: Kv): Promise<number> {
  const b = await kv.get(KEY);
  return b ? Number(b.toString()) : 0;
}

const engines: Array<{ name: string; make(): Kv }> = [
  { name: 'memory', make: () => new MemoryKv() },
  {
    name: 'lmdb',
    make: () => {
      const t = tempDir('turns');
      dirs.push(t.cleanup);
      return new LmdbKv({ path: t.dir });
    },
  },
];

for (const e of engines) {
  describe(`transaction bodies take turns (${e.name})`, () => {
    test('16 concurrent increments of one key started together: all land, none conflicts', async () => {
      const kv = e.make();
      try {
        for (const durable of [false, true]) {
          const before = kv.stats().conflicts;
          const start = await value(kv);
          await Promise.all(Array.from({ length: 16 }, () => increment(kv, durable)));
          assert.equal(await value(kv), start + 16);
          assert.equal(kv.stats().conflicts - before, 0, `durable ${durable}`);
        }
      } finally {
        await kv.close();
      }
    });

    test('a body that waits for I/O does not hold the others up; every increment lands', { timeout: 60_000 }, async () => {
      const kv = e.make();
      try {
        let go!: () => void;
        const io = new Promise<void>((r) => (go = r));
        const slow = increment(kv, false, () => io);
        // These finish while the slow body still waits (it gave up its turn when the event loop came round);
        // if it kept it, they would wait forever and the test would time out.
        await Promise.all(Array.from({ length: 8 }, () => increment(kv, true)));
        assert.equal(await value(kv), 8);
        go();
        await slow; // validated as before: it read a stale counter, so it ran again
        assert.equal(await value(kv), 9);
      } finally {
        await kv.close();
      }
    });

    test('a transaction run from inside another body completes (no deadlock)', { timeout: 60_000 }, async () => {
      const kv = e.make();
      try {
        await kv.txn(async (tx) => {
          await increment(kv, true);
          tx.put(Buffer.from('other'), Buffer.from('x'));
        });
        assert.equal(await value(kv), 1);
        assert.equal((await kv.get(Buffer.from('other')))?.toString(), 'x');
      } finally {
        await kv.close();
      }
    });
  });
}
