/**
 * Distributed volumes in the gateway: a volume whose config lists `bricks` gets its chunks from brick
 * nodes (`gateway brick`) through a BrickCluster (replication, heal, rebalance: cluster/bricks/), instead
 * of the in-process brick under its dataDir. The brick layout itself lives in the volume's metadata store
 * (cluster/bricks/layout.ts): the config creates it on first start; afterwards `gateway volume
 * add-brick|remove-brick` change it, through the admin endpoint of a running gateway (gateway/admin.ts).
 *
 * Also: the Prometheus gauges for brick health, heal backlog and rebalance progress.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Brick } from '../cluster/bricks/brick';
import { BrickCluster } from '../cluster/bricks/brick-cluster';
import { gatewayIdFor } from '../cluster/bricks/gateway-registry';
import { LocalBrick } from '../cluster/bricks/local-brick';
import { MemoryBrick } from '../cluster/bricks/memory-brick';
import { RemoteBrick } from '../cluster/bricks/remote-brick';
import type { BrickSpec } from '../cluster/bricks/replica-set';
import type { Kv } from '../cluster/meta/kv';
import type { VolumeEntry } from './config/schema';
import type { Logger } from './log';

const MiB = 1024 * 1024;

/**
 * The client for one brick address: "host:port" is a brick node (RemoteBrick); "dir:/path" an in-process
 * brick on a local directory and "mem:NAME" an in-memory one (development and tests only).
 */
export async function connectBrick(spec: BrickSpec): Promise<Brick> {
  if (spec.address.startsWith('dir:')) return LocalBrick.open(spec.address.slice(4));
  if (spec.address.startsWith('mem:')) return new MemoryBrick(1n << 40n, spec.id);
  // Two connections: a 1 MiB write in flight on one does not hold up the small requests behind it.
  return new RemoteBrick({ address: spec.address, name: spec.id, connections: 2 });
}

export function openBrickCluster(v: VolumeEntry, kv: Kv, log: Logger): Promise<BrickCluster> {
  return BrickCluster.open({
    kv,
    replica: v.replica,
    bricks: v.bricks ?? [],
    connect: connectBrick,
    healBytesPerSecond: v.healMiBps * MiB,
    rebalanceBytesPerSecond: v.rebalanceMiBps * MiB,
    journalRefreshMs: v.healJournalRefreshMs,
    gatewayId: gatewayIdFor(v.dataDir),
    log: log.child({ volume: v.name, component: 'bricks' }),
  });
}

/** Gauges read from the clusters at scrape time. */
export function registerClusterMetrics(registry: Registry, clusters: Map<string, BrickCluster>): void {
  const each = (fn: (name: string, c: BrickCluster) => void) => () => {
    for (const [name, c] of clusters) fn(name, c);
  };
  new Gauge({
    name: 'gateway_brick_up',
    help: 'Brick reachable from this gateway (1) or down (0), by volume and brick id',
    labelNames: ['volume', 'brick'] as const,
    registers: [registry],
    collect() {
      this.reset();
      each((volume, c) => {
        for (const b of c.status().bricks) this.set({ volume, brick: b.id }, b.up ? 1 : 0);
      })();
    },
  });
  new Gauge({
    name: 'gateway_heal_backlog',
    help: 'Replicas recorded for heal (missed writes or drops, corrupt copies), by volume and brick',
    labelNames: ['volume', 'brick'] as const,
    registers: [registry],
    collect() {
      this.reset();
      each((volume, c) => {
        for (const b of c.status().bricks) this.set({ volume, brick: b.id }, b.healBacklog);
      })();
    },
  });
  new Gauge({
    name: 'gateway_heal_healed_objects',
    help: 'Objects rebuilt by heal since the gateway started',
    labelNames: ['volume'] as const,
    registers: [registry],
    collect() {
      each((volume, c) => this.set({ volume }, c.healer.status().healedObjects))();
    },
  });
  new Gauge({
    name: 'gateway_heal_healed_bytes',
    help: 'Bytes copied by heal since the gateway started',
    labelNames: ['volume'] as const,
    registers: [registry],
    collect() {
      each((volume, c) => this.set({ volume }, c.healer.status().healedBytes))();
    },
  });
  new Gauge({
    name: 'gateway_rebalance_running',
    help: 'A rebalance is moving objects (1) or not (0)',
    labelNames: ['volume'] as const,
    registers: [registry],
    collect() {
      each((volume, c) => this.set({ volume }, c.set.rebalancing ? 1 : 0))();
    },
  });
  new Gauge({
    name: 'gateway_rebalance_moved_copies',
    help: 'Object copies written to their new bricks by the current or last rebalance',
    labelNames: ['volume'] as const,
    registers: [registry],
    collect() {
      each((volume, c) => this.set({ volume }, c.rebalancer.status().movedCopies))();
    },
  });
  new Gauge({
    name: 'gateway_replica_degraded_writes',
    help: 'Writes acknowledged with at least one replica missed (and journaled for heal)',
    labelNames: ['volume'] as const,
    registers: [registry],
    collect() {
      each((volume, c) => this.set({ volume }, c.set.stats.degradedWrites))();
    },
  });
  new Gauge({
    name: 'gateway_replica_failed_writes',
    help: 'Writes refused with EIO (below quorum, or a replica answered an error)',
    labelNames: ['volume'] as const,
    registers: [registry],
    collect() {
      each((volume, c) => this.set({ volume }, c.set.stats.failedWrites))();
    },
  });
}
