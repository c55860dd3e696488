/**
 * Restart and reclaim (RFC 7530 §9.6.2, RFC 8881 §8.4.2): clients that held state are recorded in the
 * reclaim store; after a restart the server is in grace: those clients reclaim their opens (CLAIM_PREVIOUS)
 * and locks (LOCK reclaim), everyone else's OPEN/LOCK is NFS4ERR_GRACE, a reclaim by a client that held
 * nothing is NFS4ERR_RECLAIM_BAD, and after the grace period reclaims are NFS4ERR_NO_GRACE. The restart is
 * simulated with a second server over the same volume and store (the first one's state dropped, as a
 * process exit drops it); stateids of the earlier instance are STALE_STATEID.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryReclaimStore } from '../../../cluster/locks/reclaim-store';
import { defaultExport } from '../../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../../cluster/vfs/memory';
import type { LOCK4resok } from '../../../protocols/nfs4/ops/lock';
import type { OPEN4resok } from '../../../protocols/nfs4/ops/open';
import { nfsstat4, open_claim_type4 } from '../../../protocols/nfs4/types';
import { Nfs40TestClient, Nfs4Harness, expectStatus, op } from './harness';

async function crash(h: Nfs4Harness, store: MemoryReclaimStore): Promise<void> {
  // A process exit: state gone, the stored records stay.
  await h.server.flushReclaimRecords();
  const kept = new Map(store.owners);
  for (const c of [...h.server.clients.all()]) h.server.expireClient(c, 'process exit');
  await h.server.flushReclaimRecords();
  store.owners.clear();
  for (const [k, v] of kept) store.owners.set(k, v);
}

describe('NFSv4 grace period and reclaim after a restart', () => {
  it('4.0: the earlier client reclaims its open and lock; a new client gets GRACE, then DENIED after grace', async () => {
    const configs = [defaultExport('export', 1)];
    const fs = createMemoryFileSystem(configs);
    const store = new MemoryReclaimStore();
    let now = 5_000_000;
    const h1 = new Nfs4Harness(configs, { reclaimStore: store, now: () => now }, fs);
    await h1.server.loadReclaim();
    const a1 = await Nfs40TestClient.connect(h1, 'client-A');
    const root = await a1.exportRoot();
    const open1 = await a1.open(root, 'held');
    const lock1 = await a1.lock(open1.fh, open1.stateid);
    expectStatus(lock1, nfsstat4.NFS4_OK);
    await h1.server.flushReclaimRecords();
    assert.equal(store.owners.size, 1, 'the client that took state is recorded');
    await crash(h1, store);

    const h2 = new Nfs4Harness(configs, { reclaimStore: store, now: () => now, graceSeconds: 60 }, fs);
    await h2.server.loadReclaim();
    assert.equal(h2.server.inGrace(), true);
    // The earlier instance's stateids are stale; its client id too.
    expectStatus(await h2.compound([op.putfh(open1.fh), op.read(open1.stateid, 0n, 1)], { minor: 0 }), nfsstat4.NFS4ERR_STALE_STATEID);
    expectStatus(await h2.compound([op.renew(a1.clientid)], { minor: 0 }), nfsstat4.NFS4ERR_STALE_CLIENTID);

    const b = await Nfs40TestClient.connect(h2, 'client-B');
    const bOpen = op.open({ seqid: b.next('o'), name: 'held', owner: { clientid: b.clientid, owner: Buffer.from('o') } });
    expectStatus(await b.run([op.putfh(root), bOpen]), nfsstat4.NFS4ERR_GRACE, 'no new opens during grace');
    const bReclaim = op.open({ seqid: b.next('o'), owner: { clientid: b.clientid, owner: Buffer.from('o') }, claim: { claim: open_claim_type4.CLAIM_PREVIOUS, delegate_type: 0 } });
    expectStatus(await b.run([op.putfh(open1.fh), bReclaim]), nfsstat4.NFS4ERR_RECLAIM_BAD, 'B held nothing before');

    const a2 = await Nfs40TestClient.connect(h2, 'client-A', {});
    const reclaim = op.open({ seqid: a2.next('owner1'), owner: { clientid: a2.clientid, owner: Buffer.from('owner1') }, claim: { claim: open_claim_type4.CLAIM_PREVIOUS, delegate_type: 0 } });
    const r = await a2.run([op.putfh(open1.fh), reclaim]);
    expectStatus(r, nfsstat4.NFS4_OK);
    const stateid = (r.resarray[1]!.res as OPEN4resok).stateid;
    // No OPEN_CONFIRM for a reclaim: the Linux 4.0 client has no filehandle to send one with (found by
    // the kernel restart test: it failed recovery with EBADHANDLE).
    assert.equal((r.resarray[1]!.res as OPEN4resok).rflags & 2, 0, 'no OPEN4_RESULT_CONFIRM on a reclaim');
    const relock = await a2.run([op.putfh(open1.fh), op.lockNew({ clientid: a2.clientid, openSeqid: a2.next('owner1'), reclaim: true }, stateid)]);
    expectStatus(relock, nfsstat4.NFS4_OK, 'the lock is reclaimed');
    const lockStateid = (relock.resarray[1]!.res as LOCK4resok).lock_stateid;

    now += 61_000;
    assert.equal(h2.server.inGrace(), false);
    expectStatus(await a2.run([op.putfh(open1.fh), op.lockNew({ clientid: a2.clientid, owner: 'late', openSeqid: a2.next('owner1'), reclaim: true }, stateid)]), nfsstat4.NFS4ERR_NO_GRACE);
    const bo = await b.open(root, 'held');
    const bl = await b.lock(bo.fh, bo.stateid, { openOwner: 'owner1' });
    expectStatus(bl, nfsstat4.NFS4ERR_DENIED, 'the reclaimed lock still holds against others');
    await a2.ok([op.putfh(open1.fh), op.locku(lockStateid, { seqid: 1 })]);
  });

  it('4.1: CLAIM_PREVIOUS reclaim, new opens GRACE; at the end of grace the records of clients that never came back go', async () => {
    const configs = [defaultExport('export', 1)];
    const fs = createMemoryFileSystem(configs);
    const store = new MemoryReclaimStore();
    const h1 = new Nfs4Harness(configs, { reclaimStore: store }, fs);
    const s1 = await h1.session({ owner: 'linux-41' });
    const f = await s1.createFile(await s1.exportRoot(), 'x');
    await h1.server.flushReclaimRecords();
    await store.add(Buffer.from('vanished'));
    await crash(h1, store);
    assert.equal(store.owners.size, 2);

    const h2 = new Nfs4Harness(configs, { reclaimStore: store, graceSeconds: 600 }, fs);
    await h2.server.loadReclaim();
    const eid = await h2.compound([op.exchangeId('linux-41')]);
    const clientid = (eid.resarray[0]!.res as { eir_clientid: bigint }).eir_clientid;
    const cs = await h2.compound([op.createSession(clientid, 1)]);
    const sid = (cs.resarray[0]!.res as { csr_sessionid: Buffer }).csr_sessionid;
    const seq = (n: number) => op.sequence(sid, n, 0);
    const reclaim = op.open({ owner: { clientid, owner: Buffer.from('owner1') }, claim: { claim: open_claim_type4.CLAIM_PREVIOUS, delegate_type: 0 } });
    expectStatus(await h2.compound([seq(1), op.putfh(f.fh), reclaim]), nfsstat4.NFS4_OK);
    expectStatus(await h2.compound([seq(2), op.putfh(await (async () => f.fh)()), op.open({ name: 'y', owner: { clientid, owner: Buffer.from('owner1') } })]), nfsstat4.NFS4ERR_GRACE);
    assert.equal(h2.server.inGrace(), true, "'vanished' has not come back");
    h2.server.endGrace('test: grace over');
    await h2.server.flushReclaimRecords();
    assert.deepEqual([...store.owners.values()].map((b) => b.toString()), ['linux-41'], 'the client that did not return is forgotten');
    expectStatus(await h2.compound([seq(3), op.reclaimComplete()]), nfsstat4.NFS4_OK);
  });

  it('4.1: RECLAIM_COMPLETE by every earlier client ends the grace period early', async () => {
    const configs = [defaultExport('export', 1)];
    const fs = createMemoryFileSystem(configs);
    const store = new MemoryReclaimStore();
    await store.add(Buffer.from('only-one'));
    const h = new Nfs4Harness(configs, { reclaimStore: store, graceSeconds: 600 }, fs);
    await h.server.loadReclaim();
    assert.equal(h.server.inGrace(), true);
    await h.session({ owner: 'only-one' }); // EXCHANGE_ID, CREATE_SESSION, RECLAIM_COMPLETE
    assert.equal(h.server.inGrace(), false);
  });
});
