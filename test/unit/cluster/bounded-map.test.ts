import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedMap } from '../../../cluster/vfs/bounded-map';

describe('BoundedMap (two-generation bounded cache)', () => {
  it('keeps at most max entries however many are inserted', () => {
    const m = new BoundedMap<number, number>(100);
    for (let i = 0; i < 10_000; i++) {
      m.set(i, i * 2);
      assert.ok(m.size <= 100, `size ${m.size} after ${i + 1} insertions`);
    }
    // The newest max/2 entries are always there, with their values.
    for (let i = 10_000 - 50; i < 10_000; i++) assert.equal(m.get(i), i * 2);
    assert.equal(m.get(0), undefined);
    assert.equal(m.has(0), false);
  });

  it('an entry in use survives: a hit in the old generation moves it to the young one', () => {
    const m = new BoundedMap<string, number>(10);
    m.set('hot', 1);
    for (let i = 0; i < 1000; i++) {
      m.set(`k${i}`, i);
      if (i % 4 === 0) assert.equal(m.get('hot'), 1, `hot entry lost after ${i + 1} insertions`);
    }
    assert.ok(m.size <= 10);
  });

  it('set replaces, delete removes from either generation, clear empties', () => {
    const m = new BoundedMap<number, string>(6);
    m.set(1, 'a');
    m.set(2, 'b');
    m.set(3, 'c'); // young is full: 1, 2, 3 become the old generation
    m.set(4, 'd');
    assert.equal(m.size, 4);
    m.set(1, 'A'); // was old: replaced, not duplicated
    assert.equal(m.size, 4);
    assert.equal(m.get(1), 'A');
    assert.equal(m.delete(2), true, 'from the old generation');
    assert.equal(m.get(2), undefined);
    assert.equal(m.delete(2), false);
    assert.equal(m.delete(4), true, 'from the young generation');
    assert.equal(m.has(4), false);
    assert.equal(m.size, 2);
    m.clear();
    assert.equal(m.size, 0);
    assert.equal(m.get(1), undefined);
  });

  it('refuses a size below 2', () => {
    assert.throws(() => new BoundedMap(1), RangeError);
    assert.throws(() => new BoundedMap(2.5), RangeError);
  });
});
