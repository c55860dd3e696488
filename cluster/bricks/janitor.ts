/**
 * Drops files' chunk objects for the local brick on a worker thread (janitor-worker.ts).
 *
 * Every REMOVE of a file with data ends in a drop: unlink chunk 0 and look for a ".d" directory, which
 * is usually absent. Done from the event loop, that is two thread-pool round trips, promise resolutions
 * and, for the absent directory, an error object per file: a good part of the main thread's time in a
 * burst of REMOVEs. Here the drops requested during one turn of the event loop go to the worker as one
 * message (at most MAX_BATCH files), and its synchronous calls run off the event loop.
 *
 * The worker starts on first use and does not keep the process alive. If it dies, the drops it held fail
 * (their trim records stay and are replayed at the next open) and the next drop starts a new one.
 *
 * A batch travels as one string (paths joined by NUL, which no path contains) and the answer as one
 * string that lists only the drops that did more than the usual (an error, chunks beyond 0, a ".d"
 * directory removed): structured clone of an object per file cost the event loop about 3 us per file.
 * `dropMany` also hands over descriptors of the dropped objects, which the worker closes after the
 * unlinks: a close from the event loop is a thread-pool round trip of its own, and the close of an
 * unlinked file's last descriptor is where the kernel frees its blocks.
 */
import { close as fsClose } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';

export interface DropJob {
  /** Chunk 0's path, when chunk 0 is dropped too. */
  chunk0: string | undefined;
  chunkDir: string;
  firstChunk: number;
}

export type DropOutcome =
  | { ok: true; removed: number[]; dirGone: boolean }
  | { ok: false; code: string | undefined; message: string; path: string };

interface Waiting {
  jobs: readonly DropJob[];
  /** Descriptors for the worker to close once the batch's unlinks are done. */
  fds: readonly number[];
  resolve: (o: DropOutcome[]) => void;
  reject: (e: unknown) => void;
}

const MAX_BATCH = 256;
const SEP = '\0';
/** The usual outcome (chunk 0 unlinked or absent, no ".d" directory); shared, never modified. */
const DONE: DropOutcome = Object.freeze({ ok: true, removed: Object.freeze([]) as unknown as number[], dirGone: false });

/** A batch as the worker receives it: id, descriptor count, descriptors, then per job firstChunk, chunk0 ('' = none), chunkDir. */
export function encodeBatch(id: number, jobs: readonly DropJob[], fds: readonly number[]): string {
  const parts: Array<string | number> = [id, fds.length, ...fds];
  for (const j of jobs) parts.push(j.firstChunk, j.chunk0 ?? '', j.chunkDir);
  return parts.join(SEP);
}

export function decodeBatch(s: string): { id: number; jobs: DropJob[]; fds: number[] } {
  const t = s.split(SEP);
  const id = Number(t[0]);
  const nfds = Number(t[1]);
  const fds = t.slice(2, 2 + nfds).map(Number);
  const jobs: DropJob[] = [];
  for (let i = 2 + nfds; i + 2 < t.length; i += 3) jobs.push({ firstChunk: Number(t[i]), chunk0: t[i + 1] || undefined, chunkDir: t[i + 2]! });
  return { id, jobs, fds };
}

/** The answer: id, then index and JSON outcome of each drop that is not DONE. */
export function encodeAnswer(id: number, out: readonly DropOutcome[]): string {
  const parts: Array<string | number> = [id];
  out.forEach((o, i) => {
    if (!o.ok || o.removed.length > 0 || o.dirGone) parts.push(i, JSON.stringify(o));
  });
  return parts.join(SEP);
}

/** The outcomes of an answer's `n` drops, from its tokens (`encodeAnswer(...).split(SEP)`). */
function decodeAnswer(t: readonly string[], n: number): DropOutcome[] {
  const out = new Array<DropOutcome>(n).fill(DONE);
  for (let i = 1; i + 1 < t.length; i += 2) out[Number(t[i])] = JSON.parse(t[i + 1]!) as DropOutcome;
  return out;
}

export class Janitor {
  private worker: Worker | undefined;
  private queue: Waiting[] = [];
  private scheduled = false;
  private nextId = 1;
  private readonly inFlight = new Map<number, Waiting[]>();
  private readonly outstanding = new Set<Promise<DropOutcome[]>>();
  private closed = false;

  /** Runs one drop; resolves with what the worker did (errors are outcomes, not rejections). */
  drop(job: DropJob): Promise<DropOutcome> {
    return this.dropMany([job], []).then((o) => o[0]!);
  }

  /**
   * Runs several drops; resolves with what the worker did for each (errors are outcomes). `fds` are
   * descriptors the caller gives up (nobody else may use or close them): the worker closes them after
   * the unlinks. If the worker dies holding them they stay open (they cannot be told apart from reused
   * numbers afterwards); if the janitor is closed before sending them, they are closed here.
   */
  dropMany(jobs: readonly DropJob[], fds: readonly number[]): Promise<DropOutcome[]> {
    if (this.closed) {
      closeAll(fds);
      return Promise.reject(new Error('brick closed'));
    }
    const p = new Promise<DropOutcome[]>((resolve, reject) => {
      this.queue.push({ jobs, fds, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
    this.outstanding.add(p);
    const done = (): void => void this.outstanding.delete(p);
    p.then(done, done);
    return p;
  }

  private start(): Worker {
    // Not tracking descriptors: the worker closes ones the main thread opened (dropMany), which a
    // tracking worker reports as a warning per close; it keeps none open itself.
    const w = new Worker(join(__dirname, 'janitor-worker.js'), { trackUnmanagedFds: false });
    w.unref();
    w.on('message', (s: string) => {
      const t = s.split(SEP);
      const id = Number(t[0]);
      const batch = this.inFlight.get(id);
      if (!batch) return;
      this.inFlight.delete(id);
      let n = 0;
      for (const it of batch) n += it.jobs.length;
      const out = decodeAnswer(t, n);
      let at = 0;
      for (const it of batch) {
        it.resolve(batch.length === 1 ? out : out.slice(at, at + it.jobs.length));
        at += it.jobs.length;
      }
      if (this.queue.length > 0) this.flush();
      if (this.inFlight.size === 0) w.unref();
    });
    const fail = (e: unknown): void => {
      if (this.worker === w) this.worker = undefined;
      const err = e instanceof Error ? e : new Error(`brick janitor stopped: ${String(e)}`);
      for (const batch of this.inFlight.values()) for (const it of batch) it.reject(err);
      this.inFlight.clear();
      // What waited behind the lost batch goes to a new worker.
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    };
    w.on('error', fail);
    w.on('exit', (codeNo) => fail(new Error(`brick janitor exited with code ${codeNo}`)));
    return w;
  }

  /**
   * Sends the queued drops, one batch at a time: drops asked for while the worker works on a batch wait
   * for its answer and then go as one message. Under a burst of REMOVEs that makes the batches grow with
   * the load instead of one message (a post, a wake-up of the worker, an answer) per event-loop turn.
   */
  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0 && (this.inFlight.size === 0 || this.closed)) {
      // Whole entries, up to MAX_BATCH jobs (an entry larger than that goes alone).
      let take = 0;
      for (let jobs = 0; take < this.queue.length && (take === 0 || jobs + this.queue[take]!.jobs.length <= MAX_BATCH); take++) jobs += this.queue[take]!.jobs.length;
      const batch = this.queue.splice(0, take);
      if (this.closed) {
        for (const it of batch) {
          closeAll(it.fds);
          it.reject(new Error('brick closed'));
        }
        continue;
      }
      const w = (this.worker ??= this.start());
      const id = this.nextId++;
      this.inFlight.set(id, batch);
      // Referenced while it holds work, so the process waits for drops that were asked for.
      w.ref();
      const jobs: DropJob[] = [];
      const fds: number[] = [];
      for (const it of batch) {
        for (const j of it.jobs) jobs.push(j);
        for (const fd of it.fds) fds.push(fd);
      }
      w.postMessage(encodeBatch(id, jobs, fds));
    }
  }

  /** Waits for the drops asked for so far, then stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.queue.length > 0 || this.outstanding.size > 0) {
      this.flush();
      await Promise.allSettled([...this.outstanding]);
    }
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}

function closeAll(fds: readonly number[]): void {
  for (const fd of fds) fsClose(fd, () => undefined);
}
