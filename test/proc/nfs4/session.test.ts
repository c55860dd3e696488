import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CREATE_SESSION4resok } from '../../../protocols/nfs4/ops/create-session';
import type { EXCHANGE_ID4resok } from '../../../protocols/nfs4/ops/exchange-id';
import type { GETFH4resok } from '../../../protocols/nfs4/ops/getfh';
import { AUTH_SYS } from '../../../protocols/rpc/types';
import {
  CREATE_SESSION4_FLAG_CONN_BACK_CHAN,
  EXCHGID4_FLAG_CONFIRMED_R,
  EXCHGID4_FLAG_UPD_CONFIRMED_REC_A,
  EXCHGID4_FLAG_USE_NON_PNFS,
  SEQ4_STATUS_CB_PATH_DOWN,
  channel_dir_from_client4,
  channel_dir_from_server4,
  nfsstat4,
} from '../../../protocols/nfs4/types';
import { DEFAULT_FORE, expectOk, expectStatus, FakeBackchannel, Nfs4Harness, op } from './harness';

describe('NFSv4.1 EXCHANGE_ID / CREATE_SESSION', () => {
  it('confirms a client with its first CREATE_SESSION; EXCHANGE_ID again returns the same confirmed id', async () => {
    const h = new Nfs4Harness();
    const e1 = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('host-a')]), 0);
    assert.equal(e1.eir_flags & EXCHGID4_FLAG_CONFIRMED_R, 0);
    assert.ok(e1.eir_flags & EXCHGID4_FLAG_USE_NON_PNFS);
    assert.equal(e1.eir_sequenceid, 1);
    const cs = expectOk<CREATE_SESSION4resok>(await h.compound([op.createSession(e1.eir_clientid, 1)]), 0);
    assert.equal(cs.csr_sequence, 1);
    assert.equal(cs.csr_flags, 0, 'no back channel, no persistence');
    const e2 = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('host-a')]), 0);
    assert.equal(e2.eir_clientid, e1.eir_clientid);
    assert.ok(e2.eir_flags & EXCHGID4_FLAG_CONFIRMED_R);
    assert.equal(e2.eir_sequenceid, 2);
  });

  it('a rebooted client (new verifier) gets a new id; confirming it expires the old one and its sessions', async () => {
    const h = new Nfs4Harness();
    const s1 = await h.session({ owner: 'host-b' });
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('host-b', Buffer.from('newverf!'))]), 0);
    assert.notEqual(e.eir_clientid, s1.clientid);
    // Until the new id is confirmed the old session still works.
    expectStatus(await s1.run([op.putrootfh()]), nfsstat4.NFS4_OK);
    expectStatus(await h.compound([op.createSession(e.eir_clientid, e.eir_sequenceid)]), nfsstat4.NFS4_OK);
    expectStatus(await s1.run([op.putrootfh()]), nfsstat4.NFS4ERR_BADSESSION);
    assert.equal(h.server.clients.get(s1.clientid), undefined);
  });

  it('EXCHANGE_ID update: NOENT without a confirmed record, NOT_SAME with another verifier', async () => {
    const h = new Nfs4Harness();
    expectStatus(await h.compound([op.exchangeId('host-c', undefined, EXCHGID4_FLAG_UPD_CONFIRMED_REC_A)]), nfsstat4.NFS4ERR_NOENT);
    await h.session({ owner: 'host-c' });
    expectStatus(await h.compound([op.exchangeId('host-c', undefined, EXCHGID4_FLAG_UPD_CONFIRMED_REC_A)]), nfsstat4.NFS4_OK);
    expectStatus(await h.compound([op.exchangeId('host-c', Buffer.from('otherver'), EXCHGID4_FLAG_UPD_CONFIRMED_REC_A)]), nfsstat4.NFS4ERR_NOT_SAME);
    expectStatus(await h.compound([op.exchangeId('host-c', undefined, 0x4)]), nfsstat4.NFS4ERR_INVAL, 'undefined flag bit');
  });

  it('CREATE_SESSION: a replay returns the same session, other sequence ids are misordered, unknown ids stale', async () => {
    const h = new Nfs4Harness();
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('host-d')]), 0);
    expectStatus(await h.compound([op.createSession(e.eir_clientid, e.eir_sequenceid - 1)]), nfsstat4.NFS4ERR_SEQ_MISORDERED);
    const a = await h.call([op.createSession(e.eir_clientid, e.eir_sequenceid)]);
    const b = await h.call([op.createSession(e.eir_clientid, e.eir_sequenceid)]);
    assert.deepEqual(b.bytes, a.bytes);
    assert.equal(h.server.sessions.size, 1);
    expectStatus(await h.compound([op.createSession(e.eir_clientid, e.eir_sequenceid + 2)]), nfsstat4.NFS4ERR_SEQ_MISORDERED);
    expectStatus(await h.compound([op.createSession(e.eir_clientid + 1000n, 1)]), nfsstat4.NFS4ERR_STALE_CLIENTID);
  });

  it('CREATE_SESSION: another principal than EXCHANGE_ID’s is CLID_INUSE, and so is its replay', async () => {
    const h = new Nfs4Harness();
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('host-e')], { uid: 0 }), 0);
    expectStatus(await h.compound([op.createSession(e.eir_clientid, 1)], { uid: 1000 }), nfsstat4.NFS4ERR_CLID_INUSE);
    expectStatus(await h.compound([op.createSession(e.eir_clientid, 1)], { uid: 1000 }), nfsstat4.NFS4ERR_CLID_INUSE);
  });

  it('negotiates channel attributes: slots and ops capped, too small sizes TOOSMALL, no RDMA', async () => {
    const h = new Nfs4Harness([], { maxSlots: 16, maxOps: 32 });
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('host-f')]), 0);
    const cs = expectOk<CREATE_SESSION4resok>(
      await h.compound([op.createSession(e.eir_clientid, 1, { ...DEFAULT_FORE, ca_maxrequests: 2049, ca_maxoperations: 1000, ca_rdma_ird: [5] })]),
      0,
    );
    assert.equal(cs.csr_fore_chan_attrs.ca_maxrequests, 16);
    assert.equal(cs.csr_fore_chan_attrs.ca_maxoperations, 32);
    assert.deepEqual(cs.csr_fore_chan_attrs.ca_rdma_ird, []);
    const e2 = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('host-g')]), 0);
    expectStatus(await h.compound([op.createSession(e2.eir_clientid, 1, { ...DEFAULT_FORE, ca_maxrequestsize: 20 })]), nfsstat4.NFS4ERR_TOOSMALL);
    expectStatus(await h.compound([op.createSession(e2.eir_clientid, 2, { ...DEFAULT_FORE, ca_maxresponsesize: 0 })]), nfsstat4.NFS4ERR_TOOSMALL);
  });
});

describe('NFSv4.1 SEQUENCE and the slot reply cache', () => {
  it('reports the slot table and SEQ4_STATUS_CB_PATH_DOWN (no back channel)', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const seq = s.sequenceResult(await s.run([]));
    assert.deepEqual(seq.sr_sessionid, s.id);
    assert.equal(seq.sr_slotid, 0);
    assert.equal(seq.sr_highest_slotid, DEFAULT_FORE.ca_maxrequests - 1);
    assert.equal(seq.sr_status_flags & SEQ4_STATUS_CB_PATH_DOWN, SEQ4_STATUS_CB_PATH_DOWN);
  });

  it('replays a cached reply byte for byte without running the ops again', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const first = await s.call([op.putfh(root), op.mkdir('d1'), op.getfh()], { slot: 1, cachethis: true });
    expectStatus(first.res, nfsstat4.NFS4_OK);
    const again = await s.call([op.putfh(root), op.mkdir('d1'), op.getfh()], { slot: 1, seqid: s.seqids[1], cachethis: true });
    assert.deepEqual(again.bytes, first.bytes, 'same reply, not NFS4ERR_EXIST');
    // The next seqid is a new request: now the directory exists.
    expectStatus(await s.run([op.putfh(root), op.mkdir('d1')], { slot: 1 }), nfsstat4.NFS4ERR_EXIST);
  });

  it('answers a retry of an uncached request RETRY_UNCACHED_REP, a different request SEQ_FALSE_RETRY', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    expectStatus(await s.run([op.putfh(root), op.mkdir('d2')], { slot: 2 }), nfsstat4.NFS4_OK);
    const retry = await s.run([op.putfh(root), op.mkdir('d2')], { slot: 2, seqid: s.seqids[2] });
    expectStatus(retry, nfsstat4.NFS4ERR_RETRY_UNCACHED_REP);
    assert.equal(retry.resarray.length, 1);
    await s.run([op.putfh(root), op.mkdir('d3')], { slot: 3, cachethis: true });
    expectStatus(await s.run([op.putfh(root), op.mkdir('other')], { slot: 3, seqid: s.seqids[3], cachethis: true }), nfsstat4.NFS4ERR_SEQ_FALSE_RETRY);
  });

  it('keeps no reply larger than ca_maxresponsesize_cached: its retry is RETRY_UNCACHED_REP', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ fore: { ...DEFAULT_FORE, ca_maxresponsesize_cached: 200 } });
    assert.equal(s.created.csr_fore_chan_attrs.ca_maxresponsesize_cached, 200);
    const small = await s.call([op.putrootfh()], { slot: 1, cachethis: true });
    assert.deepEqual((await s.call([op.putrootfh()], { slot: 1, seqid: s.seqids[1], cachethis: true })).bytes, small.bytes);
    const big = await s.call([op.putrootfh(), op.getfh(), op.getattr(0, 1, 3, 4, 8, 19, 20, 33, 36, 37, 47, 52, 53, 55)], { slot: 2, cachethis: true });
    expectStatus(big.res, nfsstat4.NFS4_OK);
    assert.ok(big.bytes.length > 200);
    expectStatus(await s.run([op.putrootfh(), op.getfh(), op.getattr(0, 1, 3, 4, 8, 19, 20, 33, 36, 37, 47, 52, 53, 55)], { slot: 2, seqid: s.seqids[2], cachethis: true }), nfsstat4.NFS4ERR_RETRY_UNCACHED_REP);
  });

  it('rejects misordered sequence ids, bad slots and unknown sessions', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    expectStatus(await s.run([], { slot: 0, seqid: s.seqids[0]! + 5 }), nfsstat4.NFS4ERR_SEQ_MISORDERED);
    expectStatus(await s.run([], { slot: 4, seqid: 0 }), nfsstat4.NFS4ERR_SEQ_MISORDERED, 'a fresh slot has no request 0 to retry');
    expectStatus(await s.run([], { slot: DEFAULT_FORE.ca_maxrequests, seqid: 1 }), nfsstat4.NFS4ERR_BADSLOT);
    const res = await h.compound([op.sequence(Buffer.alloc(16, 7), 1, 0)]);
    expectStatus(res, nfsstat4.NFS4ERR_BADSESSION);
  });

  it('answers a retry of a request still running NFS4ERR_DELAY', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    // Hold the first request inside the core until the retry has been answered.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const orig = h.fs.mkdir.bind(h.fs);
    h.fs.mkdir = async (...a) => {
      await gate;
      return orig(...a);
    };
    const first = s.run([op.putfh(root), op.mkdir('slow')], { slot: 5 });
    await new Promise((r) => setImmediate(r));
    const retry = await s.run([op.putfh(root), op.mkdir('slow')], { slot: 5, seqid: s.seqids[5] });
    expectStatus(retry, nfsstat4.NFS4ERR_DELAY);
    release();
    expectStatus(await first, nfsstat4.NFS4_OK);
  });
});

describe('NFSv4.1 client record rules (pynfs regressions)', () => {
  it('OPEN before RECLAIM_COMPLETE is NFS4ERR_GRACE (RFC 8881 §18.51.3)', async () => {
    const h = new Nfs4Harness();
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('early')]), 0);
    const cs = expectOk<CREATE_SESSION4resok>(await h.compound([op.createSession(e.eir_clientid, 1)]), 0);
    const root = await h.fs.rootHandle(1);
    let res = await h.compound([op.sequence(cs.csr_sessionid, 1, 0), op.putfh(root), op.createUnchecked('f')]);
    expectStatus(res, nfsstat4.NFS4ERR_GRACE);
    res = await h.compound([op.sequence(cs.csr_sessionid, 2, 0), op.reclaimComplete()]);
    expectStatus(res, nfsstat4.NFS4_OK);
    res = await h.compound([op.sequence(cs.csr_sessionid, 3, 0), op.putfh(root), op.createUnchecked('f')]);
    expectStatus(res, nfsstat4.NFS4_OK);
  });

  it('CREATE_SESSION with back channel sizes too small for CB_SEQUENCE is NFS4ERR_TOOSMALL', async () => {
    const h = new Nfs4Harness();
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('tiny-back')]), 0);
    const a = op.createSession(e.eir_clientid, 1);
    (a.args as { csa_back_chan_attrs: { ca_maxrequestsize: number } }).csa_back_chan_attrs.ca_maxrequestsize = 10;
    expectStatus(await h.compound([a]), nfsstat4.NFS4ERR_TOOSMALL);
    expectStatus(await h.compound([a]), nfsstat4.NFS4ERR_TOOSMALL);
    // A refused request does not use up the sequence id.
    expectStatus(await h.compound([op.createSession(e.eir_clientid, 1)]), nfsstat4.NFS4_OK);
  });

  it('EXCHANGE_ID by another principal replaces a confirmed record that holds no state', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ owner: 'shared-owner', uid: 10 });
    expectStatus(await h.compound([op.destroySession(s.id)]), nfsstat4.NFS4_OK);
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('shared-owner', Buffer.from('verf-two'))], { uid: 20 }), 0);
    assert.notEqual(e.eir_clientid, s.clientid);
    expectStatus(await h.compound([op.createSession(s.clientid, 2)], { uid: 10 }), nfsstat4.NFS4ERR_STALE_CLIENTID);
  });

  it('an unconfirmed record is gone once its lease ran out (STALE_CLIENTID), without waiting for a sweep', async () => {
    let now = 5_000_000;
    const h = new Nfs4Harness(undefined, { leaseSeconds: 10, now: () => now });
    const e = expectOk<EXCHANGE_ID4resok>(await h.compound([op.exchangeId('slow')]), 0);
    now += 11_000;
    expectStatus(await h.compound([op.createSession(e.eir_clientid, 1)]), nfsstat4.NFS4ERR_STALE_CLIENTID);
  });

  it('opens of a client whose lease expired do not block others: that client is expired (courtesy)', async () => {
    let now = 5_000_000;
    const h = new Nfs4Harness(undefined, { leaseSeconds: 10, now: () => now });
    const a = await h.session();
    const root = await a.exportRoot();
    await a.createFile(root, 'held', { access: 3, deny: 3 });
    const b = await h.session();
    const openB = () => b.run([op.putfh(root), op.open({ name: 'held', share_access: 1, owner: { clientid: b.clientid, owner: Buffer.from('b') } })]);
    expectStatus(await openB(), nfsstat4.NFS4ERR_SHARE_DENIED);
    now += 11_000;
    expectStatus(await b.run([]), nfsstat4.NFS4_OK);
    expectStatus(await openB(), nfsstat4.NFS4_OK);
    expectStatus(await a.run([]), nfsstat4.NFS4ERR_BADSESSION);
  });
});

describe('NFSv4.1 session teardown and leases', () => {
  it('DESTROY_SESSION ends the session; DESTROY_CLIENTID then forgets the client', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    expectStatus(await h.compound([op.destroyClientid(s.clientid)]), nfsstat4.NFS4ERR_CLIENTID_BUSY);
    expectStatus(await s.run([op.destroySession(s.id), op.putrootfh()]), nfsstat4.NFS4ERR_NOT_ONLY_OP);
    expectStatus(await h.compound([op.destroySession(s.id)]), nfsstat4.NFS4_OK);
    expectStatus(await s.run([]), nfsstat4.NFS4ERR_BADSESSION);
    expectStatus(await h.compound([op.destroySession(s.id)]), nfsstat4.NFS4ERR_BADSESSION);
    expectStatus(await h.compound([op.destroyClientid(s.clientid)]), nfsstat4.NFS4_OK);
    expectStatus(await h.compound([op.destroyClientid(s.clientid)]), nfsstat4.NFS4ERR_STALE_CLIENTID);
  });

  it('RECLAIM_COMPLETE once; a second is COMPLETE_ALREADY', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    expectStatus(await s.run([op.reclaimComplete()]), nfsstat4.NFS4ERR_COMPLETE_ALREADY);
  });

  it('expires a client whose lease ran out, with its sessions and opens; SEQUENCE renews the lease', async () => {
    let now = 1_000_000;
    const h = new Nfs4Harness(undefined, { leaseSeconds: 10, now: () => now });
    const s = await h.session();
    const root = await s.exportRoot();
    await s.createFile(root, 'held');
    assert.equal(h.server.states.size, 1);
    now += 15_000;
    expectStatus(await s.run([]), nfsstat4.NFS4_OK);
    assert.equal(h.server.sweep(), 0, 'renewed by SEQUENCE');
    now += 25_000;
    assert.equal(h.server.sweep(), 1);
    assert.equal(h.server.states.size, 0);
    expectStatus(await s.run([]), nfsstat4.NFS4ERR_BADSESSION);
    const [fh] = await (await h.session()).ok([op.putfh(root), op.lookup('held'), op.getfh()]).then((r) => r.slice(2));
    assert.ok((fh as GETFH4resok).object.length > 0, 'the file itself stays');
  });
});

describe('NFSv4.1 back channel', () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it('binds the connection as back channel, probes it with CB_NULL, and clears CB_PATH_DOWN', async () => {
    const h = new Nfs4Harness();
    const bc = new FakeBackchannel('ok');
    const s = await h.session({ backchannel: bc });
    assert.equal(s.created.csr_flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN, CREATE_SESSION4_FLAG_CONN_BACK_CHAN);
    await tick();
    assert.deepEqual(bc.calls, [{ prog: 0x40000000, vers: 1, proc: 0, credFlavor: AUTH_SYS }]);
    assert.equal(s.sequenceResult(await s.run([])).sr_status_flags & SEQ4_STATUS_CB_PATH_DOWN, 0);
    bc.close();
    assert.equal(s.sequenceResult(await s.run([])).sr_status_flags & SEQ4_STATUS_CB_PATH_DOWN, SEQ4_STATUS_CB_PATH_DOWN, 'connection gone');
    // The client binds a new connection: the path is up again.
    const bc2 = new FakeBackchannel('ok');
    const r = await h.compound([op.bindConnToSession(s.id, channel_dir_from_client4.CDFC4_FORE_OR_BOTH)], { backchannel: bc2 });
    assert.equal((r.resarray[0]!.res as { bctsr_dir: number }).bctsr_dir, channel_dir_from_server4.CDFS4_BOTH);
    await tick();
    assert.equal(bc2.calls.length, 1);
    assert.equal(s.sequenceResult(await s.run([])).sr_status_flags & SEQ4_STATUS_CB_PATH_DOWN, 0);
  });

  it('reports CB_PATH_DOWN when CB_NULL gets no answer, and without a back channel at all', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ backchannel: new FakeBackchannel('fail') });
    await tick();
    await tick();
    assert.equal(s.sequenceResult(await s.run([])).sr_status_flags & SEQ4_STATUS_CB_PATH_DOWN, SEQ4_STATUS_CB_PATH_DOWN);
    const plain = await h.session();
    assert.equal(plain.created.csr_flags, 0);
    assert.equal(plain.sequenceResult(await plain.run([])).sr_status_flags & SEQ4_STATUS_CB_PATH_DOWN, SEQ4_STATUS_CB_PATH_DOWN);
    const r = await h.compound([op.bindConnToSession(plain.id, channel_dir_from_client4.CDFC4_FORE_OR_BOTH)]);
    assert.equal((r.resarray[0]!.res as { bctsr_dir: number }).bctsr_dir, channel_dir_from_server4.CDFS4_FORE, 'no back channel on this transport');
    expectStatus(await h.compound([op.bindConnToSession(plain.id, channel_dir_from_client4.CDFC4_BACK)]), nfsstat4.NFS4ERR_INVAL);
  });
});
