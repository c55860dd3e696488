/**
 * Online rebalance after the brick set changed (add-brick, remove-brick). The replica set serves every
 * object at its OLD placement until moved (replica-set.ts), so reads and writes keep working throughout.
 *
 * The rebalancer walks the namespace's regular files (inode table, in pages) and, for each chunk index
 * below the file's size, asks whether the object's replicas differ between the old and the new brick
 * set; only those objects are touched (rendezvous hashing: about 1/N of the copies). A move runs under
 * the object's exclusive lock: copy to each new replica from an up-to-date old one (fsynced), switch the
 * object to its new placement, delete the copies on bricks that no longer hold it. Objects written at
 * the old placement during the walk (e.g. files created meanwhile) are queued by the replica set and
 * moved at the end; objects that could not move (no reachable source or target) are retried. When none
 * is left, the layout record drops its `from` and the rebalance is over. Copies are throttled.
 *
 * Scanning the inode table rather than the bricks' listings means a rebalance needs no brick to be up
 * just to learn what exists, and costs nothing for holes (a missing object is skipped at the source).
 *
 * On a shared store (several gateways, move-state.ts) the walk first waits until every gateway serving
 * the volume has switched to the new layout (`waitForGateways`), a move commits in the store only if no
 * other gateway changed the object during its copy (else it is copied again), objects that other
 * gateways changed at their old placement are found in the store, and old copies are not deleted per
 * move: `onFinish` stores the end of the rebalance (refused while an object is left), and `cleanUp` then
 * deletes the old copies once every gateway has switched to that layout.
 */
import type { Kv } from '../meta/kv';
import { decodeInode, decodeVolume, idFromKey, TAG_INODE, volumeKey } from '../meta/records';
import { FileType } from '../vfs/types';
import type { ObjectId } from './brick';
import { objKeyOf, type Member, type ReplicaSet } from './replica-set';
import { Placement } from './placement';
import { Throttle } from './throttle';

export interface RebalanceOptions {
  bytesPerSecond?: number;
  concurrency?: number;
  /**
   * Called once every object is at the new placement (persist the layout without `from`). Shared
   * stores: resolves false if the store still lists an object at its old placement (moved first, then
   * called again).
   */
  onFinish: () => Promise<boolean | void>;
  /** Shared stores: resolves once every gateway serving the volume has switched to layout `epoch`. */
  waitForGateways?: (epoch: number) => Promise<void>;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  /** Pause between retries of objects that could not move. Default 1 s. */
  retryMs?: number;
}

export interface RebalanceStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  /** Shared stores: waiting for other gateways to switch layouts, copying, or deleting old copies. */
  phase?: 'waiting' | 'moving' | 'cleaning';
  /** Moves copied again because another gateway changed the object during the copy. */
  raced?: number;
  /** Old copies deleted by the clean-up. */
  removedCopies?: number;
  /** Copies moved of objects the walk did not count (written at their old placement after it passed). */
  lateCopies?: number;
  from?: string[];
  to?: string[];
  scannedFiles: number;
  /** Chunk objects looked at (by file size; holes included). */
  scannedObjects: number;
  /** Objects whose replica set changed (moved, or nothing to move for a hole). */
  changedObjects: number;
  /** Copies written to new replicas. */
  movedCopies: number;
  movedBytes: number;
  /**
   * (movedCopies − lateCopies) / (scannedObjects × replica): the share of the copies stored when the
   * walk ran that changed place.
   */
  fraction: number;
  pending: number;
  deferred: number;
  startedAt?: string;
  finishedAt?: string;
  lastError?: string;
}

const PAGE = 256;

export class Rebalancer {
  private readonly throttle: Throttle;
  private run: Promise<void> | undefined;
  private stopped = false;
  private st: RebalanceStatus = blank('idle');

  constructor(
    private readonly kv: Kv,
    private readonly set: ReplicaSet,
    private readonly opts: RebalanceOptions,
  ) {
    this.throttle = new Throttle(opts.bytesPerSecond ?? 128 * 1024 * 1024);
  }

  get running(): boolean {
    return this.run !== undefined;
  }

  /** Starts (or restarts, after a further layout change) the walk; resolves when it has finished. */
  start(): Promise<void> {
    if (this.run) {
      // A new layout while running: the running walk restarts from the top with the new placement.
      this.restart = true;
      return this.run;
    }
    this.run = this.loop().finally(() => (this.run = undefined));
    return this.run;
  }

  private restart = false;

  private async loop(): Promise<void> {
    do {
      this.restart = false;
      await this.walk();
    } while (this.restart && !this.stopped);
  }

  private async walk(): Promise<void> {
    const set = this.set;
    if (!set.rebalancing) return;
    this.st = { ...blank('running'), from: set.previousIds!, to: set.brickIds, startedAt: new Date().toISOString() };
    this.late.clear();
    this.opts.log?.info({ from: this.st.from, to: this.st.to }, 'rebalance started');
    try {
      if (set.moves && this.opts.waitForGateways) {
        this.st.phase = 'waiting';
        await this.opts.waitForGateways(set.layoutEpoch);
        this.st.phase = 'moving';
        this.st.raced = 0;
      }
      const volRec = await this.kv.get(volumeKey());
      if (!volRec) throw new Error('volume record missing');
      const cs = BigInt(decodeVolume(volRec).chunkSize);
      const deferred = new Map<string, ObjectId>();
      let after: Buffer | undefined;
      const prefix = Buffer.from([TAG_INODE]);
      for (;;) {
        if (this.stopped || this.restart) return;
        const page = await this.kv.range({ prefix, ...(after ? { after } : {}), limit: PAGE });
        if (!page.length) break;
        after = page[page.length - 1]!.key;
        const ids: ObjectId[] = [];
        for (const { key, value } of page) {
          const fileId = idFromKey(key);
          const n = decodeInode(fileId, value);
          if (n.type !== FileType.REG) continue;
          this.st.scannedFiles++;
          const chunks = Number((n.size + cs - 1n) / cs);
          for (let c = 0; c < chunks; c++) {
            this.st.scannedObjects++;
            const id = { fileId, chunk: c };
            if (set.moveOf(id)) ids.push(id);
          }
        }
        await this.moveAll(ids, deferred);
        this.updateFraction();
        if (page.length < PAGE) break;
      }
      // Objects written at the old placement during the walk, then those that could not move yet. On a
      // shared store the end is stored only if the store lists no object left at its old placement
      // (another gateway may have written one since this loop looked): else round again.
      for (let ended = false; !ended; ) {
        for (;;) {
          if (this.stopped || this.restart) return;
          const late = [...set.pendingMoves.values(), ...(set.moves ? await set.moves.pending() : [])].filter((id) => !deferred.has(objKeyOf(id)));
          for (const id of late) this.late.add(objKeyOf(id));
          const queued = [...deferred.values(), ...late];
          deferred.clear();
          this.st.pending = queued.length;
          if (!queued.length) break;
          await this.moveAll(queued, deferred);
          this.updateFraction();
          if (deferred.size) {
            this.st.deferred = deferred.size;
            await new Promise((r) => setTimeout(r, this.opts.retryMs ?? 1000));
          }
        }
        if (this.stopped || this.restart) return;
        if (set.moves) ended = (await this.opts.onFinish()) !== false;
        else {
          await set.finishRebalance();
          await this.opts.onFinish();
          ended = true;
        }
      }
      this.st.state = 'done';
      this.st.pending = 0;
      this.st.deferred = 0;
      this.st.finishedAt = new Date().toISOString();
      this.opts.log?.info({ ...this.st }, 'rebalance done');
    } catch (e) {
      this.st.state = 'failed';
      this.st.lastError = e instanceof Error ? e.message : String(e);
      this.opts.log?.warn({ err: this.st.lastError }, 'rebalance failed');
    }
  }

  /** Objects queued after the walk (counted apart: the walk's share is what `fraction` measures). */
  private readonly late = new Set<string>();

  private updateFraction(): void {
    const total = this.st.scannedObjects * this.set.replica;
    this.st.fraction = total ? (this.st.movedCopies - (this.st.lateCopies ?? 0)) / total : 0;
  }

  private async moveAll(ids: ObjectId[], deferred: Map<string, ObjectId>): Promise<void> {
    let i = 0;
    const worker = async (): Promise<void> => {
      while (i < ids.length && !this.stopped) {
        const id = ids[i++]!;
        try {
          if (!(await this.moveOne(id))) deferred.set(objKeyOf(id), id);
        } catch (e) {
          deferred.set(objKeyOf(id), id);
          this.st.lastError = e instanceof Error ? e.message : String(e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(1, this.opts.concurrency ?? 2), ids.length) }, worker));
  }

  /** Moves one object; false if it cannot move now (retried later). */
  private async moveOne(id: ObjectId): Promise<boolean> {
    const set = this.set;
    return set.locks.exclusive(objKeyOf(id), async () => {
      const mv = set.moveOf(id);
      if (!mv) return true;
      const seen = set.moves ? await set.moves.counts(id) : undefined;
      if (seen?.moved) {
        set.markMoved(id);
        return true;
      }
      await set.journal.refreshFor(id, mv.from);
      const adds = mv.to.filter((b) => !mv.from.includes(b));
      const removes = mv.from.filter((b) => !mv.to.includes(b));
      const sources = mv.from
        .filter((b) => !set.journal.isStale(b, id))
        .map((b) => set.member(b))
        .filter((m): m is Member => !!m && m.up);
      if (!sources.length) return false;
      const targets = adds.map((b) => set.member(b));
      if (targets.some((m) => !m || !m.up)) return false;
      let missing = false;
      let copies = 0;
      let bytes = 0;
      for (const t of targets as Member[]) {
        const r = await set.copyObject(id, sources, t, (n) => this.throttle.take(n));
        missing = r.missing;
        if (!r.missing) {
          copies++;
          bytes += r.bytes;
        }
      }
      if (seen && !(await set.moves!.commitMove(id, seen, set.layoutEpoch))) {
        // Another gateway changed the object (or dropped its file) during the copy: copy it again.
        this.st.raced = (this.st.raced ?? 0) + 1;
        return false;
      }
      this.st.movedCopies += copies;
      this.st.movedBytes += bytes;
      if (this.late.delete(objKeyOf(id))) this.st.lateCopies = (this.st.lateCopies ?? 0) + copies;
      set.markMoved(id);
      this.st.changedObjects++;
      // Shared store: other gateways may still read the old copies until they switch layouts (cleanUp).
      if (!missing && !set.moves) {
        for (const b of removes) {
          const m = set.member(b);
          if (m?.up) await m.brick.delete(id).catch(() => undefined);
        }
      }
      return true;
    });
  }

  /**
   * Shared stores, after the end of the rebalance is stored and every gateway has switched to it: deletes
   * the copies that moved objects left on bricks of the old set (`from`), then the move records.
   */
  async cleanUp(from: string[]): Promise<void> {
    const set = this.set;
    const moves = set.moves;
    if (!moves) return;
    this.st.phase = 'cleaning';
    this.st.removedCopies = 0;
    const old = new Placement(from);
    let after: Buffer | undefined;
    for (;;) {
      if (this.stopped) return;
      const { ids, keys } = await moves.movedPage(after, 256);
      if (!keys.length) break;
      for (const id of ids) {
        const now = set.placementOf(id);
        for (const b of old.replicas(id, set.replica)) {
          if (now.includes(b)) continue;
          const m = set.member(b);
          if (!m?.up) continue;
          await set.locks.exclusive(objKeyOf(id), () => m.brick.delete(id)).then(
            () => (this.st.removedCopies = (this.st.removedCopies ?? 0) + 1),
            () => undefined,
          );
        }
      }
      await moves.remove(keys);
    }
    this.st.phase = undefined;
  }

  status(): RebalanceStatus {
    return { ...this.st, pending: this.set.pendingMoves.size || this.st.pending };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.run?.catch(() => undefined);
  }
}

function blank(state: RebalanceStatus['state']): RebalanceStatus {
  return { state, scannedFiles: 0, scannedObjects: 0, changedObjects: 0, movedCopies: 0, movedBytes: 0, fraction: 0, pending: 0, deferred: 0 };
}
