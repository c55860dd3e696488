/**
 * Freed files' 'G' trim records ride on the next namespace change (cluster/meta/namespace.ts finishGc and
 * `change`): the record of a finished trim is deleted by the next REMOVE/CREATE/RENAME/LINK transaction,
 * or by a transaction of its own a little later when no change comes; a change that fails hands its
 * records on; and a crash after the trim but before the record is gone still leaves nothing behind once
 * the volume reopens (the record is replayed: the drop is idempotent). The crash child is this same
 * file, run with GW_GC_RIDE_CRASH_CHILD set.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { Namespace } from '../../cluster/meta/namespace';
import { FileType } from '../../cluster/vfs/types';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable } from '../../cluster/vfs/types';
import { b, ROOT, tempDir } from './helpers';

const EXPORTS = [defaultExport('t', 1)];
const FILES = 12;

async function memoryNamespace(): Promise<Namespace> {
  const kv = new MemoryKv();
  const vol = await Namespace.init(kv, { chunkSize: 65536 });
  return new Namespace(kv, vol, { durable: true, maxLink: 1000 });
}

/** Creates regular files named n0.. in the root and removes the first `freed` of them: their trim jobs. */
async function freeFiles(ns: Namespace, names: number, freed: number) {
  const root = (await ns.getInode(ns.vol.rootId))!;
  for (let i = 0; i < names; i++) await ns.create(ROOT, root.id, root.gen, b(`n${i}`), { type: FileType.REG }, await ns.allocId());
  const jobs = [];
  for (let i = 0; i < freed; i++) {
    const out = await ns.unlink(ROOT, root.id, root.gen, b(`n${i}`), false);
    assert.ok(out.gc, 'a freed regular file records a trim');
    jobs.push(out.gc);
  }
  return { root, jobs };
}

/** Object files under a brick directory. */
function objectsIn(dir: string): string[] {
  const out: string[] = [];
  for (const fan of readdirSync(dir)) {
    const p = join(dir, fan);
    if (statSync(p).isDirectory()) for (const n of readdirSync(p)) out.push(n);
  }
  return out;
}

async function crashChild(dir: string): Promise<void> {
  const v = await openVolume({ engine: 'lmdb', dataDir: dir, exports: EXPORTS });
  const root = await v.rootHandle(1);
  for (let i = 0; i < FILES; i++) {
    const f = await v.create(ROOT, root, b(`f${i}`), { mode: CreateMode.GUARDED });
    await v.write(ROOT, f.handle, 0n, Buffer.alloc(5000, i), Stable.FILE_SYNC);
  }
  // The bricks have dropped the objects when finishGc is asked to drop the records: die right there,
  // with every record still in the store.
  let finished = 0;
  v.ns.finishGc = () => {
    if (++finished === FILES) process.kill(process.pid, 'SIGKILL');
    return new Promise<void>(() => undefined);
  };
  for (let i = 0; i < FILES; i++) await v.remove(ROOT, root, b(`f${i}`));
  await new Promise((r) => setTimeout(r, 10_000));
  process.exit(3); // not reached
}

if (process.env.GW_GC_RIDE_CRASH_CHILD) {
  void crashChild(process.env.GW_GC_RIDE_CRASH_CHILD);
} else {
  test('a finished trim\'s record is deleted by the next namespace change, without a transaction of its own', async () => {
    const ns = await memoryNamespace();
    const { root, jobs } = await freeFiles(ns, 4, 2);
    assert.equal((await ns.pendingGc()).length, 2);
    const commits = ns.kv.stats().commits;
    let done = 0;
    const finishing = jobs.map((j) => ns.finishGc(j).then(() => done++));
    // The next change (a memory store commits at once, long before the fallback timer) carries them.
    await ns.unlink(ROOT, root.id, root.gen, b('n2'), false);
    await Promise.resolve();
    assert.equal(done, 2, 'the records went with the REMOVE');
    assert.equal(ns.kv.stats().commits, commits + 1, 'no transaction of their own');
    const left = (await ns.pendingGc()).map((g) => g.fileId);
    assert.equal(left.length, 1, 'only the newest removal\'s record is left');
    assert.ok(!jobs.some((j) => left.includes(j.fileId)));
    await Promise.all(finishing);
  });

  test('a change that fails hands its records on; with no change coming they are dropped anyway', async () => {
    const ns = await memoryNamespace();
    const { root, jobs } = await freeFiles(ns, 3, 3);
    const finishing = Promise.all(jobs.map((j) => ns.finishGc(j)));
    await assert.rejects(ns.unlink(ROOT, root.id, root.gen, b('missing'), false));
    await finishing;
    assert.deepEqual(await ns.pendingGc(), []);
  });

  test('kill -9 after the trims, before their records are dropped: the reopened volume finishes them', async () => {
    const t = tempDir('gc-ride-crash');
    try {
      const child = spawn(process.execPath, [__filename], { env: { ...process.env, GW_GC_RIDE_CRASH_CHILD: t.dir }, stdio: ['ignore', 'inherit', 'inherit'] });
      const sig = await new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, s) => r(s)));
      assert.equal(sig, 'SIGKILL', 'the child died with its trims done and their records in the store');
      const v = await openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS });
      assert.deepEqual(await v.ns.pendingGc(), [], 'the records were replayed and dropped at open');
      const root = await v.rootHandle(1);
      const names = (await v.readdir(ROOT, root, 0n, undefined, 1000, false)).entries.map((e) => e.name.toString()).filter((n) => n !== '.' && n !== '..');
      assert.deepEqual(names, []);
      await v.close();
      assert.deepEqual(objectsIn(join(t.dir, 'brick')), []);
    } finally {
      t.cleanup();
    }
  });
}
