/**
 * Write-behind (cluster/bricks/write-behind.ts): UNSTABLE writes answered before the brick has the
 * bytes. The queue itself over a brick whose writes are slow or fail, the volume's verifier and COMMIT
 * around it, and the whole core suite with every UNSTABLE write going through the queue.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Brick, ObjectId } from '../../cluster/bricks/brick';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { WriteBehindBrick } from '../../cluster/bricks/write-behind';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { b, ROOT } from './helpers';
import { volumeSuite } from './volume-suite';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A memory brick whose writes take `delayMs` and can be made to fail. */
class SlowBrick extends MemoryBrick {
  delayMs = 5;
  failWrites = false;
  writesStarted = 0;
  override async writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
    this.writesStarted++;
    await sleep(this.delayMs);
    if (this.failWrites) throw Object.assign(new Error('injected EIO'), { code: 'EIO' });
    return super.writeRange(id, offset, data);
  }
}

const id = (chunk: number, fileId = 7n): ObjectId => ({ fileId, chunk });
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe('WriteBehindBrick', () => {
  test('a queued write is seen by a read of the same object, and its buffer is released only after the brick has it', async () => {
    const inner = new SlowBrick();
    const errors: unknown[] = [];
    const wb = new WriteBehindBrick(inner, { maxBytes: 1 << 20, onError: (_id, e) => errors.push(e) });
    const data = bytes(1000, 1);
    let released = false;
    assert.ok(wb.hasRoom(data.length));
    wb.queue(id(0), 100, data, () => (released = true));
    assert.equal(wb.pendingBytes, 1000);
    assert.equal(released, false, 'held while the brick write runs');
    const target = Buffer.alloc(1100);
    const got = await wb.readInto(id(0), 0, target);
    assert.equal(got, 1100);
    assert.deepEqual(target.subarray(100), data);
    assert.equal(released, true);
    assert.equal(wb.pendingBytes, 0);
    assert.deepEqual(errors, []);
  });

  test('writes to one object apply in the order queued; a truncate and a delete are never undone by an earlier queued write', async () => {
    const inner = new SlowBrick();
    const wb = new WriteBehindBrick(inner, { maxBytes: 1 << 20, onError: () => undefined });
    inner.delayMs = 10;
    wb.queue(id(0), 0, Buffer.alloc(100, 1), () => undefined);
    inner.delayMs = 1;
    wb.queue(id(0), 50, Buffer.alloc(100, 2), () => undefined);
    await wb.truncate(id(0), 120);
    const r = await wb.readRange(id(0), 0, 1000);
    assert.equal(r.length, 120);
    assert.deepEqual(r.subarray(0, 50), Buffer.alloc(50, 1));
    assert.deepEqual(r.subarray(50, 120), Buffer.alloc(70, 2));

    wb.queue(id(1), 0, Buffer.alloc(10, 3), () => undefined);
    await wb.delete(id(1));
    assert.equal(await wb.stat(id(1)), undefined, 'the queued write ran before the delete');

    wb.queue(id(2), 0, Buffer.alloc(10, 4), () => undefined);
    wb.queue(id(5), 0, Buffer.alloc(10, 5), () => undefined);
    await wb.dropFrom(7n, 1);
    assert.equal(await wb.stat(id(2)), undefined);
    assert.equal(await wb.stat(id(5)), undefined);
    assert.deepEqual(await wb.stat(id(0)), { size: 120 }, 'chunk 0 is below the drop');
  });

  test('the queue is bounded: no room beyond maxBytes until queued writes finish', async () => {
    const inner = new SlowBrick();
    const wb = new WriteBehindBrick(inner, { maxBytes: 3000, onError: () => undefined });
    assert.ok(wb.hasRoom(3000));
    wb.queue(id(0), 0, Buffer.alloc(2000), () => undefined);
    assert.equal(wb.hasRoom(1001), false);
    assert.ok(wb.hasRoom(1000));
    await wb.drain();
    assert.ok(wb.hasRoom(3000));
  });

  test('a failed queued write is reported to onError and by the next fsync of that object, then released', async () => {
    const inner = new SlowBrick();
    inner.failWrites = true;
    const failed: ObjectId[] = [];
    const wb = new WriteBehindBrick(inner, { maxBytes: 1 << 20, onError: (i) => failed.push(i) });
    let released = 0;
    wb.queue(id(3), 0, Buffer.alloc(10), () => released++);
    await assert.rejects(wb.fsync(id(3)), /injected EIO/);
    assert.deepEqual(failed, [id(3)]);
    assert.equal(released, 1);
    inner.failWrites = false;
    await wb.fsync(id(3)); // reported once; the verifier change is what makes clients resend
  });

  test('close waits for queued writes before closing the brick', async () => {
    const inner = new SlowBrick();
    const wb = new WriteBehindBrick(inner, { maxBytes: 1 << 20, onError: () => undefined });
    wb.queue(id(0), 0, Buffer.alloc(10, 9), () => undefined);
    await wb.close();
    assert.equal(inner.ops.write, 1);
  });
});

/** A volume whose UNSTABLE writes go through the queue (as the gateway's NFS WRITEs do). */
async function wbVolume(brick: Brick, chunkSize = 64 * 1024, exports = [defaultExport('t', 1)]): Promise<{ v: Volume; holds: { n: number } }> {
  const v = await openVolume({ engine: 'memory', exports, chunkSize, brick, writeBehindBytes: 1 << 20 });
  const holds = { n: 0 };
  const write = v.write.bind(v);
  // Every caller behaves like the NFS WRITE handler: it lets the volume keep its buffer.
  v.write = (cred, h, offset, data, stable, opts) =>
    write(cred, h, offset, data, stable, opts ?? {
      retain: () => {
        holds.n++;
        return () => holds.n--;
      },
    });
  return { v, holds };
}

describe('Volume with write-behind', () => {
  test('UNSTABLE WRITE returns before the brick has the bytes; READ, GETATTR and COMMIT see them; the buffer is kept until then', async () => {
    const brick = new SlowBrick();
    brick.delayMs = 20;
    const { v, holds } = await wbVolume(brick);
    const root = await v.rootHandle(1);
    const f = await v.create(ROOT, root, b('f'), { mode: CreateMode.GUARDED });
    const data = bytes(150 * 1024, 5); // three 64 KiB chunks
    const w = await v.write(ROOT, f.handle, 10n, data, Stable.UNSTABLE);
    assert.equal(w.count, data.length);
    assert.equal(brick.ops.write, 0, 'answered before any brick write finished');
    assert.equal(holds.n, 1, 'the caller buffer is retained');
    assert.equal((await v.getattr(ROOT, f.handle)).size, BigInt(data.length + 10));
    const r = await v.read(ROOT, f.handle, 10n, data.length);
    assert.deepEqual(r.data.subarray(0, data.length), data);
    r.release?.();
    const c = await v.commit(ROOT, f.handle, 0n, 0);
    assert.deepEqual(c.verifier, w.verifier, 'nothing was lost: same verifier');
    assert.equal(holds.n, 0);
    await v.close();
  });

  test('a queued write that fails changes the write verifier, so COMMIT tells the client to resend', async () => {
    const brick = new SlowBrick();
    const { v, holds } = await wbVolume(brick);
    const root = await v.rootHandle(1);
    const f = await v.create(ROOT, root, b('f'), { mode: CreateMode.GUARDED });
    brick.failWrites = true;
    const w = await v.write(ROOT, f.handle, 0n, Buffer.alloc(1000, 1), Stable.UNSTABLE);
    const c = await v.commit(ROOT, f.handle, 0n, 0).catch((e: unknown) => e);
    const now = v.writeVerifier();
    assert.notDeepEqual(now, w.verifier, 'the verifier changed');
    if (!(c instanceof Error)) assert.notDeepEqual((c as { verifier: Buffer }).verifier, w.verifier);
    assert.equal(holds.n, 0);
    brick.failWrites = false;
    await v.close();
  });

  test('FILE_SYNC writes never go through the queue', async () => {
    const brick = new SlowBrick();
    const { v, holds } = await wbVolume(brick);
    const root = await v.rootHandle(1);
    const f = await v.create(ROOT, root, b('f'), { mode: CreateMode.GUARDED });
    await v.write(ROOT, f.handle, 0n, Buffer.alloc(1000, 1), Stable.FILE_SYNC);
    assert.equal(brick.ops.write, 1, 'on the brick before the reply');
    assert.equal(holds.n, 0);
    await v.close();
  });

  test('SETATTR size below queued writes: the file ends up truncated, not re-extended by a late write', async () => {
    const brick = new SlowBrick();
    brick.delayMs = 15;
    const { v } = await wbVolume(brick);
    const root = await v.rootHandle(1);
    const f = await v.create(ROOT, root, b('f'), { mode: CreateMode.GUARDED });
    await v.write(ROOT, f.handle, 0n, Buffer.alloc(200 * 1024, 7), Stable.UNSTABLE);
    await v.setattr(ROOT, f.handle, { size: 1000n });
    await v.commit(ROOT, f.handle, 0n, 0);
    assert.equal((await v.getattr(ROOT, f.handle)).size, 1000n);
    for (let c = 1; c < 4; c++) assert.equal(await v.brick.stat({ fileId: f.attr.fileId, chunk: c }), undefined);
    assert.deepEqual(await v.brick.stat({ fileId: f.attr.fileId, chunk: 0 }), { size: 1000 });
    const r = await v.read(ROOT, f.handle, 0n, 5000);
    assert.equal(r.data.length, 1000);
    assert.deepEqual(r.data, Buffer.alloc(1000, 7));
    r.release?.();
    await v.close();
  });
});

// The whole core suite with every UNSTABLE write queued behind a brick whose writes take a few ms.
volumeSuite('memory + write-behind', async (o) => {
  const brick = new SlowBrick();
  brick.delayMs = 2;
  return (await wbVolume(brick, o?.chunkSize, o?.exports)).v;
});
