/**
 * Lease create contexts (protocols/smb2/leases/wire.ts): v1/v2 round trip, the dialect deciding the
 * version, and a seeded fuzz (random and truncated contexts decode or throw DecodeError, never anything
 * else, and never yield bits outside R/H/W).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLeaseRequest, encodeLeaseResponse, LEASE_H, LEASE_R, LEASE_W } from '../../../protocols/smb2/leases/wire';
import { DecodeError } from '../../../protocols/smb2/wire';

/** xorshift32: the same cases on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

describe('SMB2 lease contexts', () => {
  it('round-trips v2 with a parent key and epoch; v1 when the dialect is 2.1', () => {
    const key = Buffer.alloc(16, 7);
    const parent = Buffer.alloc(16, 9);
    const d = encodeLeaseResponse({ version: 2, key, state: LEASE_R | LEASE_H, flags: 0, parentKey: parent, epoch: 5 });
    assert.equal(d.length, 52);
    const v2 = decodeLeaseRequest(d, true);
    assert.deepEqual({ v: v2.version, s: v2.state, e: v2.epoch, f: v2.flags }, { v: 2, s: LEASE_R | LEASE_H, e: 5, f: 4 });
    assert.ok(v2.key.equals(key) && v2.parentKey!.equals(parent));
    const v1 = decodeLeaseRequest(d, false);
    assert.equal(v1.version, 1);
    assert.equal(v1.parentKey, undefined);
    assert.throws(() => decodeLeaseRequest(Buffer.alloc(31), true), DecodeError);
  });

  it('random and truncated contexts decode or throw DecodeError (seeded, 2000 cases)', () => {
    const r = rng(0x1ea5e);
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(r() * 80);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(r() * 256);
      try {
        const lr = decodeLeaseRequest(b, r() < 0.5);
        assert.equal(lr.state & ~(LEASE_R | LEASE_H | LEASE_W), 0, `case ${i}`);
        assert.equal(lr.key.length, 16);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `case ${i}: ${String(e)}`);
      }
    }
  });
});
