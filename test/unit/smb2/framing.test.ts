import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directTcpHeader, FramingError, SmbFrameDecoder } from '../../../protocols/smb2/framing';

function framed(...msgs: Buffer[]): Buffer {
  return Buffer.concat(msgs.flatMap((m) => [directTcpHeader(m.length), m]));
}

describe('SMB2 direct TCP framing', () => {
  const a = Buffer.from('first message');
  const b = Buffer.alloc(70000, 0xab);
  const c = Buffer.from([1]);
  const stream = framed(a, b, c);

  it('yields the messages whole whatever the chunking: every split point, one byte at a time', () => {
    for (let cut = 0; cut <= stream.length; cut += cut < 40 ? 1 : 997) {
      const d = new SmbFrameDecoder(1 << 20);
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      assert.deepEqual(out, [a, b, c], `cut at ${cut}`);
      assert.equal(d.partial, false);
    }
    const d = new SmbFrameDecoder(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    assert.deepEqual(out, [a, b, c]);
  });

  it('keeps a partial message across pushes and says so', () => {
    const d = new SmbFrameDecoder(1 << 20);
    assert.deepEqual(d.push(stream.subarray(0, 6)), []);
    assert.equal(d.partial, true);
  });

  it('refuses a message over the limit before buffering it, a non-zero first byte and an empty message', () => {
    assert.throws(() => new SmbFrameDecoder(1000).push(directTcpHeader(1001)), FramingError);
    assert.throws(() => new SmbFrameDecoder(1000).push(Buffer.from([0x85, 0, 0, 0])), FramingError);
    assert.throws(() => new SmbFrameDecoder(1000).push(Buffer.from([0, 0, 0, 0])), FramingError);
    assert.throws(() => new SmbFrameDecoder(0x1000000), RangeError);
  });

  it('writes the 24-bit big-endian length', () => {
    assert.deepEqual([...directTcpHeader(0x123456)], [0, 0x12, 0x34, 0x56]);
    assert.throws(() => directTcpHeader(0x1000000));
  });
});
