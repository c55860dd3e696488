/**
 * Per-call RPC metrics counted in plain numbers and handed to prom-client only when /metrics is scraped.
 *
 * prom-client validates and hashes the label set on every inc()/observe(), even on a labelled child;
 * with one counter and one histogram per call that was 3-4% of the gateway's main thread in small-file
 * phases. Here a call costs one Map lookup with a small-integer key, one increment, a bucket scan over
 * ten bounds and two additions. The exposition is what prom-client printed before:
 * gateway_rpc_ops_total{program,version,proc,outcome} (a Counter fed at scrape time through its
 * collect() hook) and gateway_rpc_latency_seconds{program,proc} with the same buckets (a histogram
 * object that the registry formats like its own).
 *
 * Bounded: at most MAX_SERIES distinct call kinds are kept; calls of further kinds (a client sending
 * made-up program/procedure numbers) are counted under program/version/proc "other", so totals stay
 * right and memory does not grow with what clients send.
 */
import { Counter, type Registry } from 'prom-client';

export const CALL_LATENCY_BUCKETS: readonly number[] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
const MAX_SERIES = 4096;

/** Program names in labels (others are shown by number). */
export const PROGRAM_NAMES: Readonly<Record<number, string>> = { 100000: 'portmap', 100003: 'nfs', 100005: 'mount', 100021: 'nlm' };
/** Small index per named program, for numeric map keys. */
const PROGRAM_INDEX = new Map<number, number>([
  [100000, 1],
  [100003, 2],
  [100005, 3],
  [100021, 4],
]);

interface LatencySeries {
  program: string;
  proc: string;
  /** Per-bucket (not cumulative) counts; the last slot is above the highest bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

interface OpsSeries {
  labels: { program: string; version: string; proc: string; outcome: string };
  count: number;
  /** What the prom-client counter has been given so far. */
  reported: number;
  latency: LatencySeries;
}

export class CallMetrics {
  private readonly bounds: Float64Array;
  /** Calls of named programs with small version/procedure numbers, by a numeric key (see `observe`). */
  private readonly byNumber = new Map<number, OpsSeries>();
  /** Everything else, by a string key. */
  private readonly byString = new Map<string, OpsSeries>();
  private readonly latencyByKey = new Map<string, LatencySeries>();
  private readonly ops: OpsSeries[] = [];
  private readonly outcomeIndex = new Map<string, number>();

  constructor(bounds: readonly number[] = CALL_LATENCY_BUCKETS) {
    this.bounds = Float64Array.from(bounds);
  }

  /** Counts one call. `procName` is undefined when the procedure does not exist. */
  observe(prog: number, vers: number, proc: number, procName: string | undefined, outcome: string, seconds: number): void {
    let s: OpsSeries | undefined;
    const p = PROGRAM_INDEX.get(prog);
    let oi = this.outcomeIndex.get(outcome);
    if (oi === undefined && this.outcomeIndex.size < 32) this.outcomeIndex.set(outcome, (oi = this.outcomeIndex.size));
    if (p !== undefined && oi !== undefined && vers < 16 && proc < 256) {
      // < 2^19: a small integer key, no string built per call.
      const key = (((p << 4) | vers) << 8 | proc) << 5 | oi;
      s = this.byNumber.get(key);
      if (!s) {
        s = this.newSeries(prog, vers, proc, procName, outcome);
        if (s) this.byNumber.set(key, s);
      }
    } else {
      const key = `${prog}/${vers}/${proc}/${outcome}`;
      s = this.byString.get(key);
      if (!s) {
        s = this.newSeries(prog, vers, proc, procName, outcome);
        if (s) this.byString.set(key, s);
      }
    }
    s ??= this.overflow(outcome);
    s.count++;
    const l = s.latency;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    l.buckets[i]!++;
    l.sum += seconds;
    l.count++;
  }

  /** Registers gateway_rpc_ops_total and gateway_rpc_latency_seconds in `registry`. */
  register(registry: Registry): void {
    const series = this.ops;
    new Counter({
      name: 'gateway_rpc_ops_total',
      help: 'RPC calls completed, by program, version, procedure and outcome',
      labelNames: ['program', 'version', 'proc', 'outcome'] as const,
      registers: [registry],
      collect() {
        for (const s of series) {
          const d = s.count - s.reported;
          if (d > 0) {
            this.inc(s.labels, d);
            s.reported = s.count;
          }
        }
      },
    });
    registry.registerMetric(new LatencyHistogram(this.latencyByKey, this.bounds) as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  private newSeries(prog: number, vers: number, proc: number, procName: string | undefined, outcome: string): OpsSeries | undefined {
    if (this.ops.length >= MAX_SERIES) return undefined;
    const program = PROGRAM_NAMES[prog] ?? String(prog);
    const procLabel = procName ?? String(proc);
    return this.add({ program, version: String(vers), proc: procLabel, outcome });
  }

  private overflow(outcome: string): OpsSeries {
    const key = `other/${outcome}`;
    let s = this.byString.get(key);
    if (!s) {
      s = this.add({ program: 'other', version: 'other', proc: 'other', outcome });
      this.byString.set(key, s);
    }
    return s;
  }

  private add(labels: OpsSeries['labels']): OpsSeries {
    const lk = `${labels.program}\0${labels.proc}`;
    let latency = this.latencyByKey.get(lk);
    if (!latency) {
      latency = { program: labels.program, proc: labels.proc, buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.latencyByKey.set(lk, latency);
    }
    const s: OpsSeries = { labels, count: 0, reported: 0, latency };
    this.ops.push(s);
    return s;
  }
}

type Value = { labels: Record<string, string | number>; sharedLabels?: Record<string, string>; value: number; metricName: string };

/**
 * gateway_rpc_latency_seconds as the registry expects a metric (name, help, type, get/getForPromString),
 * printed line for line as a prom-client Histogram prints: cumulative _bucket{le} series, +Inf, _sum, _count.
 */
class LatencyHistogram {
  readonly name = 'gateway_rpc_latency_seconds';
  readonly help = 'RPC call latency from decode to reply queued';
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    private readonly series: ReadonlyMap<string, LatencySeries>,
    private readonly bounds: Float64Array,
  ) {}

  getForPromString(): { name: string; help: string; type: string; values: Value[]; aggregator: string } {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      const shared = { program: s.program, proc: s.proc };
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.buckets[i]!;
        values.push({ labels: { le: this.bounds[i]! }, sharedLabels: shared, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: s.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** JSON form (registry.getMetricsAsJSON): shared labels folded into each value's labels. */
  get(): ReturnType<LatencyHistogram['getForPromString']> {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, value, metricName }) => ({ labels: { ...labels, ...sharedLabels }, value, metricName }));
    return data;
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
