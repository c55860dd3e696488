/**
 * The local brick's janitor thread (see janitor.ts): drops files' chunk objects with synchronous file
 * system calls, a batch of files per message, so the event loop pays one message per batch instead of a
 * thread-pool round trip (and, for the usual absent ".d" directory, an error object) per call.
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { decodeBatch, encodeAnswer, type DropOutcome } from './janitor';

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function unlinkIfThere(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (e) {
    if (code(e) !== 'ENOENT') throw e;
  }
}

function drop(chunk0: string | undefined, chunkDir: string, firstChunk: number): DropOutcome {
  let at = chunk0 ?? chunkDir;
  try {
    if (chunk0 !== undefined) unlinkIfThere(chunk0);
    at = chunkDir;
    if (!fs.existsSync(chunkDir)) return { ok: true, removed: [], dirGone: false };
    const removed: number[] = [];
    const names = fs.readdirSync(chunkDir);
    for (const name of names) {
      const chunk = Number(name);
      if (!Number.isInteger(chunk) || chunk < 1 || chunk < firstChunk) continue;
      at = `${chunkDir}/${name}`;
      unlinkIfThere(at);
      removed.push(chunk);
    }
    let dirGone = false;
    if (firstChunk <= 1) {
      try {
        fs.rmdirSync(chunkDir);
        dirGone = true;
      } catch {
        // a concurrent writer re-created an object: leave the directory
      }
    }
    return { ok: true, removed, dirGone };
  } catch (e) {
    return { ok: false, code: code(e), message: e instanceof Error ? e.message : String(e), path: at };
  }
}

parentPort!.on('message', (msg: string) => {
  const b = decodeBatch(msg);
  const out = b.jobs.map((j) => drop(j.chunk0, j.chunkDir, j.firstChunk));
  // After the unlinks: the close of an unlinked file's last descriptor frees its blocks, here too.
  for (const fd of b.fds) {
    try {
      fs.closeSync(fd);
    } catch {
      // nothing to do about a descriptor that will not close
    }
  }
  parentPort!.postMessage(encodeAnswer(b.id, out));
});
