import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';

const bytes = (...b: number[]): Buffer => Buffer.from(b);

describe('XdrReader primitives', () => {
  it('decodes big-endian integers of every width', () => {
    const r = new XdrReader(
      bytes(
        0xff, 0xff, 0xff, 0xfe, // uint32 4294967294
        0xff, 0xff, 0xff, 0xfe, // int32 -2
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, // uint64 2^32 + 2
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // int64 -1
      ),
    );
    assert.equal(r.uint32(), 4294967294);
    assert.equal(r.int32(), -2);
    assert.equal(r.uint64(), 0x1_0000_0002n);
    assert.equal(r.int64(), -1n);
    assert.equal(r.remaining(), 0);
  });

  it('accepts only 0 and 1 as bool', () => {
    assert.equal(new XdrReader(bytes(0, 0, 0, 1)).bool(), true);
    assert.equal(new XdrReader(bytes(0, 0, 0, 0)).bool(), false);
    assert.throws(() => new XdrReader(bytes(0, 0, 0, 2)).bool(), XdrError);
  });

  it('restricts enums to the allowed set', () => {
    const allowed = new Set([1, 2, 3]);
    assert.equal(new XdrReader(bytes(0, 0, 0, 3)).enumOf(allowed, 'x'), 3);
    assert.throws(() => new XdrReader(bytes(0, 0, 0, 4)).enumOf(allowed, 'x'), XdrError);
  });
});

describe('XdrReader opaque data', () => {
  it('skips the padding after a variable-length opaque', () => {
    const r = new XdrReader(bytes(0, 0, 0, 5, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0, 0, 0, 0, 0, 0, 7));
    assert.equal(r.opaque(16).toString(), 'hello');
    assert.equal(r.offset, 12);
    assert.equal(r.uint32(), 7);
  });

  it('needs the padding bytes to be present', () => {
    // 5 data bytes, only 2 of 3 padding bytes.
    const r = new XdrReader(bytes(0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0));
    assert.throws(() => r.opaque(16), XdrError);
  });

  it('returns subarrays of the input (zero-copy)', () => {
    const input = bytes(0, 0, 0, 4, 10, 20, 30, 40);
    const out = new XdrReader(input).opaque(4);
    assert.equal(out.buffer, input.buffer);
    assert.equal(out.byteOffset, input.byteOffset + 4);
    input[4] = 99;
    assert.equal(out[0], 99);
  });

  it('rejects a declared length over the maximum before reading it', () => {
    const r = new XdrReader(bytes(0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0));
    assert.throws(() => r.opaque(8), /over maximum/);
  });

  it('rejects a huge declared length that the input cannot hold, without allocating', () => {
    for (const len of [0x7ffffffd, 0x7fffffff, 0x80000000, 0xfffffffd, 0xffffffff]) {
      const b = Buffer.alloc(12);
      b.writeUInt32BE(len, 0);
      const before = process.memoryUsage().arrayBuffers;
      assert.throws(() => new XdrReader(b).opaque(0xffffffff), XdrError, `length ${len}`);
      assert.throws(() => new XdrReader(b).fixedOpaque(len), XdrError, `fixed length ${len}`);
      assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
    }
  });

  it('rejects array counts over the maximum or beyond the input', () => {
    const big = bytes(0x40, 0, 0, 0, 0, 0, 0, 1);
    assert.throws(() => new XdrReader(big).array(16, (r) => r.uint32()), /over maximum/);
    assert.throws(() => new XdrReader(big).array(0xffffffff, (r) => r.uint32()), /exceeds input/);
    assert.deepEqual(new XdrReader(bytes(0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 8)).array(2, (r) => r.uint32()), [7, 8]);
  });

  it('decodes optional data', () => {
    const r = new XdrReader(bytes(0, 0, 0, 1, 0, 0, 0, 42, 0, 0, 0, 0));
    assert.equal(r.optional((x) => x.uint32()), 42);
    assert.equal(r.optional((x) => x.uint32()), undefined);
  });

  it('honours start and end bounds', () => {
    const r = new XdrReader(bytes(9, 9, 9, 9, 0, 0, 0, 1, 9, 9, 9, 9), 4, 8);
    assert.equal(r.uint32(), 1);
    assert.throws(() => r.uint32(), XdrError);
  });
});

describe('XdrReader truncated input', () => {
  it('throws XdrError (never anything else) at every truncation of a composite value', () => {
    const full = bytes(
      0, 0, 0, 1, // uint32
      0, 0, 0, 3, 0x61, 0x62, 0x63, 0, // string "abc"
      0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 6, // array [5, 6]
      0, 0, 0, 0, 0, 0, 0, 9, // uint64
    );
    const decode = (r: XdrReader): unknown => [r.uint32(), r.string(8), r.array(4, (x) => x.uint32()), r.uint64()];
    assert.doesNotThrow(() => decode(new XdrReader(full)));
    for (let n = 0; n < full.length; n++) {
      assert.throws(() => decode(new XdrReader(full.subarray(0, n))), XdrError, `prefix ${n}`);
    }
  });

  it('skip and rest respect the bounds', () => {
    const r = new XdrReader(bytes(1, 2, 3, 4, 5, 6));
    r.skip(2);
    assert.deepEqual([...r.rest()], [3, 4, 5, 6]);
    assert.equal(r.remaining(), 0);
    assert.throws(() => r.skip(1), XdrError);
  });
});
