/**
 * One of our own node processes (`gateway serve`, `gateway brick`) started the way an operator would: it logs
 * JSON lines on stderr and says `"msg":"ready"` once it serves. Shared by the e2e harness and the brick node
 * tests: spawn, keep the log lines, wait for ready, and signal or stop only the PID started here.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ReadyProcOpts {
  /** Names the process in errors ("brick did not become ready"). */
  what: string;
  /** How long to wait for the ready line. */
  readyTimeoutMs: number;
  /** Bounds the kept log lines: past `maxLogs`, the oldest `dropLogs` go. */
  maxLogs: number;
  dropLogs: number;
}

export interface ReadyProc {
  proc: ChildProcess;
  /** stderr lines; stdout chunks as they come. */
  logs: string[];
  /** The ready log line (JSON). */
  readyLine: string;
  exited(): boolean;
  /** Sends `sig` unless the process has exited. */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (crash), wait for exit. */
  kill9(): Promise<void>;
}

/** Runs `node ...args`; resolves once it logged ready, rejects if it exits or times out first. */
export async function startReadyProc(args: string[], o: ReadyProcOpts): Promise<ReadyProc> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  let exited = false;
  const exitP = new Promise<number | null>((resolve) => proc.once('exit', (code) => {
    exited = true;
    resolve(code);
  }));
  const readyLine = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${o.what} did not become ready:\n${logs.join('\n')}`)), o.readyTimeoutMs);
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        logs.push(line);
        if (logs.length > o.maxLogs) logs.splice(0, o.dropLogs);
        if (line.includes('"msg":"ready"')) {
          clearTimeout(timer);
          resolve(line);
        }
      }
    });
    proc.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
    void exitP.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${o.what} exited with ${code} before ready:\n${logs.join('\n')}`));
    });
  });
  return {
    proc,
    logs,
    readyLine,
    exited: () => exited,
    signal(sig) {
      if (!exited) proc.kill(sig);
    },
    async stop() {
      if (exited) return proc.exitCode;
      proc.kill('SIGTERM');
      return exitP;
    },
    async kill9() {
      if (exited) return;
      proc.kill('SIGKILL');
      await exitP;
    },
  };
}
