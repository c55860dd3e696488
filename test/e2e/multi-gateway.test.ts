/**
 * Several gateways on one Redis and one brick set, end to end: two `gateway serve` processes whose volume
 * keeps its metadata in a real redis-server (engine "redis", appendonly + appendfsync always) and its
 * chunks on one `gateway brick` process. libnfs nfs-cp / nfs-cat / nfs-ls are the clients.
 *
 *  - a file created through gateway 1 is read through gateway 2, byte for byte, over NFS and over SMB
 *    (smbclient, SMB3.1.1, a user added to gateway 2 with `gateway user add`);
 *  - a file handle minted by gateway 1 works on gateway 2 (same volume id and handle key: both come
 *    from the shared store); a change through gateway 2 is seen through gateway 1 at once;
 *  - Redis is killed (-9) and restarted: both gateways reconnect by themselves, and nothing that was
 *    acknowledged before is missing.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRedis, type RedisProc } from '../cluster/redis-server';
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './cluster-harness';
import { writeVolumeConfig } from './gateway-set';
import { freePorts, ROOT, run, startGateway, type GatewayProc } from './harness';
import { Nfs3TestClient } from './nfs3-client';

/** One `gateway brick` process on a free loopback port; resolves once it logged "ready". */
async function startBrickNode(dir: string): Promise<{ address: string; proc: ChildProcess; stop(): Promise<void> }> {
  const [port] = (await freePorts(1)) as [number];
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'gateway', 'main.js'), 'brick', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`brick did not start:\n${log}`)), 30000);
    proc.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.length > 65536) log = log.slice(-16384);
      if (log.includes('"msg":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`brick exited with ${code}:\n${log}`));
    });
  });
  return {
    address: `127.0.0.1:${port}`,
    proc,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

const url = (g: GatewayProc, p: string): string => `nfs://127.0.0.1/data${p}?version=3&nfsport=${g.nfsPort}&mountport=${g.mountPort}`;

describe('e2e: two gateways on one Redis and one brick', () => {
  let work: string;
  let redis: RedisProc;
  let brick: Awaited<ReturnType<typeof startBrickNode>>;
  const gws: GatewayProc[] = [];
  let smbPort = 0;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-multi-'));
    redis = await startRedis();
    brick = await startBrickNode(path.join(work, 'brick1'));
    for (const n of [1, 2]) {
      const dataDir = path.join(work, `gw${n}`);
      const configFile = path.join(work, `gw${n}.json`);
      writeVolumeConfig(configFile, dataDir, { redisUrl: redis.url, keyPrefix: 'e2e:{data}:', bricks: [{ id: 'b1', address: brick.address }], replica: 1 });
      if (n === 2) {
        // Gateway 2 also serves the volume over SMB, to a user of its own user database.
        [smbPort] = (await freePorts(1)) as [number];
        const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
        cfg.smb = { port: smbPort };
        writeFileSync(configFile, JSON.stringify(cfg));
        const add = await run(process.execPath, [path.join(ROOT, 'dist', 'gateway', 'main.js'), 'user', 'add', 'alice', '--password', 'Multi-gw-1', '--data', dataDir]);
        assert.equal(add.code, 0, `user add failed: ${add.stderr}`);
      }
      gws.push(await startGateway({ config: configFile, dataDir }));
    }
  });
  after(async () => {
    for (const g of gws) await g.stop();
    await brick?.stop();
    await redis?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('a file created through gateway 1 (nfs-cp) is read through gateway 2 (nfs-cat), byte for byte', { timeout: 120000 }, async () => {
    const [g1, g2] = gws as [GatewayProc, GatewayProc];
    const src = path.join(work, 'src.bin');
    const data = randomBytes(3 * 1024 * 1024 + 12345);
    writeFileSync(src, data);
    const up = await run('nfs-cp', [src, url(g1, '/from-gw1.bin')], { timeoutMs: 60000 });
    assert.equal(up.code, 0, `nfs-cp through gateway 1 failed: ${up.stderr}`);
    const cat = await run('nfs-cat', [url(g2, '/from-gw1.bin')], { timeoutMs: 60000 });
    assert.equal(cat.code, 0, `nfs-cat through gateway 2 failed: ${cat.stderr}`);
    assert.equal(cat.stdout.length, data.length);
    assert.ok(Buffer.from(cat.stdout, 'latin1').equals(data), 'gateway 2 reads the bytes written through gateway 1');
    // And the other way round, a small file, listed through both.
    writeFileSync(path.join(work, 'small.txt'), 'written through gateway 2\n');
    assert.equal((await run('nfs-cp', [path.join(work, 'small.txt'), url(g2, '/from-gw2.txt')])).code, 0);
    assert.equal((await run('nfs-cat', [url(g1, '/from-gw2.txt')])).stdout, 'written through gateway 2\n');
    for (const g of [g1, g2]) {
      const ls = await run('nfs-ls', [url(g, '/')]);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /from-gw1\.bin/);
      assert.match(ls.stdout, /from-gw2\.txt/);
    }
  });

  it('a file created through gateway 1 over NFS is read through gateway 2 over SMB (smbclient), byte for byte', { timeout: 120000 }, async () => {
    const [g1] = gws as [GatewayProc, GatewayProc];
    const src = path.join(work, 'for-smb.bin');
    const data = randomBytes(2 * 1024 * 1024 + 4321);
    writeFileSync(src, data);
    // As uid/gid 1000: the identity `gateway user add` gives alice, so the SMB user may read it.
    const up = await run('nfs-cp', [src, `${url(g1, '/for-smb.bin')}&uid=1000&gid=1000`], { timeoutMs: 60000 });
    assert.equal(up.code, 0, `nfs-cp through gateway 1 failed: ${up.stderr}`);
    const back = path.join(work, 'for-smb.back');
    const get = await run('smbclient', ['//127.0.0.1/data', '-p', String(smbPort), '-U', 'alice%Multi-gw-1', '-m', 'SMB3_11', '-c', `get for-smb.bin ${back}`], { timeoutMs: 60000 });
    assert.equal(get.code, 0, `smbclient get through gateway 2 failed: ${get.stdout}${get.stderr}`);
    assert.ok(readFileSync(back).equals(data), 'gateway 2 serves over SMB the bytes written through gateway 1 over NFS');
  });

  it('a handle from gateway 1 works on gateway 2; a change through 2 is seen through 1 at once', { timeout: 60000 }, async () => {
    const [g1, g2] = gws as [GatewayProc, GatewayProc];
    const c1 = await Nfs3TestClient.connect(g1.nfsPort, g1.mountPort);
    const c2 = await Nfs3TestClient.connect(g2.nfsPort, g2.mountPort);
    try {
      const root1 = (await c1.mount('/data')).fh!;
      const root2 = (await c2.mount('/data')).fh!;
      assert.ok(root1.equals(root2), 'both gateways hand out the same root handle');
      const made = await c1.create(root1, 'handle-test.txt', 1);
      assert.equal(made.status, 0);
      const fh = made.fh!;
      const w = await c1.write(fh, 0n, Buffer.from('via gateway 1'), 2);
      assert.equal(w.status, 0);
      // Gateway 2 has never seen this handle: it verifies it with the shared key and finds the inode.
      const a2 = await c2.getattr(fh);
      assert.equal(a2.status, 0, 'GETATTR on gateway 2 with the handle from gateway 1');
      assert.equal(a2.attr!.fileid, made.attr!.fileid);
      assert.equal(a2.attr!.size, 13n);
      const r2 = await c2.read(fh, 0n, 100);
      assert.equal(r2.status, 0);
      assert.equal(r2.data!.toString(), 'via gateway 1');
      // Close-to-open the other way: written through 2, the next GETATTR/READ through 1 sees it.
      assert.equal((await c2.write(fh, 13n, Buffer.from(', then 2'), 2)).status, 0);
      assert.equal((await c1.getattr(fh)).attr!.size, 21n);
      assert.equal((await c1.read(fh, 0n, 100)).data!.toString(), 'via gateway 1, then 2');
      // Removed through 2: the handle is stale on 1 at once (NFS3ERR_STALE = 70), never another file.
      assert.equal((await c2.remove(root2, 'handle-test.txt')).status, 0);
      assert.equal((await c1.getattr(fh)).status, 70);
    } finally {
      await c1.close();
      await c2.close();
    }
  });

  it('Redis killed (-9) and restarted: both gateways reconnect by themselves, acknowledged files are all there', { timeout: 120000 }, async () => {
    const [g1, g2] = gws as [GatewayProc, GatewayProc];
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      const f = path.join(work, `pre${i}.txt`);
      writeFileSync(f, `file ${i}\n`);
      const r = await run('nfs-cp', [f, url(i % 2 ? g2 : g1, `/pre${i}.txt`)]);
      assert.equal(r.code, 0, r.stderr);
      names.push(`pre${i}.txt`);
    }
    await redis.kill9();
    await redis.restart();
    for (const g of [g1, g2]) {
      // The gateway process was never restarted: its engine reconnects on its own (a call during the
      // reconnect may answer JUKEBOX, which libnfs does not retry: poll).
      await waitFor('the gateway serves again after the Redis restart', async () => (await run('nfs-ls', [url(g, '/')], { timeoutMs: 20000 })).code === 0, 30000, 500);
      const ls = await run('nfs-ls', [url(g, '/')]);
      for (const n of names) assert.match(ls.stdout, new RegExp(n.replace('.', '\\.')), `${n} survived the Redis crash`);
    }
    for (let i = 0; i < 5; i++) assert.equal((await run('nfs-cat', [url(i % 2 ? g1 : g2, `/pre${i}.txt`)])).stdout, `file ${i}\n`);
    // New changes work through both.
    const f = path.join(work, 'post.txt');
    writeFileSync(f, 'after the restart\n');
    assert.equal((await run('nfs-cp', [f, url(g2, '/post.txt')])).code, 0);
    assert.equal((await run('nfs-cat', [url(g1, '/post.txt')])).stdout, 'after the restart\n');
    assert.ok(gws.every((g) => g.logs.some((l) => l.includes('redis metadata store reconnected'))), 'the gateways logged the reconnect');
  });
});
