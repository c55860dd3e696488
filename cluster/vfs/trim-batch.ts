/**
 * The volume's background trims of freed files, batched per turn of the event loop.
 *
 * Why: every REMOVE of a file with data records a 'G' trim and then drops the file's brick objects after
 * the reply. Done per file, that is a gate hold, a promise chain through each brick wrapper down to the
 * local brick, a janitor message and a close of the file's descriptor on the event loop: about 50 us of
 * main-thread time per file, a good part of a small file's REMOVE. Here the freed files of one turn go
 * through one gate pass (no promise per file), one `dropMany` brick call (one janitor message, which also
 * closes the descriptors), and their 'G' records are deleted by the next namespace change, or together in
 * a transaction of their own a few milliseconds later (Namespace.finishGc).
 *
 * Crash safety is unchanged: a file's 'G' record is dropped only after its brick objects are gone
 * (`finish` runs only for the files whose drop succeeded); a crash anywhere before leaves the record,
 * and the next open replays it (dropping is idempotent). A file whose drop failed keeps its record too.
 * As before, the file's gate is held exclusive from before the drop until its record is dropped, so a
 * data write racing the removal never interleaves with the trim.
 */
import { dropMany, type Brick } from '../bricks/brick';
import type { GcJob } from '../meta/namespace';
import type { FileGate } from './file-gate';

/** Files per dropMany call (bounds one janitor message). */
const MAX_BATCH = 256;

export interface TrimBatchOptions {
  gate: FileGate;
  brick: Brick;
  /** A job that cannot go in a batch (not a freed file, or its gate is held): the volume's per-file trim. */
  single: (job: GcJob) => Promise<void>;
  /** The file's objects are gone (called before its record is dropped). */
  dropped: (fileId: bigint) => void;
  /** Drops the job's 'G' record (Namespace.finishGc, which batches them). */
  finish: (job: GcJob) => Promise<void>;
  /** Each batch's promise (never rejects), for the volume's settle/close. */
  track: (p: Promise<void>) => void;
}

export class TrimBatcher {
  private queue: GcJob[] = [];

  constructor(private readonly opts: TrimBatchOptions) {}

  /** Queues a trim the namespace recorded; it runs at the end of this turn of the event loop. */
  add(job: GcJob): void {
    this.queue.push(job);
    if (this.queue.length === 1) this.opts.track(new Promise<void>((r) => setImmediate(r)).then(() => this.run()));
  }

  private async run(): Promise<void> {
    const jobs = this.queue;
    this.queue = [];
    const batch: GcJob[] = [];
    const waits: Promise<void>[] = [];
    for (const j of jobs) {
      if (j.rec.freed && this.opts.gate.tryExclusive(j.fileId)) batch.push(j);
      else waits.push(this.opts.single(j).catch(() => undefined)); // stays recorded; replayed at the next open
    }
    for (let i = 0; i < batch.length; i += MAX_BATCH) waits.push(this.drop(batch.slice(i, i + MAX_BATCH)));
    await Promise.all(waits);
  }

  /** `batch`: freed files whose gates this holds exclusive. Never rejects. */
  private async drop(batch: GcJob[]): Promise<void> {
    const { gate } = this.opts;
    const errs = await dropMany(this.opts.brick, batch.map((j) => ({ fileId: j.fileId, firstChunk: 0 })));
    const done: GcJob[] = [];
    batch.forEach((j, i) => {
      if (errs[i] === undefined) {
        this.opts.dropped(j.fileId);
        done.push(j);
      } else {
        gate.releaseExclusive(j.fileId); // the record stays; replayed at the next open
      }
    });
    // A failure leaves the records for the next open.
    if (done.length) await Promise.allSettled(done.map((j) => this.opts.finish(j)));
    for (const j of done) gate.releaseExclusive(j.fileId);
  }
}
