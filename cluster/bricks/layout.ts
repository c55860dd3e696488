/**
 * The volume's brick layout, stored in the metadata store so that every gateway of the volume agrees on
 * it (and a restarted gateway resumes where it was): which bricks (stable id + address), the replica
 * count, and, while a rebalance runs, the previous brick set. Key 'L' (beside the namespace's tags in
 * records.ts); the value is versioned JSON (read once per change, never on the data path).
 *
 * The config file's `bricks`/`replica` only create the layout on first start (or `gateway volume
 * create`); afterwards the stored layout wins, and `gateway volume add-brick|remove-brick` change it.
 * `epoch` increases with every change; a change is a compare-and-set on it.
 */
import type { Kv, KvTx } from '../meta/kv';
import { CoreError, Errc } from '../vfs/errors';
import { checkBrickId } from './placement';
import type { BrickSpec } from './replica-set';

export const TAG_LAYOUT = 0x4c; // 'L'
export const layoutKey = (): Buffer => Buffer.from([TAG_LAYOUT]);

export interface VolumeLayout {
  replica: number;
  bricks: BrickSpec[];
  /** Brick ids of the previous layout while a rebalance is under way. */
  from?: string[];
  epoch: number;
  /**
   * Shared stores (several gateways): the gateway that runs the rebalance (only it moves objects), and
   * after the moves the old brick set whose leftover copies it is deleting (no longer a placement).
   */
  mover?: string;
  retired?: string[];
}

export function checkLayout(l: VolumeLayout): VolumeLayout {
  if (![1, 2, 3].includes(l.replica)) throw new CoreError(Errc.INVAL, `replica must be 1, 2 or 3 (got ${l.replica})`);
  const ids = new Set<string>();
  for (const b of l.bricks) {
    checkBrickId(b.id);
    if (ids.has(b.id)) throw new CoreError(Errc.INVAL, `brick id ${b.id} listed twice`);
    ids.add(b.id);
    if (typeof b.address !== 'string' || !b.address) throw new CoreError(Errc.INVAL, `brick ${b.id}: address missing`);
  }
  if (l.bricks.length < l.replica) throw new CoreError(Errc.INVAL, `replica ${l.replica} needs at least ${l.replica} bricks (have ${l.bricks.length})`);
  return l;
}

export function encodeLayout(l: VolumeLayout): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, replica: l.replica, bricks: l.bricks.map((b) => ({ id: b.id, address: b.address })), ...(l.from ? { from: l.from } : {}), ...(l.mover ? { mover: l.mover } : {}), ...(l.retired ? { retired: l.retired } : {}), epoch: l.epoch }), 'utf8');
}

export function decodeLayout(b: Buffer): VolumeLayout {
  let o: any;
  try {
    o = JSON.parse(b.toString('utf8'));
  } catch {
    throw new CoreError(Errc.IO, 'corrupt layout record');
  }
  if (!o || o.v !== 1 || !Array.isArray(o.bricks)) throw new CoreError(Errc.IO, 'corrupt layout record');
  const l: VolumeLayout = { replica: o.replica, bricks: o.bricks.map((x: any) => ({ id: String(x.id), address: String(x.address) })), epoch: Number(o.epoch) || 0 };
  if (Array.isArray(o.from)) l.from = o.from.map(String);
  if (typeof o.mover === 'string') l.mover = o.mover;
  if (Array.isArray(o.retired)) l.retired = o.retired.map(String);
  return l;
}

export async function loadLayout(kv: Kv): Promise<VolumeLayout | undefined> {
  const v = await kv.get(layoutKey());
  return v ? decodeLayout(v) : undefined;
}

/** Creates the layout if none is stored; returns the stored one (durable). */
export async function ensureLayout(kv: Kv, initial: Omit<VolumeLayout, 'epoch'>): Promise<VolumeLayout> {
  checkLayout({ ...initial, epoch: 1 });
  return kv.txn(
    async (tx) => {
      const cur = await tx.get(layoutKey());
      if (cur) return decodeLayout(cur);
      const l: VolumeLayout = { ...initial, epoch: 1 };
      tx.put(layoutKey(), encodeLayout(l));
      return l;
    },
    { durable: true },
  );
}

/** Applies `change` to the stored layout if its epoch is still `epoch` (durable); returns the new one. */
export async function updateLayout(kv: Kv, epoch: number, change: (l: VolumeLayout) => Omit<VolumeLayout, 'epoch'>, guard?: (tx: KvTx) => Promise<void>): Promise<VolumeLayout> {
  return kv.txn(
    async (tx) => {
      if (guard) await guard(tx);
      const cur = await tx.get(layoutKey());
      if (!cur) throw new CoreError(Errc.INVAL, 'volume has no brick layout');
      const l = decodeLayout(cur);
      if (l.epoch !== epoch) throw new CoreError(Errc.DELAY, `layout changed meanwhile (epoch ${l.epoch}, expected ${epoch}); retry`);
      const next = checkLayout({ ...change(l), epoch: l.epoch + 1 });
      tx.put(layoutKey(), encodeLayout(next));
      return next;
    },
    { durable: true },
  );
}
