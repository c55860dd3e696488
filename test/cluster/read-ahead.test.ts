/**
 * Read-ahead for sequential readers (cluster/vfs/read-ahead.ts): a file read in order, one READ at a time,
 * comes back byte for byte with the next range already read (off the event loop); a change of the file
 * acknowledged before a READ began — a write, a truncation, a removal — is what that READ sees; a failed
 * background read is read again; no pool slab is lost, nor the pool's last ones taken; a store shared
 * between gateways gets none.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { ObjectId, ReadHint } from '../../cluster/bricks/brick';
import { LocalBrick } from '../../cluster/bricks/local-brick';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { Namespace } from '../../cluster/meta/namespace';
import { BufferPool, TieredBufferPool } from '../../cluster/vfs/buffer-pool';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable, type Handle } from '../../cluster/vfs/types';
import { Volume } from '../../cluster/vfs/volume';
import { b, ROOT, rejectsWith, tempDir } from './helpers';
import { Errc } from '../../cluster/vfs/errors';

const CHUNK = 64 * 1024;
const READ = 24 * 1024; // READs straddle chunk boundaries

/** A memory brick that records which reads were background ones and can fail them. */
class SpyBrick extends MemoryBrick {
  background = 0;
  foreground = 0;
  failBackground = false;
  override async readInto(id: ObjectId, offset: number, target: Buffer, hint?: ReadHint): Promise<number> {
    if (hint?.background) {
      this.background++;
      // Lets a READ arriving meanwhile find the range still being read.
      await new Promise((r) => setImmediate(r));
      if (this.failBackground) throw new Error('injected background read failure');
    } else {
      this.foreground++;
    }
    return super.readInto(id, offset, target);
  }
}

function memoryVolume(brick: MemoryBrick, shared = false): Volume {
  const kv = new MemoryKv();
  // A store shared between gateways has no write epoch (Kv.writeEpoch): hide this one's.
  if (shared) (kv as unknown as { writeEpoch: undefined }).writeEpoch = undefined;
  const { vol, records } = Namespace.initialRecords({ chunkSize: CHUNK, root: { mode: 0o777 } });
  for (const [k, v] of records) kv.putSync(k, v);
  return new Volume(kv, brick, new Namespace(kv, vol, { durable: false, maxLink: 1000 }), { exports: [defaultExport('t', 1)] });
}

async function fileWith(v: Volume, name: string, data: Buffer): Promise<Handle> {
  const f = await v.create(ROOT, await v.rootHandle(1), b(name), { mode: CreateMode.GUARDED });
  await v.write(ROOT, f.handle, 0n, data, Stable.FILE_SYNC);
  return f.handle;
}

/** Reads the whole file in order, one READ at a time, as nfs-cat does. */
async function readInOrder(v: Volume, h: Handle, pool: TieredBufferPool, step = READ): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0n; ; off += BigInt(step)) {
    const r = await v.read(ROOT, h, off, step, undefined, { pool });
    parts.push(Buffer.from(r.data));
    r.release?.();
    if (r.eof) return Buffer.concat(parts);
  }
}

const testPool = (slabs = 16): TieredBufferPool => new TieredBufferPool([new BufferPool(READ, slabs)]);

/** A memory volume over a SpyBrick holding one file `f` of `bytes` random bytes, and a fresh pool. */
async function setup(bytes: number, shared = false): Promise<{ brick: SpyBrick; v: Volume; data: Buffer; h: Handle; pool: TieredBufferPool }> {
  const brick = new SpyBrick();
  const v = memoryVolume(brick, shared);
  const data = randomBytes(bytes);
  return { brick, v, data, h: await fileWith(v, 'f', data), pool: testPool() };
}

test('a file read in order comes back whole, each range after the first read ahead in the background', async () => {
  const { brick, v, data, h, pool } = await setup(10 * CHUNK + 1234);
  const free = pool.freeCount;
  assert.deepEqual(await readInOrder(v, h, pool), data);
  const reads = Math.ceil(data.length / READ);
  const st = v.readAheadStats!;
  assert.equal(st.hits, reads - 1, 'every READ after the first found its range read ahead');
  assert.equal(st.dropped, 0);
  assert.ok(brick.background > 0);
  assert.equal(pool.freeCount, free, 'every slab is back in the pool');
  await v.close();
});

test('a write acknowledged before a READ is what that READ returns, even where the range was read ahead', async () => {
  const { v, data, h, pool } = await setup(4 * CHUNK);
  for (const stable of [Stable.UNSTABLE, Stable.FILE_SYNC]) {
    let r = await v.read(ROOT, h, 0n, READ, undefined, { pool }); // reads [READ, 2 READ) ahead
    r.release?.();
    const patch = randomBytes(100);
    await v.write(ROOT, h, BigInt(READ + 7), patch, stable);
    patch.copy(data, READ + 7);
    r = await v.read(ROOT, h, BigInt(READ), READ, undefined, { pool });
    assert.deepEqual(Buffer.from(r.data), data.subarray(READ, 2 * READ), `write (${Stable[stable]}) seen`);
    r.release?.();
  }
  // Cut below the range read ahead: the next READ sees the new end of the file.
  let r = await v.read(ROOT, h, 0n, READ, undefined, { pool });
  r.release?.();
  await v.setattr(ROOT, h, { size: BigInt(READ + 10) });
  r = await v.read(ROOT, h, BigInt(READ), READ, undefined, { pool });
  assert.equal(r.data.length, 10);
  assert.equal(r.eof, true);
  r.release?.();
  // Removed: the handle is stale, whatever was read ahead.
  r = await v.read(ROOT, h, 0n, 5, undefined, { pool });
  r.release?.();
  await v.remove(ROOT, await v.rootHandle(1), b('f'));
  await rejectsWith(v.read(ROOT, h, 5n, 5, undefined, { pool }), Errc.STALE);
  await v.close();
});

test('a READ of the range while it is still being read ahead waits for it; a failed one is read again', async () => {
  const { brick, v, data, h, pool } = await setup(3 * CHUNK);
  const free = pool.freeCount;
  let r = await v.read(ROOT, h, 0n, READ, undefined, { pool });
  r.release?.();
  // The background read of [READ, 2 READ) yields once before reading: this READ finds it in flight.
  r = await v.read(ROOT, h, BigInt(READ), READ, undefined, { pool });
  assert.deepEqual(Buffer.from(r.data), data.subarray(READ, 2 * READ));
  r.release?.();
  assert.equal(v.readAheadStats!.hits, 1);
  brick.failBackground = true;
  const before = brick.foreground;
  r = await v.read(ROOT, h, BigInt(2 * READ), READ, undefined, { pool });
  assert.deepEqual(Buffer.from(r.data), data.subarray(2 * READ, 3 * READ), 'read again after the failure');
  assert.ok(brick.foreground > before);
  r.release?.();
  await v.close();
  await new Promise((res) => setImmediate(res));
  assert.equal(pool.freeCount, free, 'the failed range\'s slab is back too');
});

test('a reader that jumps, and two readers of one file, get the right bytes; unused ranges are dropped', async () => {
  const { v, data, h, pool } = await setup(8 * CHUNK);
  const free = pool.freeCount;
  const at = async (off: number, len = READ): Promise<void> => {
    const r = await v.read(ROOT, h, BigInt(off), len, undefined, { pool });
    assert.deepEqual(Buffer.from(r.data), data.subarray(off, off + len), `read at ${off}`);
    r.release?.();
  };
  await at(0);
  await at(READ);
  await at(5 * READ); // jump: the range read ahead at 2 READ is not used
  await at(3 * READ - 100, 300);
  // Two READs of the file in flight at once (a client with its own read-ahead): no read-ahead then.
  const issued = v.readAheadStats!.issued;
  await Promise.all([at(10 * READ), at(11 * READ), at(12 * READ)]);
  assert.ok(v.readAheadStats!.issued <= issued + 1);
  assert.ok(v.readAheadStats!.dropped >= 1);
  await v.close();
  await new Promise((res) => setImmediate(res));
  assert.equal(pool.freeCount, free);
});

test('a caller that reads the pieces of a large request in parallel itself (readAhead false) gets none', async () => {
  const { brick, v, data, h, pool } = await setup(3 * CHUNK);
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += READ) {
    const r = await v.read(ROOT, h, BigInt(off), READ, undefined, { pool, readAhead: false });
    parts.push(Buffer.from(r.data));
    r.release?.();
  }
  assert.deepEqual(Buffer.concat(parts), data);
  assert.equal(v.readAheadStats!.issued, 0);
  assert.equal(brick.background, 0);
  await v.close();
});

test('read-ahead leaves a pool short of slabs to the READs themselves', async () => {
  const { v, data, h } = await setup(3 * CHUNK);
  assert.deepEqual(await readInOrder(v, h, testPool(8)), data);
  assert.equal(v.readAheadStats!.issued, 0);
  await v.close();
});

test('a store shared between gateways gets no read-ahead', async () => {
  const { brick, v, data, h } = await setup(2 * CHUNK, true);
  assert.deepEqual(await readInOrder(v, h, testPool()), data);
  assert.equal(v.readAheadStats, undefined);
  assert.equal(brick.background, 0);
  await v.close();
});

test('on lmdb and a local brick: read ahead off the event loop, byte for byte, rewrites seen', async () => {
  const t = tempDir('readahead');
  let local: LocalBrick | undefined;
  const v = await openVolume({
    engine: 'lmdb',
    dataDir: t.dir,
    chunkSize: CHUNK,
    exports: [defaultExport('t', 1)],
    writeBehindBytes: 1 << 20,
    brick: async () => (local = await LocalBrick.open(`${t.dir}/brick`)),
  });
  try {
    const data = randomBytes(6 * CHUNK + 5);
    const h = await fileWith(v, 'f', data);
    assert.deepEqual(await readInOrder(v, h, testPool()), data);
    assert.ok(v.readAheadStats!.hits > 0);
    const patch = randomBytes(3 * READ);
    // UNSTABLE with a retained buffer queues behind (write-behind); the READ after it still sees it.
    await v.write(ROOT, h, BigInt(READ), patch, Stable.UNSTABLE, { retain: () => () => undefined });
    patch.copy(data, READ);
    assert.deepEqual(await readInOrder(v, h, testPool()), data);
    assert.ok(local);
  } finally {
    await v.close();
    t.cleanup();
  }
});
