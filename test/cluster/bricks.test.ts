import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import type { Brick } from '../../cluster/bricks/brick';
import { ERRNO_TO_ERRC, errnoToErrc, toCoreError } from '../../cluster/bricks/errno';
import { LocalBrick } from '../../cluster/bricks/local-brick';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { ChecksummedBrick } from '../../cluster/bricks/checksummed-brick';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { brickSuite } from './brick-suite';
import { tempDir } from './helpers';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

const bricks: Array<[string, () => Promise<Brick>, { healable?: boolean }?]> = [
  ['memory', async () => new MemoryBrick(), { healable: true }],
  [
    'local',
    async () => {
      const t = tempDir('brick');
      cleanups.push(t.cleanup);
      return LocalBrick.open(t.dir, { maxOpenFiles: 4 });
    },
  ],
  [
    'checksummed',
    async () => {
      const t = tempDir('brick-ck');
      cleanups.push(t.cleanup);
      return ChecksummedBrick.open(t.dir, { maxOpenFiles: 4 });
    },
    { healable: true },
  ],
];

for (const [name, make, opts] of bricks) brickSuite(name, make, opts);

test('local brick: flat layout and a bounded fd cache under concurrency', async () => {
  const t = tempDir('brick-fd');
  cleanups.push(t.cleanup);
  const br = await LocalBrick.open(t.dir, { maxOpenFiles: 8 });
  const ids = Array.from({ length: 64 }, (_, i) => ({ fileId: BigInt(0x1_0000 + i), chunk: i % 3 }));
  await Promise.all(ids.map((id, i) => br.writeRange(id, i * 10, Buffer.from(`obj${i}`))));
  assert.ok(br.openCount() <= 8, `open fds ${br.openCount()}`);
  const back = await Promise.all(ids.map((id, i) => br.readRange(id, i * 10, 10)));
  back.forEach((r, i) => assert.equal(r.toString(), `obj${i}`));
  assert.ok(br.openCount() <= 8);
  // Chunk 0 sits directly in the fan-out directory (low byte of the inode number); chunks ≥ 1 in the
  // file's ".d" directory.
  assert.ok(existsSync(`${t.dir}/00/0000000000010000`));
  assert.ok(existsSync(`${t.dir}/01/0000000000010001.d/1`));
  assert.ok(existsSync(`${t.dir}/3f/000000000001003f`));
  assert.equal(readFileSync(`${t.dir}/LAYOUT`, 'utf8'), 'flat-1\n');
  await Promise.all(ids.map((id) => br.fsync(id)));
  await br.dropFrom(0x1_0001n, 0);
  assert.ok(!existsSync(`${t.dir}/01/0000000000010001.d`), 'the .d directory goes with the last chunk');
  await br.close();
});

test('local brick: concurrent fsyncs of new objects share directory fsyncs', async () => {
  const t = tempDir('brick-sync');
  cleanups.push(t.cleanup);
  const br = await LocalBrick.open(t.dir);
  // Warm the fan-out directory (its first use costs fsyncs of its own and of the root).
  await br.writeRange({ fileId: 0x500n, chunk: 0 }, 0, Buffer.from('x'));
  await br.fsync({ fileId: 0x500n, chunk: 0 });
  const before = br.dirFsyncs;
  // Same low byte: one fan-out directory.
  const ids = Array.from({ length: 32 }, (_, i) => ({ fileId: BigInt(0x600 + i * 0x100), chunk: 0 }));
  await Promise.all(ids.map((id) => br.writeRange(id, 0, Buffer.from('new'))));
  await Promise.all(ids.map((id) => br.fsync(id)));
  const used = br.dirFsyncs - before;
  assert.ok(used >= 1 && used <= 2, `32 new objects in one directory took ${used} directory fsyncs`);
  // Synced objects need no directory fsync again; a rewrite neither.
  await br.writeRange(ids[0]!, 0, Buffer.from('again'));
  await Promise.all(ids.map((id) => br.fsync(id)));
  assert.equal(br.dirFsyncs - before, used);
  await br.close();
});

test('local brick: a burst of drops (batched on the janitor thread) removes everything; close waits for them', async () => {
  const t = tempDir('brick-drop');
  cleanups.push(t.cleanup);
  const br = await LocalBrick.open(t.dir, { maxOpenFiles: 16 });
  const files = Array.from({ length: 300 }, (_, i) => BigInt(0x2000 + i));
  await Promise.all(files.map((f, i) => br.writeRange({ fileId: f, chunk: i % 4 === 0 ? 2 : 0 }, 0, Buffer.from('x'))));
  await Promise.all(files.map((f) => br.dropFrom(f, 0)));
  for (const [i, f] of files.entries()) {
    assert.equal(await br.stat({ fileId: f, chunk: i % 4 === 0 ? 2 : 0 }), undefined);
    assert.ok(!existsSync(br.chunkDir(f)));
  }
  // A rewrite after a drop gets a fresh object (no stale cached descriptor of the unlinked one).
  await br.writeRange({ fileId: files[0]!, chunk: 2 }, 0, Buffer.from('again'));
  assert.equal((await br.readRange({ fileId: files[0]!, chunk: 2 }, 0, 10)).toString(), 'again');
  // Drops asked for right before close still happen.
  const last = br.dropFrom(files[0]!, 0);
  await br.close();
  await last;
  assert.ok(!existsSync(br.chunkDir(files[0]!)));
});

test('local brick: reopens its own layout, refuses a directory of another one', async () => {
  const t = tempDir('brick-layout');
  cleanups.push(t.cleanup);
  let br = await LocalBrick.open(t.dir);
  await br.writeRange({ fileId: 0x1234n, chunk: 2 }, 5, Buffer.from('kept'));
  await br.fsync({ fileId: 0x1234n, chunk: 2 });
  await br.close();
  br = await LocalBrick.open(t.dir);
  assert.equal((await br.readRange({ fileId: 0x1234n, chunk: 2 }, 5, 10)).toString(), 'kept');
  await br.fsync({ fileId: 0x1234n, chunk: 2 });
  await br.close();
  const old = tempDir('brick-old');
  cleanups.push(old.cleanup);
  mkdirSync(`${old.dir}/00/00/0000000000000005`, { recursive: true });
  await assert.rejects(LocalBrick.open(old.dir), (e: unknown) => e instanceof CoreError && e.errc === Errc.IO);
  writeFileSync(`${old.dir}/LAYOUT`, 'tree-0\n');
  await assert.rejects(LocalBrick.open(old.dir), (e: unknown) => e instanceof CoreError && /layout/.test(e.message));
});

test('local brick: a new brick directory is marked TOPDIR on ext2/3/4, so its fan-out directories spread over block groups', async () => {
  const t = tempDir('brick-topdir');
  cleanups.push(t.cleanup);
  const fsType = execFileSync('stat', ['-f', '-c', '%T', t.dir]).toString().trim();
  const br = await LocalBrick.open(t.dir);
  const ids = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n];
  for (const fileId of ids) await br.writeRange({ fileId, chunk: 0 }, 0, Buffer.from(`f${fileId}`));
  for (const fileId of ids) assert.equal((await br.readRange({ fileId, chunk: 0 }, 0, 8)).toString(), `f${fileId}`);
  const fanouts = ids.map((id) => statSync(br.fanoutDir(id)).ino).sort((a, b) => a - b);
  await br.close();
  if (fsType !== 'ext2/ext3') return; // xfs, btrfs, tmpfs: no such attribute; the brick works the same (above)
  assert.match(execFileSync('lsattr', ['-d', t.dir]).toString().split(' ')[0]!, /T/);
  // Without the attribute ext4 puts subdirectories next to their parent: consecutive inode numbers.
  // Spread, neighbours are at least a block group (thousands of inodes) apart.
  const gaps = fanouts.slice(1).map((ino, i) => ino - fanouts[i]!);
  assert.ok(Math.min(...gaps) > 256, `fan-out directory inodes ${fanouts.join(',')}`);
});

test('errno → Errc is one data table; unknown errors are IO', () => {
  assert.equal(ERRNO_TO_ERRC.ENOSPC, Errc.NOSPC);
  assert.equal(errnoToErrc('EDQUOT'), Errc.DQUOT);
  assert.equal(errnoToErrc('EIO'), Errc.IO);
  assert.equal(errnoToErrc('EACCES'), Errc.IO);
  assert.equal(errnoToErrc(undefined), Errc.IO);
  const e = Object.assign(new Error('x'), { code: 'ENOSPC' });
  assert.equal(toCoreError(e, 'write').errc, Errc.NOSPC);
});
