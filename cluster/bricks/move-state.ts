/**
 * Per-object move state of a rebalance on a SHARED metadata store (Redis), so that every gateway of the
 * volume agrees on where an object's chunks are while the brick set changes, and a move's copy never
 * loses a write made through another gateway (docs/distributed.md "Several gateways and brick changes").
 *
 * Keys: 'L' 'm' fileId:u64 chunk:u32 (beside the layout record 'L'); value state:u8 count:u32.
 *   state 0 (PENDING): the object is still at its OLD placement; `count` counts the changes (writes,
 *                      truncates, deletes) made to it there during the rebalance.
 *   state 1 (MOVED):   the object is at its NEW placement (its old copies are deleted after the end).
 * A file-level record (chunk 0xffffffff) counts drops (dropFrom) of the file during the rebalance.
 *
 * The protocol (the three sides are serialised by the store's optimistic transactions):
 *   - a writer to an object that moves and is not known to be moved writes at the old placement, then
 *     commits `noteChange`: if the layout epoch is still the rebalance's and the object is not moved, the
 *     count is bumped; otherwise (moved, or the rebalance ended) the writer repeats its change at the new
 *     placement before it answers;
 *   - the mover reads the count, copies old → new, and commits MOVED only if the count (and the file's
 *     drop count) is unchanged; otherwise it copies again. So a change either lands on the old copy
 *     before the copy read it, or is counted before MOVED (the copy is redone), or finds MOVED and is
 *     repeated at the new placement: none is lost.
 *   - a reader that does not know the object moved reads its record and the layout epoch (one round
 *     trip; free while this gateway holds the store's read lease): MOVED, or the rebalance ended → new
 *     placement, else old (an object with no record may be written at its new placement only once the
 *     rebalance has ended).
 * Records exist only for objects that move; they are removed after the rebalance's clean-up.
 */
import type { Kv, KvTx } from '../meta/kv';
import type { ObjectId } from './brick';
import { decodeLayout, layoutKey } from './layout';

const PREFIX = Buffer.from('Lm', 'latin1');
const FILE_CHUNK = 0xffffffff;
export const PENDING = 0;
export const MOVED = 1;

export interface MoveRecord {
  state: number;
  count: number;
}

export function moveKey(fileId: bigint, chunk: number): Buffer {
  const b = Buffer.allocUnsafe(PREFIX.length + 12);
  PREFIX.copy(b, 0);
  b.writeBigUInt64BE(fileId, PREFIX.length);
  b.writeUInt32BE(chunk >>> 0, PREFIX.length + 8);
  return b;
}

function decode(v: Buffer | undefined): MoveRecord | undefined {
  if (!v || v.length < 5) return undefined;
  return { state: v[0]!, count: v.readUInt32BE(1) };
}

function encode(r: MoveRecord): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = r.state;
  b.writeUInt32BE(r.count >>> 0, 1);
  return b;
}

async function epochIn(tx: KvTx): Promise<number> {
  const v = await tx.get(layoutKey());
  return v ? decodeLayout(v).epoch : 0;
}

export type ChangeNote = 'counted' | 'moved' | 'ended';

export class MoveStore {
  constructor(private readonly kv: Kv) {}

  /**
   * Where a reader at the rebalance of `epoch` finds the object: 'new' if it moved, or if the rebalance
   * ended (an object with no record may then have been written at its new placement only), else 'old'.
   * One round trip for both keys.
   */
  async placementFor(id: ObjectId, epoch: number): Promise<'old' | 'new'> {
    const [r, l] = await this.kv.getMany([moveKey(id.fileId, id.chunk), layoutKey()]);
    if (decode(r)?.state === MOVED) return 'new';
    return l && decodeLayout(l).epoch !== epoch ? 'new' : 'old';
  }

  /** The object's change count and its file's drop count, read together (what a copy must see unchanged). */
  async counts(id: ObjectId): Promise<{ moved: boolean; obj: number; file: number }> {
    const [o, f] = await this.kv.getMany([moveKey(id.fileId, id.chunk), moveKey(id.fileId, FILE_CHUNK)]);
    const r = decode(o);
    return { moved: r?.state === MOVED, obj: r?.count ?? 0, file: decode(f)?.count ?? 0 };
  }

  /**
   * After a change at the old placement during the rebalance of `epoch`: counts it, or says that the
   * change must be repeated at the new placement ('moved': the object moved meanwhile; 'ended': the
   * rebalance is over). Not durable by itself: a COMMIT syncs the store before it answers.
   */
  noteChange(id: ObjectId, epoch: number): Promise<ChangeNote> {
    const k = moveKey(id.fileId, id.chunk);
    return this.kv.txn(async (tx) => {
      const r = decode(await tx.get(k));
      if (r?.state === MOVED) return 'moved';
      if ((await epochIn(tx)) !== epoch) {
        // The rebalance ended: the change is repeated at the new placement; recorded as moved so that
        // the clean-up deletes the copy it left at the old one.
        tx.put(k, encode({ state: MOVED, count: r?.count ?? 0 }));
        return 'ended';
      }
      tx.put(k, encode({ state: PENDING, count: (r?.count ?? 0) + 1 }));
      return 'counted';
    });
  }

  /** After a drop of a file's objects during the rebalance of `epoch`: false once the rebalance is over. */
  noteDrop(fileId: bigint, epoch: number): Promise<boolean> {
    const k = moveKey(fileId, FILE_CHUNK);
    return this.kv.txn(async (tx) => {
      if ((await epochIn(tx)) !== epoch) return false;
      tx.put(k, encode({ state: PENDING, count: (decode(await tx.get(k))?.count ?? 0) + 1 }));
      return true;
    });
  }

  /**
   * The mover's commit: MOVED if nothing changed the object (or dropped its file) since `seen` was read,
   * and the layout is still at `epoch` (durable). False: copy again.
   */
  commitMove(id: ObjectId, seen: { obj: number; file: number }, epoch: number): Promise<boolean> {
    const k = moveKey(id.fileId, id.chunk);
    return this.kv.txn(
      async (tx) => {
        if ((await epochIn(tx)) !== epoch) return false;
        const [o, f] = await tx.getMany([k, moveKey(id.fileId, FILE_CHUNK)]);
        const r = decode(o);
        if (r?.state === MOVED) return true;
        if ((r?.count ?? 0) !== seen.obj || (decode(f)?.count ?? 0) !== seen.file) return false;
        tx.put(k, encode({ state: MOVED, count: seen.obj }));
        return true;
      },
      { durable: true },
    );
  }

  /** Objects changed at their old placement and not moved yet (written after the walk passed them). */
  async pending(limit = 4096): Promise<ObjectId[]> {
    const out: ObjectId[] = [];
    let after: Buffer | undefined;
    for (;;) {
      const page = await this.kv.range({ prefix: PREFIX, ...(after ? { after } : {}), limit: 1024 });
      for (const { key, value } of page) {
        const chunk = key.readUInt32BE(PREFIX.length + 8);
        if (chunk === FILE_CHUNK || decode(value)?.state === MOVED) continue;
        out.push({ fileId: key.readBigUInt64BE(PREFIX.length), chunk });
        if (out.length >= limit) return out;
      }
      if (page.length < 1024) return out;
      after = page[page.length - 1]!.key;
    }
  }

  /** Inside the transaction that ends the rebalance: true if no object is left at its old placement. */
  static async noneLeftIn(tx: KvTx): Promise<boolean> {
    let after: Buffer | undefined;
    for (;;) {
      const page = await tx.range({ prefix: PREFIX, ...(after ? { after } : {}), limit: 1024 });
      for (const { key, value } of page) {
        if (key.readUInt32BE(PREFIX.length + 8) === FILE_CHUNK) continue;
        if (decode(value)?.state !== MOVED) return false;
      }
      if (page.length < 1024) return true;
      after = page[page.length - 1]!.key;
    }
  }

  /** Every moved object (the clean-up deletes their old copies), a page at a time. */
  async movedPage(after: Buffer | undefined, limit: number): Promise<{ ids: ObjectId[]; keys: Buffer[] }> {
    const page = await this.kv.range({ prefix: PREFIX, ...(after ? { after } : {}), limit });
    const ids: ObjectId[] = [];
    for (const { key, value } of page) {
      const chunk = key.readUInt32BE(PREFIX.length + 8);
      if (chunk !== FILE_CHUNK && decode(value)?.state === MOVED) ids.push({ fileId: key.readBigUInt64BE(PREFIX.length), chunk });
    }
    return { ids, keys: page.map((e) => e.key) };
  }

  async remove(keys: Buffer[]): Promise<void> {
    if (!keys.length) return;
    await this.kv.txn(async (tx) => {
      for (const k of keys) tx.delete(k);
    }, { durable: true });
  }

  /** Whether any record is left (a clean-up that did not finish). */
  async any(): Promise<boolean> {
    return (await this.kv.rangeKeys({ prefix: PREFIX, limit: 1 })).length > 0;
  }
}
