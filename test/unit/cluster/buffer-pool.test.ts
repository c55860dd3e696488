import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, TieredBufferPool } from '../../../cluster/vfs/buffer-pool';

test('slabs are lent page-aligned, reused most recent first, and a double give is ignored', () => {
  const pool = new BufferPool(1024 * 1024 + 64 * 1024, 3);
  const a = pool.take(1000);
  const b = pool.take(1024 * 1024);
  assert.equal(a.buffer, b.buffer, 'one arena');
  for (const x of [a, b]) assert.equal(x.byteOffset % 65536, 0, 'slab starts on a 64 KiB boundary');
  assert.notEqual(a.byteOffset, b.byteOffset);
  assert.equal(pool.freeCount, 1);
  pool.give(a);
  pool.give(a); // second give: ignored
  assert.equal(pool.freeCount, 2);
  const c = pool.take(10);
  assert.equal(c.byteOffset, a.byteOffset, 'the slab given back last is reused first');
  // writing one loan never shows through another
  b.fill(1);
  c.fill(2);
  assert.equal(b[0], 1);
});

test('an exhausted pool falls back to plain buffers, which give ignores; oversize requests too', () => {
  const pool = new BufferPool(4096, 1);
  const a = pool.take(4096);
  const b = pool.take(100);
  assert.notEqual(a.buffer, b.buffer, 'fallback is a separate allocation');
  pool.give(b);
  assert.equal(pool.freeCount, 0, 'a fallback buffer is not adopted');
  const big = pool.take(5000);
  assert.equal(big.length, 5000);
  pool.give(big);
  assert.equal(pool.freeCount, 0);
  pool.give(a.subarray(1)); // not a slab start: ignored
  assert.equal(pool.freeCount, 0);
  pool.give(a);
  assert.equal(pool.freeCount, 1);
});

test('tiers: a request takes the smallest class that fits; give finds the owning class', () => {
  const small = new BufferPool(4096, 2);
  const large = new BufferPool(65536, 1);
  const pool = new TieredBufferPool([small, large]);
  const a = pool.take(100);
  const b = pool.take(10000);
  assert.equal(small.freeCount, 1);
  assert.equal(large.freeCount, 0);
  assert.equal(pool.take(70000).length, 70000, 'beyond every class: a plain buffer');
  pool.give(a);
  pool.give(b);
  assert.equal(pool.freeCount, 3);
});
