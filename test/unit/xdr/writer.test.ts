import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

describe('XdrWriter', () => {
  it('round-trips every primitive through XdrReader', () => {
    const w = new XdrWriter(8);
    w.uint32(0xfffffffe).int32(-5).uint64(0xfedcba9876543210n).int64(-42n).bool(true).bool(false);
    w.opaque(Buffer.from('xyz')).string('héllo').fixedOpaque(Buffer.from([1, 2, 3, 4, 5]));
    const r = new XdrReader(w.toBuffer());
    assert.equal(r.uint32(), 0xfffffffe);
    assert.equal(r.int32(), -5);
    assert.equal(r.uint64(), 0xfedcba9876543210n);
    assert.equal(r.int64(), -42n);
    assert.equal(r.bool(), true);
    assert.equal(r.bool(), false);
    assert.equal(r.opaque(3).toString(), 'xyz');
    assert.equal(r.string(16).toString('utf8'), 'héllo');
    assert.deepEqual([...r.fixedOpaque(5)], [1, 2, 3, 4, 5]);
    assert.equal(r.remaining(), 0);
  });

  it('pads opaque data with zero bytes to a multiple of four', () => {
    for (let n = 0; n <= 9; n++) {
      const w = new XdrWriter();
      // Dirty scratch memory must not leak into the padding.
      w.opaque(Buffer.alloc(n, 0xaa));
      const out = w.toBuffer();
      const padded = Math.ceil(n / 4) * 4;
      assert.equal(out.length, 4 + padded, `n=${n}`);
      assert.equal(out.readUInt32BE(0), n);
      for (let i = 4 + n; i < out.length; i++) assert.equal(out[i], 0, `pad byte ${i} of n=${n}`);
    }
  });

  it('appends large opaqueRef payloads by reference (zero-copy) with a padding segment', () => {
    const data = Buffer.alloc(1001, 7);
    const w = new XdrWriter();
    w.uint32(1).opaqueRef(data).uint32(2);
    const segs = w.segmentsOut();
    assert.ok(segs.includes(data), 'payload segment is the caller buffer itself');
    const whole = Buffer.concat(segs);
    assert.equal(whole.length, 4 + 4 + 1004 + 4);
    const r = new XdrReader(whole);
    assert.equal(r.uint32(), 1);
    assert.ok(r.opaque(2000).equals(data));
    assert.equal(r.uint32(), 2);
  });

  it('copies small opaqueRef payloads', () => {
    const data = Buffer.alloc(10, 1);
    const w = new XdrWriter();
    w.opaqueRef(data);
    assert.ok(!w.segmentsOut().includes(data));
  });

  it('64-bit fields across block boundaries; values outside 64 bits wrap as with asUintN/asIntN', () => {
    const w = new XdrWriter(8);
    const vals: bigint[] = [];
    for (let i = 0; i < 5000; i++) {
      const v = (BigInt(i) * 0x9e3779b97f4a7c15n) & 0xffff_ffff_ffff_ffffn;
      vals.push(v);
      w.uint32(i).uint64(v);
    }
    w.uint64(-1n).uint64(1n << 64n).int64((1n << 63n) + 5n);
    const r = new XdrReader(w.toBuffer());
    for (let i = 0; i < 5000; i++) {
      assert.equal(r.uint32(), i);
      assert.equal(r.uint64(), vals[i]);
    }
    assert.equal(r.uint64(), 0xffff_ffff_ffff_ffffn);
    assert.equal(r.uint64(), 0n);
    assert.equal(r.int64(), BigInt.asIntN(64, (1n << 63n) + 5n));
  });

  it('claim reserves a span written through `claimed`, in place, also in a fresh block', () => {
    const w = new XdrWriter(8);
    w.uint32(7);
    for (let i = 0; i < 300; i++) {
      const o = w.claim(12);
      w.claimed.setUint32(o, i);
      w.claimed.setBigUint64(o + 4, BigInt(i) << 40n);
    }
    w.uint32(9);
    const r = new XdrReader(w.toBuffer());
    assert.equal(r.uint32(), 7);
    for (let i = 0; i < 300; i++) {
      assert.equal(r.uint32(), i);
      assert.equal(r.uint64(), BigInt(i) << 40n);
    }
    assert.equal(r.uint32(), 9);
    assert.equal(r.remaining(), 0);
  });

  it('back-patches reserved words', () => {
    const w = new XdrWriter();
    const tok = w.reserve();
    w.uint32(5).uint32(6);
    w.patchUint32(tok, 0xabcdef01);
    const r = new XdrReader(w.toBuffer());
    assert.equal(r.uint32(), 0xabcdef01);
    assert.equal(r.uint32(), 5);
  });

  it('keeps order and length across many scratch blocks', () => {
    const w = new XdrWriter(64);
    for (let i = 0; i < 20000; i++) w.uint32(i);
    assert.equal(w.length, 80000);
    const r = new XdrReader(w.toBuffer());
    for (let i = 0; i < 20000; i++) assert.equal(r.uint32(), i);
  });
});
