/**
 * Regressions for what pynfs (4.0 and 4.1 testserver.py, run by hand against the gateway; CI cannot fetch
 * it) found, each named after the pynfs test that showed it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FATTR4_SIZE, encodeSetAttrs } from '../../../protocols/nfs4/attrs';
import type { ACCESS4resok } from '../../../protocols/nfs4/ops/access';
import type { LOCK4resok } from '../../../protocols/nfs4/ops/lock';
import type { LOCKU4resok } from '../../../protocols/nfs4/ops/locku';
import { FATTR4_FILEHANDLE, FATTR4_FSID, FATTR4_SUPPORTED_ATTRS, FATTR4_TYPE } from '../../../protocols/nfs4/attrs';
import { ACCESS4_ALL, ACCESS4_DELETE, ACCESS4_EXECUTE, ACCESS4_LOOKUP, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_ACCESS_WRITE, OPEN4_SHARE_DENY_READ, createmode4, nfs_ftype4, nfsstat4, type stateid4 } from '../../../protocols/nfs4/types';
import { ANONYMOUS_STATEID } from '../../../protocols/nfs4/stateid';
import { bitmapOf } from '../../../protocols/nfs4/xdr';
import { DEFAULT_FORE, Nfs40TestClient, Nfs4Harness, expectOk, expectStatus, op } from './harness';

describe('pynfs-found regressions', () => {
  it('ACC2: ACCESS supports LOOKUP only on directories and EXECUTE only on non-directories', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'f');
    const onFile = expectOk<ACCESS4resok>(await s.run([op.putfh(f.fh), op.access(ACCESS4_ALL)]), 2);
    assert.equal(onFile.supported & (ACCESS4_LOOKUP | ACCESS4_DELETE), 0);
    const onDir = expectOk<ACCESS4resok>(await s.run([op.putfh(root), op.access(ACCESS4_ALL)]), 2);
    assert.equal(onDir.supported & ACCESS4_EXECUTE, 0);
    assert.ok(onDir.supported & ACCESS4_LOOKUP);
  });

  it('CMT2: COMMIT of a directory is ISDIR, of a symlink SYMLINK; GATT4: unknown attribute numbers are ignored', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    expectStatus(await s.run([op.putfh(root), op.commit()]), nfsstat4.NFS4ERR_ISDIR);
    const [, , l] = await s.ok([op.putfh(root), op.symlink('ln', 'x'), op.getfh()]);
    expectStatus(await s.run([op.putfh((l as { object: Buffer }).object), op.commit()]), nfsstat4.NFS4ERR_SYMLINK);
    const [, ga] = await s.ok([op.putfh(root), { op: op.getattr(1).op, args: { attr_request: bitmapOf([1, 300, 1000]) } }]);
    assert.deepEqual((ga as { obj_attributes: { attrmask: number[] } }).obj_attributes.attrmask, bitmapOf([1]));
  });

  it('SATT16: an empty owner is INVAL; OPEN2: UNCHECKED4 on an existing file ignores attributes but size 0', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'u');
    await s.ok([op.putfh(f.fh), op.write(f.stateid, 0n, Buffer.alloc(32, 1))]);
    const empty = Buffer.alloc(4);
    expectStatus(await s.run([op.putfh(f.fh), op.setattrRaw({ attrmask: [0, 1 << (36 - 32)], attr_vals: empty })]), nfsstat4.NFS4ERR_INVAL);
    await s.createFile(root, 'u', { owner: 'o2' }); // UNCHECKED4 with mode only
    const again = op.open({ name: 'u', how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({ size: 16n }) }, owner: { clientid: s.clientid, owner: Buffer.from('o3') } });
    await s.ok([op.putfh(root), again]);
    assert.equal((await s.attrs(f.fh, FATTR4_SIZE)).get(FATTR4_SIZE), 32n, 'size 16 ignored');
    const trunc = op.open({ name: 'u', how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({ size: 0n }) }, owner: { clientid: s.clientid, owner: Buffer.from('o4') } });
    await s.ok([op.putfh(root), trunc]);
    assert.equal((await s.attrs(f.fh, FATTR4_SIZE)).get(FATTR4_SIZE), 0n, 'size 0 truncates (O_TRUNC)');
  });

  it("OPDG2/OPEN21/OPEN20/OPEN23/OPEN3: downgrade only to an opened mode; an owner's own deny counts; ACCESS before SHARE_DENIED; anonymous READ of a read-denied file is LOCKED", async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    const o = await c.open(root, 'd', { access: OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WRITE, deny: OPEN4_SHARE_DENY_READ });
    const dg = { op: op.openDowngrade(o.stateid, OPEN4_SHARE_ACCESS_READ).op, args: { open_stateid: o.stateid, seqid: c.next('owner1'), share_access: OPEN4_SHARE_ACCESS_READ, share_deny: OPEN4_SHARE_DENY_READ } };
    expectStatus(await c.run([op.putfh(o.fh), dg]), nfsstat4.NFS4ERR_INVAL, 'READ alone was never opened');
    const mine = op.open({ seqid: c.next('owner1'), name: 'd', share_access: OPEN4_SHARE_ACCESS_READ, owner: { clientid: c.clientid, owner: Buffer.from('owner1') } });
    expectStatus(await c.run([op.putfh(root), mine]), nfsstat4.NFS4ERR_SHARE_DENIED, 'the owner denies READ itself');
    expectStatus(await c.run([op.putfh(o.fh), op.read(ANONYMOUS_STATEID, 0n, 10)]), nfsstat4.NFS4ERR_LOCKED);
    await c.ok([op.putfh(o.fh), op.setattr({ mode: 0o700 })]);
    const other = await Nfs40TestClient.connect(h, 'other', { uid: 4242, gid: 4242 });
    const theirs = op.open({ seqid: other.next('x'), name: 'd', share_access: OPEN4_SHARE_ACCESS_READ, owner: { clientid: other.clientid, owner: Buffer.from('x') } });
    expectStatus(await other.run([op.putfh(root), theirs]), nfsstat4.NFS4ERR_ACCESS, 'permission is checked first');
    // OPEN3: a guarded create of the existing name is EXIST, even where the share check would refuse it.
    const guarded = op.open({ seqid: c.next('owner1'), name: 'd', how: { mode: createmode4.GUARDED4, createattrs: encodeSetAttrs({}) }, owner: { clientid: c.clientid, owner: Buffer.from('owner1') } });
    expectStatus(await c.run([op.putfh(root), guarded]), nfsstat4.NFS4ERR_EXIST);
  });

  it('CLOSE8/RENEW3/LOCK13/LOCK24: an expired client\'s stateids are EXPIRED and its locks do not block; a "new" lock-owner reuses its lock stateid', async () => {
    let now = 9_000_000;
    const h = new Nfs4Harness(undefined, { now: () => now, leaseSeconds: 10 });
    const a = await Nfs40TestClient.connect(h, 'A');
    const b = await Nfs40TestClient.connect(h, 'B');
    const root = await a.exportRoot();
    const oa = await a.open(root, 'f');
    const ob = await b.open(root, 'f');
    const la = a.lockStateid(await a.lock(oa.fh, oa.stateid));
    // LOCK24: the same lock-owner as "new" again (after an open upgrade) gets the same lock stateid.
    const again = await a.run([op.putfh(oa.fh), op.lockNew({ clientid: a.clientid, openSeqid: a.next('owner1'), lockSeqid: 5 }, oa.stateid)]);
    expectStatus(again, nfsstat4.NFS4_OK);
    assert.deepEqual((again.resarray[1]!.res as LOCK4resok).lock_stateid.other, la.other);
    now += 11_000; // A's lease ran out; not swept yet: courtesy state
    await b.ok([op.renew(b.clientid)]);
    expectStatus(await b.lock(ob.fh, ob.stateid), nfsstat4.NFS4_OK, "A's lapsed lock gives way");
    expectStatus(await a.run([op.putfh(oa.fh), op.close40(a.next('owner1'), oa.stateid)]), nfsstat4.NFS4ERR_EXPIRED);
    expectStatus(await a.run([op.renew(a.clientid)]), nfsstat4.NFS4ERR_EXPIRED, 'RENEW of a client whose lease expired');
  });

  it('OPEN7a/b/c/d/f/s: OPEN of a non-regular file: ISDIR for a directory, SYMLINK for a symlink, and in 4.0 SYMLINK for a device, socket or fifo (4.1: WRONG_TYPE)', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    await s.ok([op.putfh(root), op.mkdir('dir')]);
    await s.ok([op.putfh(root), op.symlink('link', 'target')]);
    await s.ok([op.putfh(root), op.create({ type: nfs_ftype4.NF4FIFO }, 'fifo')]);
    await s.ok([op.putfh(root), op.create({ type: nfs_ftype4.NF4SOCK }, 'sock')]);
    await s.ok([op.putfh(root), op.create({ type: nfs_ftype4.NF4CHR, devdata: { specdata1: 1, specdata2: 3 } }, 'chr')]);
    await s.ok([op.putfh(root), op.create({ type: nfs_ftype4.NF4BLK, devdata: { specdata1: 8, specdata2: 0 } }, 'blk')]);
    const c = await Nfs40TestClient.connect(h);
    const open40 = (name: string) => op.open({ seqid: c.next('owner1'), name, share_access: OPEN4_SHARE_ACCESS_READ, owner: { clientid: c.clientid, owner: Buffer.from('owner1') } });
    const open41 = (name: string) => op.open({ name, share_access: OPEN4_SHARE_ACCESS_READ, owner: { clientid: s.clientid, owner: Buffer.from('owner1') } });
    expectStatus(await c.run([op.putfh(root), open40('dir')]), nfsstat4.NFS4ERR_ISDIR);
    expectStatus(await s.run([op.putfh(root), open41('dir')]), nfsstat4.NFS4ERR_ISDIR);
    expectStatus(await c.run([op.putfh(root), open40('link')]), nfsstat4.NFS4ERR_SYMLINK);
    expectStatus(await s.run([op.putfh(root), open41('link')]), nfsstat4.NFS4ERR_SYMLINK);
    for (const name of ['fifo', 'sock', 'chr', 'blk']) {
      expectStatus(await c.run([op.putfh(root), open40(name)]), nfsstat4.NFS4ERR_SYMLINK, `4.0 OPEN of ${name}`);
      expectStatus(await s.run([op.putfh(root), open41(name)]), nfsstat4.NFS4ERR_WRONG_TYPE, `4.1 OPEN of ${name}`);
    }
  });

  it('RLOWN/LOCKU: RELEASE_LOCKOWNER answers LOCKS_HELD until every locked byte was unlocked, whether at once or piece by piece', async () => {
    const h = new Nfs4Harness();
    const c = await Nfs40TestClient.connect(h);
    const root = await c.exportRoot();
    const o = await c.open(root, 'f');
    let st: stateid4 = c.lockStateid(await c.lock(o.fh, o.stateid, { offset: 0n, length: 100n }));
    const unlock = async (offset: bigint, length: bigint) => {
      const [, r] = await c.ok([op.putfh(o.fh), op.locku(st, { seqid: c.next('lockowner1'), offset, length })]);
      st = (r as LOCKU4resok).lock_stateid;
    };
    const release = () => c.run([op.releaseLockowner(c.clientid)]);
    // A lock split in the middle, then its ends unlocked one at a time.
    await unlock(20n, 10n);
    expectStatus(await release(), nfsstat4.NFS4ERR_LOCKS_HELD, 'bytes 0-19 and 30-99 are still locked');
    await unlock(0n, 20n);
    expectStatus(await release(), nfsstat4.NFS4ERR_LOCKS_HELD, 'bytes 30-99 are still locked');
    await unlock(30n, 70n);
    expectStatus(await release(), nfsstat4.NFS4_OK, 'nothing held any more');
    // The lock-owner is gone: its stateid no longer works, and another owner can lock the range.
    expectStatus(await c.run([op.putfh(o.fh), op.locku(st, { seqid: 99, offset: 0n, length: 1n })]), nfsstat4.NFS4ERR_BAD_STATEID);
    expectStatus(await c.lock(o.fh, o.stateid, { owner: 'other', offset: 0n, length: 100n }), nfsstat4.NFS4_OK);
    // A lock over the whole file, then the unlock of everything in one LOCKU, as before.
    st = c.lockStateid(await c.lock(o.fh, o.stateid, { owner: 'third', offset: 200n }));
    expectStatus(await c.run([op.releaseLockowner(c.clientid, 'third')]), nfsstat4.NFS4ERR_LOCKS_HELD);
    const [, r] = await c.ok([op.putfh(o.fh), op.locku(st, { seqid: c.next('third') })]);
    assert.ok(r);
    expectStatus(await c.run([op.releaseLockowner(c.clientid, 'third')]), nfsstat4.NFS4_OK);
  });

  it('anonymous-stateid READ/WRITE respect SMB (mandatory) byte-range locks: NFS4ERR_LOCKED on the range, allowed beside it; NFSv4 locks stay advisory', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'm');
    await s.ok([op.putfh(f.fh), op.write(f.stateid, 0n, Buffer.alloc(8192, 7))]);
    await s.ok([op.putfh(f.fh), op.close(f.stateid)]);
    const cred = { uid: 0, gid: 0, groups: [] };
    const smbOwner = { protocol: 'smb' as const, key: 'smb-session-1' };
    await h.fs.lock(cred, f.fh, { owner: smbOwner, offset: 4096n, length: 1024n, exclusive: true, openId: 77n });
    const other = await h.session();
    for (const sess of [s, other]) {
      expectStatus(await sess.run([op.putfh(f.fh), op.read(ANONYMOUS_STATEID, 4000n, 200)]), nfsstat4.NFS4ERR_LOCKED, 'READ over the locked bytes');
      expectStatus(await sess.run([op.putfh(f.fh), op.write(ANONYMOUS_STATEID, 5000n, Buffer.alloc(10))]), nfsstat4.NFS4ERR_LOCKED, 'WRITE into the locked bytes');
      await sess.ok([op.putfh(f.fh), op.read(ANONYMOUS_STATEID, 0n, 4096)]);
      await sess.ok([op.putfh(f.fh), op.write(ANONYMOUS_STATEID, 5120n, Buffer.alloc(10))]);
    }
    await h.fs.unlock(cred, f.fh, { owner: smbOwner, offset: 4096n, length: 1024n });
    await s.ok([op.putfh(f.fh), op.read(ANONYMOUS_STATEID, 4000n, 200)]);
    // An NFSv4 (POSIX) lock does not stop anonymous I/O: advisory, as on Linux.
    const g = await s.createFile(root, 'p');
    const [, lk] = await s.ok([op.putfh(g.fh), op.lockNew({ clientid: s.clientid, offset: 0n, length: 100n }, g.stateid)]);
    assert.ok(lk);
    await other.ok([op.putfh(g.fh), op.write(ANONYMOUS_STATEID, 0n, Buffer.alloc(10))]);
  });

  it('CSESS26: a COMPOUND whose reply would exceed the session\'s ca_maxresponsesize ends with NFS4ERR_REP_TOO_BIG', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ fore: { ...DEFAULT_FORE, ca_maxrequestsize: 400, ca_maxresponsesize: 400, ca_maxresponsesize_cached: 400, ca_maxrequests: 8 } });
    assert.equal(s.created.csr_fore_chan_attrs.ca_maxresponsesize, 400);
    const ga = () => op.getattr(FATTR4_SUPPORTED_ATTRS, FATTR4_TYPE, FATTR4_FSID, FATTR4_FILEHANDLE);
    const big = await s.call([op.putrootfh(), ...Array.from({ length: 10 }, ga)]);
    expectStatus(big.res, nfsstat4.NFS4ERR_REP_TOO_BIG);
    assert.ok(big.res.resarray.length < 12, 'the COMPOUND stopped at the op that overflowed');
    assert.ok(big.bytes.length + 24 <= 400, `reply ${big.bytes.length} bytes + RPC header within the limit`);
    const small = await s.call([op.putrootfh(), ga()]);
    expectStatus(small.res, nfsstat4.NFS4_OK);
    // A session with the usual limits gets the whole reply.
    const roomy = await h.session();
    expectStatus(await roomy.run([op.putrootfh(), ...Array.from({ length: 10 }, ga)]), nfsstat4.NFS4_OK);
  });
});
