/**
 * A real redis-server (Debian's) for tests: a free loopback port, a temp dir, appendonly yes with
 * appendfsync always (what the engine requires for durable metadata), stopped by its PID. Not a test
 * file itself. A missing redis-server is a failure, never a skip (test/run-all.sh installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { defaultExport, type ExportConfig } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import type { Volume } from '../../cluster/vfs/volume';
import { tempDir } from './helpers';

export interface RedisProc {
  port: number;
  dir: string;
  url: string;
  pid(): number | undefined;
  /** SIGKILL (a crash: nothing flushed beyond what appendfsync did), wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM, wait for the exit. */
  stop(): Promise<void>;
  /** Start again on the same port and dir (after kill9/stop). */
  restart(): Promise<void>;
  /** Stop and remove the dir. */
  cleanup(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export async function startRedis(extraArgs: string[] = [], onPort?: number): Promise<RedisProc> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-redis-'));
  const port = onPort ?? (await freePort());
  let proc: ChildProcess | undefined;
  const logs: string[] = [];
  const launch = async () => {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--loglevel', 'warning',
      ...extraArgs,
    ];
    const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    p.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    const spawned = new Promise<void>((resolve, reject) => {
      p.once('spawn', () => resolve());
      p.once('error', (e) => reject(new Error(`cannot start redis-server (apt-get install redis-server): ${e.message}`)));
    });
    await spawned;
    for (let i = 0; i < 100; i++) {
      if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode}): ${logs.join('')}`);
      if (await accepts(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server not listening on ${port} after 5 s: ${logs.join('')}`);
  };
  const waitExit = (p: ChildProcess) =>
    p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.once('exit', () => r()));
  const signal = async (sig: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill(sig);
    await waitExit(p);
  };
  await launch();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    pid: () => proc?.pid,
    kill9: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
    restart: launch,
    cleanup: async () => {
      await signal('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One redis-server for a whole test file: started before its tests, stopped after them. `prefix()`
 * gives each test a key space of its own in it (`label:pid:n:`).
 */
export function redisForFile(label: string): { readonly url: string; prefix(): string } {
  let proc: RedisProc | undefined;
  let n = 0;
  before(async () => {
    proc = await startRedis();
  });
  after(async () => {
    await proc?.cleanup();
  });
  return {
    get url(): string {
      if (!proc) throw new Error('redis-server not started yet (use it inside a test)');
      return proc.url;
    },
    prefix: () => `${label}:${process.pid}:${n++}:`,
  };
}

/**
 * Volumes on the Redis engine for a core suite (volume-redis, caseless-redis): one redis-server for the
 * file, a key prefix and a data directory of its own per volume, removed after the file's tests.
 */
export function redisVolumesForFile(label: string): (o?: { exports?: ExportConfig[]; chunkSize?: number }) => Promise<Volume> {
  const redis = redisForFile(label);
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));
  return (o) => {
    const t = tempDir(`vol-${label}-redis`);
    cleanups.push(t.cleanup);
    return openVolume({
      engine: 'redis',
      redis: { url: redis.url, keyPrefix: redis.prefix() },
      dataDir: t.dir,
      exports: o?.exports ?? [defaultExport('t', 1)],
      ...(o?.chunkSize !== undefined ? { chunkSize: o.chunkSize } : {}),
    });
  };
}
