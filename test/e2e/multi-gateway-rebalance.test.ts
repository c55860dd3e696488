/**
 * add-brick and remove-brick while two gateways serve one volume on Redis (cluster/bricks/move-state.ts,
 * docs/distributed.md "Several gateways and brick changes").
 *
 * Redis, four brick processes, a replica-3 volume on b1..b3 and two gateways. Files are written through
 * both. Then b4 is added through gateway 1 while a loop keeps rewriting chunks through both gateways
 * (alternating), creates new files through gateway 2, and after every write reads the file back through
 * BOTH gateways: every read must be exactly what was last written, during the rebalance and after it.
 * After it: about a quarter of the stored copies moved (printed), every object is on exactly three
 * bricks with identical checksums (the old copies were deleted, none lost a write), and b4 holds data.
 * Then b1 is removed through gateway 2 with the same loop: again about a quarter moved, every object on
 * b2, b3 and b4 identical, nothing left on b1.
 */
import { strict as assert } from 'node:assert';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBrick, type BrickProc } from '../cluster/brick-proc';
import { startRedis, type RedisProc } from '../cluster/redis-server';
import { brickObjects, waitFor } from './cluster-harness';
import { startGateways, volumeStatus, type Gw } from './gateway-set';
import { Nfs3TestClient } from './nfs3-client';

const CHUNK = 64 * 1024;
const CHUNKS = 6;
const FILES = 24;
const FILE_SYNC = 2;

interface TestFile {
  name: string;
  fh: [Buffer, Buffer];
  bytes: Buffer;
}

describe('e2e: add-brick and remove-brick while two gateways serve the volume (Redis)', () => {
  let work: string;
  let redis: RedisProc;
  const bricks: BrickProc[] = [];
  let gws: Gw[] = [];
  const clients: Nfs3TestClient[] = [];
  const roots: Buffer[] = [];
  const files: TestFile[] = [];

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-multirebal-'));
    redis = await startRedis();
    for (const n of [1, 2, 3, 4]) bricks.push(await startBrick(path.join(work, `b${n}`)));
    gws = await startGateways(work, 2, {
      redisUrl: redis.url,
      keyPrefix: 'e2erb:{data}:',
      bricks: bricks.slice(0, 3).map((b, i) => ({ id: `b${i + 1}`, address: b.address })),
      replica: 3,
      chunkSize: CHUNK,
      // Slow enough that the workload below overlaps the moves. Not slower: the workload adds objects while
      // the move runs (every 5th round a new file), which the move must also carry; at 1 MiB/s that fed
      // back into ~40 s of remove-brick (673 copies moved, 459 of them written after the walk), at
      // 2 MiB/s it ends in ~10 s with tens of rounds still overlapping it.
      extra: { rebalanceMiBps: 2 },
    });
    for (const g of gws) {
      const c = await Nfs3TestClient.connect(g.proc.nfsPort, g.proc.mountPort);
      clients.push(c);
      roots.push((await c.mount('/data')).fh!);
    }
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const g of gws) await g.proc.kill9();
    for (const b of bricks) await b.stop().catch(() => undefined);
    await redis?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Creates a file through gateway `via`, writes it whole (FILE_SYNC), looks it up through the other. */
  async function makeFile(name: string, via: number, chunks: number): Promise<TestFile> {
    const made = await clients[via]!.create(roots[via]!, name, 1);
    assert.equal(made.status, 0, `create ${name}`);
    const bytes = randomBytes(CHUNK * chunks);
    for (let c = 0; c < chunks; c++) assert.equal((await clients[via]!.write(made.fh!, BigInt(c * CHUNK), bytes.subarray(c * CHUNK, (c + 1) * CHUNK), FILE_SYNC)).status, 0);
    const other = 1 - via;
    const found = await clients[other]!.lookup(roots[other]!, name);
    assert.equal(found.status, 0);
    const fh: [Buffer, Buffer] = via === 0 ? [made.fh!, found.fh!] : [found.fh!, made.fh!];
    return { name, fh, bytes };
  }

  async function checkFile(f: TestFile, when: string): Promise<void> {
    for (const g of [0, 1]) {
      const r = await clients[g]!.readAll(f.fh[g]!, 0n, f.bytes.length);
      assert.equal(r.status, 0, `${f.name} read through gateway ${g + 1} ${when}`);
      if (!r.data!.equals(f.bytes)) {
        const bad: number[] = [];
        for (let c = 0; c * CHUNK < f.bytes.length; c++) if (!r.data!.subarray(c * CHUNK, (c + 1) * CHUNK).equals(f.bytes.subarray(c * CHUNK, (c + 1) * CHUNK))) bad.push(c);
        assert.fail(`${f.name} through gateway ${g + 1} ${when}: chunks ${bad.join(',')} differ from what was last written (${r.data!.length} of ${f.bytes.length} bytes)`);
      }
    }
  }

  /**
   * Until the rebalance run by gateway `mover` is done: rewrite a chunk of a file through one gateway
   * (alternating), read the file back through both; every 5th round a new file through gateway 2.
   * Returns the rounds that ran while the mover reported the rebalance running.
   */
  async function workload(mover: number, tag: string): Promise<number> {
    let during = 0;
    for (let round = 0; ; round++) {
      const s = await volumeStatus(gws[mover]!);
      const running = s.rebalance.state === 'running';
      if (!running && round > 0) return during;
      if (running) during++;
      if (round % 5 === 4) files.push(await makeFile(`${tag}-new${round}.bin`, 1, 3));
      const f = files[randomInt(files.length)]!;
      const via = round % 2;
      const c = randomInt(f.bytes.length / CHUNK);
      const piece = randomBytes(CHUNK);
      assert.equal((await clients[via]!.write(f.fh[via]!, BigInt(c * CHUNK), piece, FILE_SYNC)).status, 0, `${tag}: write ${f.name} chunk ${c} through gateway ${via + 1}`);
      piece.copy(f.bytes, c * CHUNK);
      await checkFile(f, `${tag}, round ${round}${running ? ' (rebalance running)' : ''}`);
    }
  }

  /** Every object is on exactly the volume's bricks' share, `replica` copies with one checksum; returns objects per brick. */
  async function checkCopies(members: number[], others: number[]): Promise<Map<number, number>> {
    const where = new Map<string, Map<number, string>>();
    const per = new Map<number, number>();
    for (const i of [...members, ...others]) {
      const objs = await brickObjects(bricks[i]!.address);
      per.set(i, objs.size);
      for (const [k, sum] of objs) {
        let m = where.get(k);
        if (!m) where.set(k, (m = new Map()));
        m.set(i, sum);
      }
    }
    for (const [k, m] of where) {
      assert.equal(m.size, 3, `object ${k} is on bricks ${[...m.keys()].map((i) => `b${i + 1}`).join(',')} (expected exactly 3 copies)`);
      for (const i of others) assert.ok(!m.has(i), `object ${k} left on b${i + 1}, which is not in the volume`);
      assert.equal(new Set(m.values()).size, 1, `object ${k}: its copies differ`);
    }
    return per;
  }

  it('data written through both gateways; add-brick b4 through gateway 1 while both keep writing and reading', { timeout: 600000 }, async () => {
    for (let i = 0; i < FILES; i++) files.push(await makeFile(`f${i}.bin`, i % 2, CHUNKS));
    for (const f of files) await checkFile(f, 'before the change');
    const epoch = (await volumeStatus(gws[0]!)).epoch;

    const add = await fetch(`http://127.0.0.1:${gws[0]!.adminPort}/v1/volumes/data/bricks`, { method: 'POST', body: JSON.stringify({ id: 'b4', address: bricks[3]!.address }) });
    assert.equal(add.status, 200, `add-brick accepted with another gateway serving (${await add.clone().text()})`);
    const during = await workload(0, 'add');
    const s1 = await volumeStatus(gws[0]!);
    assert.equal(s1.rebalance.state, 'done', `rebalance ended ${JSON.stringify(s1.rebalance)}`);
    assert.ok(during > 0, 'some writes and reads overlapped the rebalance');
    // Switch, end, clean-up end: three epochs; gateway 2 follows them by itself.
    assert.equal(s1.epoch, epoch + 3);
    await waitFor('gateway 2 on the final layout', async () => (await volumeStatus(gws[1]!)).epoch === epoch + 3, 30000, 200);
    const st = s1.rebalance;
    process.stdout.write(`# add-brick with two gateways: moved ${st.movedCopies} copies (${st.lateCopies ?? 0} of objects written after the walk), ${st.scannedObjects * 3} copies walked, fraction ${st.fraction.toFixed(3)}; ${during} write+read rounds overlapped it; ${st.raced ?? 0} moves redone after a race; ${st.removedCopies} old copies deleted\n`);
    assert.ok(st.fraction > 0.15 && st.fraction < 0.35, `about a quarter of the copies moved (fraction ${st.fraction})`);
    assert.ok((await volumeStatus(gws[1]!)).bricks.some((b: any) => b.id === 'b4' && b.member), 'gateway 2 serves b4');

    for (const f of files) await checkFile(f, 'after add-brick');
    const per = await checkCopies([0, 1, 2, 3], []);
    assert.ok(per.get(3)! > 0, 'b4 holds objects');
  });

  it('remove-brick b1 through gateway 2 while both keep writing and reading', { timeout: 600000 }, async () => {
    const epoch = (await volumeStatus(gws[1]!)).epoch;
    const rm = await fetch(`http://127.0.0.1:${gws[1]!.adminPort}/v1/volumes/data/bricks/b1`, { method: 'DELETE' });
    assert.equal(rm.status, 200, `remove-brick accepted (${await rm.clone().text()})`);
    const during = await workload(1, 'remove');
    const s2 = await volumeStatus(gws[1]!);
    assert.equal(s2.rebalance.state, 'done', `rebalance ended ${JSON.stringify(s2.rebalance)}`);
    assert.ok(during > 0, 'some writes and reads overlapped the rebalance');
    assert.equal(s2.epoch, epoch + 3);
    await waitFor('gateway 1 on the final layout', async () => (await volumeStatus(gws[0]!)).epoch === epoch + 3, 30000, 200);
    const st = s2.rebalance;
    process.stdout.write(`# remove-brick with two gateways: moved ${st.movedCopies} copies (${st.lateCopies ?? 0} of objects written after the walk), ${st.scannedObjects * 3} copies walked, fraction ${st.fraction.toFixed(3)}; ${during} write+read rounds overlapped it; ${st.raced ?? 0} moves redone after a race; ${st.removedCopies} old copies deleted\n`);
    assert.ok(st.fraction > 0.15 && st.fraction < 0.35, `about a quarter of the copies moved (fraction ${st.fraction})`);
    const s1 = await volumeStatus(gws[0]!);
    assert.ok(!s1.bricks.some((b: any) => b.id === 'b1'), 'gateway 1 no longer uses b1');

    for (const f of files) await checkFile(f, 'after remove-brick');
    const per = await checkCopies([1, 2, 3], [0]);
    assert.equal(per.get(0), 0, 'nothing left on b1');
  });
});
