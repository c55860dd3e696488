/**
 * Which gateways serve a distributed volume whose metadata store is shared (Redis): one record per
 * gateway, written when it opens the volume's bricks and removed when it stops cleanly. Each record also
 * holds the layout epoch the gateway has switched to (`epoch`): a gateway that sees a new layout (it
 * watches the layout record) switches its placement, waits for the data operations it started under the
 * old one, then acknowledges the new epoch here. A rebalance copies nothing before every registered
 * gateway has acknowledged its layout, and deletes no old copy before every one has acknowledged the
 * layout that ends it (docs/distributed.md "Several gateways and brick changes").
 *
 * Registration reads the layout epoch in the same transaction, so a gateway that registers while a
 * layout change is being stored is either listed (and waited for) or already opened with the new layout.
 *
 * Keys: 'L' 'g' gatewayId (beside the layout record 'L'), value JSON {host, pid, since, epoch}. The id
 * names the gateway by host and data directory, so a gateway restarted after a crash replaces its own
 * record instead of leaving a stale one; a gateway that crashed and never came back leaves its record,
 * and a rebalance then waits for it (shown in `gateway volume status` as `waitingFor`): the operator,
 * after checking it is gone, repeats the change with --force, which does not wait for other gateways.
 * No heartbeat: a periodic write from every gateway would take the volume's read lease away from the
 * busy one.
 */
import { hostname } from 'node:os';
import type { Kv } from '../meta/kv';
import { decodeLayout, layoutKey } from './layout';

const PREFIX = Buffer.from('Lg', 'latin1');

export interface GatewayEntry {
  id: string;
  host: string;
  pid: number;
  since: string;
  /** Layout epoch this gateway has switched to (every operation under an older one has finished). */
  epoch: number;
}

const keyOf = (id: string): Buffer => Buffer.concat([PREFIX, Buffer.from(id, 'utf8')]);

/** This gateway's id for a volume served from `dataDir`. */
export function gatewayIdFor(dataDir: string): string {
  return `${hostname()}:${dataDir}`.slice(0, 200);
}

/** Registers this gateway; returns the layout epoch it read in the same transaction (its acknowledged epoch). */
export async function registerGateway(kv: Kv, id: string): Promise<number> {
  const since = new Date().toISOString();
  return kv.txn(
    async (tx) => {
      const l = await tx.get(layoutKey());
      const epoch = l ? decodeLayout(l).epoch : 0;
      tx.put(keyOf(id), Buffer.from(JSON.stringify({ host: hostname(), pid: process.pid, since, epoch }), 'utf8'));
      return epoch;
    },
    { durable: true },
  );
}

/** Acknowledges that this gateway works at layout `epoch` (nothing runs under an older one). */
export async function ackEpoch(kv: Kv, id: string, epoch: number): Promise<void> {
  await kv.txn(
    async (tx) => {
      const cur = await tx.get(keyOf(id));
      let o: Record<string, unknown> = {};
      try {
        if (cur) o = JSON.parse(cur.toString('utf8')) as Record<string, unknown>;
      } catch {
        o = {};
      }
      if (typeof o.epoch === 'number' && o.epoch >= epoch) return;
      tx.put(keyOf(id), Buffer.from(JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString(), ...o, epoch }), 'utf8'));
    },
    { durable: true },
  );
}

export async function unregisterGateway(kv: Kv, id: string): Promise<void> {
  await kv.txn(async (tx) => tx.delete(keyOf(id)), { durable: true });
}

export async function listGateways(kv: Kv): Promise<GatewayEntry[]> {
  const out: GatewayEntry[] = [];
  for (const { key, value } of await kv.range({ prefix: PREFIX, limit: 1000 })) {
    try {
      const o = JSON.parse(value.toString('utf8')) as Partial<GatewayEntry>;
      out.push({ id: key.subarray(PREFIX.length).toString('utf8'), host: String(o.host), pid: Number(o.pid), since: String(o.since), epoch: Number(o.epoch) || 0 });
    } catch {
      // a record this version cannot read: still a gateway
      out.push({ id: key.subarray(PREFIX.length).toString('utf8'), host: '?', pid: 0, since: '?', epoch: 0 });
    }
  }
  return out;
}
