/**
 * Which gateways serve a distributed volume whose metadata store is shared (Redis): one record per
 * gateway, written when it opens the volume's bricks and removed when it stops cleanly. Used for one
 * thing: refusing a brick-set change (add-brick / remove-brick) while another gateway serves the volume,
 * because the rebalance coordinates its moves with writes inside the gateway that runs it only
 * (docs/distributed.md "Known limits"): another gateway would keep reading and writing the old placement.
 *
 * Keys: 'L' 'g' gatewayId (beside the layout record 'L'), value JSON {host, pid, since}. The id names the
 * gateway by host and data directory, so a gateway restarted after a crash replaces its own record
 * instead of leaving a stale one; a gateway that crashed and never came back leaves its record, and the
 * operator (who can see host, pid and start time in the refusal) passes --force. No heartbeat: a
 * periodic write from every gateway would take the volume's read lease away from the busy one.
 */
import { hostname } from 'node:os';
import type { Kv } from '../meta/kv';

const PREFIX = Buffer.from('Lg', 'latin1');

export interface GatewayEntry {
  id: string;
  host: string;
  pid: number;
  since: string;
}

const keyOf = (id: string): Buffer => Buffer.concat([PREFIX, Buffer.from(id, 'utf8')]);

/** This gateway's id for a volume served from `dataDir`. */
export function gatewayIdFor(dataDir: string): string {
  return `${hostname()}:${dataDir}`.slice(0, 200);
}

export async function registerGateway(kv: Kv, id: string): Promise<void> {
  const v = Buffer.from(JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString() }), 'utf8');
  await kv.txn(async (tx) => tx.put(keyOf(id), v), { durable: true });
}

export async function unregisterGateway(kv: Kv, id: string): Promise<void> {
  await kv.txn(async (tx) => tx.delete(keyOf(id)), { durable: true });
}

export async function listGateways(kv: Kv): Promise<GatewayEntry[]> {
  const out: GatewayEntry[] = [];
  for (const { key, value } of await kv.range({ prefix: PREFIX, limit: 1000 })) {
    try {
      const o = JSON.parse(value.toString('utf8')) as Partial<GatewayEntry>;
      out.push({ id: key.subarray(PREFIX.length).toString('utf8'), host: String(o.host), pid: Number(o.pid), since: String(o.since) });
    } catch {
      // a record this version cannot read: still a gateway
      out.push({ id: key.subarray(PREFIX.length).toString('utf8'), host: '?', pid: 0, since: '?' });
    }
  }
  return out;
}
