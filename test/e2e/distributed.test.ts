/**
 * The distributed data layer end to end: real brick node processes (`gateway brick`), a gateway serving
 * a replicated volume over them, libnfs nfs-cp / nfs-cat as the client, kill -9 as the fault.
 *
 *  - replica 3: kill -9 a brick during a 1 GiB nfs-cp → the copy completes and reads back identical;
 *    the brick restarts → heal empties the backlog and the three bricks hold identical objects.
 *  - two bricks of three down → a write fails with an I/O error the client sees; reads still work;
 *    after the bricks return, nothing is corrupted and the replicas converge.
 *  - a chunk file damaged by hand on one brick → the read returns the right bytes, the copy is repaired.
 *  - a fourth brick added to a volume holding data → about a quarter of the copies move (the fraction is
 *    printed); files read back identical during and after.
 *  - kill -9 of the gateway during FILE_SYNC writes → every acknowledged write is there after restart.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Placement } from '../../cluster/bricks/placement';
import { readRotation } from '../../cluster/bricks/replica-set';
import { brickObjects, md5File, randomFile, startCluster, waitFor, type Cluster } from './cluster-harness';
import { ROOT, run } from './harness';
import { Nfs3TestClient } from './nfs3-client';

const url = (c: Cluster, p: string): string => `nfs://127.0.0.1/data${p}?version=3&nfsport=${c.gw.nfsPort}&mountport=${c.gw.mountPort}`;
const CLI = path.join(ROOT, 'dist', 'gateway', 'main.js');
/** The kill-a-brick copy: 1 GiB as the issue asks (GW_E2E_BIG_MIB overrides it for quick local runs). */
const BIG_MIB = Number(process.env.GW_E2E_BIG_MIB ?? 1024);

/** nfs-cp from the volume to a local file (nfs-cp will not overwrite one: removed first). */
function download(c: Cluster, p: string, dest: string, timeoutMs = 60000): ReturnType<typeof run> {
  rmSync(dest, { force: true });
  return run('nfs-cp', [url(c, p), dest], { timeoutMs });
}

/** Every brick holds the same objects with the same bytes (replica 3 on 3 bricks: all hold all). */
async function assertIdenticalBricks(c: Cluster): Promise<number> {
  const maps = await Promise.all(c.bricks.map((b) => brickObjects(b.address)));
  const [first, ...rest] = maps;
  for (let i = 0; i < rest.length; i++) {
    assert.equal(rest[i]!.size, first!.size, `brick ${c.bricks[i + 1]!.id} holds ${rest[i]!.size} objects, b1 ${first!.size}`);
    for (const [k, v] of first!) assert.equal(rest[i]!.get(k), v, `object ${k} differs on ${c.bricks[i + 1]!.id}`);
  }
  return first!.size;
}

async function healed(c: Cluster, timeoutMs: number): Promise<void> {
  await waitFor('heal backlog 0 with every brick up', async () => {
    const s = await c.status();
    return s.heal.backlog === 0 && s.bricks.every((b: any) => b.up) && !s.heal.running;
  }, timeoutMs, 500);
}

describe('e2e: replica 3 on 3 brick processes', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ bricks: 3, replica: 3 });
  });
  after(async () => {
    await c?.stop();
  });

  it(`kill -9 of a brick during a ${BIG_MIB} MiB nfs-cp: the copy completes, md5 matches; after restart heal makes the replicas identical`, { timeout: 900000 }, async () => {
    const t = Date.now();
    const lap = (what: string): void => void process.stdout.write(`# ${what}: ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
    const src = path.join(c.work, 'big.src');
    await randomFile(src, BIG_MIB);
    const want = await md5File(src);
    const cp = run('nfs-cp', [src, url(c, '/big.bin')], { timeoutMs: 600000 });
    // Kill b2 once the copy is well under way (about 30% of it on the bricks).
    const at = Math.floor(BIG_MIB * 0.3);
    await waitFor(`copy under way (${at} MiB on a brick)`, async () => (await sizeOnBricks(c)) > at, 240000, 500);
    await c.bricks[1]!.kill9();
    lap('brick b2 killed');
    const up = await cp;
    assert.equal(up.code, 0, `nfs-cp failed while a brick was down: ${up.stderr}`);
    lap('nfs-cp up done');
    const s = await c.status();
    assert.ok(s.bricks.find((b: any) => b.id === 'b2').healBacklog > 0, 'the missed copies are in the heal journal');
    const metrics = await (await fetch(`http://127.0.0.1:${c.metricsPort}/metrics`)).text();
    assert.match(metrics, /gateway_brick_up\{volume="data",brick="b2"\} 0/);
    assert.match(metrics, /gateway_brick_up\{volume="data",brick="b1"\} 1/);
    assert.match(metrics, /gateway_heal_backlog\{volume="data",brick="b2"\} [1-9]/);
    const back = path.join(c.work, 'big.back');
    const down = await download(c, '/big.bin', back, 300000);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await md5File(back), want, 'read back through the gateway, with one brick down');
    lap('read back, md5 matches');
    await c.bricks[1]!.restart();
    const t0 = Date.now();
    await healed(c, 240000);
    const h = (await c.status()).heal;
    process.stdout.write(`# heal after brick restart: ${h.healedObjects} objects, ${(h.healedBytes / 1048576).toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    lap('heal done');
    const n = await assertIdenticalBricks(c);
    assert.ok(n >= BIG_MIB / 4, `${n} objects on each brick`);
    lap(`checksums of the ${n} objects identical on the 3 bricks`);
    // `gateway heal status` says the same.
    const hs = await run(process.execPath, [CLI, 'heal', 'status', '--admin', `127.0.0.1:${c.adminPort}`]);
    assert.equal(hs.code, 0, hs.stderr);
    assert.match(hs.stdout, /heal backlog 0/);
  });

  it('two bricks of three down: writes fail with an I/O error, reads still work, nothing corrupted after return', { timeout: 180000 }, async () => {
    const src = path.join(c.work, 'old.src');
    await randomFile(src, 16);
    const want = await md5File(src);
    assert.equal((await run('nfs-cp', [src, url(c, '/old.bin')])).code, 0);
    await c.bricks[0]!.kill9();
    await c.bricks[2]!.kill9();
    const newSrc = path.join(c.work, 'new.src');
    await randomFile(newSrc, 8);
    const w = await run('nfs-cp', [newSrc, url(c, '/new.bin')], { timeoutMs: 60000 });
    assert.notEqual(w.code, 0, 'the write must fail, not be silently lost');
    process.stdout.write(`# nfs-cp with 2 of 3 bricks down: exit ${w.code}: ${w.stderr.trim().split('\n')[0]}\n`);
    assert.ok((await c.status()).writes.failed > 0, 'the gateway refused writes below quorum');
    const rd = path.join(c.work, 'old.back');
    const r = await download(c, '/old.bin', rd, 60000);
    assert.equal(r.code, 0, `read with one brick left: ${r.stderr}`);
    assert.equal(await md5File(rd), want);
    await c.bricks[0]!.restart();
    await c.bricks[2]!.restart();
    await healed(c, 120000);
    await assertIdenticalBricks(c);
    const r2 = await download(c, '/old.bin', rd, 60000);
    assert.equal(r2.code, 0);
    assert.equal(await md5File(rd), want, 'old data intact after the bricks returned');
    // Writes work again.
    const w2 = await run('nfs-cp', [newSrc, url(c, '/new2.bin')], { timeoutMs: 60000 });
    assert.equal(w2.code, 0, w2.stderr);
  });

  it('a chunk file corrupted by hand on one brick: the read returns the right bytes and the copy is repaired', { timeout: 120000 }, async () => {
    const src = path.join(c.work, 'c.src');
    await randomFile(src, 8);
    const want = await md5File(src);
    assert.equal((await run('nfs-cp', [src, url(c, '/c.bin')])).code, 0);
    const nfs = await Nfs3TestClient.connect(c.gw.nfsPort, c.gw.mountPort);
    const root = (await nfs.mount('/data')).fh!;
    const fileId = (await nfs.lookup(root, 'c.bin')).attr!.fileid;
    await nfs.close();
    // The replica that reads of chunk 0 go to first (reads rotate over the replicas by chunk).
    const id = { fileId, chunk: 0 };
    const order = new Placement(['b1', 'b2', 'b3']).replicas(id, 3);
    const victim = c.bricks.find((b) => b.id === order[readRotation(id, 3)])!;
    const hex = fileId.toString(16).padStart(16, '0');
    const file = path.join(victim.dir, 'data', hex.slice(14), hex);
    const fd = openSync(file, 'r+');
    const orig = Buffer.alloc(4096);
    readSync(fd, orig, 0, 4096, 65536);
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 65536); // same length, wrong bytes: bitrot
    closeSync(fd);
    const before = (await c.status()).reads.corrupt;
    const back = path.join(c.work, 'c.back');
    const r = await download(c, '/c.bin', back, 60000);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await md5File(back), want, 'the read returns the right bytes');
    assert.ok((await c.status()).reads.corrupt > before, `the damaged copy on ${victim.id} was detected`);
    await healed(c, 60000);
    const objs = await brickObjects(victim.address); // throws 'corrupt' if the copy were still bad
    const good = await brickObjects(c.bricks.find((b) => b !== victim)!.address);
    assert.equal(objs.get(`${fileId}:0`), good.get(`${fileId}:0`), 'the bad copy was rewritten');
    const fd2 = openSync(file, 'r');
    const now = Buffer.alloc(4096);
    readSync(fd2, now, 0, 4096, 65536);
    closeSync(fd2);
    assert.ok(now.equals(orig), 'the chunk file holds the right bytes again');
  });
});

async function sizeOnBricks(c: Cluster): Promise<number> {
  const r = await run('du', ['-sm', c.bricks[0]!.dir]);
  return Number(r.stdout.split(/\s/)[0]) || 0;
}

describe('e2e: adding a fourth brick rebalances online', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ bricks: 4, inVolume: 3, replica: 3, chunkSize: 128 * 1024, rebalanceMiBps: 16 });
  });
  after(async () => {
    await c?.stop();
  });

  it('moves about a quarter of the copies; files read back identical during and after', { timeout: 180000 }, async () => {
    const files: Array<{ name: string; md5: string }> = [];
    for (let i = 0; i < 12; i++) {
      const src = path.join(c.work, `f${i}.src`);
      await randomFile(src, 4);
      files.push({ name: `f${i}.bin`, md5: await md5File(src) });
      assert.equal((await run('nfs-cp', [src, url(c, `/f${i}.bin`)])).code, 0);
    }
    const b4 = c.bricks[3]!;
    const add = await run(process.execPath, [CLI, 'volume', 'add-brick', 'data', `b4=${b4.address}`, '--admin', `127.0.0.1:${c.adminPort}`]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /rebalance started/);
    // During: read every file back while objects move; write a new one too.
    let readsDuring = 0;
    for (const f of files) {
      const s = await c.status();
      const back = path.join(c.work, 'during.back');
      const r = await download(c, `/${f.name}`, back);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await md5File(back), f.md5, `${f.name} during the rebalance`);
      if (s.rebalance.state === 'running') readsDuring++;
    }
    const extra = path.join(c.work, 'extra.src');
    await randomFile(extra, 4);
    assert.equal((await run('nfs-cp', [extra, url(c, '/extra.bin')])).code, 0);
    files.push({ name: 'extra.bin', md5: await md5File(extra) });
    await waitFor('rebalance done', async () => (await c.status()).rebalance.state === 'done', 120000, 500);
    const st = (await c.status()).rebalance;
    process.stdout.write(`# rebalance 3 -> 4 bricks: moved ${st.movedCopies} of ${st.scannedObjects * 3} copies, fraction ${st.fraction.toFixed(3)}; ${readsDuring} files read while it ran\n`);
    assert.ok(readsDuring > 0, 'some reads overlapped the rebalance');
    assert.ok(st.fraction > 0.17 && st.fraction < 0.33, `moved fraction ${st.fraction}`);
    const info = await run(process.execPath, [CLI, 'volume', 'info', 'data', '--admin', `127.0.0.1:${c.adminPort}`]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /brick b4 127\.0\.0\.1:\d+ up/);
    for (const f of files) {
      const back = path.join(c.work, 'after.back');
      assert.equal((await download(c, `/${f.name}`, back)).code, 0);
      assert.equal(await md5File(back), f.md5, `${f.name} after the rebalance`);
    }
    // Each object is on exactly its 3 bricks of the new placement.
    const place = new Placement(['b1', 'b2', 'b3', 'b4']);
    const held = new Map<string, string[]>();
    for (const b of c.bricks) for (const k of (await brickObjects(b.address)).keys()) held.set(k, [...(held.get(k) ?? []), b.id]);
    for (const [k, where] of held) {
      const [f, ch] = k.split(':');
      assert.deepEqual([...where].sort(), place.replicas({ fileId: BigInt(f!), chunk: Number(ch) }, 3).sort(), `object ${k}`);
    }
  });
});

describe('e2e: kill -9 of the gateway during writes', () => {
  let c: Cluster;
  before(async () => {
    c = await startCluster({ bricks: 3, replica: 3, chunkSize: 1024 * 1024 });
  });
  after(async () => {
    await c?.stop();
  });

  it('every FILE_SYNC write acknowledged before the crash is there after restart', { timeout: 120000 }, async () => {
    let nfs = await Nfs3TestClient.connect(c.gw.nfsPort, c.gw.mountPort);
    const root = (await nfs.mount('/data')).fh!;
    const fh = (await nfs.create(root, 'acked.bin', 1)).fh!;
    const piece = 96 * 1024;
    const acked = new Map<number, Buffer>();
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = w; !stop && i < 4000; i += 4) {
        const data = randomBytes(piece);
        try {
          const r = await nfs.write(fh, BigInt(i * piece), data, 2);
          if (r.status === 0 && r.committed === 2) acked.set(i, data);
        } catch {
          return; // connection gone: the gateway died
        }
      }
    });
    await waitFor('some writes acknowledged', async () => acked.size >= 40, 60000, 20);
    await c.gw.kill9();
    stop = true;
    await Promise.all(writers);
    await nfs.close().catch(() => undefined);
    const count = acked.size;
    await c.restartGateway();
    nfs = await Nfs3TestClient.connect(c.gw.nfsPort, c.gw.mountPort);
    for (const [i, data] of acked) {
      const r = await nfs.readAll(fh, BigInt(i * piece), piece);
      assert.equal(r.status, 0);
      assert.ok(r.data!.equals(data), `acknowledged write #${i} intact after kill -9`);
    }
    await nfs.close();
    process.stdout.write(`# ${count} acknowledged FILE_SYNC writes all present after kill -9 of the gateway\n`);
  });
});
