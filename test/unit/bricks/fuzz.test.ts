/**
 * Fuzzing the brick protocol decoders (request frames on the brick, reply frames on the gateway, and the
 * frame decoder itself): random bytes, valid frames with random byte flips, truncations and extreme
 * length words. A decoder returns a value or throws WireError (the connection is closed); anything else
 * (RangeError, TypeError, a huge allocation) is a bug. Seeded, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeReply, decodeRequest, encodeErrorReply, encodeReply, encodeRequest } from '../../../cluster/bricks/wire/codec';
import { FrameDecoder } from '../../../cluster/bricks/wire/frame-decoder';
import { Op, Status, WireError } from '../../../cluster/bricks/wire/protocol';
import { rng } from '../fuzz-rng';

const obj = { fileId: 0x1234n, chunk: 3 };
const strip = (bufs: Buffer[]): Buffer => Buffer.concat(bufs).subarray(4);

const REQUEST_SEEDS = [
  strip(encodeRequest(1, { op: Op.READ, obj, offset: 10, length: 4096 })),
  strip(encodeRequest(2, { op: Op.WRITE, obj, offset: 10, data: Buffer.alloc(300, 1) })),
  strip(encodeRequest(3, { op: Op.LIST, after: obj, limit: 50 })),
  strip(encodeRequest(4, { op: Op.TRUNCATE, obj, length: 5 })),
  strip(encodeRequest(5, { op: Op.DROP_FROM, fileId: 9n, firstChunk: 1 })),
  strip(encodeRequest(6, { op: Op.PING })),
];

const REPLY_SEEDS: Array<[Op, Buffer]> = [
  [Op.PING, strip(encodeReply(1, Op.PING, { version: 2, maxPayload: 65536, brickId: 'id', instance: 'boot' }))],
  [Op.PING, strip(encodeReply(1, Op.PING, { version: 1, maxPayload: 65536, brickId: 'id', instance: '' }))],
  [Op.LIST, strip(encodeReply(1, Op.LIST, [{ id: obj, size: 3 }, { id: obj, size: 4 }]))],
  [Op.STAT, strip(encodeReply(1, Op.STAT, { size: 10 }))],
  [Op.CHECKSUM, strip(encodeReply(1, Op.CHECKSUM, Buffer.alloc(32)))],
  [Op.CAPACITY, strip(encodeReply(1, Op.CAPACITY, { totalBytes: 1n, freeBytes: 1n, availBytes: 1n, totalFiles: 1n, freeFiles: 1n }))],
  [Op.READ, strip(encodeReply(1, Op.READ, Buffer.alloc(100, 2)))],
  [Op.WRITE, encodeErrorReply(1, { status: Status.ERROR, errc: 'NOSPC', message: 'full' }).subarray(4)],
  [Op.READ, encodeErrorReply(1, { status: Status.CORRUPT, message: 'bad block' }).subarray(4)],
];

function mutate(r: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = Math.floor(r() * 4);
  if (kind === 0) {
    for (let i = 0, n = 1 + Math.floor(r() * 4); i < n && b.length; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return b;
  }
  if (kind === 1) return b.subarray(0, Math.floor(r() * b.length));
  if (kind === 2 && b.length >= 4) {
    const at = Math.floor(r() * (b.length - 3));
    b.writeUInt32BE([0xffffffff, 0x7fffffff, 0x80000000, 65, 4097, 1 << 20, 0][Math.floor(r() * 7)]!, at);
    return b;
  }
  const n = Math.floor(r() * 120);
  const rnd = Buffer.alloc(n);
  for (let i = 0; i < n; i++) rnd[i] = Math.floor(r() * 256);
  return rnd;
}

function onlyWireErrors(what: string, input: Buffer, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof WireError)) assert.fail(`${what}: input ${input.toString('hex')} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
}

test('request decoder: 5,000 seeded mutations, only WireError escapes', () => {
  const r = rng(0xb41c);
  for (let i = 0; i < 5000; i++) {
    const input = mutate(r, REQUEST_SEEDS[i % REQUEST_SEEDS.length]!);
    onlyWireErrors('decodeRequest', input, () => decodeRequest(input, 65536));
  }
});

test('reply decoder: 5,000 seeded mutations per op, only WireError escapes', () => {
  const r = rng(0x5eed);
  for (let i = 0; i < 5000; i++) {
    const [op, base] = REPLY_SEEDS[i % REPLY_SEEDS.length]!;
    const input = mutate(r, base);
    for (const o of [op, Op.LIST, Op.PING, Op.CHECKSUM]) onlyWireErrors(`decodeReply(${o})`, input, () => decodeReply(o, input));
  }
});

test('frame decoder on random streams: frames within the limit or a WireError, memory bounded by the limit', () => {
  const r = rng(77);
  for (let i = 0; i < 500; i++) {
    const pieces: Buffer[] = [];
    for (let j = 0; j < 8; j++) pieces.push(r() < 0.5 ? Buffer.concat(encodeRequest(j, { op: Op.STAT, obj })) : mutate(r, REQUEST_SEEDS[j % REQUEST_SEEDS.length]!));
    const stream = Buffer.concat(pieces);
    const d = new FrameDecoder(4096, (f) => {
      assert.ok(f.length >= 5 && f.length <= 4096);
      onlyWireErrors('decodeRequest', f, () => decodeRequest(f, 4096));
    });
    onlyWireErrors('FrameDecoder', stream, () => {
      for (let p = 0; p < stream.length; ) {
        const n = 1 + Math.floor(r() * 64);
        d.push(stream.subarray(p, p + n));
        p += n;
        assert.ok(d.buffered <= 4096 + 4);
      }
    });
  }
});

/** A pool that records what it lends, so a test can check every pooled frame is given back once. */
class CountingPool {
  readonly lent = new Set<Buffer>();
  takes = 0;
  take(len: number): Buffer {
    this.takes++;
    const b = Buffer.alloc(len);
    this.lent.add(b);
    return b;
  }
  give(buf: Buffer): void {
    this.lent.delete(buf);
  }
}

test('frame decoder, onread path (readTarget/received): same frames as push, bounded, pooled frames all given back', () => {
  const r = rng(0x0e4d);
  let pooled = 0;
  for (let i = 0; i < 300; i++) {
    const pieces: Buffer[] = [];
    for (let j = 0; j < 6; j++) {
      const k = r();
      if (k < 0.3) pieces.push(Buffer.concat(encodeRequest(j, { op: Op.STAT, obj })));
      else if (k < 0.6) pieces.push(Buffer.concat(encodeRequest(j, { op: Op.WRITE, obj, offset: 0, data: Buffer.alloc(Math.floor(r() * 150_000), j) })));
      else pieces.push(mutate(r, REQUEST_SEEDS[j % REQUEST_SEEDS.length]!));
    }
    const stream = Buffer.concat(pieces);
    const max = 128 * 1024;
    // Reference: the same stream through push() in one piece.
    const want: string[] = [];
    let wantErr = false;
    try {
      new FrameDecoder(max, (f) => want.push(f.toString('hex'))).push(stream);
    } catch (e) {
      assert.ok(e instanceof WireError);
      wantErr = true;
    }
    const pool = new CountingPool();
    const got: Buffer[] = [];
    const d = new FrameDecoder(max, (f) => {
      assert.ok(f.length >= 5 && f.length <= max);
      got.push(f);
    }, pool);
    let gotErr = false;
    try {
      // What a socket does: ask for a target, copy in at most what fits, report it.
      for (let p = 0; p < stream.length; ) {
        const target = d.readTarget();
        assert.ok(target.length > 0 && target.length <= Math.max(64 * 1024, max));
        const n = Math.min(target.length, stream.length - p, 1 + Math.floor(r() * 70_000));
        target.set(stream.subarray(p, p + n));
        p += n;
        d.received(target, n);
        assert.ok(d.buffered <= max + 4);
      }
    } catch (e) {
      assert.ok(e instanceof WireError, String(e));
      gotErr = true;
    }
    assert.equal(gotErr, wantErr);
    assert.deepEqual(got.map((f) => f.toString('hex')), want);
    // Frames never alias the staging buffer: scribbling over it now changes none of them.
    d.readTarget().fill(0xee);
    assert.deepEqual(got.map((f) => f.toString('hex')), want);
    for (const f of got) pool.give(f);
    d.dispose();
    assert.equal(pool.lent.size, 0, 'every pooled frame given back');
    pooled += pool.takes;
  }
  assert.ok(pooled > 50, `large frames were received into pooled buffers (${pooled})`);
});
