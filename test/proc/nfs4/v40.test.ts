/**
 * NFSv4.0 (RFC 7530) state: SETCLIENTID / SETCLIENTID_CONFIRM / RENEW, OPEN_CONFIRM, the per-owner seqid
 * replay cache, LOCK / LOCKT / LOCKU / RELEASE_LOCKOWNER on the core's lock manager (also across 4.0 and
 * 4.1 clients), share reservations against core (SMB) opens, the 4.0 duplicate-request cache, lease expiry
 * and the client-record cap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenBits } from '../../../cluster/vfs/types';
import { CoreError, Errc } from '../../../cluster/vfs/errors';
import type { LOCK4denied } from '../../../protocols/nfs4/ops/lock-common';
import type { CLOSE4resok } from '../../../protocols/nfs4/ops/close';
import type { LOCKU4resok } from '../../../protocols/nfs4/ops/locku';
import type { OPEN4resok } from '../../../protocols/nfs4/ops/open';
import type { READ4resok } from '../../../protocols/nfs4/ops/read';
import type { SETCLIENTID4resok } from '../../../protocols/nfs4/ops/setclientid';
import { createmode4, nfsstat4, OPEN4_RESULT_CONFIRM, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_WRITE } from '../../../protocols/nfs4/types';
import { encodeSetAttrs, FATTR4_SIZE } from '../../../protocols/nfs4/attrs';
import { Nfs40TestClient, Nfs4Harness, expectOk, expectStatus, op } from './harness';

describe('NFSv4.0 client records', () => {
  it('SETCLIENTID then SETCLIENTID_CONFIRM; state ops before the confirm are STALE_CLIENTID; RENEW', async () => {
    const h = new Nfs4Harness();
    const sc = expectOk<SETCLIENTID4resok>(await h.compound([op.setclientid('c1')], { minor: 0 }), 0);
    expectStatus(await h.compound([op.renew(sc.clientid)], { minor: 0 }), nfsstat4.NFS4ERR_STALE_CLIENTID, 'unconfirmed');
    expectStatus(await h.compound([op.setclientidConfirm(sc.clientid, Buffer.alloc(8, 9))], { minor: 0 }), nfsstat4.NFS4ERR_STALE_CLIENTID, 'wrong verifier');
    expectStatus(await h.compound([op.setclientidConfirm(sc.clientid, sc.setclientid_confirm)], { minor: 0 }), nfsstat4.NFS4_OK);
    expectStatus(await h.compound([op.setclientidConfirm(sc.clientid, sc.setclientid_confirm)], { minor: 0 }), nfsstat4.NFS4_OK, 'a retransmitted confirm');
    expectStatus(await h.compound([op.renew(sc.clientid)], { minor: 0 }), nfsstat4.NFS4_OK);
    expectStatus(await h.compound([op.renew(sc.clientid + 1n)], { minor: 0 }), nfsstat4.NFS4ERR_STALE_CLIENTID);
    expectStatus(await h.compound([op.renew(0x1234_0000_0001n)], { minor: 0 }), nfsstat4.NFS4ERR_STALE_CLIENTID, 'another instance');
    // The same verifier again is a callback update: same client id.
    const again = expectOk<SETCLIENTID4resok>(await h.compound([op.setclientid('c1')], { minor: 0 }), 0);
    assert.equal(again.clientid, sc.clientid);
    expectStatus(await h.compound([op.setclientidConfirm(again.clientid, again.setclientid_confirm)], { minor: 0 }), nfsstat4.NFS4_OK);
  });

  it('a rebooted client (new verifier) gets a new id; confirming it drops the old state', async () => {
    const h = new Nfs4Harness();
    const a = await Nfs40TestClient.connect(h, 'box');
    const root = await a.exportRoot();
    await a.open(root, 'f');
    assert.equal(h.server.states.size, 1);
    const sc = expectOk<SETCLIENTID4resok>(await h.compound([op.setclientid('box', Buffer.from('reboot!!'))], { minor: 0 }), 0);
    assert.notEqual(sc.clientid, a.clientid);
    assert.equal(h.server.states.size, 1, 'old state kept until the new record is confirmed');
    expectStatus(await h.compound([op.setclientidConfirm(sc.clientid, sc.setclientid_confirm)], { minor: 0 }), nfsstat4.NFS4_OK);
    assert.equal(h.server.states.size, 0);
    expectStatus(await a.run([op.renew(a.clientid)]), nfsstat4.NFS4ERR_STALE_CLIENTID);
  });

  it('another principal cannot take over an owner that holds state (CLID_INUSE)', async () => {
    const h = new Nfs4Harness();
    const a = await Nfs40TestClient.connect(h, 'shared', { uid: 1000 });
    await a.open(await a.exportRoot(), 'f');
    expectStatus(await h.compound([op.setclientid('shared', Buffer.from('other-vf'))], { minor: 0, uid: 2000 }), nfsstat4.NFS4ERR_CLID_INUSE);
  });

  it('caps client records (RESOURCE past maxClients)', async () => {
    const h = new Nfs4Harness(undefined, { maxClients: 2 });
    await Nfs40TestClient.connect(h, 'a');
    await Nfs40TestClient.connect(h, 'b');
    expectStatus(await h.compound([op.setclientid('c')], { minor: 0 }), nfsstat4.NFS4ERR_RESOURCE);
  });
});

describe('NFSv4.0 opens and seqids', () => {
  it('a new open-owner must OPEN_CONFIRM before its stateid works; then no more confirms', async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    const open = op.open({ seqid: c.next('o'), name: 'f', how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({}) }, owner: { clientid: c.clientid, owner: Buffer.from('o') } });
    const [, r, fh] = await c.ok([op.putfh(root), open, op.getfh()]);
    const res = r as OPEN4resok;
    assert.ok(res.rflags & OPEN4_RESULT_CONFIRM);
    const handle = (fh as { object: Buffer }).object;
    expectStatus(await c.run([op.putfh(handle), op.read(res.stateid, 0n, 10)]), nfsstat4.NFS4ERR_BAD_STATEID, 'unconfirmed');
    const [, oc] = await c.ok([op.putfh(handle), op.openConfirm(res.stateid, c.next('o'))]);
    const confirmed = (oc as { open_stateid: { seqid: number; other: Buffer } }).open_stateid;
    assert.equal(confirmed.seqid, 2);
    await c.ok([op.putfh(handle), op.read(confirmed, 0n, 10)]);
    expectStatus(await c.run([op.putfh(handle), op.openConfirm(confirmed, c.next('o'))]), nfsstat4.NFS4ERR_BAD_STATEID, 'confirmed already');
    c.seqids.set('o', c.seqids.get('o')! - 1); // BAD_STATEID does not use up a seqid
    const second = await c.open(root, 'g', { owner: 'o' });
    assert.equal(second.confirmed, false, 'a confirmed owner is not asked again');
  });

  it('a retransmitted OPEN or CLOSE (same seqid) gets the kept reply; a seqid out of order is BAD_SEQID', async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    const { fh, stateid } = await c.open(root, 'f', { owner: 'o' });
    const seq = c.next('o');
    const openArgs = op.open({ seqid: seq, name: 'g', how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({}) }, owner: { clientid: c.clientid, owner: Buffer.from('o') } });
    const first = await c.run([op.putfh(root), openArgs, op.getfh()]);
    expectStatus(first, nfsstat4.NFS4_OK);
    const opens = h.server.states.size;
    const retry = await c.run([op.putfh(root), openArgs, op.getfh()]);
    expectStatus(retry, nfsstat4.NFS4_OK);
    assert.deepEqual(retry.resarray[1]!.res, first.resarray[1]!.res, 'same OPEN result');
    assert.deepEqual(retry.resarray[2]!.res, first.resarray[2]!.res, 'the filehandle the OPEN left current');
    assert.equal(h.server.states.size, opens);
    expectStatus(await c.run([op.putfh(fh), op.close40(seq + 5, stateid)]), nfsstat4.NFS4ERR_BAD_SEQID);

    const closeSeq = c.next('o');
    const cl = await c.run([op.putfh(fh), op.close40(closeSeq, stateid)]);
    expectStatus(cl, nfsstat4.NFS4_OK);
    const cl2 = await c.run([op.putfh(fh), op.close40(closeSeq, stateid)]);
    expectStatus(cl2, nfsstat4.NFS4_OK, 'a retransmitted CLOSE of a closed open');
    assert.deepEqual((cl2.resarray[1]!.res as CLOSE4resok).open_stateid, (cl.resarray[1]!.res as CLOSE4resok).open_stateid);
    expectStatus(await c.run([op.putfh(fh), op.close40(c.next('o'), stateid)]), nfsstat4.NFS4ERR_BAD_STATEID, 'a new CLOSE of it');
  });

  it('an error other than the stateid/seqid ones advances the seqid (NOENT), a BAD_STATEID does not', async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    const { fh } = await c.open(root, 'f', { owner: 'o' });
    const missing = op.open({ seqid: c.next('o'), name: 'nope', owner: { clientid: c.clientid, owner: Buffer.from('o') } });
    expectStatus(await c.run([op.putfh(root), missing]), nfsstat4.NFS4ERR_NOENT);
    const bogus = { seqid: 1, other: Buffer.concat([Buffer.from(h.server.states.opensOf([...h.server.clients.all()][0]!)[0]!.other.subarray(0, 4)), Buffer.alloc(8, 7)]) };
    const s = c.next('o');
    expectStatus(await c.run([op.putfh(fh), op.close40(s, bogus)]), nfsstat4.NFS4ERR_BAD_STATEID);
    // The BAD_STATEID did not use up `s`: it is still the next one.
    const again = op.open({ seqid: s, name: 'f', owner: { clientid: c.clientid, owner: Buffer.from('o') } });
    expectStatus(await c.run([op.putfh(root), again]), nfsstat4.NFS4_OK);
  });

  it('a retransmitted REMOVE (same xid) gets the first reply from the 4.0 duplicate-request cache', async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    await c.ok([op.putfh(root), op.create({ type: 2 } as never, 'dir')]);
    const first = await c.run([op.putfh(root), op.remove('dir')], { xid: 777 });
    expectStatus(first, nfsstat4.NFS4_OK);
    const retry = await c.run([op.putfh(root), op.remove('dir')], { xid: 777 });
    expectStatus(retry, nfsstat4.NFS4_OK, 'not NOENT: the kept reply');
    expectStatus(await c.run([op.putfh(root), op.remove('dir')], { xid: 778 }), nfsstat4.NFS4ERR_NOENT, 'a new request runs');
    assert.ok(h.server.replyCache40.hits >= 1);
  });

  it('the 4.0 duplicate-request cache keeps only COMPOUNDs that change something; two copies of a REMOVE in flight get one answer', async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    await c.ok([op.putfh(root), op.mkdir('d1')]);
    await c.ok([op.putfh(root), op.mkdir('d2')]);
    const kept = h.server.replyCache40.stats().entries;
    for (let i = 0; i < 8; i++) {
      expectStatus(await c.run([op.putfh(root), op.lookup('d1'), op.getattr(FATTR4_SIZE)], { xid: 900 + i }), nfsstat4.NFS4_OK);
    }
    assert.equal(h.server.replyCache40.stats().entries, kept, 'GETATTR and LOOKUP COMPOUNDs leave nothing in the cache');
    // The same call twice at once (a client's retransmission while the first is running): the REMOVE runs
    // once and both get its reply, not one OK and one NOENT.
    const remove = [op.putfh(root), op.lookup('d1'), op.lookupp(), op.remove('d1')];
    const both = await Promise.all([c.run(remove, { xid: 950 }), c.run(remove, { xid: 950 })]);
    for (const r of both) expectStatus(r, nfsstat4.NFS4_OK, 'both copies answered from the one execution');
    assert.equal(h.server.replyCache40.stats().entries, kept + 1);
    // An idempotent prefix that fails stops the COMPOUND before its REMOVE: nothing is registered.
    expectStatus(await c.run([op.putfh(root), op.lookup('nothing'), op.remove('d2')], { xid: 951 }), nfsstat4.NFS4ERR_NOENT);
    assert.equal(h.server.replyCache40.stats().entries, kept + 1);
    expectStatus(await c.run([op.putfh(root), op.remove('d2')], { xid: 952 }), nfsstat4.NFS4_OK, 'd2 was not removed by the failed COMPOUND');
  });

  it('NFSv4 share reservations hold against core opens (what SMB CREATE takes), both ways', async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    const { fh, stateid } = await c.open(root, 'f', { deny: OPEN4_SHARE_DENY_WRITE });
    const cred = { uid: 0, gid: 0, groups: [] };
    await assert.rejects(h.fs.open(cred, fh, { access: OpenBits.WRITE, shareAccess: 7, owner: 'smb' }), (e: unknown) => e instanceof CoreError && e.errc === Errc.SHARING_VIOLATION);
    const reader = (await h.fs.open(cred, fh, { access: OpenBits.READ, shareAccess: 7, owner: 'smb' })).open;
    await c.ok([op.putfh(fh), op.close40(c.next('owner1'), stateid)]);
    const smb = (await h.fs.open(cred, fh, { access: OpenBits.READ, shareAccess: OpenBits.READ, owner: 'smb' })).open;
    const open = op.open({ seqid: c.next('owner1'), name: 'f', owner: { clientid: c.clientid, owner: Buffer.from('owner1') } });
    expectStatus(await c.run([op.putfh(root), open]), nfsstat4.NFS4ERR_SHARE_DENIED, 'the core open denies writers');
    const ro = op.open({ seqid: c.next('owner1'), name: 'f', share_access: OPEN4_SHARE_ACCESS_READ, owner: { clientid: c.clientid, owner: Buffer.from('owner1') } });
    await c.ok([op.putfh(root), ro]);
    await h.fs.release(smb);
    await h.fs.release(reader);
  });
});

describe('NFSv4 byte-range locks (LOCK, LOCKT, LOCKU, RELEASE_LOCKOWNER)', () => {
  it('conflicts between clients: DENIED with the holder; LOCKU lets the other in; replays and LOCKS_HELD', async () => {
    const h = new Nfs4Harness();
    const a = await Nfs40TestClient.connect(h, 'A');
    const b = await Nfs40TestClient.connect(h, 'B');
    const root = await a.exportRoot();
    const oa = await a.open(root, 'f');
    const ob = await b.open(root, 'f');
    const la = await a.lock(oa.fh, oa.stateid, { offset: 100n, length: 50n });
    expectStatus(la, nfsstat4.NFS4_OK);
    const lockA = a.lockStateid(la);
    assert.equal(lockA.seqid, 1);

    const t = await b.run([op.putfh(ob.fh), op.lockt({ clientid: b.clientid, offset: 120n, length: 1n })]);
    expectStatus(t, nfsstat4.NFS4ERR_DENIED);
    const denied = t.resarray[1]!.res as LOCK4denied;
    assert.deepEqual([denied.offset, denied.length, denied.owner.clientid, denied.owner.owner.toString()], [100n, 50n, a.clientid, 'lockowner1']);
    expectStatus(await b.run([op.putfh(ob.fh), op.lockt({ clientid: b.clientid, offset: 150n, length: 10n })]), nfsstat4.NFS4_OK, 'next to it');
    expectStatus(await b.run([op.putfh(ob.fh), op.lockt({ clientid: b.clientid, offset: 0n, length: 0n })]), nfsstat4.NFS4ERR_INVAL, 'zero length');
    const lb = await b.lock(ob.fh, ob.stateid, { offset: 0n });
    expectStatus(lb, nfsstat4.NFS4ERR_DENIED);
    assert.equal((lb.resarray[1]!.res as LOCK4denied).owner.clientid, a.clientid);
    expectStatus(await a.run([op.releaseLockowner(a.clientid)]), nfsstat4.NFS4ERR_LOCKS_HELD);

    const useq = a.next('lockowner1');
    const u1 = await a.run([op.putfh(oa.fh), op.locku(lockA, { seqid: useq, offset: 0n })]);
    expectStatus(u1, nfsstat4.NFS4_OK);
    const u2 = await a.run([op.putfh(oa.fh), op.locku(lockA, { seqid: useq, offset: 0n })]);
    expectStatus(u2, nfsstat4.NFS4_OK, 'retransmitted LOCKU');
    assert.deepEqual((u2.resarray[1]!.res as LOCKU4resok).lock_stateid, (u1.resarray[1]!.res as LOCKU4resok).lock_stateid);
    expectStatus(await b.lock(ob.fh, ob.stateid, { offset: 0n }), nfsstat4.NFS4_OK);
    expectStatus(await a.run([op.releaseLockowner(a.clientid)]), nfsstat4.NFS4_OK);
    expectStatus(await a.run([op.putfh(oa.fh), op.locku(lockA, { seqid: a.next('lockowner1') })]), nfsstat4.NFS4ERR_BAD_STATEID, 'released');
  });

  it('shared locks coexist; a write lock through a read-only open is OPENMODE; CLOSE drops the locks', async () => {
    const h = new Nfs4Harness();
    const a = await Nfs40TestClient.connect(h, 'A');
    const b = await Nfs40TestClient.connect(h, 'B');
    const root = await a.exportRoot();
    const oa = await a.open(root, 'f');
    const ob = await b.open(root, 'f', { access: OPEN4_SHARE_ACCESS_READ });
    expectStatus(await a.lock(oa.fh, oa.stateid, { write: false }), nfsstat4.NFS4_OK);
    expectStatus(await b.lock(ob.fh, ob.stateid, { write: false }), nfsstat4.NFS4_OK, 'read locks share');
    const b2 = await b.lock(ob.fh, ob.stateid, { owner: 'w' });
    expectStatus(b2, nfsstat4.NFS4ERR_OPENMODE);
    await a.ok([op.putfh(oa.fh), op.close40(a.next('owner1'), oa.stateid)]);
    const la = await Nfs40TestClient.prototype.lock.call(b, ob.fh, ob.stateid, { owner: 'lockowner1' });
    assert.notEqual(la.status, nfsstat4.NFS4ERR_DENIED);
    assert.equal(h.fs.testLock !== undefined, true);
    const conflict = await h.fs.testLock({ uid: 0, gid: 0, groups: [] }, oa.fh, { owner: { protocol: 'smb', key: 'x' }, offset: 0n, length: 10n, exclusive: true });
    assert.equal(conflict?.owner.key.startsWith(b.clientid.toString(16)), true, "only B's read lock is left");
  });

  it('a 4.1 client and a 4.0 client see each other\'s locks; expiry of the 4.0 client frees its lock', async () => {
    let now = 1_000_000;
    const h = new Nfs4Harness(undefined, { now: () => now, leaseSeconds: 10 });
    const a = await Nfs40TestClient.connect(h, 'A');
    const root = await a.exportRoot();
    const oa = await a.open(root, 'f');
    expectStatus(await a.lock(oa.fh, oa.stateid), nfsstat4.NFS4_OK);
    const s = await h.session();
    const { stateid, fh } = await s.createFile(await s.exportRoot(), 'f');
    const lockOp = op.lockNew({ clientid: s.clientid, owner: 'L41' }, stateid);
    expectStatus(await s.run([op.putfh(fh), lockOp]), nfsstat4.NFS4ERR_DENIED);
    now += 12_000;
    await s.ok([]); // the 4.1 client renews (SEQUENCE); the 4.0 one stays silent
    now += 12_000;
    h.server.sweep();
    const ok = await s.run([op.putfh(fh), lockOp]);
    expectStatus(ok, nfsstat4.NFS4_OK, "the expired client's lock is gone");
    const lock = (ok.resarray[2]!.res as { lock_stateid: { seqid: number; other: Buffer } }).lock_stateid;
    const [, rd] = await s.ok([op.putfh(fh), op.read(lock, 0n, 10)]);
    assert.equal((rd as READ4resok).eof, true, 'a lock stateid reads like its open');
    await s.ok([op.putfh(fh), op.locku(lock)]);
  });
});
