/**
 * Runs real brick node processes (`node dist/gateway/main.js brick`) for cluster tests, on loopback ports.
 * Stops only the PIDs it started. Shared by the remote brick tests and the replication tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

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
  const proc = spawn(process.execPath, [MAIN, 'brick', '--dir', dir, '--listen', `127.0.0.1:${port}`, '--log-level', 'info', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let exited = false;
  const exitP = new Promise<number | null>((resolve) => proc.once('exit', (code) => {
    exited = true;
    resolve(code);
  }));
  const ready = await new Promise<{ port: number; brickId: string }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`brick did not become ready:\n${logs.join('\n')}`)), 60_000);
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        if (logs.length > 2000) logs.splice(0, 500);
        if (line.includes('"msg":"ready"')) {
          clearTimeout(timer);
          const j = JSON.parse(line) as { port: number; brickId: string };
          resolve({ port: j.port, brickId: j.brickId });
        }
      }
    });
    proc.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    void exitP.then((code) => {
      clearTimeout(timer);
      reject(new Error(`brick exited with ${code} before ready:\n${logs.join('\n')}`));
    });
  });
  return {
    proc,
    dir,
    port: ready.port,
    address: `127.0.0.1:${ready.port}`,
    brickId: ready.brickId,
    logs,
    async stop() {
      if (exited) return proc.exitCode;
      proc.kill('SIGCONT');
      proc.kill('SIGTERM');
      return exitP;
    },
    async kill9() {
      if (exited) return;
      proc.kill('SIGKILL');
      await exitP;
    },
    pause() {
      if (!exited) proc.kill('SIGSTOP');
    },
    resume() {
      if (!exited) proc.kill('SIGCONT');
    },
  };
}
