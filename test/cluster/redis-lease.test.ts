/**
 * The Redis engine's read lease and cache (cluster/meta/engines/redis-lease.ts): one gateway answers
 * plain reads from memory while it holds the lease, and must never answer a value another gateway has
 * changed since (NFS close-to-open across gateways). Engine instances stand for gateway processes (each
 * has its own connections); the dead holder is a real process killed with SIGKILL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { RedisKv } from '../../cluster/meta/engines/redis-engine';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { Errc } from '../../cluster/vfs/errors';
import { CreateMode } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { b, rejectsWith, ROOT } from './helpers';
import { redisForFile } from './redis-server';

const redis = redisForFile('ltest');

const newPrefix = () => redis.prefix();
const K = (s: string) => Buffer.from(s);

function open(prefix: string, extra: { leaseTtlMs?: number; cacheEntries?: number } = {}): Promise<RedisKv> {
  return RedisKv.open({ url: redis.url, keyPrefix: prefix, leaseTtlMs: extra.leaseTtlMs ?? 1500, ...(extra.cacheEntries !== undefined ? { cacheEntries: extra.cacheEntries } : {}) });
}

async function put(kv: RedisKv, k: string, v: string): Promise<void> {
  await kv.txn(async (tx) => tx.put(K(k), K(v)), { durable: true });
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('redis engine: read lease and cache', () => {
  test('the holder answers reads from memory; a change committed through another gateway is what the holder reads next', async () => {
    const prefix = newPrefix();
    const a = await open(prefix);
    const c = await open(prefix);
    try {
      assert.equal(a.cacheStats().held, true, 'the first gateway takes the lease');
      assert.equal(c.cacheStats().held, false, 'one holder at a time');
      await put(a, 'k', 'v0');
      assert.equal((await a.get(K('k')))?.toString(), 'v0');
      const hits = a.cacheStats().hits;
      assert.equal((await a.get(K('k')))?.toString(), 'v0');
      assert.ok(a.cacheStats().hits > hits, 'a second read of the holder comes from memory');
      // Alternate writers: every acknowledged change is read back by both at once, the holder included
      // (its cache would answer the old value if the other's commit had not taken the lease away first).
      for (let i = 1; i <= 12; i++) {
        const [w, r] = i % 2 ? [c, a] : [a, c];
        await put(w, 'k', `v${i}`);
        assert.equal((await r.get(K('k')))?.toString(), `v${i}`, `round ${i}: the other gateway's read`);
        assert.equal((await w.get(K('k')))?.toString(), `v${i}`, `round ${i}: the writer's read`);
        const many = await r.getMany([K('k'), K('absent')]);
        assert.deepEqual(
          many.map((x) => x?.toString()),
          [`v${i}`, undefined],
        );
      }
      // The lease comes back to a gateway once nobody contends (after the contended mark lapses).
      await until('a gateway holds the lease again', () => a.cacheStats().held || c.cacheStats().held);
      const holder = a.cacheStats().held ? a : c;
      const other = holder === a ? c : a;
      await holder.get(K('k'));
      await put(other, 'k', 'last');
      assert.equal((await holder.get(K('k')))?.toString(), 'last');
    } finally {
      await Promise.all([a.close(), c.close()]);
    }
  });

  test('read-modify-write from two gateways while the lease moves between them: no increment lost', async () => {
    const prefix = newPrefix();
    const a = await open(prefix);
    const c = await open(prefix);
    try {
      await put(a, 'n', '0');
      const inc = (kv: RedisKv) =>
        kv.txn(async (tx) => {
          const v = Number((await tx.get(K('n')))!.toString());
          tx.put(K('n'), K(String(v + 1)));
        });
      await Promise.all([...Array.from({ length: 40 }, () => inc(a)), ...Array.from({ length: 40 }, () => inc(c))]);
      assert.equal((await a.get(K('n')))?.toString(), '80');
      assert.equal((await c.get(K('n')))?.toString(), '80');
    } finally {
      await Promise.all([a.close(), c.close()]);
    }
  });

  test('a holder killed with SIGKILL: another gateway still commits (after the lease expires) and reads what it wrote', async () => {
    const prefix = newPrefix();
    const engine = join(__dirname, '..', '..', 'cluster', 'meta', 'engines', 'redis-engine.js');
    const script = `
      const { RedisKv } = require(${JSON.stringify(engine)});
      RedisKv.open({ url: ${JSON.stringify(redis.url)}, keyPrefix: ${JSON.stringify(prefix)}, leaseTtlMs: 1000 }).then(async (kv) => {
        await kv.txn(async (tx) => tx.put(Buffer.from('k'), Buffer.from('from-dead')), { durable: true });
        await kv.get(Buffer.from('k'));
        const t = setInterval(() => { if (kv.cacheStats().held) { clearInterval(t); console.log('held'); } }, 10);
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
        child.once('exit', (code) => reject(new Error(`holder exited early (${code})`)));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const c = await open(prefix);
      try {
        assert.equal(c.cacheStats().held, false, 'the dead process still holds the lease in Redis');
        assert.equal((await c.get(K('k')))?.toString(), 'from-dead');
        await put(c, 'k', 'after');
        assert.equal((await c.get(K('k')))?.toString(), 'after');
      } finally {
        await c.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  test('cacheEntries 0: no lease, every read asks Redis', async () => {
    const prefix = newPrefix();
    const a = await open(prefix, { cacheEntries: 0 });
    const c = await open(prefix);
    try {
      assert.equal(a.cacheStats().held, false);
      assert.equal(c.cacheStats().held, true, 'a gateway without a cache takes no lease and leaves it to others');
      await put(a, 'k', 'x');
      assert.equal((await c.get(K('k')))?.toString(), 'x');
    } finally {
      await Promise.all([a.close(), c.close()]);
    }
  });
});

/** Two "gateways" (volumes on their own engine instances) on one store. */
function gateway(prefix: string, brick: MemoryBrick): Promise<Volume> {
  return openVolume({
    engine: 'redis',
    redis: { url: redis.url, keyPrefix: prefix, leaseTtlMs: 1500 },
    exports: [defaultExport('t', 1)],
    chunkSize: 64 * 1024,
    brick: Object.assign(Object.create(brick) as MemoryBrick, { close: async () => undefined }),
  });
}

const engineOf = (v: Volume) => (v as unknown as { kv: RedisKv }).kv;

describe('redis engine: namespace changes against a gateway that caches', () => {
  test('rename across directories and hard links through gateway 2: gateway 1 (the lease holder) sees names, link counts and sizes at once', async () => {
    const prefix = newPrefix();
    const brick = new MemoryBrick();
    const g1 = await gateway(prefix, brick);
    const g2 = await gateway(prefix, brick);
    try {
      assert.equal(engineOf(g1).cacheStats().held, true, 'gateway 1 holds the lease');
      const r1 = await g1.rootHandle(1);
      const d1 = await g1.mkdir(ROOT, r1, b('src'), {});
      const d2 = await g1.mkdir(ROOT, r1, b('dst'), {});
      const f = await g1.create(ROOT, d1.handle, b('f'), { mode: CreateMode.GUARDED });
      for (let round = 0; round < 5; round++) {
        // Gateway 1 looks everything up (from memory after the first time).
        const from = round % 2 ? d2 : d1;
        const to = round % 2 ? d1 : d2;
        assert.equal((await g1.lookup(ROOT, from.handle, b('f'))).attr.fileId, f.attr.fileId);
        await rejectsWith(g1.lookup(ROOT, to.handle, b('f')), Errc.NOENT);
        const nlinkBefore = (await g1.getattr(ROOT, f.handle)).nlink;
        // Gateway 2 moves the file across directories and adds a hard link.
        await g2.rename(ROOT, from.handle, b('f'), to.handle, b('f'));
        await g2.link(ROOT, f.handle, from.handle, b(`l${round}`));
        // Gateway 1's next calls see both changes.
        await rejectsWith(g1.lookup(ROOT, from.handle, b('f')), Errc.NOENT);
        assert.equal((await g1.lookup(ROOT, to.handle, b('f'))).attr.fileId, f.attr.fileId);
        assert.equal((await g1.lookup(ROOT, from.handle, b(`l${round}`))).attr.fileId, f.attr.fileId);
        assert.equal((await g1.getattr(ROOT, f.handle)).nlink, nlinkBefore + 1);
        // And gateway 1's own change (which takes the lease back sooner or later) is seen by gateway 2.
        await g1.setattr(ROOT, f.handle, { size: BigInt(round + 1) });
        assert.equal((await g2.getattr(ROOT, f.handle)).size, BigInt(round + 1));
      }
      const n1 = await g1.getattr(ROOT, f.handle);
      assert.equal(n1.nlink, 6);
      // Directory entry counts from either gateway agree with the names created.
      const list1 = (await g1.readdir(ROOT, d1.handle, 0n, undefined, 100, false)).entries.map((e) => e.name.toString()).sort();
      const list2 = (await g2.readdir(ROOT, d1.handle, 0n, undefined, 100, false)).entries.map((e) => e.name.toString()).sort();
      assert.deepEqual(list1, list2);
      assert.deepEqual(list1, ['l0', 'l2', 'l4']);
      // Removing the last names through 2 makes the handle STALE on 1.
      for (const n of ['l0', 'l2', 'l4']) await g2.remove(ROOT, d1.handle, b(n));
      for (const n of ['f', 'l1', 'l3']) await g2.remove(ROOT, d2.handle, b(n));
      await rejectsWith(g1.getattr(ROOT, f.handle), Errc.STALE);
    } finally {
      await Promise.all([g1.close(), g2.close()]);
    }
  });
});
