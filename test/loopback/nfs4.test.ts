/**
 * NFSv3 and NFSv4 on one RpcServer on 127.0.0.1 (memory backend), NFSv4 driven by our RpcClient and the
 * NFSv4 client-side codecs: NULL, a session, a 1 MiB WRITE and READ (multi-segment reply), COMPOUNDs
 * pipelined on several slots, a retransmission answered from the slot cache, and PROG_MISMATCH's range.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeCOMPOUND4res, encodeCOMPOUND4args, type ArgOp } from '../../protocols/nfs4/compound';
import type { CREATE_SESSION4resok } from '../../protocols/nfs4/ops/create-session';
import type { EXCHANGE_ID4resok } from '../../protocols/nfs4/ops/exchange-id';
import type { GETFH4resok } from '../../protocols/nfs4/ops/getfh';
import type { OPEN4resok } from '../../protocols/nfs4/ops/open';
import type { READ4resok } from '../../protocols/nfs4/ops/read';
import { CREATE_SESSION4_FLAG_CONN_BACK_CHAN, SEQ4_STATUS_CB_PATH_DOWN, nfsstat4, type COMPOUND4res } from '../../protocols/nfs4/types';
import type { SEQUENCE4resok } from '../../protocols/nfs4/ops/sequence';
import { XdrReader } from '../../protocols/xdr/reader';
import { XdrWriter } from '../../protocols/xdr/writer';
import { RpcClient, RpcReplyError } from '../../protocols/rpc/client';
import { authSysCred } from '../../protocols/rpc/auth/sys';
import { RecordDecoder, frameRecord } from '../../protocols/rpc/framing';
import { NULL_AUTH, PROG_MISMATCH, SUCCESS, decodeCallHeader, decodeReplyHeader, encodeAcceptedReply, encodeCallHeader } from '../../protocols/rpc/message';
import type { AuthSys } from '../../protocols/rpc/types';
import { DEFAULT_FORE, op } from '../proc/nfs4/harness';
import { startNfsLoopback, type NfsLoopback } from './nfs-loopback';

const auth: AuthSys = { stamp: 1, machineName: 'loopback', uid: 0, gid: 0, gids: [] };

describe('NFSv4.1 over loopback TCP, beside NFSv3', () => {
  let lo: NfsLoopback;
  let client: RpcClient;
  let port: number;
  let sessionid: Buffer;
  const seq: number[] = new Array(8).fill(0);

  async function compound(ops: readonly ArgOp[]): Promise<{ res: COMPOUND4res }> {
    const body = await client.call(100003, 4, 1, (w) => encodeCOMPOUND4args(w, 'loopback', 1, ops), { auth });
    const res = decodeCOMPOUND4res(body);
    assert.equal(body.remaining(), 0);
    return { res };
  }

  const seqOp = (slot: number, cachethis = false, again = false) => op.sequence(sessionid, again ? seq[slot]! : (seq[slot] = seq[slot]! + 1), slot, cachethis);

  before(async () => {
    lo = await startNfsLoopback({ nfs4: true });
    ({ client, port } = lo);
  });

  after(async () => {
    await lo.close();
  });

  it('answers NULL and reports versions 3..4 in PROG_MISMATCH', async () => {
    const body = await client.call(100003, 4, 0, () => {}, { auth });
    assert.equal(body.remaining(), 0);
    await assert.rejects(client.call(100003, 5, 0, () => {}), (e: unknown) => {
      assert.ok(e instanceof RpcReplyError);
      const h = e.reply;
      assert.ok(h.kind === 'accepted' && h.accept.stat === PROG_MISMATCH);
      assert.deepEqual([h.accept.low, h.accept.high], [3, 4]);
      return true;
    });
  });

  it('establishes a session and writes and reads back 1 MiB through an open', async () => {
    const eid = (await compound([op.exchangeId('loopback-client')])).res.resarray[0]!.res as EXCHANGE_ID4resok;
    const cs = (await compound([op.createSession(eid.eir_clientid, eid.eir_sequenceid, { ...DEFAULT_FORE, ca_maxrequestsize: 2 << 20, ca_maxresponsesize: 2 << 20 })])).res.resarray[0]!.res as CREATE_SESSION4resok;
    sessionid = cs.csr_sessionid;
    assert.equal(cs.csr_fore_chan_attrs.ca_maxrequestsize, (1 << 20) + 64 * 1024, 'capped at the record limit');
    assert.equal((await compound([seqOp(0), op.reclaimComplete()])).res.status, nfsstat4.NFS4_OK);
    const { res } = await compound([seqOp(0), op.putrootfh(), op.lookup('data'), op.createUnchecked('big'), op.getfh()]);
    assert.equal(res.status, nfsstat4.NFS4_OK);
    const open = res.resarray[3]!.res as OPEN4resok;
    const fh = (res.resarray[4]!.res as GETFH4resok).object;
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const w = await compound([seqOp(0), op.putfh(fh), op.write(open.stateid, 0n, data)]);
    assert.equal(w.res.status, nfsstat4.NFS4_OK);
    const r = await compound([seqOp(0), op.putfh(fh), op.read(open.stateid, 0n, 1 << 20)]);
    assert.equal(r.res.status, nfsstat4.NFS4_OK);
    assert.ok((r.res.resarray[2]!.res as READ4resok).data.equals(data));
  });

  it('runs COMPOUNDs pipelined on several slots, and answers a retransmission from the slot cache', async () => {
    const all = await Promise.all([1, 2, 3, 4, 5].map((slot) => compound([seqOp(slot), op.putrootfh(), op.lookup('data'), op.mkdir(`dir${slot}`)])));
    for (const a of all) assert.equal(a.res.status, nfsstat4.NFS4_OK);
    const first = await compound([seqOp(6, true), op.putrootfh(), op.lookup('data'), op.mkdir('once')]);
    assert.equal(first.res.status, nfsstat4.NFS4_OK);
    const again = await compound([seqOp(6, true, true), op.putrootfh(), op.lookup('data'), op.mkdir('once')]);
    assert.equal(again.res.status, nfsstat4.NFS4_OK, 'the cached reply, not NFS4ERR_EXIST');
    const third = await compound([seqOp(6, true), op.putrootfh(), op.lookup('data'), op.mkdir('once')]);
    assert.equal(third.res.status, nfsstat4.NFS4ERR_EXIST);
  });

  it('probes a connection bound as back channel with CB_NULL on that connection; SEQUENCE then clears CB_PATH_DOWN', async () => {
    // A raw client: it must answer the server's CALLs arriving on its own connection.
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const dec = new RecordDecoder({ maxRecordBytes: 1 << 20 });
    const waiting = new Map<number, (rec: Buffer) => void>();
    const cbCalls: { prog: number; vers: number; proc: number; cred: number }[] = [];
    sock.on('data', (chunk: Buffer) => {
      for (const rec of dec.push(chunk)) {
        if (rec.readUInt32BE(4) === 0) {
          const d = decodeCallHeader(new XdrReader(rec));
          assert.equal(d.kind, 'call');
          if (d.kind !== 'call') continue;
          cbCalls.push({ prog: d.call.prog, vers: d.call.vers, proc: d.call.proc, cred: d.call.cred.flavor });
          const w = new XdrWriter();
          encodeAcceptedReply(w, d.call.xid, NULL_AUTH, { stat: SUCCESS });
          for (const f of frameRecord(w.segmentsOut())) sock.write(f);
        } else waiting.get(rec.readUInt32BE(0))?.(rec);
      }
    });
    let xid = 1000;
    const call = async (ops: readonly ArgOp[]): Promise<COMPOUND4res> => {
      const w = new XdrWriter();
      const id = ++xid;
      encodeCallHeader(w, { xid: id, rpcvers: 2, prog: 100003, vers: 4, proc: 1, cred: authSysCred(auth), verf: NULL_AUTH });
      encodeCOMPOUND4args(w, '', 1, ops);
      const got = new Promise<Buffer>((r) => waiting.set(id, r));
      for (const f of frameRecord(w.segmentsOut())) sock.write(f);
      const r = new XdrReader(await got);
      const h = decodeReplyHeader(r);
      assert.ok(h.kind === 'accepted' && h.accept.stat === SUCCESS);
      return decodeCOMPOUND4res(r);
    };
    try {
      // A stray REPLY (no call of ours has this xid) is ignored, the connection stays usable.
      const stray = new XdrWriter();
      encodeAcceptedReply(stray, 0xdead, NULL_AUTH, { stat: SUCCESS });
      for (const f of frameRecord(stray.segmentsOut())) sock.write(f);
      const eid = (await call([op.exchangeId('backchannel-client')])).resarray[0]!.res as EXCHANGE_ID4resok;
      const cs = (await call([op.createSession(eid.eir_clientid, eid.eir_sequenceid, DEFAULT_FORE, CREATE_SESSION4_FLAG_CONN_BACK_CHAN)])).resarray[0]!.res as CREATE_SESSION4resok;
      assert.equal(cs.csr_flags, CREATE_SESSION4_FLAG_CONN_BACK_CHAN);
      for (let i = 0; i < 100 && cbCalls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(cbCalls, [{ prog: 0x40000000, vers: 1, proc: 0, cred: 1 }], 'one CB_NULL, AUTH_SYS, NFS4_CALLBACK version 1');
      await new Promise((r) => setTimeout(r, 20));
      const seq = (await call([op.sequence(cs.csr_sessionid, 1, 0)])).resarray[0]!.res as SEQUENCE4resok;
      assert.equal(seq.sr_status_flags & SEQ4_STATUS_CB_PATH_DOWN, 0);
    } finally {
      sock.destroy();
    }
  });
});
