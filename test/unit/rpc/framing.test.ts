import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../fuzz-rng';
import {
  FramingError,
  LAST_FRAGMENT,
  RecordDecoder,
  frameRecord,
  recordMark,
} from '../../../protocols/rpc/framing';

/** Deterministic bytes so failures are reproducible. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff;
  return b;
}

/** Hand-assembled record: each fragment is header + data. */
function fragments(...frags: { data: Buffer; last: boolean }[]): Buffer {
  return Buffer.concat(frags.flatMap((f) => [recordMark(f.data.length, f.last), f.data]));
}

describe('RecordDecoder', () => {
  const rec1 = pattern(37, 1);
  const rec2a = pattern(13, 2);
  const rec2b = pattern(0, 3); // an empty middle fragment is legal
  const rec2c = pattern(22, 4);
  const rec3 = pattern(5, 5);
  const stream = Buffer.concat([
    fragments({ data: rec1, last: true }),
    fragments({ data: rec2a, last: false }, { data: rec2b, last: false }, { data: rec2c, last: true }),
    fragments({ data: Buffer.alloc(0), last: true }), // empty record
    fragments({ data: rec3, last: true }),
  ]);
  const expected = [rec1, Buffer.concat([rec2a, rec2b, rec2c]), Buffer.alloc(0), rec3];

  it('decodes a stream given whole', () => {
    assert.deepEqual(new RecordDecoder().push(stream), expected);
  });

  it('decodes identically when split at every byte boundary', () => {
    for (let i = 0; i <= stream.length; i++) {
      const d = new RecordDecoder();
      const got = [...d.push(stream.subarray(0, i)), ...d.push(stream.subarray(i))];
      assert.deepEqual(got, expected, `split at ${i}`);
      assert.equal(d.midRecord, false);
    }
  });

  it('decodes identically when split at every pair of boundaries', () => {
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        const d = new RecordDecoder();
        const got = [...d.push(stream.subarray(0, i)), ...d.push(stream.subarray(i, j)), ...d.push(stream.subarray(j))];
        assert.deepEqual(got, expected, `split at ${i},${j}`);
      }
    }
  });

  it('decodes one byte at a time', () => {
    const d = new RecordDecoder();
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    assert.deepEqual(got, expected);
  });

  it('returns a single-fragment record inside one chunk without copying', () => {
    const chunk = fragments({ data: rec1, last: true });
    const [out] = new RecordDecoder().push(chunk);
    assert.ok(out);
    assert.equal(out.buffer, chunk.buffer);
    assert.equal(out.byteOffset, chunk.byteOffset + 4);
  });

  it('decodes many records from one chunk, in order', () => {
    const recs = Array.from({ length: 1000 }, (_, i) => pattern(i % 9, i));
    const chunk = Buffer.concat(recs.map((r) => fragments({ data: r, last: true })));
    assert.deepEqual(new RecordDecoder().push(chunk), recs);
  });

  it('reports being mid-record', () => {
    const d = new RecordDecoder();
    d.push(stream.subarray(0, 2));
    assert.equal(d.midRecord, true);
    d.push(stream.subarray(2, 4 + rec1.length));
    assert.equal(d.midRecord, false);
  });
});

describe('RecordDecoder limits', () => {
  it('rejects a declared fragment length over the limit as soon as the header arrives', () => {
    const d = new RecordDecoder({ maxRecordBytes: 1024 });
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32BE((LAST_FRAGMENT | 0x7fffffff) >>> 0);
    assert.throws(() => d.push(hdr), FramingError);
    // The stream cannot be resynchronised: the decoder stays failed.
    assert.ok(d.failed instanceof FramingError);
    assert.throws(() => d.push(fragments({ data: Buffer.alloc(1), last: true })), FramingError);
  });

  it('counts every fragment of a record against the size limit', () => {
    const d = new RecordDecoder({ maxRecordBytes: 100 });
    const ok = fragments({ data: Buffer.alloc(60), last: false }, { data: Buffer.alloc(40), last: true });
    assert.equal(d.push(ok).length, 1);
    const tooBig = fragments({ data: Buffer.alloc(60), last: false }, { data: Buffer.alloc(41), last: true });
    assert.throws(() => d.push(tooBig), FramingError);
  });

  it('limits the number of fragments (empty fragments included)', () => {
    const d = new RecordDecoder({ maxFragments: 3 });
    const empties = (n: number, last: boolean): Buffer =>
      Buffer.concat(Array.from({ length: n }, (_, i) => recordMark(0, last && i === n - 1)));
    assert.equal(d.push(empties(3, true)).length, 1);
    assert.throws(() => d.push(empties(4, true)), FramingError);
  });

  it('resets its counts between records', () => {
    const d = new RecordDecoder({ maxRecordBytes: 10, maxFragments: 2 });
    const rec = fragments({ data: Buffer.alloc(5), last: false }, { data: Buffer.alloc(5), last: true });
    for (let i = 0; i < 50; i++) assert.equal(d.push(rec).length, 1);
  });
});

describe('frameRecord', () => {
  it('prefixes one last-fragment mark and passes the segments through', () => {
    const a = Buffer.from('abc');
    const b = Buffer.from('defgh');
    const out = frameRecord([a, b]);
    assert.equal(out.length, 3);
    assert.equal(out[0]!.readUInt32BE(0), (LAST_FRAGMENT | 8) >>> 0);
    assert.equal(out[1], a);
    assert.equal(out[2], b);
  });

  it('frames an empty message', () => {
    const out = frameRecord([]);
    assert.deepEqual(out, [recordMark(0, true)]);
  });

  it('cuts messages longer than a fragment into several fragments that decode back', () => {
    const segs = [pattern(7, 1), pattern(0, 2), pattern(30, 3), pattern(1, 4), pattern(12, 5)];
    const whole = Buffer.concat(segs);
    for (const maxFragment of [1, 2, 3, 4, 7, 10, 49, 50, 51]) {
      const framed = frameRecord(segs, maxFragment);
      const [rec] = new RecordDecoder({ maxFragments: 100 }).push(Buffer.concat(framed));
      assert.ok(rec && rec.equals(whole), `maxFragment ${maxFragment}`);
    }
  });

  it('sets the last-fragment bit only on the final fragment', () => {
    const framed = Buffer.concat(frameRecord([pattern(10, 1)], 4));
    const lengths: [number, boolean][] = [];
    let off = 0;
    while (off < framed.length) {
      const w = framed.readUInt32BE(off);
      const len = w & 0x7fffffff;
      lengths.push([len, (w & LAST_FRAGMENT) !== 0]);
      off += 4 + len;
    }
    assert.deepEqual(lengths, [
      [4, false],
      [4, false],
      [2, true],
    ]);
  });

  it('rejects impossible fragment lengths', () => {
    assert.throws(() => recordMark(0x80000000, true), RangeError);
    assert.throws(() => recordMark(-1, true), RangeError);
  });
});

describe('RecordDecoder reading into its own buffers (readTarget / received)', () => {
  /** Simulates a socket: each read copies at most `max()` bytes of `stream` into the decoder's target. */
  function readAll(d: RecordDecoder, stream: Buffer, max: () => number): { records: Buffer[]; targets: Set<ArrayBufferLike> } {
    const records: Buffer[] = [];
    const targets = new Set<ArrayBufferLike>();
    let staging: ArrayBufferLike | undefined;
    let off = 0;
    while (off < stream.length) {
      const target = d.readTarget();
      targets.add(target.buffer);
      const n = Math.min(target.length, stream.length - off, Math.max(1, max()));
      stream.copy(target, 0, off, off + n);
      off += n;
      const got = d.received(target, n);
      // The staging buffer (the first target a fresh decoder hands out) is reused for the next read: no
      // record may share it, and scribbling over it must not change one. A direct target is the tail of
      // the record itself and is not reused.
      staging ??= target.buffer;
      for (const rec of got) assert.notEqual(rec.buffer, staging, 'a record shares the staging buffer');
      if (target.buffer === staging) target.fill(0xee, 0, n);
      records.push(...got);
    }
    return { records, targets };
  }

  function poolOf(slab: number, count: number): { take(len: number): Buffer; give(b: Buffer): void; lent: Set<Buffer> } {
    const lent = new Set<Buffer>();
    return {
      lent,
      take(len: number) {
        const b = Buffer.alloc(Math.max(len, slab)).subarray(0, len);
        if (lent.size < count) lent.add(b);
        return b;
      },
      give(b: Buffer) {
        lent.delete(b);
      },
    };
  }

  const small = [pattern(37, 1), pattern(0, 2), pattern(300, 3)];
  const big = pattern(1024 * 1024 + 100, 4);
  const multi = [pattern(70_000, 5), pattern(70_000, 6)];
  const stream = Buffer.concat([
    ...small.map((r) => fragments({ data: r, last: true })),
    fragments({ data: big, last: true }),
    fragments({ data: multi[0]!, last: false }, { data: multi[1]!, last: true }),
    fragments({ data: small[2]!, last: true }),
  ]);
  const expected = [...small, big, Buffer.concat(multi), small[2]!];

  it('decodes a stream read in pieces of every size class, records own their memory', () => {
    for (const [name, max] of [
      ['1 byte', () => 1],
      ['7 bytes', () => 7],
      ['4 KiB', () => 4096],
      ['whole target', () => Infinity],
    ] as const) {
      const pool = poolOf(2 * 1024 * 1024, 64);
      const d = new RecordDecoder({ pool });
      const { records } = readAll(d, stream, max);
      assert.equal(records.length, expected.length, name);
      records.forEach((r, i) => assert.ok(r.equals(expected[i]!), `${name}: record ${i}`));
      assert.equal(d.midRecord, false, name);
    }
  });

  it('receives a large single-fragment record body in place, in one read when the kernel has it all', () => {
    const pool = poolOf(2 * 1024 * 1024, 64);
    const d = new RecordDecoder({ pool });
    const one = fragments({ data: big, last: true });
    // First read: the header and the start of the body land in the staging buffer ...
    let t = d.readTarget();
    one.copy(t, 0, 0, t.length);
    assert.deepEqual(d.received(t, t.length), []);
    const firstLen = t.length;
    // ... then the target is exactly the rest of the record, inside the pooled record buffer.
    t = d.readTarget();
    assert.equal(t.length, one.length - firstLen);
    one.copy(t, 0, firstLen);
    const [rec] = d.received(t, t.length);
    assert.ok(rec && rec.equals(big));
    assert.equal(rec.buffer, t.buffer, 'no reassembly copy: the body was read into the record itself');
  });

  it('fuzz: random read sizes decode the same records (seeded)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const d = new RecordDecoder({ pool: poolOf(2 * 1024 * 1024, 64) });
      const { records } = readAll(d, stream, () => Math.floor(r() * 200_000));
      assert.equal(records.length, expected.length, `seed ${seed}`);
      records.forEach((x, i) => assert.ok(x.equals(expected[i]!), `seed ${seed} record ${i}`));
    }
  });

  it('a record over the limit fails and gives back the buffer it was being received into', () => {
    const pool = poolOf(2 * 1024 * 1024, 64);
    const d = new RecordDecoder({ pool, maxRecordBytes: 100_000 });
    const ok = fragments({ data: pattern(90_000, 7), last: false });
    const t = d.readTarget();
    ok.copy(t, 0, 0, Math.min(t.length, ok.length));
    d.received(t, Math.min(t.length, ok.length));
    const t2 = d.readTarget();
    const rest = Buffer.concat([ok.subarray(t.length), recordMark(20_000, true)]);
    rest.copy(t2);
    assert.throws(() => d.received(t2, Math.min(t2.length, rest.length)), FramingError);
    assert.equal(pool.lent.size, 0);
  });

  it('dispose gives back a record still being received', () => {
    const pool = poolOf(2 * 1024 * 1024, 64);
    const d = new RecordDecoder({ pool });
    const one = fragments({ data: big, last: true });
    const t = d.readTarget();
    one.copy(t, 0, 0, t.length);
    d.received(t, t.length);
    assert.equal(pool.lent.size, 1);
    d.dispose();
    assert.equal(pool.lent.size, 0);
  });
});
