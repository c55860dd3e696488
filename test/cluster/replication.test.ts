/**
 * The replicated data layer with in-process bricks and injected faults: a Volume over a BrickCluster of
 * MemoryBricks wrapped in a fault switch (down = BrickFault 'unreachable', corrupt reads). Covers quorum
 * writes and their heal-journal marks (made before the write resolves), failover reads, corrupt-copy
 * repair, heal after a brick returns, dropped objects a down brick missed, replica-2 split-brain refusal,
 * and an online rebalance onto a fourth brick. The whole core volume suite also runs on replica 3.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Brick, BrickCapacity, ObjectId, ObjectInfo } from '../../cluster/bricks/brick';
import { BrickFault } from '../../cluster/bricks/brick-fault';
import { BrickCluster } from '../../cluster/bricks/brick-cluster';
import { HealJournal, healPrefix } from '../../cluster/bricks/heal-journal';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import type { BrickSpec } from '../../cluster/bricks/replica-set';
import { defaultExport } from '../../cluster/vfs/exports';
import { Errc } from '../../cluster/vfs/errors';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { b, rejectsWith, ROOT } from './helpers';
import { volumeSuite } from './volume-suite';

const CHUNK = 64 * 1024;

/** A MemoryBrick behind a switch: `down` makes every call fail as an unreachable brick would. */
class FaultyBrick implements Brick {
  down = false;
  readonly corrupt = new Set<string>();
  readonly inner: MemoryBrick;
  constructor(readonly name: string) {
    this.inner = new MemoryBrick(1n << 40n, name);
  }
  private gate(): void {
    if (this.down) throw new BrickFault('unreachable', this.name, 'switched off');
  }
  async writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
    this.gate();
    this.corrupt.delete(`${id.fileId}:${id.chunk}`);
    return this.inner.writeRange(id, offset, data);
  }
  async readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    this.gate();
    if (this.corrupt.has(`${id.fileId}:${id.chunk}`)) throw new BrickFault('corrupt', this.name, 'checksum');
    return this.inner.readRange(id, offset, length);
  }
  async readInto(id: ObjectId, offset: number, target: Buffer): Promise<number> {
    this.gate();
    if (this.corrupt.has(`${id.fileId}:${id.chunk}`)) {
      target.fill(0xee); // garbage in the caller's buffer: the next replica must overwrite it
      throw new BrickFault('corrupt', this.name, 'checksum');
    }
    return this.inner.readInto(id, offset, target);
  }
  async truncate(id: ObjectId, length: number): Promise<void> {
    this.gate();
    return this.inner.truncate(id, length);
  }
  async delete(id: ObjectId): Promise<void> {
    this.gate();
    this.corrupt.delete(`${id.fileId}:${id.chunk}`);
    return this.inner.delete(id);
  }
  async dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    this.gate();
    return this.inner.dropFrom(fileId, firstChunk);
  }
  async fsync(id: ObjectId): Promise<void> {
    this.gate();
    return this.inner.fsync(id);
  }
  async stat(id: ObjectId): Promise<{ size: number } | undefined> {
    this.gate();
    return this.inner.stat(id);
  }
  async capacity(): Promise<BrickCapacity> {
    this.gate();
    return this.inner.capacity();
  }
  async list(after: ObjectId | undefined, limit: number): Promise<ObjectInfo[]> {
    return this.inner.list(after, limit);
  }
  async checksum(id: ObjectId): Promise<Buffer | undefined> {
    return this.inner.checksum(id);
  }
  async close(): Promise<void> {}
}

interface Rig {
  vol: Volume;
  cluster: BrickCluster;
  bricks: Map<string, FaultyBrick>;
  root: Buffer;
}

async function rig(replica: number, n: number): Promise<Rig> {
  const bricks = new Map<string, FaultyBrick>();
  const specs: BrickSpec[] = Array.from({ length: n }, (_, i) => ({ id: `b${i + 1}`, address: `mem:${i + 1}` }));
  let cluster: BrickCluster | undefined;
  const vol = await openVolume({
    engine: 'memory',
    exports: [defaultExport('t', 1)],
    chunkSize: CHUNK,
    brick: async (kv) => {
      cluster = await BrickCluster.open({
        kv,
        replica,
        bricks: specs,
        probeIntervalMs: 50,
        healIntervalMs: 0,
        healBytesPerSecond: 0,
        rebalanceBytesPerSecond: 0,
        connect: (s) => {
          let fb = bricks.get(s.id);
          if (!fb) bricks.set(s.id, (fb = new FaultyBrick(s.id)));
          return fb;
        },
      });
      return cluster.set;
    },
  });
  return { vol, cluster: cluster!, bricks, root: await vol.rootHandle(1) };
}

async function writeFile(r: Rig, name: string, data: Buffer): Promise<Buffer> {
  const f = await r.vol.create(ROOT, r.root, b(name), { mode: CreateMode.GUARDED });
  for (let off = 0; off < data.length; off += 32768) {
    await r.vol.write(ROOT, f.handle, BigInt(off), data.subarray(off, off + 32768), Stable.UNSTABLE);
  }
  await r.vol.commit(ROOT, f.handle, 0n, 0);
  return f.handle;
}

async function readFile(r: Rig, h: Buffer, len: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let off = 0; off < len; off += 65536) {
    const res = await r.vol.read(ROOT, h, BigInt(off), 65536);
    parts.push(Buffer.from(res.data));
    res.release?.();
  }
  return Buffer.concat(parts).subarray(0, len);
}

/** Every object of every brick, as id → checksum hex, per brick. */
async function contents(r: Rig): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const [id, fb] of r.bricks) {
    const m = new Map<string, string>();
    for (const o of await fb.inner.list(undefined, 1 << 20)) m.set(`${o.id.fileId}:${o.id.chunk}`, (await fb.inner.checksum(o.id))!.toString('hex'));
    out.set(id, m);
  }
  return out;
}

/** Each object's copies (at its placement) are identical. */
async function assertReplicasIdentical(r: Rig): Promise<number> {
  const c = await contents(r);
  const all = new Set<string>();
  for (const m of c.values()) for (const k of m.keys()) all.add(k);
  for (const k of all) {
    const [f, ch] = k.split(':');
    const id = { fileId: BigInt(f!), chunk: Number(ch) };
    const where = r.cluster.set.placementOf(id);
    const sums = where.map((bid) => c.get(bid)!.get(k));
    assert.ok(sums.every((s) => s !== undefined && s === sums[0]), `object ${k}: copies differ or are missing: ${JSON.stringify(where.map((w, i) => [w, sums[i]]))}`);
  }
  return all.size;
}

async function journalKeys(r: Rig): Promise<number> {
  return (await r.vol.kv.range({ prefix: healPrefix() })).length;
}

describe('replicated bricks (in-process, injected faults)', () => {
  const open: Rig[] = [];
  const make = async (replica: number, n: number): Promise<Rig> => {
    const r = await rig(replica, n);
    open.push(r);
    return r;
  };
  after(async () => {
    for (const r of open) {
      await r.cluster.stop();
      await r.vol.close();
    }
  });

  it('replica 3: every write lands on the 3 replicas, identically', async () => {
    const r = await make(3, 3);
    const data = randomBytes(5 * CHUNK + 1234);
    const h = await writeFile(r, 'f', data);
    assert.ok((await readFile(r, h, data.length)).equals(data));
    assert.equal(await assertReplicasIdentical(r), 6);
    for (const fb of r.bricks.values()) assert.equal(fb.inner.objectCount(), 6);
  });

  it('one brick down: writes succeed, the missed replica is journaled before the reply, heal rebuilds it', async () => {
    const r = await make(3, 3);
    const first = randomBytes(3 * CHUNK);
    const h0 = await writeFile(r, 'before', first);
    r.bricks.get('b2')!.down = true;
    const data = randomBytes(4 * CHUNK + 77);
    const h = await writeFile(r, 'during', data);
    // The journal holds the missed copies as soon as the writes returned (durable txn before the ack).
    assert.equal(await journalKeys(r), 5);
    assert.ok((await readFile(r, h, data.length)).equals(data), 'reads skip the down brick');
    assert.ok((await readFile(r, h0, first.length)).equals(first));
    assert.equal(r.bricks.get('b2')!.inner.objectCount(), 3, 'b2 holds only what it had');
    // A stale replica is never read, even once the brick answers again and before heal ran.
    r.bricks.get('b2')!.down = false;
    await new Promise((res) => setTimeout(res, 150)); // the probe notices
    assert.ok(r.cluster.set.member('b2')!.up);
    for (let i = 0; i < 5; i++) assert.ok((await readFile(r, h, data.length)).equals(data));
    assert.ok(await r.cluster.healer.drain(5000), 'heal drains the journal');
    assert.equal(await journalKeys(r), 0);
    assert.equal(await assertReplicasIdentical(r), 8);
    assert.ok(r.cluster.healer.status().healedObjects >= 5);
  });

  it('two of three down: writes fail with EIO, healthy reads work, and the copies converge afterwards', async () => {
    const r = await make(3, 3);
    const old = randomBytes(2 * CHUNK);
    const h = await writeFile(r, 'old', old);
    r.bricks.get('b1')!.down = true;
    r.bricks.get('b3')!.down = true;
    const f = await r.vol.create(ROOT, r.root, b('new'), { mode: CreateMode.GUARDED });
    await rejectsWith(r.vol.write(ROOT, f.handle, 0n, randomBytes(1000), Stable.FILE_SYNC), Errc.IO);
    await rejectsWith(r.vol.write(ROOT, h, 10n, randomBytes(100), Stable.UNSTABLE), Errc.IO);
    assert.ok((await readFile(r, h, old.length)).subarray(200).equals(old.subarray(200)), 'reads of healthy chunks work');
    r.bricks.get('b1')!.down = false;
    r.bricks.get('b3')!.down = false;
    await new Promise((res) => setTimeout(res, 150));
    assert.ok(await r.cluster.healer.drain(5000));
    await assertReplicasIdentical(r);
    const back = await readFile(r, h, old.length);
    assert.ok(back.subarray(110).equals(old.subarray(110)), 'bytes outside the failed write are intact');
  });

  it('a corrupt copy: the read returns the right bytes and the copy is rewritten', async () => {
    const r = await make(3, 3);
    const data = randomBytes(2 * CHUNK);
    const h = await writeFile(r, 'c', data);
    const fileId = (await r.vol.getattr(ROOT, h)).fileId;
    const id = { fileId, chunk: 0 };
    // Damage the copy that reads of chunk 0 go to first (reads rotate by chunk and file id), as bitrot
    // would: wrong bytes on disk, which the brick's checksums report as 'corrupt'.
    const ids = r.cluster.set.replicaIds(id);
    const bad = r.bricks.get(ids[Number(fileId & 0xffffn) % ids.length]!)!;
    await bad.inner.writeRange(id, 100, Buffer.alloc(500, 0xee));
    bad.corrupt.add(`${fileId}:0`);
    for (let i = 0; i < 3; i++) assert.ok((await readFile(r, h, data.length)).equals(data), 'read served from a good copy');
    assert.ok(r.cluster.status().reads.corrupt >= 1, 'the bad copy was detected');
    assert.ok(await r.cluster.healer.drain(5000));
    assert.equal(bad.corrupt.size, 0, `${bad.name} repaired (rewritten)`);
    assert.ok((await bad.inner.readRange(id, 0, CHUNK)).equals(data.subarray(0, CHUNK)), 'the bad copy holds the right bytes again');
    await assertReplicasIdentical(r);
  });

  it('a brick that missed an unlink drops the objects when it returns', async () => {
    const r = await make(3, 3);
    await writeFile(r, 'gone', randomBytes(3 * CHUNK));
    r.bricks.get('b3')!.down = true;
    await r.vol.remove(ROOT, r.root, b('gone'));
    await r.vol.settle();
    assert.equal(r.bricks.get('b3')!.inner.objectCount(), 3);
    r.bricks.get('b3')!.down = false;
    await new Promise((res) => setTimeout(res, 150));
    assert.ok(await r.cluster.healer.drain(5000));
    for (const fb of r.bricks.values()) assert.equal(fb.inner.objectCount(), 0, fb.name);
  });

  it('replica 2: one brick down keeps writes going; a write that reaches only a stale replica is refused', async () => {
    const r = await make(2, 2);
    const data = randomBytes(CHUNK);
    const h = await writeFile(r, 'r2', data);
    r.bricks.get('b1')!.down = true;
    await r.vol.write(ROOT, h, 0n, Buffer.from('new bytes'), Stable.FILE_SYNC);
    // Now b1 is stale for chunk 0. If b2 disappears and b1 comes back, b1 must not take (or serve) it.
    r.bricks.get('b1')!.down = false;
    r.bricks.get('b2')!.down = true;
    await new Promise((res) => setTimeout(res, 150));
    await rejectsWith(r.vol.write(ROOT, h, 0n, Buffer.from('split'), Stable.FILE_SYNC), Errc.IO);
    await rejectsWith(r.vol.read(ROOT, h, 0n, 9), Errc.IO);
    r.bricks.get('b2')!.down = false;
    await new Promise((res) => setTimeout(res, 150));
    assert.ok(await r.cluster.healer.drain(5000));
    const back = await readFile(r, h, data.length);
    assert.equal(back.subarray(0, 9).toString(), 'new bytes');
    assert.ok(back.subarray(9).equals(data.subarray(9)));
    await assertReplicasIdentical(r);
  });

  it('adding a 4th brick rebalances about a quarter of the copies, online', async () => {
    const r = await make(3, 3);
    const files: Array<{ h: Buffer; data: Buffer }> = [];
    for (let i = 0; i < 12; i++) {
      const data = randomBytes(8 * CHUNK);
      files.push({ h: await writeFile(r, `f${i}`, data), data });
    }
    await r.cluster.addBrick({ id: 'b4', address: 'mem:4' });
    // Reads and writes during the move.
    const extra = randomBytes(3 * CHUNK);
    const hx = await writeFile(r, 'during', extra);
    for (const f of files.slice(0, 4)) assert.ok((await readFile(r, f.h, f.data.length)).equals(f.data));
    const until = Date.now() + 10000;
    while (r.cluster.set.rebalancing && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
    assert.equal(r.cluster.set.rebalancing, false, 'rebalance finished');
    const st = r.cluster.status().rebalance;
    assert.equal(st.state, 'done');
    process.stdout.write(`# rebalance 3 -> 4 bricks: moved fraction ${st.fraction.toFixed(3)} (${st.movedCopies} copies)\n`);
    assert.ok(st.fraction > 0.15 && st.fraction < 0.35, `fraction ${st.fraction}`);
    assert.equal(r.cluster.currentLayout.from, undefined);
    assert.equal(r.cluster.currentLayout.bricks.length, 4);
    for (const f of files) assert.ok((await readFile(r, f.h, f.data.length)).equals(f.data));
    assert.ok((await readFile(r, hx, extra.length)).equals(extra));
    const n = await assertReplicasIdentical(r);
    let stored = 0;
    for (const fb of r.bricks.values()) stored += fb.inner.objectCount();
    assert.equal(stored, n * 3, 'no copy left behind at the old placement');
  });
});

describe('remove-brick', () => {
  it('moves every copy off the leaving brick, then drops it from the volume', async () => {
    const r = await rig(3, 4);
    try {
      const files: Array<{ h: Buffer; data: Buffer }> = [];
      for (let i = 0; i < 6; i++) {
        const data = randomBytes(6 * CHUNK + 100);
        files.push({ h: await writeFile(r, `g${i}`, data), data });
      }
      const before = r.bricks.get('b2')!.inner.objectCount();
      assert.ok(before > 0);
      await r.cluster.removeBrick('b2');
      await rejectsWith(r.cluster.removeBrick('b3'), Errc.DELAY); // one change at a time
      const until = Date.now() + 10000;
      while (r.cluster.set.rebalancing && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
      assert.equal(r.cluster.set.rebalancing, false);
      assert.deepEqual(r.cluster.currentLayout.bricks.map((x) => x.id), ['b1', 'b3', 'b4']);
      assert.equal(r.cluster.set.member('b2'), undefined, 'the leaving brick is closed');
      assert.equal(r.bricks.get('b2')!.inner.objectCount(), 0, 'nothing left on it');
      for (const f of files) assert.ok((await readFile(r, f.h, f.data.length)).equals(f.data));
      const n = await assertReplicasIdentical(r);
      let stored = 0;
      for (const [id, fb] of r.bricks) if (id !== 'b2') stored += fb.inner.objectCount();
      assert.equal(stored, n * 3);
      await rejectsWith(r.cluster.removeBrick('b1'), Errc.INVAL); // replica 3 needs 3 bricks
    } finally {
      await r.cluster.stop();
      await r.vol.close();
    }
  });
});

describe('heal journal', () => {
  it('a mark committed while the mirror reloads is not lost from it', async () => {
    const kv = new MemoryKv();
    const j = new HealJournal(kv);
    await j.load();
    for (let i = 0; i < 20; i++) {
      const id = { fileId: BigInt(100 + i), chunk: i };
      await Promise.all([j.load(), j.markStale([{ brick: 'x', id }], [{ brick: 'y', id }]), j.load()]);
      assert.ok(j.isStale('x', id), `mark ${i} visible after concurrent reloads`);
      assert.ok(!j.isStale('y', id));
    }
    await j.load();
    assert.equal(j.size, 20);
  });

  it('refuses to acknowledge a write whose only good replica is itself stale (arbiter)', async () => {
    const kv = new MemoryKv();
    const j = new HealJournal(kv);
    await j.load();
    const id = { fileId: 7n, chunk: 0 };
    await j.markStale([{ brick: 'b', id }], [{ brick: 'a', id }]);
    await rejectsWith(j.markStale([{ brick: 'a', id }], [{ brick: 'b', id }]), Errc.IO);
    assert.ok(j.isStale('b', id));
    assert.ok(!j.isStale('a', id));
  });
});

// The whole core volume suite on a replica-3 set (placement, chunking, trims and all).
volumeSuite('replica-3 over 4 bricks', async (o) =>
  openVolume({
    engine: 'memory',
    exports: o?.exports ?? [defaultExport('t', 1)],
    chunkSize: o?.chunkSize,
    brick: async (kv) => {
      const c = await BrickCluster.open({
        kv,
        replica: 3,
        bricks: ['a', 'b', 'c', 'd'].map((id) => ({ id, address: `mem:${id}` })),
        healIntervalMs: 0,
        connect: (s) => new MemoryBrick(1n << 40n, s.id),
      });
      return c.set;
    },
  }),
);
