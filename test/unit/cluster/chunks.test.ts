import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkChunkSize, chunkTail, splitRange } from '../../../cluster/bricks/chunks';
import { CoreError } from '../../../cluster/vfs/errors';

const CS = 64 * 1024;

test('a small write touches only its bytes of one chunk', () => {
  assert.deepEqual(splitRange(100n, 5, CS), [{ chunk: 0, offset: 100, length: 5, pos: 0 }]);
  assert.deepEqual(splitRange(BigInt(CS) * 7n + 3n, 1, CS), [{ chunk: 7, offset: 3, length: 1, pos: 0 }]);
});

test('ranges crossing chunk boundaries split at them', () => {
  assert.deepEqual(splitRange(BigInt(CS - 10), 30, CS), [
    { chunk: 0, offset: CS - 10, length: 10, pos: 0 },
    { chunk: 1, offset: 0, length: 20, pos: 10 },
  ]);
  const p = splitRange(5n, 3 * CS, CS);
  assert.equal(p.length, 4);
  assert.equal(p.reduce((s, x) => s + x.length, 0), 3 * CS);
  assert.deepEqual(p[3], { chunk: 3, offset: 0, length: 5, pos: 3 * CS - 5 });
  assert.deepEqual(splitRange(0n, 0, CS), []);
});

test('huge offsets keep exact chunk numbers', () => {
  const off = (1n << 62n) + 12345n;
  const [p] = splitRange(off, 1, CS);
  assert.equal(BigInt(p!.chunk) * BigInt(CS) + BigInt(p!.offset), off);
});

test('chunkTail says which objects a size keeps', () => {
  assert.deepEqual(chunkTail(0n, CS), { lastChunk: -1, lastLength: 0, firstDropped: 0 });
  assert.deepEqual(chunkTail(BigInt(CS), CS), { lastChunk: 0, lastLength: CS, firstDropped: 1 });
  assert.deepEqual(chunkTail(BigInt(CS) + 1n, CS), { lastChunk: 1, lastLength: 1, firstDropped: 2 });
});

test('chunk sizes are powers of two within bounds', () => {
  assert.equal(checkChunkSize(4 << 20), 4 << 20);
  for (const bad of [0, 1000, 3 * 4096, 1 << 30]) assert.throws(() => checkChunkSize(bad), CoreError);
});
