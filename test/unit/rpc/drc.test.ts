import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateRequestCache, drcKey } from '../../../protocols/rpc/drc';

const reply = (n: number, fill = 1): Buffer[] => [Buffer.alloc(n, fill)];

describe('drcKey', () => {
  it('ignores the port, normalises mapped IPv4, and tells arguments apart', () => {
    const args = Buffer.from('create foo');
    const k = drcKey('10.0.0.1', 5, 100003, 3, 8, args);
    assert.equal(drcKey('::ffff:10.0.0.1', 5, 100003, 3, 8, args), k);
    assert.notEqual(drcKey('10.0.0.2', 5, 100003, 3, 8, args), k);
    assert.notEqual(drcKey('10.0.0.1', 6, 100003, 3, 8, args), k);
    assert.notEqual(drcKey('10.0.0.1', 5, 100003, 3, 9, args), k);
    assert.notEqual(drcKey('10.0.0.1', 5, 100003, 3, 8, Buffer.from('create fop')), k);
    assert.notEqual(drcKey('10.0.0.1', 5, 100003, 3, 8, Buffer.from('create foo!')), k);
  });
});

describe('DuplicateRequestCache', () => {
  it('tracks a call from in progress to done and replays the reply', () => {
    const c = new DuplicateRequestCache();
    assert.deepEqual(c.begin('k'), { state: 'miss' });
    assert.deepEqual(c.begin('k'), { state: 'in-progress' });
    const segs = [Buffer.from('ab'), Buffer.from('cd')];
    c.complete('k', segs);
    segs[0]![0] = 0x7a; // the cache holds a copy, not the caller's segments
    const hit = c.begin('k');
    assert.equal(hit.state, 'done');
    if (hit.state === 'done') assert.equal(hit.reply.toString(), 'abcd');
    assert.deepEqual(c.stats(), { entries: 1, bytes: 4, hits: 1, inProgressDrops: 1, evictions: 0 });
  });

  it('forgets a call that produced no reply', () => {
    const c = new DuplicateRequestCache();
    c.begin('k');
    c.forget('k');
    assert.deepEqual(c.begin('k'), { state: 'miss' });
  });

  it('expires finished entries after the time limit', () => {
    let now = 1000;
    const c = new DuplicateRequestCache({ ttlMs: 100, now: () => now });
    c.begin('k');
    c.complete('k', reply(8));
    now += 100;
    assert.equal(c.begin('k').state, 'done');
    now += 101;
    assert.equal(c.begin('k').state, 'miss');
  });

  it('evicts the least recently used finished entry when full', () => {
    const c = new DuplicateRequestCache({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) {
      c.begin(k);
      c.complete(k, reply(1));
    }
    assert.equal(c.begin('a').state, 'done'); // a is now the most recent
    c.begin('d');
    c.complete('d', reply(1));
    assert.equal(c.stats().entries, 3);
    assert.equal(c.begin('b').state, 'miss', 'b was least recently used');
  });

  it('stays within the byte budget', () => {
    const c = new DuplicateRequestCache({ maxBytes: 100 });
    for (let i = 0; i < 10; i++) {
      c.begin(`k${i}`);
      c.complete(`k${i}`, reply(30));
      assert.ok(c.stats().bytes <= 100);
    }
    assert.equal(c.begin('k9').state, 'done');
    assert.equal(c.begin('k0').state, 'miss');
  });

  it('does not cache a reply larger than the whole budget', () => {
    const c = new DuplicateRequestCache({ maxBytes: 10 });
    c.begin('k');
    c.complete('k', reply(11));
    assert.equal(c.begin('k').state, 'miss');
  });

  it('never evicts calls in progress; when full of them, new calls run untracked', () => {
    const c = new DuplicateRequestCache({ maxEntries: 2 });
    c.begin('a');
    c.begin('b');
    assert.deepEqual(c.begin('c'), { state: 'miss' });
    assert.deepEqual(c.begin('c'), { state: 'miss' }, 'untracked, so a second miss');
    assert.deepEqual(c.begin('a'), { state: 'in-progress' });
    assert.deepEqual(c.begin('b'), { state: 'in-progress' });
  });

  it('is a pass-through when disabled', () => {
    const c = new DuplicateRequestCache({ maxEntries: 0 });
    assert.equal(c.enabled, false);
    c.begin('k');
    c.complete('k', reply(1));
    assert.deepEqual(c.begin('k'), { state: 'miss' });
  });
});
