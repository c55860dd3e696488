/**
 * A rebalance while two gateways serve one volume on Redis, below the protocols (the e2e test
 * multi-gateway-rebalance shows it end to end with processes): two Volumes ("gateway 1" and "gateway 2")
 * on one Redis key space, each with its own BrickCluster over the same four in-process bricks.
 *
 * The race a move must survive, forced: gateway 1 adds b4 and its mover copies an object that moves; the
 * copy has read the object's old bytes and is held there while gateway 2 rewrites the object (at its old
 * placement: gateway 2 does not know the move). The copy then completes with the OLD bytes. The move must
 * not commit (the store counted gateway 2's change): it is copied again, and every read through either
 * gateway, during and after, returns the new bytes. Then gateway 2, still not knowing the object moved,
 * writes it again: the write finds the object moved and is repeated at the new placement. After the
 * clean-up every object is on exactly three bricks with identical bytes.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { ObjectId } from '../../cluster/bricks/brick';
import { BrickCluster } from '../../cluster/bricks/brick-cluster';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { Placement } from '../../cluster/bricks/placement';
import type { BrickSpec } from '../../cluster/bricks/replica-set';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { CreateMode, Stable } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { b, ROOT, tempDir } from './helpers';
import { BrickView } from './brick-view';
import { redisForFile } from './redis-server';

const CHUNK = 64 * 1024;
const CHUNKS = 8;

interface Gateway {
  vol: Volume;
  cluster: BrickCluster;
  views: Map<string, BrickView>;
  root: Buffer;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

describe('rebalance with two gateways on one Redis', () => {
  const redis = redisForFile('rebalance-shared');
  const closers: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });

  it('a copy that raced another gateway\'s write is redone; a write that finds its object moved is repeated at the new placement', { timeout: 120000 }, async () => {
    const prefix = redis.prefix();
    const all: BrickSpec[] = ['b1', 'b2', 'b3', 'b4'].map((id) => ({ id, address: `mem:${id}` }));
    const shared = new Map(all.map((s) => [s.id, new MemoryBrick(1n << 40n, s.id)]));
    const open = async (n: number): Promise<Gateway> => {
      const views = new Map(all.map((s) => [s.id, new BrickView(shared.get(s.id)!)]));
      const dir = tempDir(`rebal-shared-${n}`);
      closers.push(async () => dir.cleanup());
      let cluster: BrickCluster | undefined;
      const vol = await openVolume({
        engine: 'redis',
        redis: { url: redis.url, keyPrefix: prefix },
        dataDir: dir.dir,
        exports: [defaultExport('t', 1)],
        chunkSize: CHUNK,
        brick: async (kv) => {
          cluster = await BrickCluster.open({
            kv,
            replica: 3,
            bricks: all.slice(0, 3),
            connect: (s) => views.get(s.id)!,
            gatewayId: `gw${n}`,
            layoutPollMs: 50,
            healIntervalMs: 0,
            rebalanceBytesPerSecond: 0,
          });
          return cluster.set;
        },
      });
      closers.push(async () => {
        await cluster!.stop();
        await vol.close();
      });
      return { vol, cluster: cluster!, views, root: await vol.rootHandle(1) };
    };
    const g1 = await open(1);
    const g2 = await open(2);

    const made = await g1.vol.create(ROOT, g1.root, b('f.bin'), { mode: CreateMode.GUARDED });
    const h = made.handle;
    const fileId = made.attr.fileId;
    let bytes = randomBytes(CHUNK * CHUNKS);
    await g1.vol.write(ROOT, h, 0n, bytes, Stable.FILE_SYNC);
    const h2 = (await g2.vol.lookup(ROOT, g2.root, b('f.bin'))).handle;
    const readBoth = async (when: string, only?: Gateway): Promise<void> => {
      for (const [g, hh] of [[g1, h], [g2, h2]] as const) {
        if (only && g !== only) continue;
        const r = await g.vol.read(ROOT, hh, 0n, bytes.length);
        const got = Buffer.from(r.data);
        r.release?.();
        assert.ok(got.equals(bytes), `${when}: read through gateway ${g === g1 ? 1 : 2} differs from what was written`);
      }
    };
    await readBoth('before');

    // A chunk whose replicas change when b4 joins; hold the mover's copy of it after its read.
    const oldP = new Placement(['b1', 'b2', 'b3']);
    const newP = new Placement(['b1', 'b2', 'b3', 'b4']);
    // The first three chunks that move (the walk takes them in order, two at a time): the copies of the
    // first and third are held, so the second moves meanwhile and the rebalance cannot end.
    const moving: ObjectId[] = [];
    for (let c = 0; c < CHUNKS; c++) if (!sameSet(oldP.replicas({ fileId, chunk: c }, 3), newP.replicas({ fileId, chunk: c }, 3))) moving.push({ fileId, chunk: c });
    assert.ok(moving.length >= 3, `three chunks of the file move to b4 (${moving.length})`);
    const [target, target2, target3] = moving as [ObjectId, ObjectId, ObjectId];
    const hold = (id: ObjectId): { reached: Promise<void>; release: () => void } => {
      let reached!: () => void;
      const at = new Promise<void>((r) => (reached = r));
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      for (const s of oldP.replicas(id, 3)) g1.views.get(s)!.holds.push({ id, reached: () => reached(), release: released });
      return { reached: at, release };
    };
    const h1 = hold(target);
    const h3 = hold(target3);
    closers.push(async () => {
      h1.release(); // a failed assertion must not leave the mover held
      h3.release();
    });

    await g1.cluster.addBrick(all[3]!);
    await h1.reached; // the mover read the old bytes of `target` and waits (gateway 2 has acknowledged the layout)
    assert.equal(g2.cluster.currentLayout.epoch, g1.cluster.currentLayout.epoch, 'gateway 2 switched to the new layout before any copy');
    const piece = randomBytes(CHUNK);
    await g2.vol.write(ROOT, h2, BigInt(target.chunk * CHUNK), piece, Stable.FILE_SYNC);
    bytes = Buffer.from(bytes);
    piece.copy(bytes, target.chunk * CHUNK);
    // (Gateway 1's own reads of the object wait for its move: the mover holds the object's lock.)
    await readBoth('while the copy is held', g2);

    // target2 moved meanwhile; gateway 1 (the mover) writes it at its new placement only. Gateway 2 has not
    // touched it since before the change: its read must look the object up and read the new placement.
    await h3.reached;
    assert.ok(g1.cluster.set.moves && (await g1.cluster.set.moves.counts(target2)).moved, 'target2 moved');
    const piece3 = randomBytes(CHUNK);
    await g1.vol.write(ROOT, h, BigInt(target2.chunk * CHUNK), piece3, Stable.FILE_SYNC);
    piece3.copy(bytes, target2.chunk * CHUNK);
    const oldOnly = oldP.replicas(target2, 3).find((r) => !newP.replicas(target2, 3).includes(r))!;
    assert.ok(!(await shared.get(oldOnly)!.readRange(target2, 0, CHUNK)).equals(piece3), 'the write went to the new placement only');
    await readBoth('a moved object written through gateway 1, read through gateway 2', g2);
    h1.release();
    h3.release();

    // The move commits only after a second copy; then gateway 2 writes the moved object once more.
    const until = Date.now() + 60000;
    while (!g1.cluster.set.moves || !(await g1.cluster.set.moves.counts(target)).moved) {
      assert.ok(Date.now() < until, 'the object moves');
      await new Promise((r) => setTimeout(r, 20));
    }
    // Every new replica of the object holds what was last written (bricks read directly: a read through a
    // gateway sees one replica only).
    const copiesHold = async (when: string): Promise<void> => {
      const want = bytes.subarray(target!.chunk * CHUNK, (target!.chunk + 1) * CHUNK);
      for (const r of newP.replicas(target!, 3)) {
        const got = await shared.get(r)!.readRange(target!, 0, CHUNK);
        assert.ok(got.equals(want), `${when}: the copy on ${r} is not what was last written (a lost write)`);
      }
    };
    await copiesHold('right after the move');
    assert.ok((g1.cluster.rebalancer.status().raced ?? 0) >= 1, 'the raced copy was not committed');
    // Gateway 2 has not read the object since it moved: it writes at the old placement, finds the object
    // moved, and repeats the write at the new one.
    const piece2 = randomBytes(CHUNK);
    await g2.vol.write(ROOT, h2, BigInt(target.chunk * CHUNK), piece2, Stable.FILE_SYNC);
    piece2.copy(bytes, target.chunk * CHUNK);
    await copiesHold('after a write through gateway 2 to the moved object');
    await readBoth('after a write through gateway 2 to the moved object');

    while (g1.cluster.rebalancer.status().state !== 'done') {
      assert.ok(Date.now() < until + 60000, 'the rebalance ends');
      await new Promise((r) => setTimeout(r, 20));
    }
    await readBoth('after the rebalance');
    // Every object of the file on exactly its three new bricks, with the same bytes.
    for (let c = 0; c < CHUNKS; c++) {
      const id = { fileId, chunk: c };
      const holders: BrickSpec[] = [];
      for (const s of all) if (await shared.get(s.id)!.stat(id)) holders.push(s);
      assert.deepEqual(holders.map((s) => s.id).sort(), newP.replicas(id, 3).sort(), `chunk ${c} is on its new replicas only`);
      const copies = await Promise.all(holders.map((s) => shared.get(s.id)!.readRange(id, 0, CHUNK)));
      for (const x of copies) assert.ok(x.equals(bytes.subarray(c * CHUNK, (c + 1) * CHUNK)), `chunk ${c}: every copy holds the last write`);
    }
  });
});
