/**
 * Brick wire protocol codecs (cluster/bricks/wire): every request and reply round-trips, payloads are not
 * copied, the frame decoder reassembles any chunking (every split point, one byte at a time), and bad
 * input (sizes, unknown ops, lengths over the limit) is a WireError — which closes the connection.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeReply, decodeRequest, encodeErrorReply, encodeReply, encodeRequest } from '../../../cluster/bricks/wire/codec';
import { FrameDecoder } from '../../../cluster/bricks/wire/frame-decoder';
import { MAX_LIST_LIMIT, Op, PROTOCOL_VERSION, Status, WireError, WRITE_COLD_CODE, type BrickRequest } from '../../../cluster/bricks/wire/protocol';

const obj = { fileId: 0xfedc_ba98_7654_3210n, chunk: 0x1234_5678 };

const REQUESTS: BrickRequest[] = [
  { op: Op.PING },
  { op: Op.READ, obj, offset: 4096, length: 65536 },
  { op: Op.WRITE, obj, offset: 7, data: Buffer.from('payload bytes') },
  { op: Op.WRITE, obj, offset: 0, data: Buffer.alloc(0) },
  { op: Op.WRITE, obj, offset: 1 << 20, data: Buffer.from('a cold copy'), cold: true },
  { op: Op.TRUNCATE, obj, length: 123 },
  { op: Op.DELETE, obj },
  { op: Op.DROP_FROM, fileId: 42n, firstChunk: 3 },
  { op: Op.FSYNC, obj },
  { op: Op.STAT, obj },
  { op: Op.LIST, after: undefined, limit: 100 },
  { op: Op.LIST, after: obj, limit: 1 },
  { op: Op.CHECKSUM, obj },
  { op: Op.CAPACITY },
];

/** A frame as the decoder hands it out: without its length field. */
function frameOf(bufs: Buffer[]): Buffer {
  const all = Buffer.concat(bufs);
  assert.equal(all.readUInt32BE(0), all.length - 4, 'length field counts the rest of the frame');
  return all.subarray(4);
}

describe('brick wire codec', () => {
  test('every request round-trips', () => {
    for (const [i, req] of REQUESTS.entries()) {
      const got = decodeRequest(frameOf(encodeRequest(1000 + i, req)), 1 << 20);
      assert.equal(got.xid, 1000 + i);
      assert.deepEqual(got.req, req);
    }
  });

  test('a cold WRITE has a wire code of its own (protocol version 3); a plain one keeps code 3', () => {
    const data = Buffer.alloc(64, 1);
    assert.equal(encodeRequest(1, { op: Op.WRITE, obj, offset: 0, data, cold: true })[0]![8], WRITE_COLD_CODE);
    assert.equal(encodeRequest(1, { op: Op.WRITE, obj, offset: 0, data, cold: false })[0]![8], Op.WRITE);
    assert.equal(encodeRequest(1, { op: Op.WRITE, obj, offset: 0, data })[0]![8], Op.WRITE);
    assert.equal(PROTOCOL_VERSION, 3);
  });

  test('WRITE data travels by reference: a separate buffer when encoding, a subarray when decoding', () => {
    const data = Buffer.alloc(5000, 9);
    const bufs = encodeRequest(5, { op: Op.WRITE, obj, offset: 0, data });
    assert.equal(bufs.length, 2);
    assert.equal(bufs[1], data, 'the caller\'s buffer itself');
    const frame = frameOf(bufs);
    const { req } = decodeRequest(frame, 1 << 20);
    assert.ok(req.op === Op.WRITE);
    assert.equal(req.data.buffer, frame.buffer, 'decoded data shares the frame\'s memory');
  });

  test('every reply round-trips; READ data goes out as its own buffer', () => {
    const cases: Array<[Op, unknown]> = [
      [Op.PING, { version: 2, maxPayload: 1 << 20, brickId: 'a-brick-id', instance: '3f2a-boot' }],
      [Op.PING, { version: 2, maxPayload: 1 << 20, brickId: 'a-brick-id', instance: '' }],
      // A version-1 brick (no instance field) still decodes, so the gateway can refuse it by version.
      [Op.PING, { version: 1, maxPayload: 1 << 20, brickId: 'a-brick-id', instance: '' }],
      [Op.READ, Buffer.from('some data')],
      [Op.READ, Buffer.alloc(0)],
      [Op.WRITE, undefined],
      [Op.FSYNC, undefined],
      [Op.STAT, { size: 4 << 20 }],
      [Op.STAT, undefined],
      [Op.LIST, [{ id: obj, size: 5 }, { id: { fileId: 1n, chunk: 0 }, size: 0 }]],
      [Op.LIST, []],
      [Op.CHECKSUM, Buffer.alloc(32, 0xab)],
      [Op.CHECKSUM, undefined],
      [Op.CAPACITY, { totalBytes: 1n << 40n, freeBytes: 5n, availBytes: 4n, totalFiles: 1000n, freeFiles: 999n }],
    ];
    for (const [op, value] of cases) {
      const bufs = encodeReply(77, op, value as never);
      if (op === Op.READ && (value as Buffer).length > 0) assert.equal(bufs[1], value);
      const out = decodeReply(op, frameOf(bufs));
      assert.deepEqual(out, { ok: true, value }, `op ${op}`);
    }
  });

  test('error replies carry the errc / the fault kind', () => {
    assert.deepEqual(decodeReply(Op.WRITE, frameOf([encodeErrorReply(3, { status: Status.ERROR, errc: 'NOSPC', message: 'disk full' })])), {
      ok: false,
      error: { status: Status.ERROR, errc: 'NOSPC', message: 'disk full' },
    });
    assert.deepEqual(decodeReply(Op.READ, frameOf([encodeErrorReply(3, { status: Status.CORRUPT, message: 'block 2' })])), {
      ok: false,
      error: { status: Status.CORRUPT, message: 'block 2' },
    });
    const long = encodeErrorReply(3, { status: Status.REFUSED, message: 'x'.repeat(5000) });
    assert.ok(long.length < 1100, 'messages are capped');
  });

  test('malformed requests are WireErrors', () => {
    const good = frameOf(encodeRequest(1, { op: Op.STAT, obj }));
    const bad: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['header only, short', good.subarray(0, 4)],
      ['unknown op', Buffer.from([0, 0, 0, 1, 0x7f])],
      ['op 0', Buffer.from([0, 0, 0, 1, 0])],
      ['short body', good.subarray(0, good.length - 1)],
      ['long body', Buffer.concat([good, Buffer.alloc(1)])],
      ['read over the payload limit', frameOf(encodeRequest(1, { op: Op.READ, obj, offset: 0, length: (1 << 20) + 1 }))],
      ['short write', frameOf(encodeRequest(1, { op: Op.WRITE, obj, offset: 0, data: Buffer.alloc(0) })).subarray(0, 10)],
    ];
    const list = frameOf(encodeRequest(1, { op: Op.LIST, after: undefined, limit: 5 }));
    const flag = Buffer.from(list);
    flag[5] = 2;
    bad.push(['list flag', flag]);
    const lim = Buffer.from(list);
    lim.writeUInt32BE(MAX_LIST_LIMIT + 1, lim.length - 4);
    bad.push(['list limit', lim]);
    for (const [what, f] of bad) assert.throws(() => decodeRequest(f, 1 << 20), WireError, what);
  });
});

describe('brick frame decoder', () => {
  const stream = Buffer.concat(REQUESTS.flatMap((r, i) => encodeRequest(i + 1, r)));

  function decodeAll(chunks: Buffer[]): BrickRequest[] {
    const out: BrickRequest[] = [];
    const d = new FrameDecoder(1 << 20, (f) => out.push(decodeRequest(f, 1 << 20).req));
    for (const c of chunks) d.push(c);
    assert.equal(d.buffered, 0, 'nothing left over');
    return out;
  }

  test('split at every byte boundary, and fed one byte at a time', () => {
    for (let cut = 0; cut <= stream.length; cut++) assert.deepEqual(decodeAll([stream.subarray(0, cut), stream.subarray(cut)]), REQUESTS, `cut at ${cut}`);
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    assert.deepEqual(decodeAll(bytes), REQUESTS);
  });

  test('a frame inside one chunk is a subarray of it (no copy)', () => {
    const frames: Buffer[] = [];
    const d = new FrameDecoder(1 << 20, (f) => frames.push(f));
    d.push(stream);
    assert.equal(frames.length, REQUESTS.length);
    for (const f of frames) assert.equal(f.buffer, stream.buffer);
  });

  test('a length over the limit or under the header size is refused before any allocation', () => {
    const d = new FrameDecoder(1000, () => assert.fail('no frame'));
    assert.throws(() => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), WireError);
    const d2 = new FrameDecoder(1000, () => assert.fail('no frame'));
    assert.throws(() => d2.push(Buffer.from([0, 0, 3, 0xe9])), /1001/);
    const d3 = new FrameDecoder(1000, () => assert.fail('no frame'));
    assert.throws(() => d3.push(Buffer.from([0, 0, 0, 4, 1, 2, 3, 4])), WireError);
    // Exactly at the limit is fine, and arrives whole even in pieces.
    let got = 0;
    const d4 = new FrameDecoder(1000, (f) => (got = f.length));
    const big = Buffer.alloc(1004);
    big.writeUInt32BE(1000, 0);
    d4.push(big.subarray(0, 500));
    assert.equal(d4.buffered, 496);
    d4.push(big.subarray(500));
    assert.equal(got, 1000);
  });
});
