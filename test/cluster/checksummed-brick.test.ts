/**
 * The brick node's per-block checksums: corruption is reported (never served), repaired by rewriting whole
 * blocks, and the states a kill -9 can leave between a checksum write and its data write are handled.
 */
import assert from 'node:assert/strict';
import { openSync, closeSync, writeSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { isBrickFault } from '../../cluster/bricks/brick-fault';
import { BLOCK_SIZE, ChecksummedBrick } from '../../cluster/bricks/checksummed-brick';
import type { LocalBrick } from '../../cluster/bricks/local-brick';
import { CoreError } from '../../cluster/vfs/errors';
import { tempDir } from './helpers';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

function dir(tag: string): string {
  const t = tempDir(tag);
  cleanups.push(t.cleanup);
  return t.dir;
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Overwrites bytes of a file in place, as bitrot or a hand edit would. */
function scribble(path: string, offset: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

const isCorrupt = (e: unknown): boolean => isBrickFault(e, 'corrupt');

test('a corrupted block is reported corrupt, its neighbours still read, and a whole-block rewrite repairs it', async () => {
  const d = dir('ck-rot');
  let br = await ChecksummedBrick.open(d, { name: 'b1' });
  const id = { fileId: 0x77n, chunk: 2 };
  const data = pattern(5 * BLOCK_SIZE + 123, 1);
  await br.writeRange(id, 0, data);
  await br.fsync(id);
  const good = await br.checksum(id);
  await br.close();
  // Flip one byte in block 2 on disk, behind the brick's back.
  scribble(br.objectPath(id), 2 * BLOCK_SIZE + 17, Buffer.from([data[2 * BLOCK_SIZE + 17]! ^ 0x40]));
  br = await ChecksummedBrick.open(d, { name: 'b1' });
  await assert.rejects(br.readRange(id, 2 * BLOCK_SIZE + 100, 10), (e: unknown) => {
    assert.ok(isCorrupt(e) && e instanceof CoreError && /b1 corrupt.*block 2/.test(e.message), String(e));
    return true;
  });
  await assert.rejects(br.readRange(id, 0, data.length), isCorrupt, 'a read spanning the block');
  await assert.rejects(br.checksum(id), isCorrupt, 'checksum() never digests bad data');
  assert.deepEqual(await br.readRange(id, 0, 2 * BLOCK_SIZE), data.subarray(0, 2 * BLOCK_SIZE));
  assert.deepEqual(await br.readRange(id, 3 * BLOCK_SIZE, 1 << 20), data.subarray(3 * BLOCK_SIZE));
  // A partial write into the bad block would launder it under a fresh checksum: refused.
  await assert.rejects(br.writeRange(id, 2 * BLOCK_SIZE + 5, Buffer.from('x')), isCorrupt);
  assert.equal(br.corruptBlocks >= 4, true);
  // Repair: rewrite the whole block from a good copy.
  await br.writeRange(id, 2 * BLOCK_SIZE, data.subarray(2 * BLOCK_SIZE, 3 * BLOCK_SIZE));
  assert.deepEqual(await br.readRange(id, 0, 1 << 20), data);
  assert.deepEqual(await br.checksum(id), good);
  await br.close();
});

test('a block zeroed by hand after fsync is corrupt, not a hole (fsync retires the previous checksums)', async () => {
  const d = dir('ck-cut');
  let br = await ChecksummedBrick.open(d);
  const id = { fileId: 0x78n, chunk: 0 };
  const data = pattern(3 * BLOCK_SIZE, 2);
  await br.writeRange(id, 0, data);
  await br.fsync(id);
  await br.close();
  scribble(br.objectPath(id), BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE));
  br = await ChecksummedBrick.open(d);
  await assert.rejects(br.readRange(id, BLOCK_SIZE, 10), isCorrupt);
  assert.deepEqual(await br.readRange(id, 0, BLOCK_SIZE), data.subarray(0, BLOCK_SIZE));
  await br.close();
});

test('kill -9 between a checksum write and its data write: the old bytes still read as good', async () => {
  const d = dir('ck-crash1');
  let br = await ChecksummedBrick.open(d);
  const id = { fileId: 0x79n, chunk: 1 };
  const v1 = pattern(2 * BLOCK_SIZE + 50, 3);
  await br.writeRange(id, 0, v1);
  // The data write never happens (the process "dies" after the checksums reached the file).
  const data = (br as unknown as { data: LocalBrick }).data;
  data.writeRange = async () => {
    throw new Error('killed');
  };
  await assert.rejects(br.writeRange(id, 100, pattern(BLOCK_SIZE * 2, 9)), /killed/);
  await br.close();
  br = await ChecksummedBrick.open(d);
  assert.deepEqual(await br.readRange(id, 0, 1 << 20), v1, 'old bytes match the previous checksums');
  // And the object keeps working.
  await br.writeRange(id, 100, Buffer.from('after'));
  assert.equal((await br.readRange(id, 100, 5)).toString(), 'after');
  await br.close();
});

test('kill -9 inside a truncate: checksum updated, data not cut — still consistent', async () => {
  const d = dir('ck-crash2');
  let br = await ChecksummedBrick.open(d);
  const id = { fileId: 0x7an, chunk: 0 };
  const v1 = pattern(3 * BLOCK_SIZE, 4);
  await br.writeRange(id, 0, v1);
  const data = (br as unknown as { data: LocalBrick }).data;
  data.truncate = async () => {
    throw new Error('killed');
  };
  await assert.rejects(br.truncate(id, BLOCK_SIZE + 10), /killed/);
  await br.close();
  br = await ChecksummedBrick.open(d);
  assert.deepEqual(await br.readRange(id, 0, 1 << 20), v1);
  await br.truncate(id, BLOCK_SIZE + 10);
  assert.deepEqual(await br.readRange(id, 0, 1 << 20), v1.subarray(0, BLOCK_SIZE + 10));
  // Extending again: the cut-off region reads as zeros, not as a checksum failure.
  await br.truncate(id, 3 * BLOCK_SIZE);
  const want = Buffer.concat([v1.subarray(0, BLOCK_SIZE + 10), Buffer.alloc(2 * BLOCK_SIZE - 10)]);
  assert.deepEqual(await br.readRange(id, 0, 1 << 20), want);
  await br.close();
});

test('data written but its checksum write lost (torn): reported corrupt, never served', async () => {
  const d = dir('ck-crash3');
  let br = await ChecksummedBrick.open(d);
  const id = { fileId: 0x7bn, chunk: 0 };
  await br.writeRange(id, 0, pattern(2 * BLOCK_SIZE, 5));
  await br.close();
  // What a crash could leave: new bytes in the data file whose checksum never reached the sums file.
  scribble(br.objectPath(id), 10, Buffer.from('new bytes'));
  br = await ChecksummedBrick.open(d);
  await assert.rejects(br.readRange(id, 0, 100), isCorrupt);
  await br.close();
});

test('leftover checksums of a deleted object (crash between the two unlinks) do not poison a new object', async () => {
  const d = dir('ck-crash4');
  const br = await ChecksummedBrick.open(d);
  const id = { fileId: 0x7cn, chunk: 3 };
  await br.writeRange(id, 0, pattern(4 * BLOCK_SIZE, 6));
  const sums = (br as unknown as { sums: LocalBrick }).sums;
  const realDelete = sums.delete.bind(sums);
  sums.delete = async () => {
    throw new Error('killed');
  };
  await assert.rejects(br.delete(id), /killed/);
  sums.delete = realDelete;
  assert.equal(await br.stat(id), undefined);
  // A new, shorter object with a hole where the old one had data.
  await br.writeRange(id, 2 * BLOCK_SIZE + 7, Buffer.from('tail'));
  const want = Buffer.concat([Buffer.alloc(2 * BLOCK_SIZE + 7), Buffer.from('tail')]);
  assert.deepEqual(await br.readRange(id, 0, 1 << 20), want);
  await br.truncate(id, 5 * BLOCK_SIZE);
  assert.deepEqual(await br.readRange(id, 0, 1 << 20), Buffer.concat([want, Buffer.alloc(5 * BLOCK_SIZE - want.length)]));
  await br.close();
});

test('refuses a directory that is not a brick node directory; keeps its id across restarts', async () => {
  const d = dir('ck-open');
  const br = await ChecksummedBrick.open(d);
  const brickId = br.brickId;
  await br.close();
  assert.equal((await ChecksummedBrick.open(d)).brickId, brickId);
  assert.match(readFileSync(`${d}/BRICK`, 'utf8'), /"layout":"checksummed-1"/);
  const other = dir('ck-other');
  mkdirSync(`${other}/00`);
  await assert.rejects(ChecksummedBrick.open(other), /not a brick node directory/);
  const wrong = dir('ck-wrong');
  writeFileSync(`${wrong}/BRICK`, '{"layout":"checksummed-9"}\n');
  await assert.rejects(ChecksummedBrick.open(wrong), /layout/);
});

test('dropFrom under concurrent writes to the same file leaves no object without its checksums', async () => {
  const d = dir('ck-drop');
  const br = await ChecksummedBrick.open(d);
  const f = 0x7dn;
  const work: Array<Promise<unknown>> = [];
  for (let round = 0; round < 5; round++) {
    for (let c = 0; c < 6; c++) work.push(br.writeRange({ fileId: f, chunk: c }, 0, pattern(BLOCK_SIZE + 1, c + round)));
    work.push(br.dropFrom(f, 3));
  }
  await Promise.all(work);
  for (let c = 0; c < 6; c++) {
    const got = await br.readRange({ fileId: f, chunk: c }, 0, 1 << 20); // throws if checksums were lost
    assert.ok(got.length === 0 || got.length === BLOCK_SIZE + 1);
  }
  await br.close();
});
