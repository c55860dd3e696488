/**
 * The lmdb volume across process lifetimes: reopen, crash (SIGKILL right after FILE_SYNC / COMMIT
 * returned), and brick trims interrupted by a crash. The crash child is this same file, run with
 * GW_CRASH_CHILD set (so no separate script ends up in the test directory).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Brick, DropRequest } from '../../cluster/bricks/brick';
import { LocalBrick } from '../../cluster/bricks/local-brick';
import { defaultExport } from '../../cluster/vfs/exports';
import { Errc } from '../../cluster/vfs/errors';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable } from '../../cluster/vfs/types';
import { b, rejectsWith, rng, ROOT, tempDir } from './helpers';

const CHUNK = 64 * 1024;
const EXPORTS = [defaultExport('t', 1)];

function pattern(seed: number, n: number): Buffer {
  const r = rng(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/** Writes in the child: [offset, length, seed]. Unaligned, crossing chunk boundaries. */
const SYNC_WRITES: Array<[number, number, number]> = [
  [100, 70_000, 1],
  [CHUNK * 2 - 5, 10, 2],
  [CHUNK * 3 + 17, 150_000, 3],
];

async function crashChild(dir: string): Promise<void> {
  const v = await openVolume({ engine: 'lmdb', dataDir: dir, exports: EXPORTS, chunkSize: CHUNK });
  const root = await v.rootHandle(1);
  const g = await v.create(ROOT, root, b('committed'), { mode: CreateMode.GUARDED });
  const d = await v.mkdir(ROOT, root, b('dir'), {});
  await v.rename(ROOT, root, b('committed'), d.handle, b('moved'));
  const f = await v.create(ROOT, root, b('synced'), { mode: CreateMode.GUARDED });
  writeFileSync(`${dir}/info.json`, JSON.stringify({ f: f.handle.toString('hex'), g: g.handle.toString('hex'), verf: v.writeVerifier().toString('hex') }));
  // From here on nothing durable happens except what each reply promised, and the kill comes in the
  // same turn as the last reply, so a missing fsync or a metadata update still in memory would show.
  void v.write(ROOT, f.handle, 1_000_000n, pattern(5, 1000), Stable.UNSTABLE); // may or may not survive
  await v.write(ROOT, g.handle, 5n, pattern(9, 200_000), Stable.UNSTABLE);
  await v.commit(ROOT, g.handle, 0n, 0);
  for (const [off, len, seed] of SYNC_WRITES) await v.write(ROOT, f.handle, BigInt(off), pattern(seed, len), Stable.FILE_SYNC);
  // Extended-attribute changes are acknowledged durable too (NFSv4.2 SETXATTR / REMOVEXATTR, SMB EAs).
  await v.setXattr(ROOT, f.handle, b('gone'), b('soon'), 'create');
  await v.setXattr(ROOT, f.handle, b('gone'), undefined, 'replace');
  await v.setXattr(ROOT, f.handle, b('kept'), pattern(7, 3000), 'create');
  process.kill(process.pid, 'SIGKILL');
}

if (process.env.GW_CRASH_CHILD) {
  void crashChild(process.env.GW_CRASH_CHILD);
} else {
  test('kill -9 right after FILE_SYNC, COMMIT and SETXATTR returned: data, sizes, handles and attributes survive', async () => {
    const t = tempDir('crash');
    try {
      const child = spawn(process.execPath, [__filename], { env: { ...process.env, GW_CRASH_CHILD: t.dir }, stdio: ['ignore', 'inherit', 'inherit'] });
      const sig = await new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, s) => r(s)));
      assert.equal(sig, 'SIGKILL');
      const info = JSON.parse(readFileSync(`${t.dir}/info.json`, 'utf8')) as { f: string; g: string; verf: string };

      const v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS });
      assert.equal(v.chunkSize, CHUNK);
      assert.notEqual(v.writeVerifier().toString('hex'), info.verf, 'the write verifier changes with the process');
      const fh = Buffer.from(info.f, 'hex');
      const a = await v.getattr(ROOT, fh);
      const end = SYNC_WRITES.reduce((m, [o, l]) => Math.max(m, o + l), 0);
      assert.ok(a.size >= BigInt(end), `size ${a.size} >= ${end}`);
      const all = await v.read(ROOT, fh, 0n, end);
      for (const [off, len, seed] of SYNC_WRITES) assert.ok(all.data.subarray(off, off + len).equals(pattern(seed, len)), `FILE_SYNC data at ${off}`);
      assert.deepEqual(await v.getXattr(ROOT, fh, b('kept')), pattern(7, 3000), 'the acknowledged extended attribute');
      assert.deepEqual(await v.listXattrs(ROOT, fh), [b('kept')], 'the acknowledged removal');
      const gh = Buffer.from(info.g, 'hex');
      const ga = await v.getattr(ROOT, gh);
      assert.equal(ga.size, 200_005n);
      assert.ok((await v.read(ROOT, gh, 5n, 200_000)).data.equals(pattern(9, 200_000)));
      const root = await v.rootHandle(1);
      const d = await v.lookup(ROOT, root, b('dir'));
      assert.deepEqual((await v.lookup(ROOT, d.handle, b('moved'))).handle, gh, 'the durable rename is there');
      await rejectsWith(v.lookup(ROOT, root, b('committed')), Errc.NOENT);
      await v.close();
    } finally {
      t.cleanup();
    }
  });

  test('reopen: handles, cookies and data survive; inode numbers are not reused; chunk size is the stored one', async () => {
    const t = tempDir('reopen');
    try {
      let v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS, chunkSize: CHUNK });
      let root = await v.rootHandle(1);
      const d = await v.mkdir(ROOT, root, b('d'), {});
      for (let i = 0; i < 10; i++) await v.create(ROOT, d.handle, b(`f${i}`), { mode: CreateMode.GUARDED });
      const f = await v.lookup(ROOT, d.handle, b('f3'));
      await v.write(ROOT, f.handle, 70_000n, Buffer.from('persist me'), Stable.UNSTABLE);
      const page = await v.readdir(ROOT, d.handle, 0n, undefined, 4, false);
      const maxId = (await v.readdir(ROOT, d.handle, 0n, undefined, 100, false)).entries.reduce((m, e) => (e.fileId > m ? e.fileId : m), 0n);
      await v.remove(ROOT, d.handle, b('f9'));
      const gone = await v.lookup(ROOT, d.handle, b('f8'));
      await v.remove(ROOT, d.handle, b('f8'));
      await v.close();

      v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS, chunkSize: 1 << 20 });
      assert.equal(v.chunkSize, CHUNK);
      root = await v.rootHandle(1);
      assert.equal((await v.getattr(ROOT, d.handle)).fileId, d.attr.fileId);
      assert.equal((await v.read(ROOT, f.handle, 70_000n, 100)).data.toString(), 'persist me');
      await rejectsWith(v.getattr(ROOT, gone.handle), Errc.STALE);
      const rest = await v.readdir(ROOT, d.handle, page.entries[3]!.cookie, page.verifier, 100, false);
      assert.deepEqual(rest.entries.map((e) => e.name.toString()), ['f4', 'f5', 'f6', 'f7']);
      const n = await v.create(ROOT, d.handle, b('new'), { mode: CreateMode.GUARDED });
      assert.ok(n.attr.fileId > maxId, 'inode numbers move on after a restart');
      await v.close();
    } finally {
      t.cleanup();
    }
  });

  test('a brick trim interrupted by a crash is replayed at open', async () => {
    const t = tempDir('gc');
    try {
      const local = await LocalBrick.open(`${t.dir}/brick`);
      let failing = true;
      const flaky: Brick = Object.assign(Object.create(local) as Brick, {
        dropFrom: async (id: bigint, first: number) => {
          if (failing) throw new Error('brick down');
          return local.dropFrom(id, first);
        },
        // The volume drops freed files in batches (trim-batch.ts): they fail the same way.
        dropMany: async (reqs: readonly DropRequest[]) => (failing ? reqs.map(() => new Error('brick down')) : local.dropMany(reqs)),
      });
      let v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS, chunkSize: CHUNK, brick: flaky });
      const root = await v.rootHandle(1);
      const f = await v.create(ROOT, root, b('victim'), { mode: CreateMode.GUARDED });
      await v.write(ROOT, f.handle, 0n, Buffer.alloc(3 * CHUNK, 7), Stable.FILE_SYNC);
      const id = f.attr.fileId;
      await v.remove(ROOT, root, b('victim'));
      await v.settle();
      assert.ok(await local.stat({ fileId: id, chunk: 1 }), 'objects still there: the trim failed');
      await v.close();
      failing = false;
      v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS });
      for (let c = 0; c < 3; c++) assert.equal(await v.brick.stat({ fileId: id, chunk: c }), undefined);
      assert.equal((await v.ns.pendingGc()).length, 0);
      await v.close();
    } finally {
      t.cleanup();
    }
  });
}
