/**
 * Runs real brick node processes (`node dist/gateway/main.js brick`) for cluster tests, on loopback ports.
 * Stops only the PIDs it started. Shared by the remote brick tests and the replication tests.
 */
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { startReadyProc } from '../e2e/ready-proc';

const MAIN = path.resolve(__dirname, '..', '..', 'gateway', 'main.js');

export interface BrickProc {
  proc: ChildProcess;
  dir: string;
  port: number;
  address: string;
  brickId: string;
  logs: string[];
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (crash); resolves when the process is gone. */
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT (a hung brick whose TCP connections stay open). */
  pause(): void;
  resume(): void;
}

/** Starts a brick on 127.0.0.1:`port` (0: a free one) over `dir`; resolves once it logged "ready". */
export async function startBrick(dir: string, port = 0, extraArgs: string[] = []): Promise<BrickProc> {
  const p = await startReadyProc([MAIN, 'brick', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--log-level', 'info', ...extraArgs], {
    what: 'brick',
    readyTimeoutMs: 60_000,
    maxLogs: 2000,
    dropLogs: 500,
  });
  const ready = JSON.parse(p.readyLine) as { port: number; brickId: string };
  return {
    proc: p.proc,
    dir,
    port: ready.port,
    address: `127.0.0.1:${ready.port}`,
    brickId: ready.brickId,
    logs: p.logs,
    stop() {
      // A paused brick must run again to handle SIGTERM.
      p.signal('SIGCONT');
      return p.stop();
    },
    kill9: () => p.kill9(),
    pause: () => p.signal('SIGSTOP'),
    resume: () => p.signal('SIGCONT'),
  };
}
