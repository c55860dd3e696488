/**
 * Prometheus metrics (prom-client) on an HTTP port: per-program, per-procedure counts and latency,
 * bytes, connections. Off unless a port is configured.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Volume } from '../cluster/vfs/volume';
import { CallMetrics } from './call-metrics';

export class GatewayMetrics {
  readonly registry = new Registry();
  /** gateway_rpc_ops_total and gateway_rpc_latency_seconds, counted cheaply per call (gateway/call-metrics.ts). */
  readonly calls = new CallMetrics();
  readonly connections = new Gauge({
    name: 'gateway_connections',
    help: 'Open client connections by protocol',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  private server?: Server;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.calls.register(this.registry);
  }

  /** Counters the volumes keep themselves, read at scrape time. */
  registerVolumes(volumes: ReadonlyMap<string, Volume>): void {
    new Counter({
      name: 'gateway_read_ahead_ranges_total',
      help: 'Ranges read ahead for sequential readers, by volume and outcome (issued; hit: served a READ; dropped: unused)',
      labelNames: ['volume', 'outcome'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [volume, v] of volumes) {
          const st = v.readAheadStats;
          if (!st) continue;
          this.inc({ volume, outcome: 'issued' }, st.issued);
          this.inc({ volume, outcome: 'hit' }, st.hits);
          this.inc({ volume, outcome: 'dropped' }, st.dropped);
        }
      },
    });
  }

  async listen(host: string, port: number): Promise<number> {
    this.server = createServer(async (req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      try {
        res.writeHead(200, { 'content-type': this.registry.contentType }).end(await this.registry.metrics());
      } catch {
        res.writeHead(500).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject).listen(port, host, () => resolve());
    });
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : port;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
