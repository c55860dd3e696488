/**
 * Several gateways on one Redis and one brick set (the two-gateway tests share this setup): writes each
 * gateway's config (one distributed volume 'data' on Redis, exported as /data, SMB off) with
 * `writeVolumeConfig`, starts the gateways with an admin port, and reads a gateway's volume status.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { freePorts, startGateway, type GatewayProc } from './harness';

export interface Gw {
  proc: GatewayProc;
  adminPort: number;
  dataDir: string;
}

export interface VolumeSpec {
  redisUrl: string;
  /** Redis key prefix: one per test file, so files never see each other's volumes. */
  keyPrefix: string;
  bricks: Array<{ id: string; address: string }>;
  replica: number;
  /** Default: the gateway's. */
  chunkSize?: number;
  /** Further volume fields (healMiBps, rebalanceMiBps, healJournalRefreshMs, ...). */
  extra?: Record<string, unknown>;
}

/** Writes a gateway config serving one distributed volume 'data' on Redis; returns its path. */
export function writeVolumeConfig(file: string, dataDir: string, v: VolumeSpec): string {
  writeFileSync(
    file,
    JSON.stringify({
      volumes: [
        {
          name: 'data',
          dataDir,
          engine: 'redis',
          redis: { url: v.redisUrl, keyPrefix: v.keyPrefix, commandTimeoutMs: 3000 },
          bricks: v.bricks,
          replica: v.replica,
          ...(v.chunkSize !== undefined ? { chunkSize: v.chunkSize } : {}),
          rootMode: 0o1777,
          ...(v.extra ?? {}),
        },
      ],
      exports: [{ name: 'data', volume: 'data' }],
      smb: { enabled: false },
    }),
  );
  return file;
}

/** Starts `n` gateways (gw1..gwN under `work`) on the volume, each with an admin port. */
export async function startGateways(work: string, n: number, v: VolumeSpec): Promise<Gw[]> {
  const out: Gw[] = [];
  for (let i = 1; i <= n; i++) {
    const dataDir = path.join(work, `gw${i}`);
    const config = writeVolumeConfig(path.join(work, `gw${i}.json`), dataDir, v);
    const [adminPort] = (await freePorts(1)) as [number];
    out.push({ proc: await startGateway({ config, dataDir, extraArgs: ['--admin-port', String(adminPort)] }), adminPort, dataDir });
  }
  return out;
}

/** The volume's status as a gateway's admin endpoint shows it. */
export async function volumeStatus(g: Gw): Promise<any> {
  const r = await fetch(`http://127.0.0.1:${g.adminPort}/v1/volumes/data`);
  return ((await r.json()) as any).status;
}
