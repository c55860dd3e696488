/**
 * Cold copies on brick nodes (WriteHint.cold, brick protocol WRITE_COLD, LocalBrick.writeDirect):
 *
 *  - through a replica-3 set over three real brick processes, every chunk's preferred reader keeps its
 *    copy in the page cache and the two other copies do not (fincore, the kernel's own count of cached
 *    pages); every copy holds exactly the written bytes, and the three bricks' digests agree;
 *  - on one checksummed brick, a random mix of direct (cold, aligned) and buffered writes of the same
 *    objects, with truncates, reads back exactly as a model says, before and after a reopen, with every
 *    block's checksum valid.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { ChecksummedBrick } from '../../cluster/bricks/checksummed-brick';
import type { ObjectId } from '../../cluster/bricks/brick';
import type { LocalBrick } from '../../cluster/bricks/local-brick';
import { RemoteBrick } from '../../cluster/bricks/remote-brick';
import { readRotation, ReplicaSet, type BrickSpec } from '../../cluster/bricks/replica-set';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { startBrick, type BrickProc } from './brick-proc';
import { rng, tempDir } from './helpers';

const MiB = 1024 * 1024;
const cleanups: Array<() => void | Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function dir(tag: string): string {
  const t = tempDir(tag);
  cleanups.push(t.cleanup);
  return t.dir;
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 131 + seed * 17 + (i >> 9)) & 0xff;
  return b;
}

/** Bytes of `path` in the page cache, as the kernel counts them (util-linux fincore). */
function cachedBytes(path: string): number {
  return Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).trim());
}

describe('cold copies on brick nodes', () => {
  test('replica 3 over brick processes: only each chunk\'s preferred reader caches its copy; all copies are exact', async () => {
    const procs: BrickProc[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await startBrick(dir(`dw-b${i}`));
      procs.push(p);
      cleanups.push(() => p.stop());
    }
    const specs: BrickSpec[] = procs.map((p, i) => ({ id: `b${i}`, address: p.address }));
    const openSet = (): Promise<ReplicaSet> =>
      ReplicaSet.open({ kv: new MemoryKv(), replica: 3, bricks: specs, connect: (s) => new RemoteBrick({ address: s.address, name: s.id }), probeIntervalMs: 3_600_000 });
    const set = await openSet();
    const ids: ObjectId[] = [0, 1, 2, 3, 4, 5].map((chunk) => ({ fileId: 0x5151n, chunk }));
    const data = ids.map((_, k) => pattern(2 * MiB, k));
    for (const [k, id] of ids.entries()) {
      // Two 1 MiB pieces per object, as the volume writes them.
      await Promise.all([set.writeRange(id, 0, data[k]!.subarray(0, MiB)), set.writeRange(id, MiB, data[k]!.subarray(MiB))]);
      await set.fsync(id);
    }
    for (const [k, id] of ids.entries()) assert.deepEqual(await set.readRange(id, 0, 2 * MiB), data[k], `chunk ${id.chunk} through the set`);
    await set.close();

    // Every copy, read straight from each brick, is exact, and the bricks' digests agree.
    for (const [k, id] of ids.entries()) {
      const digests: string[] = [];
      for (const [i, p] of procs.entries()) {
        const r = new RemoteBrick({ address: p.address, name: `check${i}` });
        try {
          assert.deepEqual(await r.readRange(id, 0, 2 * MiB), data[k], `chunk ${id.chunk} on b${i}`);
          digests.push((await r.checksum(id))!.toString('hex'));
        } finally {
          await r.close();
        }
      }
      assert.equal(new Set(digests).size, 1, `chunk ${id.chunk}: the three copies' digests agree`);
    }
    // The reads above went through the bricks' page caches; count what the writes left, so write again.
    const set2 = await openSet();
    const fresh = ids.map((id) => ({ fileId: 0x6262n, chunk: id.chunk }));
    for (const [k, id] of fresh.entries()) {
      await set2.writeRange(id, 0, data[k]!);
      await set2.fsync(id);
    }
    const reader = fresh.map((id) => set2.replicaIds(id)[readRotation(id, 3)]!);
    await set2.close();
    for (const p of procs) await p.stop();

    let cold = 0;
    for (const [k, id] of fresh.entries()) {
      for (const [i, p] of procs.entries()) {
        const b = await ChecksummedBrick.open(p.dir, { name: `b${i}` });
        const path = b.objectPath(id);
        await b.close();
        const cached = cachedBytes(path);
        if (`b${i}` === reader[k]) assert.equal(cached, data[k]!.length, `chunk ${id.chunk}: the preferred reader b${i} keeps its copy cached`);
        else {
          assert.equal(cached, 0, `chunk ${id.chunk}: b${i}'s cold copy is not in the page cache`);
          cold++;
        }
      }
    }
    assert.equal(cold, 2 * fresh.length);
  });

  test('direct and buffered writes of the same objects mix: exact bytes and valid checksums, before and after a reopen', async () => {
    const d = dir('dw-mix');
    let br = await ChecksummedBrick.open(d, { name: 'mix', directWrites: true });
    const rnd = rng(0xd1ec7);
    const int = (n: number): number => Math.floor(rnd() * n);
    const SIZE = 3 * MiB;
    const objs: ObjectId[] = [0, 1, 2].map((chunk) => ({ fileId: 0x77n, chunk }));
    const model = objs.map(() => Buffer.alloc(0));
    for (let step = 0; step < 60; step++) {
      const k = int(objs.length);
      const id = objs[k]!;
      const kind = int(10);
      if (kind === 0) {
        const len = int(SIZE);
        await br.truncate(id, len);
        if ((await br.stat(id)) === undefined) continue;
        const m = Buffer.alloc(len);
        model[k]!.copy(m, 0, 0, Math.min(len, model[k]!.length));
        model[k] = m;
        continue;
      }
      // Aligned 64 KiB..1 MiB pieces (direct when cold), or any range (always buffered).
      const aligned = kind < 6;
      const len = aligned ? (1 + int(16)) * 64 * 1024 : 1 + int(300 * 1024);
      const off = aligned ? int(32) * 64 * 1024 : int(2 * MiB);
      const piece = pattern(len, step + 1);
      await br.writeRange(id, off, piece, { cold: kind % 2 === 0 });
      const end = Math.max(model[k]!.length, off + len);
      if (end > model[k]!.length) {
        const m = Buffer.alloc(end);
        model[k]!.copy(m);
        model[k] = m;
      }
      piece.copy(model[k]!, off);
      if (step % 7 === 0) assert.deepEqual(await br.readRange(id, 0, SIZE + MiB), model[k], `step ${step}: object ${k}`);
    }
    const direct = (br as unknown as { data: LocalBrick }).data.directWriteCount;
    assert.ok(direct > 5, `direct writes happened (${direct})`);
    for (const [k, id] of objs.entries()) {
      if ((await br.stat(id)) !== undefined) await br.fsync(id);
      assert.deepEqual(await br.readRange(id, 0, SIZE + MiB), model[k], `object ${k} before close`);
    }
    await br.close();
    br = await ChecksummedBrick.open(d, { name: 'mix' });
    for (const [k, id] of objs.entries()) {
      assert.deepEqual(await br.readRange(id, 0, SIZE + MiB), model[k], `object ${k} after reopen`);
      if (model[k]!.length > 0) assert.ok(await br.checksum(id), `object ${k}: every block verifies`);
    }
    await br.close();
  });
});
