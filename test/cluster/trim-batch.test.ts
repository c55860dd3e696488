/**
 * Batched trims of freed files (cluster/vfs/trim-batch.ts, Brick.dropMany): files removed together are
 * gone from the brick, descriptors of their objects are released, a drop that fails keeps only its own
 * trim record, and a crash in the middle of a batch leaves nothing behind once the volume reopens. The
 * crash child is this same file, run with GW_TRIM_CRASH_CHILD set.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Brick, DropRequest } from '../../cluster/bricks/brick';
import { LocalBrick } from '../../cluster/bricks/local-brick';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { b, ROOT, tempDir } from './helpers';

const CHUNK = 64 * 1024;
const EXPORTS = [defaultExport('t', 1)];
const FILES = 24;

/** Every object file under a brick directory (chunk 0 files and ".d" contents), and the ".d" directories. */
function objectsIn(brickDir: string): { objects: string[]; chunkDirs: string[] } {
  const objects: string[] = [];
  const chunkDirs: string[] = [];
  for (const fan of readdirSync(brickDir)) {
    const p = join(brickDir, fan);
    if (!statSync(p).isDirectory()) continue;
    for (const name of readdirSync(p)) {
      if (name.endsWith('.d')) {
        chunkDirs.push(name);
        for (const c of readdirSync(join(p, name))) objects.push(`${name}/${c}`);
      } else objects.push(name);
    }
  }
  return { objects, chunkDirs };
}

/** Descriptors of this process open on files under `dir`. */
function fdsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** A view of `local` whose dropMany goes through `dropMany` (dropFrom and the rest as they are). */
function withDropMany(local: LocalBrick, dropMany: (reqs: readonly DropRequest[]) => Promise<unknown[]>): Brick {
  return Object.assign(Object.create(local) as Brick, { dropMany });
}

/** Files with data: most one chunk, every fourth three chunks; half written UNSTABLE (write-behind), half FILE_SYNC. */
async function makeFiles(v: Volume, n: number): Promise<bigint[]> {
  const root = await v.rootHandle(1);
  const ids: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const f = await v.create(ROOT, root, b(`f${i}`), { mode: CreateMode.GUARDED });
    const len = i % 4 === 0 ? 2 * CHUNK + 100 : 4096;
    await v.write(ROOT, f.handle, 0n, Buffer.alloc(len, i), i % 2 ? Stable.UNSTABLE : Stable.FILE_SYNC);
    ids.push(f.attr.fileId);
  }
  return ids;
}

async function removeAll(v: Volume, n: number): Promise<void> {
  const root = await v.rootHandle(1);
  await Promise.all(Array.from({ length: n }, (_, i) => v.remove(ROOT, root, b(`f${i}`))));
}

async function crashChild(dir: string): Promise<void> {
  const local = await LocalBrick.open(join(dir, 'brick'));
  // The first batch drops half of its files, then the process dies: a crash in the middle of a batch.
  const brick = withDropMany(local, async (reqs) => {
    if (reqs.length < 2) return local.dropMany(reqs);
    await local.dropMany(reqs.slice(0, reqs.length >> 1));
    process.kill(process.pid, 'SIGKILL');
    return new Promise<unknown[]>(() => undefined);
  });
  const v = await openVolume({ engine: 'lmdb', dataDir: dir, exports: EXPORTS, chunkSize: CHUNK, brick });
  await makeFiles(v, FILES);
  await removeAll(v, FILES);
  await v.settle();
  process.exit(3); // not reached when a batch had two files or more
}

if (process.env.GW_TRIM_CRASH_CHILD) {
  void crashChild(process.env.GW_TRIM_CRASH_CHILD);
} else {
  test('files removed together are dropped in batches: every object and ".d" directory is gone, no descriptor stays open', async () => {
    const t = tempDir('trim-batch');
    try {
      const local = await LocalBrick.open(join(t.dir, 'brick'));
      const sizes: number[] = [];
      const brick = withDropMany(local, (reqs) => {
        sizes.push(reqs.length);
        return local.dropMany(reqs);
      });
      const v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS, chunkSize: CHUNK, brick, writeBehindBytes: 1 << 20 });
      await makeFiles(v, FILES);
      assert.equal(objectsIn(join(t.dir, 'brick')).objects.length, FILES + 2 * (FILES / 4));
      assert.ok(fdsUnder(join(t.dir, 'brick')).length > 0, 'the brick keeps descriptors of written objects');
      await removeAll(v, FILES);
      await v.settle();
      const left = objectsIn(join(t.dir, 'brick'));
      assert.deepEqual(left.objects, []);
      assert.deepEqual(left.chunkDirs, []);
      assert.deepEqual(await v.ns.pendingGc(), []);
      assert.equal(sizes.reduce((a, x) => a + x, 0), FILES, 'every freed file went through dropMany');
      assert.ok(Math.max(...sizes) > 1, `batches of ${sizes.join(',')}`);
      // Only the directories' descriptors remain (the fan-out directories and the root for their fsyncs).
      for (const p of fdsUnder(join(t.dir, 'brick'))) assert.ok(statSync(p.replace(/ \(deleted\)$/, '')).isDirectory(), `descriptor of an object left open: ${p}`);
      // Names can be used again and hold new data.
      const root = await v.rootHandle(1);
      const again = await v.create(ROOT, root, b('f0'), { mode: CreateMode.GUARDED });
      await v.write(ROOT, again.handle, 0n, b('fresh'), Stable.FILE_SYNC);
      assert.equal((await v.read(ROOT, again.handle, 0n, 100)).data.toString(), 'fresh');
      await v.close();
    } finally {
      t.cleanup();
    }
  });

  test('a drop that fails in a batch keeps only that file\'s trim record; the next open replays it', async () => {
    const t = tempDir('trim-fail');
    try {
      const local = await LocalBrick.open(join(t.dir, 'brick'));
      let victim = -1n;
      const brick = withDropMany(local, async (reqs) => {
        const rest = reqs.filter((r) => r.fileId !== victim);
        const errs = await local.dropMany(rest);
        return reqs.map((r) => (r.fileId === victim ? new Error('brick down') : errs[rest.indexOf(r)]));
      });
      let v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS, chunkSize: CHUNK, brick });
      const ids = await makeFiles(v, 8);
      victim = ids[4]!; // three chunks
      await removeAll(v, 8);
      await v.settle();
      assert.deepEqual((await v.ns.pendingGc()).map((j) => j.fileId), [victim]);
      for (const id of ids) assert.equal(!!(await local.stat({ fileId: id, chunk: 0 })), id === victim);
      assert.ok(await local.stat({ fileId: victim, chunk: 2 }));
      await v.close();
      v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS });
      assert.deepEqual(await v.ns.pendingGc(), []);
      await v.close();
      const left = objectsIn(join(t.dir, 'brick'));
      assert.deepEqual(left.objects, []);
      assert.deepEqual(left.chunkDirs, []);
    } finally {
      t.cleanup();
    }
  });

  test('kill -9 in the middle of a batch: after a restart nothing of the removed files is left', async () => {
    const t = tempDir('trim-crash');
    try {
      const child = spawn(process.execPath, [__filename], { env: { ...process.env, GW_TRIM_CRASH_CHILD: t.dir }, stdio: ['ignore', 'inherit', 'inherit'] });
      const sig = await new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, s) => r(s)));
      assert.equal(sig, 'SIGKILL', 'the child died inside a batch');
      const before = objectsIn(join(t.dir, 'brick')).objects.length;
      const all = FILES + 2 * (FILES / 4);
      assert.ok(before > 0 && before < all, `a batch was half done at the crash: ${before} of ${all} objects left`);
      const v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS });
      assert.deepEqual(await v.ns.pendingGc(), []);
      const root = await v.rootHandle(1);
      assert.deepEqual((await v.readdir(ROOT, root, 0n, undefined, 1000, false)).entries.map((e) => e.name.toString()).filter((n) => n !== '.' && n !== '..'), []);
      await v.close();
      const left = objectsIn(join(t.dir, 'brick'));
      assert.deepEqual(left.objects, []);
      assert.deepEqual(left.chunkDirs, []);
      assert.ok(existsSync(join(t.dir, 'brick', 'LAYOUT')));
    } finally {
      t.cleanup();
    }
  });
}
