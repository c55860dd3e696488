/**
 * Removal of files and their brick objects (cluster/vfs/fresh-files.ts): a file that never had an object
 * is removed without a trim; every other removed file's objects are gone once the trims ran, whatever a
 * concurrent write did; a name removed and created again never shows the old bytes. On lmdb, memory and
 * Redis (where every removal trims: the store may be shared by several gateways).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Brick } from '../../cluster/bricks/brick';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { defaultExport } from '../../cluster/vfs/exports';
import { Errc, isCoreError } from '../../cluster/vfs/errors';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { b, ROOT, tempDir } from './helpers';
import { redisForFile } from './redis-server';

const CHUNK = 64 * 1024;
const EXPORTS = [defaultExport('t', 1)];

/** A memory brick that counts drops and can slow its writes down. */
class CountingBrick extends MemoryBrick {
  drops = 0;
  writeDelayMs = 0;
  override async dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    this.drops++;
    return super.dropFrom(fileId, firstChunk);
  }
  override async writeRange(id: { fileId: bigint; chunk: number }, offset: number, data: Buffer): Promise<void> {
    if (this.writeDelayMs) await new Promise((r) => setTimeout(r, this.writeDelayMs));
    return super.writeRange(id, offset, data);
  }
}

type Opener = (brick: Brick, writeBehind: boolean) => Promise<Volume>;

/** Objects of the file on `brick` (the volume's own brick: it waits for queued writes of each object). */
async function objects(brick: Brick, fileId: bigint, chunks = 3): Promise<number> {
  let n = 0;
  for (let c = 0; c < chunks; c++) if (await brick.stat({ fileId, chunk: c })) n++;
  return n;
}

/** Lets the volume keep the write's buffer, as the NFS WRITE handler does, so UNSTABLE writes can queue. */
const RETAIN = { retain: () => () => undefined };

function suite(name: string, open: Opener, trimsFreshFiles: boolean): void {
  describe(`file removal and brick objects (${name})`, () => {
    test(
      trimsFreshFiles ? 'every removed file is trimmed (shared store)' : 'a never-written file is removed without a trim; written ones are trimmed',
      async () => {
        const brick = new CountingBrick();
        const v = await open(brick, false);
        try {
          const root = await v.rootHandle(1);
          const empty = await v.create(ROOT, root, b('empty'), { mode: CreateMode.GUARDED });
          await v.remove(ROOT, root, b('empty'));
          await v.settle();
          assert.equal(brick.drops, trimsFreshFiles ? 1 : 0);
          await assert.rejects(v.getattr(ROOT, empty.handle), (e: unknown) => isCoreError(e) && e.errc === Errc.STALE);

          // Written: its objects go.
          const f = await v.create(ROOT, root, b('data'), { mode: CreateMode.GUARDED });
          await v.write(ROOT, f.handle, 0n, Buffer.alloc(2 * CHUNK + 10, 5), Stable.FILE_SYNC);
          assert.equal(await objects(v.brick, f.attr.fileId), 3);
          const drops = brick.drops;
          await v.remove(ROOT, root, b('data'));
          await v.settle();
          assert.ok(brick.drops > drops, 'trimmed');
          assert.equal(await objects(v.brick, f.attr.fileId), 0);
          assert.deepEqual(await v.ns.pendingGc(), []);
        } finally {
          await v.close();
        }
      },
    );

    test('a file written and then truncated to 0, or replaced by a rename, still loses its objects', async () => {
      const brick = new CountingBrick();
      const v = await open(brick, false);
      try {
        const root = await v.rootHandle(1);
        const t = await v.create(ROOT, root, b('trunc'), { mode: CreateMode.GUARDED });
        await v.write(ROOT, t.handle, 0n, Buffer.alloc(CHUNK + 1, 1), Stable.FILE_SYNC);
        await v.setattr(ROOT, t.handle, { size: 0n });
        // Objects written after the truncate, still at size 0 from the size's point of view: a write at 0.
        await v.write(ROOT, t.handle, 0n, Buffer.from('x'), Stable.UNSTABLE);
        await v.setattr(ROOT, t.handle, { size: 0n });
        await v.settle();
        await v.remove(ROOT, root, b('trunc'));
        await v.settle();
        assert.equal(await objects(v.brick, t.attr.fileId), 0, 'size 0 after writes: trimmed anyway');

        const victim = await v.create(ROOT, root, b('victim'), { mode: CreateMode.GUARDED });
        await v.write(ROOT, victim.handle, 0n, Buffer.from('old bytes'), Stable.FILE_SYNC);
        await v.create(ROOT, root, b('src'), { mode: CreateMode.GUARDED });
        await v.rename(ROOT, root, b('src'), root, b('victim'));
        await v.settle();
        assert.equal(await objects(v.brick, victim.attr.fileId), 0, 'the replaced file is trimmed');
        assert.deepEqual(await v.ns.pendingGc(), []);
      } finally {
        await v.close();
      }
    });

    test('writes racing the removal of a new file leave no object behind', async () => {
      for (const writeBehind of [false, true]) {
        const brick = new CountingBrick();
        brick.writeDelayMs = 2;
        const v = await open(brick, writeBehind);
        try {
          const root = await v.rootHandle(1);
          const ids: bigint[] = [];
          // The removal starts after 0..7 turns of the microtask queue, so it lands at different points
          // of the write (before it resolved the file, between that and the brick write, during it).
          for (let i = 0; i < 16; i++) {
            const name = b(`race${i}`);
            const f = await v.create(ROOT, root, name, { mode: CreateMode.GUARDED });
            ids.push(f.attr.fileId);
            const w = v.write(ROOT, f.handle, 0n, Buffer.alloc(CHUNK + 100, 9), i % 2 ? Stable.UNSTABLE : Stable.FILE_SYNC, RETAIN);
            for (let k = 0; k < i % 8; k++) await Promise.resolve();
            const r = v.remove(ROOT, root, name);
            const [wr, rr] = await Promise.allSettled([w, r]);
            assert.equal(rr.status, 'fulfilled');
            if (wr.status === 'rejected') assert.ok(isCoreError(wr.reason) && wr.reason.errc === Errc.STALE, String(wr.reason));
          }
          await v.settle();
          for (const id of ids) assert.equal(await objects(v.brick, id, 2), 0, `file ${id} (write-behind ${writeBehind}) left objects`);
          assert.deepEqual(await v.ns.pendingGc(), []);
        } finally {
          await v.close();
        }
      }
    });

    test('a write that found the file just before its removal committed drops what it wrote', async () => {
      for (const writeBehind of [false, true]) {
        const brick = new CountingBrick();
        const v = await open(brick, writeBehind);
        try {
          const root = await v.rootHandle(1);
          const f = await v.create(ROOT, root, b('late'), { mode: CreateMode.GUARDED });
          // The write has resolved the file and waits (here, for an SMB lease break) until the removal,
          // which sees a file without objects, has committed; only then does it reach the brick.
          let removed!: Promise<unknown>;
          v.setCachingBreaker({
            covers: () => true,
            breakFor: async () => {
              removed = v.remove(ROOT, root, b('late'));
              await removed;
            },
          });
          const w = v.write(ROOT, f.handle, 0n, Buffer.alloc(CHUNK + 10, 4), Stable.UNSTABLE, RETAIN);
          await assert.rejects(w, (e: unknown) => isCoreError(e) && e.errc === Errc.STALE);
          await removed;
          v.setCachingBreaker(undefined);
          await v.settle();
          assert.equal(await objects(v.brick, f.attr.fileId), 0, `write-behind ${writeBehind}`);
        } finally {
          await v.close();
        }
      }
    });

    test('a file removed right after an acknowledged UNSTABLE write (still queued) loses its objects', async () => {
      const brick = new CountingBrick();
      brick.writeDelayMs = 20;
      const v = await open(brick, true);
      try {
        const root = await v.rootHandle(1);
        const f = await v.create(ROOT, root, b('queued'), { mode: CreateMode.GUARDED });
        await v.write(ROOT, f.handle, 0n, Buffer.alloc(100, 3), Stable.UNSTABLE, RETAIN);
        await v.remove(ROOT, root, b('queued'));
        await v.settle();
        assert.equal(await objects(v.brick, f.attr.fileId), 0);
      } finally {
        await v.close();
      }
    });

    test('a name removed and created again never shows the old bytes', async () => {
      const brick = new CountingBrick();
      const v = await open(brick, true);
      try {
        const root = await v.rootHandle(1);
        for (let i = 0; i < 4; i++) {
          const f = await v.create(ROOT, root, b('again'), { mode: CreateMode.GUARDED });
          const got = await v.read(ROOT, f.handle, 0n, 100);
          assert.equal(got.data.length, 0, `round ${i}: a new file is empty`);
          got.release?.();
          // Past the old data's end: the hole before it reads as zeros.
          await v.write(ROOT, f.handle, 20n, Buffer.from(`round ${i}`), Stable.UNSTABLE, RETAIN);
          const r = await v.read(ROOT, f.handle, 0n, 100);
          assert.deepEqual(r.data.subarray(0, 20), Buffer.alloc(20), `round ${i}: no old bytes`);
          assert.equal(r.data.subarray(20).toString(), `round ${i}`);
          r.release?.();
          await v.remove(ROOT, root, b('again'));
        }
        await v.settle();
      } finally {
        await v.close();
      }
    });
  });
}

const cleanups: Array<() => void> = [];
suite('memory', (brick, wb) => openVolume({ engine: 'memory', exports: EXPORTS, chunkSize: CHUNK, brick, ...(wb ? { writeBehindBytes: 1 << 20 } : {}) }), false);
suite(
  'lmdb',
  (brick, wb) => {
    const t = tempDir('fresh-lmdb');
    cleanups.push(t.cleanup);
    return openVolume({ engine: 'lmdb', dataDir: t.dir, exports: EXPORTS, chunkSize: CHUNK, brick, ...(wb ? { writeBehindBytes: 1 << 20 } : {}) });
  },
  false,
);
const redis = redisForFile('fresh');
suite('redis', (brick, wb) => openVolume({ engine: 'redis', redis: { url: redis.url, keyPrefix: redis.prefix() }, exports: EXPORTS, chunkSize: CHUNK, brick, ...(wb ? { writeBehindBytes: 1 << 20 } : {}) }), true);
process.on('exit', () => cleanups.forEach((c) => c()));
