/**
 * The duplicate-request cache against a plain model of its rules (the Map-ordered implementation it
 * replaced): the same answers and the same contents after long random runs of begin/complete/forget with
 * hits, expiry, entry and byte pressure, and calls left in progress.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateRequestCache } from '../../../protocols/rpc/drc';

type M = { state: 'in-progress'; at: number } | { state: 'done'; at: number; reply: Buffer };

class Model {
  readonly m = new Map<string, M>();
  bytes = 0;
  constructor(private readonly max: number, private readonly maxBytes: number, private readonly ttl: number, private readonly now: () => number) {}
  begin(key: string): string {
    const now = this.now();
    const e = this.m.get(key);
    if (e) {
      if (e.state === 'in-progress') return 'in-progress';
      if (now - e.at <= this.ttl) {
        this.m.delete(key);
        this.m.set(key, e);
        return `done:${e.reply.toString('hex')}`;
      }
      this.remove(key, e);
    }
    this.evict(now, 1, 0);
    if (this.m.size < this.max) this.m.set(key, { state: 'in-progress', at: now });
    return 'miss';
  }
  complete(key: string, reply: Buffer): void {
    const e = this.m.get(key);
    if (!e) return;
    if (reply.length > this.maxBytes) return this.remove(key, e);
    if (e.state === 'done') this.bytes -= e.reply.length;
    this.m.delete(key);
    this.evict(this.now(), 1, reply.length);
    this.m.set(key, { state: 'done', at: this.now(), reply: Buffer.from(reply) });
    this.bytes += reply.length;
  }
  forget(key: string): void {
    const e = this.m.get(key);
    if (e && e.state === 'in-progress') this.remove(key, e);
  }
  private remove(key: string, e: M): void {
    this.m.delete(key);
    if (e.state === 'done') this.bytes -= e.reply.length;
  }
  private evict(now: number, add: number, addBytes: number): void {
    for (const [key, e] of this.m) {
      const over = this.m.size + add > this.max || this.bytes + addBytes > this.maxBytes;
      const expired = e.state === 'done' && now - e.at > this.ttl;
      if (!over && !expired) {
        if (e.state === 'done') break;
        continue;
      }
      if (e.state === 'in-progress') continue;
      this.remove(key, e);
    }
  }
}

describe('duplicate-request cache, against its model', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: same answers, entries and bytes over 20,000 steps`, () => {
      let x = seed * 7919;
      const rnd = (k: number): number => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return (x >>> 8) % k;
      };
      let clock = 0;
      const now = (): number => clock;
      const max = 4 + rnd(30);
      const maxBytes = 50 + rnd(400);
      const ttl = 50 + rnd(200);
      const c = new DuplicateRequestCache({ maxEntries: max, maxBytes, ttlMs: ttl, now });
      const m = new Model(max, maxBytes, ttl, now);
      const running = new Set<string>();
      for (let step = 0; step < 20_000; step++) {
        clock += rnd(4);
        const key = `k${rnd(3 * max)}`;
        const op = rnd(10);
        if (op < 5) {
          const got = c.begin(key);
          const want = m.begin(key);
          assert.equal(got.state === 'done' ? `done:${got.reply.toString('hex')}` : got.state, want, `step ${step} begin ${key}`);
          if (want === 'miss') running.add(key);
        } else if (op < 9 && running.size) {
          const k = [...running][rnd(running.size)]!;
          running.delete(k);
          const reply = Buffer.alloc(1 + rnd(60), step & 0xff);
          c.complete(k, [reply.subarray(0, 3), reply.subarray(3)]);
          m.complete(k, reply);
        } else if (running.size) {
          const k = [...running][rnd(running.size)]!;
          running.delete(k);
          c.forget(k);
          m.forget(k);
        }
        const st = c.stats();
        assert.equal(st.entries, m.m.size, `step ${step} entries`);
        assert.equal(st.bytes, m.bytes, `step ${step} bytes`);
      }
    });
  }
});
