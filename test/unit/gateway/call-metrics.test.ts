import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { CALL_LATENCY_BUCKETS, CallMetrics, PROGRAM_NAMES } from '../../../gateway/call-metrics';

type Call = [prog: number, vers: number, proc: number, procName: string | undefined, outcome: string, seconds: number];

/** What gateway/server.ts did per call before call-metrics.ts: prom-client's own counter and histogram. */
function reference(): { registry: Registry; observe: (c: Call) => void } {
  const registry = new Registry();
  const ops = new Counter({ name: 'gateway_rpc_ops_total', help: 'RPC calls completed, by program, version, procedure and outcome', labelNames: ['program', 'version', 'proc', 'outcome'] as const, registers: [registry] });
  const latency = new Histogram({ name: 'gateway_rpc_latency_seconds', help: 'RPC call latency from decode to reply queued', labelNames: ['program', 'proc'] as const, buckets: [...CALL_LATENCY_BUCKETS], registers: [registry] });
  return {
    registry,
    observe: ([prog, vers, proc, procName, outcome, seconds]) => {
      const program = PROGRAM_NAMES[prog] ?? String(prog);
      const p = procName ?? String(proc);
      ops.inc({ program, version: String(vers), proc: p, outcome });
      latency.observe({ program, proc: p }, seconds);
    },
  };
}

function ours(): { registry: Registry; m: CallMetrics; observe: (c: Call) => void } {
  const registry = new Registry();
  const m = new CallMetrics();
  m.register(registry);
  return { registry, m, observe: (c) => m.observe(...c) };
}

/** A deterministic mix: NFSv3 and v4 procedures, errors, unknown programs, latencies across every bucket. */
function calls(n: number, seed: number): Call[] {
  let x = seed;
  const rnd = (k: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % k;
  };
  const kinds: [number, number, number, string | undefined][] = [
    [100003, 3, 1, 'GETATTR'],
    [100003, 3, 3, 'LOOKUP'],
    [100003, 3, 12, 'REMOVE'],
    [100003, 4, 1, 'COMPOUND'],
    [100005, 3, 1, 'MNT'],
    [100003, 3, 99, undefined],
    [123456, 1, 0, undefined],
    [100003, 77, 3, undefined],
  ];
  const outcomes = ['SUCCESS', 'SUCCESS', 'SUCCESS', 'DRC_REPLAY', 'GARBAGE_ARGS', 'PROC_UNAVAIL', 'DROPPED'];
  const lat = [0.00005, 0.0001, 0.0003, 0.0007, 0.002, 0.007, 0.02, 0.07, 0.2, 0.7, 2, 9];
  const out: Call[] = [];
  for (let i = 0; i < n; i++) {
    const [prog, vers, proc, name] = kinds[rnd(kinds.length)]!;
    out.push([prog, vers, proc, name, outcomes[rnd(outcomes.length)]!, lat[rnd(lat.length)]!]);
  }
  return out;
}

describe('per-call RPC metrics (gateway/call-metrics.ts)', () => {
  it('prints what prom-client printed for the same calls, scrape after scrape', async () => {
    const a = reference();
    const b = ours();
    for (const [round, n] of [[1, 500], [2, 1], [3, 2000]] as const) {
      for (const c of calls(n, round)) {
        a.observe(c);
        b.observe(c);
      }
      assert.equal(await b.registry.metrics(), await a.registry.metrics(), `exposition after round ${round}`);
      // A second scrape with no calls in between changes nothing (counts are not handed over twice).
      assert.equal(await b.registry.metrics(), await a.registry.metrics());
    }
  });

  it('counts N calls of one procedure as N, in the counter and in the histogram', async () => {
    const { registry, m } = ours();
    for (let i = 0; i < 1234; i++) m.observe(100003, 3, 12, 'REMOVE', 'SUCCESS', 0.0002);
    const text = await registry.metrics();
    assert.match(text, /^gateway_rpc_ops_total\{program="nfs",version="3",proc="REMOVE",outcome="SUCCESS"\} 1234$/m);
    assert.match(text, /^gateway_rpc_latency_seconds_count\{program="nfs",proc="REMOVE"\} 1234$/m);
    assert.match(text, /^gateway_rpc_latency_seconds_bucket\{le="0.0001",program="nfs",proc="REMOVE"\} 0$/m);
    assert.match(text, /^gateway_rpc_latency_seconds_bucket\{le="0.0005",program="nfs",proc="REMOVE"\} 1234$/m);
    const json = await registry.getMetricsAsJSON();
    const hist = json.find((x) => x.name === 'gateway_rpc_latency_seconds')!;
    assert.equal(hist.type, 'histogram');
    assert.ok(hist.values.some((v) => v.labels.proc === 'REMOVE' && v.labels.le === '+Inf' && v.value === 1234));
  });

  it('keeps a bounded number of series: made-up program numbers fold into "other", totals stay right', async () => {
    const { registry, m } = ours();
    const n = 5000;
    for (let i = 0; i < n; i++) m.observe(200000 + i, 1, 0, undefined, 'PROG_UNAVAIL', 0.00001);
    const text = await registry.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('gateway_rpc_ops_total{'));
    assert.ok(series.length <= 4097, `${series.length} series`);
    const total = series.reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.equal(total, n);
    assert.match(text, /gateway_rpc_ops_total\{program="other",version="other",proc="other",outcome="PROG_UNAVAIL"\} \d+/);
  });
});
