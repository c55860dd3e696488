/**
 * Prometheus metrics (prom-client) on an HTTP port: per-program, per-procedure counts and latency,
 * bytes, connections. Off unless a port is configured.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly ops = new Counter({
    name: 'gateway_rpc_ops_total',
    help: 'RPC calls completed, by program, version, procedure and outcome',
    labelNames: ['program', 'version', 'proc', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'gateway_rpc_latency_seconds',
    help: 'RPC call latency from decode to reply queued',
    labelNames: ['program', 'proc'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: 'gateway_connections',
    help: 'Open client connections by protocol',
    labelNames: ['protocol'] as const,
    registers: [this.registry],
  });
  private server?: Server;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
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
