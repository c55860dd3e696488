/**
 * Brick node processes (`gateway brick`) and a gateway serving a distributed volume over them, for the
 * distributed e2e tests. Loopback only; every process is stopped by the PID this harness started.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ObjectId } from '../../cluster/bricks/brick';
import { RemoteBrick } from '../../cluster/bricks/remote-brick';
import { startBrick as startBrickNode } from '../cluster/brick-proc';
import { freePorts, run, startGateway, type GatewayProc } from './harness';

export interface BrickProc {
  id: string;
  dir: string;
  port: number;
  address: string;
  proc: ChildProcess;
  alive: boolean;
  kill9(): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again on the same directory and port (extra `gateway brick` arguments, e.g. --boot-id). */
  restart(extraArgs?: string[]): Promise<void>;
}

export async function startBrick(id: string, root: string): Promise<BrickProc> {
  const [port] = (await freePorts(1)) as [number];
  const dir = path.join(root, id);
  let node = await startBrickNode(dir, port);
  const b: BrickProc = {
    id,
    dir,
    port,
    address: `127.0.0.1:${port}`,
    proc: node.proc,
    alive: true,
    async kill9() {
      if (!b.alive) return;
      b.alive = false;
      await node.kill9();
    },
    async stop() {
      if (!b.alive) return;
      b.alive = false;
      await node.stop();
    },
    async restart(extraArgs: string[] = []) {
      await b.stop();
      node = await startBrickNode(dir, port, extraArgs);
      b.proc = node.proc;
      b.alive = true;
    },
  };
  return b;
}

export interface Cluster {
  work: string;
  bricks: BrickProc[];
  gw: GatewayProc;
  adminPort: number;
  metricsPort: number;
  configFile: string;
  dataDir: string;
  /** Restarts the gateway (after kill9) on the same config and data. */
  restartGateway(): Promise<void>;
  status(): Promise<any>;
  stop(): Promise<void>;
}

export interface ClusterOpts {
  bricks: number;
  /** How many of the bricks are in the volume at start (default all). */
  inVolume?: number;
  replica: 1 | 2 | 3;
  chunkSize?: number;
  rebalanceMiBps?: number;
  healMiBps?: number;
}

export async function startCluster(o: ClusterOpts): Promise<Cluster> {
  const work = mkdtempSync(path.join(tmpdir(), 'gw-dist-'));
  const bricks: BrickProc[] = [];
  try {
    return await startClusterIn(work, bricks, o);
  } catch (e) {
    // A failed setup must not leave brick processes behind: the test file would never exit.
    for (const b of bricks) await b.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

async function startClusterIn(work: string, bricks: BrickProc[], o: ClusterOpts): Promise<Cluster> {
  for (let i = 1; i <= o.bricks; i++) bricks.push(await startBrick(`b${i}`, work));
  const dataDir = path.join(work, 'gw');
  const configFile = path.join(work, 'gateway.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      volumes: [
        {
          name: 'data',
          dataDir,
          replica: o.replica,
          ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
          ...(o.rebalanceMiBps !== undefined ? { rebalanceMiBps: o.rebalanceMiBps } : {}),
          ...(o.healMiBps !== undefined ? { healMiBps: o.healMiBps } : {}),
          bricks: bricks.slice(0, o.inVolume ?? o.bricks).map((b) => ({ id: b.id, address: b.address })),
        },
      ],
      exports: [{ name: 'data', volume: 'data' }],
      smb: { enabled: false },
    }),
  );
  const [adminPort, metricsPort] = (await freePorts(2)) as [number, number];
  const start = (): Promise<GatewayProc> =>
    startGateway({ config: configFile, dataDir, extraArgs: ['--admin-port', String(adminPort), '--metrics-port', String(metricsPort)] });
  const c: Cluster = {
    work,
    bricks,
    gw: await start(),
    adminPort,
    metricsPort,
    configFile,
    dataDir,
    async restartGateway() {
      await c.gw.kill9();
      c.gw = await start();
    },
    async status() {
      const r = await fetch(`http://127.0.0.1:${adminPort}/v1/volumes/data`);
      return ((await r.json()) as any).status;
    },
    async stop() {
      await c.gw.stop();
      for (const b of bricks) await b.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
  return c;
}

export async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Every object a brick holds, as "fileId:chunk" → sha256 hex (a bad block throws BrickFault('corrupt')). */
export async function brickObjects(address: string): Promise<Map<string, string>> {
  const rb = new RemoteBrick({ address, name: address });
  try {
    await rb.connect();
    const out = new Map<string, string>();
    let after: ObjectId | undefined;
    for (;;) {
      const page = await rb.list(after, 1000);
      if (!page.length) break;
      // A few checksums in flight: the brick reads and verifies one object while hashing another.
      let i = 0;
      const worker = async (): Promise<void> => {
        while (i < page.length) {
          const o = page[i++]!;
          out.set(`${o.id.fileId}:${o.id.chunk}`, (await rb.checksum(o.id))!.toString('hex'));
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      after = page[page.length - 1]!.id;
    }
    return out;
  } finally {
    await rb.close();
  }
}

export async function md5File(file: string): Promise<string> {
  const h = createHash('md5');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

/** A file of `mib` MiB of random bytes (written with dd from /dev/urandom: fast and bounded in memory). */
export async function randomFile(file: string, mib: number): Promise<void> {
  const r = await run('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', `count=${mib}`, 'status=none'], { timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`dd failed: ${r.stderr}`);
}
