import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XdrWriter, replyScratch } from '../../../protocols/xdr/writer';

const bytes = (w: XdrWriter): Buffer => Buffer.concat(w.segmentsOut());
const words = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(4 * n);
  for (let i = 0; i < n; i++) b.writeUInt32BE((seed * 1000 + i) >>> 0, 4 * i);
  return b;
};

describe('XdrWriter reply scratch', () => {
  it('interleaved reply writers never share bytes, whether or not their tails go back', () => {
    for (let round = 0; round < 300; round++) {
      const a = new XdrWriter(64, true);
      const b = new XdrWriter(512, true);
      for (let i = 0; i < 10; i++) a.uint32(round * 1000 + i);
      const aOut = a.segmentsOut(); // a's tail is not the slab's last carve (b came after): kept
      for (let i = 0; i < 100; i++) b.uint32(round * 1000 + i);
      const bOut = b.segmentsOut(); // b's tail goes back
      const c = new XdrWriter(512, true); // carved where b's tail was
      for (let i = 0; i < 128; i++) c.uint32(0xdeadbeef);
      const cOut = c.segmentsOut();
      const scratch = replyScratch(300).fill(0xee);
      assert.deepEqual(Buffer.concat(aOut), words(10, round));
      assert.deepEqual(Buffer.concat(bOut), words(100, round));
      assert.equal(Buffer.concat(cOut).length, 512);
      assert.ok(Buffer.concat(cOut).every((x, i) => x === [0xde, 0xad, 0xbe, 0xef][i % 4]));
      assert.equal(scratch.length, 300);
    }
  });

  it('a reply that outgrows its first block keeps every byte, and so does one with a referenced payload', () => {
    const w = new XdrWriter(64, true);
    for (let i = 0; i < 5000; i++) w.uint32(i);
    const payload = Buffer.alloc(3000, 7);
    w.opaqueRef(payload);
    w.uint32(42);
    const out = bytes(w);
    assert.equal(out.length, 5000 * 4 + 4 + 3000 + 4);
    for (let i = 0; i < 5000; i++) assert.equal(out.readUInt32BE(4 * i), i);
    assert.equal(out.readUInt32BE(20000), 3000);
    assert.ok(out.subarray(20004, 23004).every((x) => x === 7));
    assert.equal(out.readUInt32BE(23004), 42);
  });

  it('writing after segmentsOut does not reach memory handed out again', () => {
    const w = new XdrWriter(256, true);
    w.uint32(1);
    const first = w.segmentsOut();
    const next = replyScratch(64).fill(0x55);
    w.uint32(2).uint32(3); // misuse; must not land in `next`
    assert.ok(next.every((x) => x === 0x55));
    assert.deepEqual(Buffer.concat(first), Buffer.from([0, 0, 0, 1]));
  });
});
