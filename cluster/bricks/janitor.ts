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
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';

export interface DropJob {
  /** Chunk 0's path, when chunk 0 is dropped too. */
  chunk0: string | undefined;
  chunkDir: string;
  firstChunk: number;
}

export interface DropBatch {
  id: number;
  jobs: DropJob[];
}

export type DropOutcome =
  | { ok: true; removed: number[]; dirGone: boolean }
  | { ok: false; code: string | undefined; message: string; path: string };

interface Waiting {
  job: DropJob;
  resolve: (o: DropOutcome) => void;
  reject: (e: unknown) => void;
}

const MAX_BATCH = 256;

export class Janitor {
  private worker: Worker | undefined;
  private queue: Waiting[] = [];
  private scheduled = false;
  private nextId = 1;
  private readonly inFlight = new Map<number, Waiting[]>();
  private readonly outstanding = new Set<Promise<DropOutcome>>();
  private closed = false;

  /** Runs one drop; resolves with what the worker did (errors are outcomes, not rejections). */
  drop(job: DropJob): Promise<DropOutcome> {
    if (this.closed) return Promise.reject(new Error('brick closed'));
    const p = new Promise<DropOutcome>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
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
    const w = new Worker(join(__dirname, 'janitor-worker.js'));
    w.unref();
    w.on('message', (m: { id: number; out: DropOutcome[] }) => {
      const batch = this.inFlight.get(m.id);
      if (!batch) return;
      this.inFlight.delete(m.id);
      batch.forEach((it, i) => it.resolve(m.out[i]!));
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
      const batch = this.queue.splice(0, MAX_BATCH);
      if (this.closed) {
        for (const it of batch) it.reject(new Error('brick closed'));
        continue;
      }
      const w = (this.worker ??= this.start());
      const id = this.nextId++;
      this.inFlight.set(id, batch);
      // Referenced while it holds work, so the process waits for drops that were asked for.
      w.ref();
      const msg: DropBatch = { id, jobs: batch.map((it) => it.job) };
      w.postMessage(msg);
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
