/**
 * The Redis metadata engine as a cluster of gateways uses it: several engine instances (each with its own
 * connection, retry mutex and pending-commit guesses, exactly as separate gateway processes have) on one
 * real redis-server. Atomic namespace changes under concurrent gateways (DESIGN invariant 3), coherence
 * between gateways (handles, attributes, listings), and a Redis crash (kill -9) with appendonly on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { RedisKv } from '../../cluster/meta/engines/redis-engine';
import { TAG_INODE } from '../../cluster/meta/records';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, FileType, Stable, type Handle } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { b, rejectsWith, rng, ROOT } from './helpers';
import { freePort, redisForFile, startRedis } from './redis-server';

const redis = redisForFile('rtest');

const newPrefix = () => redis.prefix();

/** A "gateway": its own engine instance on the shared store, and (optionally) a shared brick. */
function gateway(prefix: string, opts: { brick?: MemoryBrick; url?: string; commandTimeoutMs?: number; cacheEntries?: number } = {}): Promise<Volume> {
  const brick = opts.brick;
  return openVolume({
    engine: 'redis',
    redis: {
      url: opts.url ?? redis.url,
      keyPrefix: prefix,
      ...(opts.commandTimeoutMs ? { commandTimeoutMs: opts.commandTimeoutMs } : {}),
      ...(opts.cacheEntries !== undefined ? { cacheEntries: opts.cacheEntries } : {}),
    },
    exports: [defaultExport('t', 1)],
    chunkSize: 64 * 1024,
    // A shared brick survives either gateway's close (a brick node outlives its clients).
    brick: brick ? Object.assign(Object.create(brick) as MemoryBrick, { close: async () => undefined }) : new MemoryBrick(),
  });
}

const EXPECTED = new Set<Errc>([Errc.NOENT, Errc.EXIST, Errc.NOTEMPTY, Errc.ISDIR, Errc.NOTDIR, Errc.STALE]);

describe('redis engine: several gateways on one store', () => {
  test('renames, links and removes across directories from two gateways: link counts and entries stay exact', async () => {
    const prefix = newPrefix();
    const g1 = await gateway(prefix);
    const g2 = await gateway(prefix);
    const root1 = await g1.rootHandle(1);
    const D = 4;
    const dirs: Handle[] = [];
    for (let i = 0; i < D; i++) dirs.push((await g1.mkdir(ROOT, root1, b(`d${i}`), {})).handle);
    const files: Handle[] = [];
    for (let i = 0; i < 24; i++) files.push((await g1.create(ROOT, dirs[i % D]!, b(`f${i}`), { mode: CreateMode.GUARDED })).handle);
    for (let i = 0; i < 3; i++) await g1.mkdir(ROOT, dirs[0]!, b(`s${i}`), {});

    let unexpected: unknown[] = [];
    let ops = 0;
    const storm = async (g: Volume, seed: number) => {
      const r = rng(seed);
      const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)]!;
      const fname = () => b(`f${Math.floor(r() * 30)}`);
      // The root handle minted by gateway 1 serves gateway 2 as well.
      const worker = async () => {
        for (let i = 0; i < 60; i++) {
          const x = r();
          try {
            if (x < 0.45) await g.rename(ROOT, pick(dirs), fname(), pick(dirs), fname());
            else if (x < 0.65) await g.link(ROOT, pick(files), pick(dirs), fname());
            else if (x < 0.8) await g.remove(ROOT, pick(dirs), fname());
            else if (x < 0.9) {
              const s = b(`s${Math.floor(r() * 3)}`);
              await g.rename(ROOT, pick(dirs), s, pick(dirs), s);
            } else await g.create(ROOT, pick(dirs), fname(), { mode: CreateMode.GUARDED });
            ops++;
          } catch (e) {
            if (!(e instanceof CoreError) || !EXPECTED.has(e.errc)) unexpected.push(e);
          }
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
    };
    await Promise.all([storm(g1, 11), storm(g2, 22)]);
    assert.deepEqual(unexpected, [], 'only the namespace errors the random operations provoke');
    assert.ok(ops > 100, `enough operations succeeded (${ops})`);
    assert.ok(g1.kv.stats().conflicts + g2.kv.stats().conflicts > 0, 'the gateways did contend');

    // Check through a third, fresh gateway: nothing it sees comes from the other two's memory.
    const g3 = await gateway(prefix);
    const root3 = await g3.rootHandle(1);
    const linkCount = new Map<bigint, number>();
    let subdirs = 0;
    for (let i = 0; i < D; i++) {
      const d = (await g3.lookup(ROOT, root3, b(`d${i}`))).handle;
      const list = await g3.readdir(ROOT, d, 0n, undefined, 1000, true);
      assert.ok(list.eof);
      let here = 0;
      for (const e of list.entries) {
        // The cookie index row and the name entry agree.
        assert.equal((await g3.lookup(ROOT, d, e.name)).attr.fileId, e.fileId);
        if (e.type === FileType.DIR) {
          here++;
          assert.equal((await g3.lookup(ROOT, e.handle!, b('..'))).attr.fileId, list.dirAttr.fileId, "a moved directory's '..' follows it");
        } else linkCount.set(e.fileId, (linkCount.get(e.fileId) ?? 0) + 1);
      }
      subdirs += here;
      assert.equal(list.dirAttr.nlink, 2 + here, `d${i}: nlink = 2 + subdirectories`);
    }
    assert.equal(subdirs, 3, 'directories moved, none lost or duplicated');
    for (const [id, n] of linkCount) {
      const attr = await g3.getattr(ROOT, await handleOf(g3, root3, id, D));
      assert.equal(attr.nlink, n, `file ${id}: nlink equals the names that point to it`);
    }
    // No inode without a name (a lost nlink decrement would leak one).
    const inodes = await g3.kv.rangeKeys({ prefix: Buffer.from([TAG_INODE]) });
    assert.equal(inodes.length, 1 + D + 3 + linkCount.size, 'inodes = root + dirs + subdirs + named files');
    await Promise.all([g1.close(), g2.close(), g3.close()]);
  });

  test('a handle from gateway 1 works on gateway 2; changes on one are seen by the other at once', async () => {
    const prefix = newPrefix();
    const brick = new MemoryBrick();
    const g1 = await gateway(prefix, { brick });
    const g2 = await gateway(prefix, { brick });
    const root1 = await g1.rootHandle(1);
    const root2 = await g2.rootHandle(1);
    assert.deepEqual(root2, root1, 'the same root handle: the handle key is shared through the store');
    const f = await g1.create(ROOT, root1, b('shared'), { mode: CreateMode.GUARDED, attrs: { mode: 0o600 } });
    // Gateway 2 takes gateway 1's handle as it is.
    const a2 = await g2.getattr(ROOT, f.handle);
    assert.equal(a2.fileId, f.attr.fileId);
    assert.equal(a2.mode, 0o600);
    assert.deepEqual((await g2.lookup(ROOT, root2, b('shared'))).handle, f.handle);
    // Data written through 1 (stable) is read through 2; the size comes from the shared store.
    const data = Buffer.from('hello from gateway 1\n'.repeat(5000));
    await g1.write(ROOT, f.handle, 0n, data, Stable.FILE_SYNC);
    const rd = await g2.read(ROOT, f.handle, 0n, data.length + 10);
    assert.equal(rd.data.subarray(0, data.length).toString('latin1'), data.toString('latin1'));
    assert.ok(rd.eof);
    assert.equal(rd.attr.size, BigInt(data.length));
    rd.release?.();
    // Attribute changes through 2 are visible through 1 on the next call (1 holds the read lease and
    // caches; 2's commit is accepted only once 1 has emptied its cache: redis-lease.test.ts).
    const before1 = await g1.getattr(ROOT, f.handle);
    await g2.setattr(ROOT, f.handle, { mode: 0o644 });
    const after1 = await g1.getattr(ROOT, f.handle);
    assert.equal(after1.mode, 0o644);
    assert.ok(after1.change > before1.change);
    // Listings and lookups: created through 2, listed through 1.
    await g2.mkdir(ROOT, root2, b('dir2'), {});
    const names = (await g1.readdir(ROOT, root1, 0n, undefined, 100, false)).entries.map((e) => e.name.toString());
    assert.deepEqual(names.sort(), ['dir2', 'shared']);
    // Removed through 2: gateway 1's handle is STALE at once, never another file.
    await g2.remove(ROOT, root2, b('shared'));
    await rejectsWith(g1.getattr(ROOT, f.handle), Errc.STALE);
    await rejectsWith(g1.lookup(ROOT, root1, b('shared')), Errc.NOENT);
    // Inode numbers handed out by both gateways never collide (blocks reserved from one counter).
    const ids = new Set<bigint>();
    for (let i = 0; i < 10; i++) {
      ids.add((await g1.create(ROOT, root1, b(`a${i}`), { mode: CreateMode.GUARDED })).attr.fileId);
      ids.add((await g2.create(ROOT, root2, b(`b${i}`), { mode: CreateMode.GUARDED })).attr.fileId);
    }
    assert.equal(ids.size, 20);
    await Promise.all([g1.close(), g2.close()]);
  });

  test('concurrent creates in one directory from two gateways: all land, the directory counts them all', async () => {
    const prefix = newPrefix();
    const g1 = await gateway(prefix);
    const g2 = await gateway(prefix);
    const d = await g1.mkdir(ROOT, await g1.rootHandle(1), b('hot'), {});
    const mk = (g: Volume, tag: string) => Promise.all(Array.from({ length: 100 }, (_, i) => g.create(ROOT, d.handle, b(`${tag}${i}`), { mode: CreateMode.GUARDED })));
    await Promise.all([mk(g1, 'x'), mk(g2, 'y')]);
    const list = await g2.readdir(ROOT, d.handle, 0n, undefined, 1000, false);
    assert.equal(list.entries.length, 200);
    // A racing GUARDED create of one name from both gateways: exactly one wins.
    const race = await Promise.allSettled([g1.create(ROOT, d.handle, b('one'), { mode: CreateMode.GUARDED }), g2.create(ROOT, d.handle, b('one'), { mode: CreateMode.GUARDED })]);
    assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
    await Promise.all([g1.close(), g2.close()]);
  });
});

/** The handle of a file by id, found by listing the top directories (test helper). */
async function handleOf(g: Volume, root: Handle, id: bigint, dirs: number): Promise<Handle> {
  for (let i = 0; i < dirs; i++) {
    const d = (await g.lookup(ROOT, root, b(`d${i}`))).handle;
    const list = await g.readdir(ROOT, d, 0n, undefined, 1000, true);
    const e = list.entries.find((x) => x.fileId === id);
    if (e) return e.handle!;
  }
  throw new Error(`no name for inode ${id}`);
}

describe('redis engine: Redis restarts and refusals', () => {
  test('kill -9 Redis during creates: every acknowledged create survives, calls in the outage fail with DELAY, the engine reconnects by itself', async () => {
    const r = await startRedis();
    // Declared outside the try: whatever fails, the writers stop and the gateway closes, or this test
    // file's process would never exit (and the whole suite would wait for it).
    let stop = false;
    let writers: Promise<void>[] = [];
    let g: Volume | undefined;
    try {
      const prefix = newPrefix();
      // No read lease: a lease holder may answer point reads from its cache during an outage (nobody else
      // can write meanwhile), which is not what this test looks at.
      g = await gateway(prefix, { url: r.url, commandTimeoutMs: 1500, cacheEntries: 0 });
      const gw = g;
      const root = await gw.rootHandle(1);
      const acked: string[] = [];
      let n = 0;
      let failures = 0;
      const writer = async () => {
        while (!stop) {
          const name = `c${n++}`;
          try {
            await gw.create(ROOT, root, b(name), { mode: CreateMode.GUARDED });
            acked.push(name);
          } catch (e) {
            assert.ok(e instanceof CoreError && (e.errc === Errc.DELAY || e.errc === Errc.IO || e.errc === Errc.EXIST), `outage error: ${String(e)}`);
            failures++;
            await new Promise((res) => setTimeout(res, 50));
          }
        }
      };
      writers = Array.from({ length: 4 }, writer);
      while (acked.length < 150) await new Promise((res) => setTimeout(res, 10));
      await r.kill9();
      const before = acked.length;
      // A call during the outage fails, and in bounded time.
      const t0 = Date.now();
      await rejectsWith(gw.getattr(ROOT, root), Errc.DELAY);
      assert.ok(Date.now() - t0 < 5000, 'an outage answers within the command timeout');
      await r.restart();
      // The same engine instance comes back without being reopened.
      const deadline = Date.now() + 20_000;
      while (acked.length < before + 50 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      stop = true;
      await Promise.all(writers);
      assert.ok(acked.length >= before + 50, `creates resumed after the restart (${acked.length - before} since)`);
      assert.ok(failures > 0, 'the outage was noticed');
      // Every acknowledged create is in the restarted store (checked through a fresh connection too).
      const g2 = await gateway(prefix, { url: r.url });
      const root2 = await g2.rootHandle(1);
      const names = new Set<string>();
      let cookie = 0n;
      let verf: Buffer | undefined;
      for (;;) {
        const page = await g2.readdir(ROOT, root2, cookie, verf, 1000, false);
        for (const e of page.entries) names.add(e.name.toString());
        if (page.eof) break;
        cookie = page.entries[page.entries.length - 1]!.cookie;
        verf = page.verifier;
      }
      const lost = acked.filter((x) => !names.has(x));
      assert.deepEqual(lost, [], 'no acknowledged create lost');
      assert.equal((await gw.getattr(ROOT, root)).fileId, (await g2.getattr(ROOT, root2)).fileId);
      await g2.close();
    } finally {
      stop = true;
      await Promise.allSettled(writers);
      await g?.close().catch(() => undefined);
      await r.cleanup();
    }
  });

  test('a Redis without appendonly is refused (strict) and accepted with a warning (relaxed)', async () => {
    const r = await startRedis(['--appendonly', 'no']);
    try {
      await assert.rejects(RedisKv.open({ url: r.url, keyPrefix: newPrefix() }), (e: unknown) => e instanceof CoreError && e.errc === Errc.IO && /appendonly=no/.test(e.message));
      const warnings: string[] = [];
      const kv = await RedisKv.open({ url: r.url, keyPrefix: newPrefix(), durability: 'relaxed', log: { info: () => undefined, warn: (_o, m) => warnings.push(m ?? '') } });
      assert.equal(kv.durabilityMode, 'none');
      assert.equal(warnings.length, 1);
      await kv.txn(async (tx) => tx.put(b('k'), b('v')), { durable: true });
      assert.equal((await kv.get(b('k')))!.toString(), 'v');
      await kv.close();
    } finally {
      await r.cleanup();
    }
  });

  test('a Redis that comes up a moment after the gateway: the open waits for it', async () => {
    const port = await freePort();
    const opening = RedisKv.open({ url: `redis://127.0.0.1:${port}`, keyPrefix: newPrefix(), connectTimeoutMs: 10_000 });
    await new Promise((res) => setTimeout(res, 500));
    const r = await startRedis([], port);
    try {
      const kv = await opening;
      assert.equal(kv.durabilityMode, 'fsync-always');
      await kv.close();
    } finally {
      await r.cleanup();
    }
  });

  test('an unreachable Redis fails the open in bounded time', async () => {
    const r = await startRedis();
    const url = r.url;
    await r.cleanup();
    const t0 = Date.now();
    await assert.rejects(RedisKv.open({ url, keyPrefix: newPrefix(), connectTimeoutMs: 1000, commandTimeoutMs: 1000 }), (e: unknown) => e instanceof CoreError);
    assert.ok(Date.now() - t0 < 10_000);
  });
});
