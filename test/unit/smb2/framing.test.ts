import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferPool } from '../../../cluster/vfs/buffer-pool';
import { directTcpHeader, EARLY_MESSAGE_MIN, EARLY_PEEK_BYTES, FramingError, SmbFrameDecoder, type EarlyReceiver } from '../../../protocols/smb2/framing';
import { rng } from '../fuzz-rng';

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

describe('SMB2 framing: reading into the decoder\'s buffers (readTarget / received) and early messages', () => {
  const pattern = (n: number, seed: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
    return b;
  };
  const small = [pattern(200, 1), pattern(70_000, 2), pattern(5, 3)];
  const big = pattern(EARLY_MESSAGE_MIN + 777, 4);
  const msgs = [small[0]!, small[1]!, big, small[2]!, pattern(EARLY_MESSAGE_MIN * 2, 5)];
  const stream = framed(...msgs);

  /** Simulates a socket: each read copies at most max() bytes of the stream into the decoder's target. */
  function readAll(d: SmbFrameDecoder, src: Buffer, max: () => number, stopAt = src.length): { out: Buffer[]; staging: ArrayBufferLike | undefined } {
    const out: Buffer[] = [];
    let staging: ArrayBufferLike | undefined;
    let off = 0;
    while (off < stopAt) {
      const t = d.readTarget();
      const n = Math.min(t.length, stopAt - off, Math.max(1, max()));
      src.copy(t, 0, off, off + n);
      off += n;
      const got = d.received(t, n);
      staging ??= t.buffer;
      for (const m of got) assert.notEqual(m.buffer, staging, 'a message shares the reused staging buffer');
      if (t.buffer === staging) t.fill(0xee, 0, n); // the next read overwrites it
      out.push(...got);
    }
    return { out, staging };
  }

  it('yields the same messages for random read sizes, large bodies read in place (seeded)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const pool = new BufferPool(3 * EARLY_MESSAGE_MIN, 4);
      const d = new SmbFrameDecoder(4 * EARLY_MESSAGE_MIN, pool);
      const { out } = readAll(d, stream, () => Math.floor(r() * 300_000));
      assert.equal(out.length, msgs.length, `seed ${seed}`);
      out.forEach((m, i) => assert.ok(m.equals(msgs[i]!), `seed ${seed} message ${i}`));
      assert.equal(d.partial, false);
    }
  });

  it('reads the rest of a large message straight into its own buffer', () => {
    const d = new SmbFrameDecoder(4 * EARLY_MESSAGE_MIN, new BufferPool(3 * EARLY_MESSAGE_MIN, 2));
    const one = framed(big);
    let t = d.readTarget();
    one.copy(t, 0, 0, t.length);
    assert.deepEqual(d.received(t, t.length), []);
    const first = t.length;
    t = d.readTarget();
    assert.equal(t.length, one.length - first, 'the target is exactly the rest of the message');
    one.copy(t, 0, first);
    const [m] = d.received(t, t.length);
    assert.ok(m && m.equals(big));
    assert.equal(m.buffer, t.buffer, 'no reassembly copy');
  });

  class Rx implements EarlyReceiver {
    seen: number[] = [];
    aborted = false;
    constructor(readonly msg: Buffer, have: number) {
      this.seen.push(have);
    }
    progress(have: number): void {
      assert.ok(have >= this.seen[this.seen.length - 1]!, 'progress never goes back');
      this.seen.push(have);
    }
    abort(): void {
      this.aborted = true;
    }
  }

  it('hands a large message out early, reports every arrival, and never returns it again (seeded)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const taken: Rx[] = [];
      const d = new SmbFrameDecoder(4 * EARLY_MESSAGE_MIN, new BufferPool(3 * EARLY_MESSAGE_MIN, 4), (msg, have) => {
        assert.ok(have >= EARLY_PEEK_BYTES && have <= msg.length);
        // Take only the first large message; the second is left to arrive whole.
        if (taken.length > 0) return undefined;
        const rx = new Rx(msg, have);
        taken.push(rx);
        return rx;
      });
      const { out } = readAll(d, stream, () => Math.floor(r() * 300_000));
      assert.equal(taken.length, 1, `seed ${seed}`);
      const rx = taken[0]!;
      assert.equal(rx.seen[rx.seen.length - 1], big.length, 'the last progress is the whole message');
      assert.ok(rx.msg.equals(big), 'the early message ends up whole');
      assert.equal(rx.aborted, false);
      const expect = msgs.filter((m) => m !== big);
      assert.equal(out.length, expect.length, `seed ${seed}`);
      out.forEach((m, i) => assert.ok(m.equals(expect[i]!), `seed ${seed} message ${i}`));
    }
  });

  it('a connection ending mid-message aborts its early receiver, which keeps the buffer; otherwise dispose returns it', () => {
    const pool = new BufferPool(3 * EARLY_MESSAGE_MIN, 2);
    let rx: Rx | undefined;
    const d = new SmbFrameDecoder(4 * EARLY_MESSAGE_MIN, pool, (msg, have) => (rx = new Rx(msg, have)));
    const one = framed(big);
    readAll(d, one, () => 100_000, 500_000);
    assert.ok(rx && !rx.aborted);
    assert.equal(pool.freeCount, 1);
    d.dispose();
    assert.equal(rx.aborted, true);
    assert.equal(pool.freeCount, 1, 'the receiver owns the buffer: dispose does not give it back');

    const pool2 = new BufferPool(3 * EARLY_MESSAGE_MIN, 2);
    const d2 = new SmbFrameDecoder(4 * EARLY_MESSAGE_MIN, pool2, () => undefined);
    readAll(d2, one, () => 100_000, 500_000);
    assert.equal(pool2.freeCount, 1);
    d2.dispose();
    assert.equal(pool2.freeCount, 2, 'a message nobody took early goes back to the pool');
  });

  it('a framing error is final and reported again on every later read', () => {
    const d = new SmbFrameDecoder(1000, undefined, () => undefined);
    const t = d.readTarget();
    Buffer.from([0, 0, 0x10, 0]).copy(t);
    assert.throws(() => d.received(t, 4), FramingError);
    assert.throws(() => d.received(d.readTarget(), 1), FramingError);
    assert.throws(() => d.push(Buffer.from([0])), FramingError);
  });
});
