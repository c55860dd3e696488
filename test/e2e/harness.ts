/**
 * Runs the real gateway process (dist/gateway/main.js) for end-to-end tests, the way an operator
 * would: CLI flags, a data directory, stderr JSON logs. Stops only the PID it started.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startReadyProc } from './ready-proc';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const SHARED = process.env.GW_SHARED_DIR ?? path.resolve(ROOT, '..', 'shared');
export const KCLIENT = path.join(SHARED, 'tools', 'kclient', 'kclient');

/** `n` distinct free TCP ports on 127.0.0.1 (all held open together, so none is handed out twice). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export interface GatewayProc {
  proc: ChildProcess;
  dataDir: string;
  nfsPort: number;
  mountPort: number;
  logs: string[];
  /** SIGTERM, wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (crash), wait for exit. */
  kill9(): Promise<void>;
  /** Remove the data directory. */
  cleanup(): void;
}

export interface StartOpts {
  dataDir?: string;
  nfsPort?: number;
  mountPort?: number;
  portmap?: 'off' | 'own' | 'auto';
  portmapPort?: number;
  extraArgs?: string[];
  config?: string;
}

export async function startGateway(opts: StartOpts = {}): Promise<GatewayProc> {
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'gw-e2e-'));
  const [p1, p2] = await freePorts(2);
  const nfsPort = opts.nfsPort ?? p1!;
  const mountPort = opts.mountPort ?? p2!;
  const args = [
    path.join(ROOT, 'dist', 'gateway', 'main.js'),
    'serve',
    ...(opts.config ? ['--config', opts.config] : ['--data', dataDir]),
    '--listen', '127.0.0.1',
    '--nfs-port', String(nfsPort),
    '--mount-port', String(mountPort),
    '--portmap', opts.portmap ?? 'off',
    ...(opts.portmapPort ? ['--portmap-port', String(opts.portmapPort)] : []),
    '--log-level', 'info',
    ...(opts.extraArgs ?? []),
  ];
  const p = await startReadyProc(args, { what: 'gateway', readyTimeoutMs: 20000, maxLogs: 5000, dropLogs: 1000 });
  return {
    proc: p.proc,
    dataDir,
    nfsPort,
    mountPort,
    logs: p.logs,
    stop: () => p.stop(),
    kill9: () => p.kill9(),
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws on a non-zero exit (the test asserts on `code`). */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: Buffer } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 120000, maxBuffer: 256 * 1024 * 1024, env: opts.env ?? process.env, encoding: 'buffer' },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        resolve({ code, stdout: stdout.toString('latin1'), stderr: stderr.toString() });
      },
    );
    if (opts.input) child.stdin!.end(opts.input);
  });
}

export function nfsUrl(g: GatewayProc, p = ''): string {
  return `nfs://127.0.0.1/data${p}?version=3&nfsport=${g.nfsPort}&mountport=${g.mountPort}`;
}
