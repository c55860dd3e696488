import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AUTH_BADCRED,
  AUTH_BADVERF,
  AUTH_ERROR,
  AUTH_TOOWEAK,
  GARBAGE_ARGS,
  NULL_AUTH,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  RPC_MISMATCH,
  SUCCESS,
  SYSTEM_ERR,
  decodeCallHeader,
  decodeReplyHeader,
  encodeAcceptedReply,
  encodeCallHeader,
  encodeRejectedReply,
  type AcceptedReply,
  type CallHeader,
} from '../../../protocols/rpc/message';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

const words = (...w: number[]): Buffer => {
  const b = Buffer.alloc(w.length * 4);
  w.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
};

function encodeCall(c: CallHeader, args: Buffer = Buffer.alloc(0)): Buffer {
  const w = new XdrWriter();
  encodeCallHeader(w, c);
  w.fixedOpaque(args);
  return w.toBuffer();
}

const baseCall: CallHeader = {
  xid: 0x01020304,
  rpcvers: 2,
  prog: 100003,
  vers: 3,
  proc: 1,
  cred: { flavor: 1, body: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
  verf: NULL_AUTH,
};

describe('call header', () => {
  it('matches the RFC 5531 layout byte for byte', () => {
    const got = encodeCall({ ...baseCall, cred: NULL_AUTH });
    assert.deepEqual(got, words(0x01020304, 0, 2, 100003, 3, 1, 0, 0, 0, 0));
  });

  it('round-trips and leaves the reader at the arguments', () => {
    const buf = encodeCall(baseCall, words(0xcafe));
    const r = new XdrReader(buf);
    const d = decodeCallHeader(r);
    assert.equal(d.kind, 'call');
    if (d.kind !== 'call') return;
    assert.equal(d.call.xid, baseCall.xid);
    assert.equal(d.call.prog, 100003);
    assert.equal(d.call.vers, 3);
    assert.equal(d.call.proc, 1);
    assert.equal(d.call.cred.flavor, 1);
    assert.ok(d.call.cred.body.equals(baseCall.cred.body));
    assert.equal(r.uint32(), 0xcafe);
  });

  it('answers rpcvers other than 2 with RPC_MISMATCH 2..2 without reading further', () => {
    // Only xid, CALL and rpcvers are present: nothing after rpcvers is needed.
    const d = decodeCallHeader(new XdrReader(words(7, 0, 3)));
    assert.deepEqual(d, { kind: 'reject', xid: 7, reject: { stat: RPC_MISMATCH, low: 2, high: 2 } });
  });

  it('refuses credentials and verifiers over 400 bytes with the xid known', () => {
    const badCred = Buffer.concat([words(9, 0, 2, 1, 1, 0, 1, 401), Buffer.alloc(404)]);
    assert.deepEqual(decodeCallHeader(new XdrReader(badCred)), {
      kind: 'reject',
      xid: 9,
      reject: { stat: AUTH_ERROR, authStat: AUTH_BADCRED },
    });
    const badVerf = Buffer.concat([words(9, 0, 2, 1, 1, 0, 0, 0, 0, 0xffffffff)]);
    assert.deepEqual(decodeCallHeader(new XdrReader(badVerf)), {
      kind: 'reject',
      xid: 9,
      reject: { stat: AUTH_ERROR, authStat: AUTH_BADVERF },
    });
  });

  it('ignores messages that are not calls', () => {
    assert.deepEqual(decodeCallHeader(new XdrReader(words(5, 1, 0))), { kind: 'ignore', xid: 5, msgType: 1 });
  });

  it('throws XdrError for every truncation of a valid call', () => {
    const buf = encodeCall(baseCall);
    for (let n = 0; n < buf.length; n++) {
      assert.throws(() => decodeCallHeader(new XdrReader(buf.subarray(0, n))), XdrError, `prefix ${n}`);
    }
  });
});

describe('replies', () => {
  it('encodes a PROG_MISMATCH reply as RFC 5531 lays it out', () => {
    const w = new XdrWriter();
    encodeAcceptedReply(w, 42, NULL_AUTH, { stat: PROG_MISMATCH, low: 2, high: 4 });
    // xid, REPLY, MSG_ACCEPTED, verf AUTH_NONE/0, PROG_MISMATCH, low, high
    assert.deepEqual(w.toBuffer(), words(42, 1, 0, 0, 0, 2, 2, 4));
  });

  it('encodes rejected replies', () => {
    let w = new XdrWriter();
    encodeRejectedReply(w, 1, { stat: RPC_MISMATCH, low: 2, high: 2 });
    assert.deepEqual(w.toBuffer(), words(1, 1, 1, 0, 2, 2));
    w = new XdrWriter();
    encodeRejectedReply(w, 1, { stat: AUTH_ERROR, authStat: AUTH_TOOWEAK });
    assert.deepEqual(w.toBuffer(), words(1, 1, 1, 1, 5));
  });

  it('round-trips every accepted status', () => {
    const bodies: AcceptedReply[] = [
      { stat: SUCCESS },
      { stat: PROG_UNAVAIL },
      { stat: PROG_MISMATCH, low: 1, high: 3 },
      { stat: PROC_UNAVAIL },
      { stat: GARBAGE_ARGS },
      { stat: SYSTEM_ERR },
    ];
    for (const body of bodies) {
      const w = new XdrWriter();
      encodeAcceptedReply(w, 77, NULL_AUTH, body);
      w.uint32(0x5555);
      const r = new XdrReader(w.toBuffer());
      const h = decodeReplyHeader(r);
      assert.equal(h.xid, 77);
      assert.equal(h.kind, 'accepted');
      if (h.kind === 'accepted') assert.deepEqual(h.accept, body);
      assert.equal(r.uint32(), 0x5555);
    }
  });

  it('round-trips rejected replies', () => {
    for (const rej of [
      { stat: RPC_MISMATCH, low: 2, high: 2 } as const,
      { stat: AUTH_ERROR, authStat: AUTH_BADCRED } as const,
    ]) {
      const w = new XdrWriter();
      encodeRejectedReply(w, 3, rej);
      const h = decodeReplyHeader(new XdrReader(w.toBuffer()));
      assert.deepEqual(h, { xid: 3, kind: 'denied', reject: rej });
    }
  });

  it('rejects malformed replies with XdrError', () => {
    assert.throws(() => decodeReplyHeader(new XdrReader(words(1, 0))), XdrError); // a CALL
    assert.throws(() => decodeReplyHeader(new XdrReader(words(1, 1, 2))), XdrError); // bad reply_stat
    assert.throws(() => decodeReplyHeader(new XdrReader(words(1, 1, 0, 0, 0, 9))), XdrError); // bad accept_stat
    assert.throws(() => decodeReplyHeader(new XdrReader(words(1, 1, 1, 7))), XdrError); // bad reject_stat
  });
});
