import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultExport } from '../../../cluster/vfs/exports';
import {
  FATTR4_FILEHANDLE,
  FATTR4_FILEID,
  FATTR4_FSID,
  FATTR4_MODE,
  FATTR4_MOUNTED_ON_FILEID,
  FATTR4_NUMLINKS,
  FATTR4_OWNER,
  FATTR4_OWNER_GROUP,
  FATTR4_SIZE,
  FATTR4_SUPPORTED_ATTRS,
  FATTR4_TIME_ACCESS_SET,
  FATTR4_TYPE,
  decodeFattr4Values,
} from '../../../protocols/nfs4/attrs';
import { PSEUDO_ROOT_FH } from '../../../protocols/nfs4/fh';
import type { ACCESS4resok } from '../../../protocols/nfs4/ops/access';
import type { CLOSE4resok } from '../../../protocols/nfs4/ops/close';
import type { COMMIT4resok } from '../../../protocols/nfs4/ops/commit';
import type { GETFH4resok } from '../../../protocols/nfs4/ops/getfh';
import type { OPEN4resok } from '../../../protocols/nfs4/ops/open';
import type { READ4resok } from '../../../protocols/nfs4/ops/read';
import type { READDIR4resok } from '../../../protocols/nfs4/ops/readdir';
import type { READLINK4resok } from '../../../protocols/nfs4/ops/readlink';
import type { RENAME4resok } from '../../../protocols/nfs4/ops/rename';
import type { secinfo4 } from '../../../protocols/nfs4/ops/secinfo-common';
import type { SETATTR4resok } from '../../../protocols/nfs4/ops/setattr';
import type { TEST_STATEID4resok } from '../../../protocols/nfs4/ops/test-stateid';
import type { WRITE4resok } from '../../../protocols/nfs4/ops/write';
import { ANONYMOUS_STATEID, BYPASS_STATEID, INVALID_STATEID } from '../../../protocols/nfs4/stateid';
import {
  ACCESS4_DELETE,
  ACCESS4_LOOKUP,
  ACCESS4_MODIFY,
  ACCESS4_READ,
  OPEN4_RESULT_LOCKTYPE_POSIX,
  OPEN4_SHARE_ACCESS_READ,
  OPEN4_SHARE_ACCESS_WRITE,
  OPEN4_SHARE_DENY_WRITE,
  createmode4,
  nfs_ftype4,
  nfsstat4,
  open_claim_type4,
  open_delegation_type4,
  secinfo_style4,
  stable_how4,
} from '../../../protocols/nfs4/types';
import { AUTH_SYS } from '../../../protocols/rpc/types';
import { expectOk, expectStatus, Nfs4Harness, op } from './harness';

const fhOf = (r: unknown): Buffer => (r as GETFH4resok).object;

describe('NFSv4 pseudo filesystem', () => {
  it('PUTROOTFH is the pseudo root: a read-only directory in its own fsid listing the exports', async () => {
    const h = new Nfs4Harness([defaultExport('export', 1), { ...defaultExport('data', 2), path: '/' }]);
    const s = await h.session();
    const root = await s.attrs(PSEUDO_ROOT_FH, FATTR4_TYPE, FATTR4_FSID, FATTR4_MODE, FATTR4_FILEID);
    assert.equal(root.get(FATTR4_TYPE), nfs_ftype4.NF4DIR);
    assert.deepEqual(root.get(FATTR4_FSID), { major: 0n, minor: 0n });
    const [, rd] = await s.ok([op.putrootfh(), op.readdir(0n, undefined, 8192, [FATTR4_TYPE, FATTR4_FSID, FATTR4_MOUNTED_ON_FILEID, FATTR4_FILEHANDLE])]);
    const list = rd as READDIR4resok;
    assert.deepEqual(list.entries.map((e) => e.name.toString()), ['export', 'data']);
    assert.ok(list.eof);
    const first = decodeFattr4Values(list.entries[0]!.attrs);
    assert.equal(first.get(FATTR4_TYPE), nfs_ftype4.NF4DIR);
    assert.deepEqual(first.get(FATTR4_FSID), { major: (await h.fs.getattr({ uid: 0, gid: 0, groups: [] }, await h.fs.rootHandle(1))).fsid, minor: 1n });
    assert.equal(first.get(FATTR4_MOUNTED_ON_FILEID), 3n);
    assert.deepEqual(first.get(FATTR4_FILEHANDLE), await h.fs.rootHandle(1));
  });

  it('LOOKUP crosses into an export root; LOOKUPP at the export root returns to the pseudo root', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const [, , fh, , up] = await s.ok([op.putrootfh(), op.lookup('export'), op.getfh(), op.lookupp(), op.getfh()]);
    assert.deepEqual(fhOf(fh), await h.fs.rootHandle(1));
    assert.deepEqual(fhOf(up), PSEUDO_ROOT_FH);
    expectStatus(await s.run([op.putrootfh(), op.lookupp()]), nfsstat4.NFS4ERR_NOENT);
    expectStatus(await s.run([op.putrootfh(), op.lookup('nope')]), nfsstat4.NFS4ERR_NOENT);
    const attrs = await s.attrs(fhOf(fh), FATTR4_MOUNTED_ON_FILEID, FATTR4_FILEID);
    assert.equal(attrs.get(FATTR4_MOUNTED_ON_FILEID), 3n, 'an export root reports the pseudo directory it is mounted on');
    assert.notEqual(attrs.get(FATTR4_FILEID), 3n);
  });

  it('hides exports the client may not use, and refuses their handles with NFS4ERR_ACCESS', async () => {
    const h = new Nfs4Harness([defaultExport('export', 1), { ...defaultExport('private', 2), clients: [{ match: '10.9.9.9' }] }]);
    const s = await h.session();
    const [, rd] = await s.ok([op.putrootfh(), op.readdir()]);
    assert.deepEqual((rd as READDIR4resok).entries.map((e) => e.name.toString()), ['export']);
    expectStatus(await s.run([op.putrootfh(), op.lookup('private')]), nfsstat4.NFS4ERR_NOENT);
    expectStatus(await s.run([op.putfh(await h.fs.rootHandle(2))]), nfsstat4.NFS4ERR_ACCESS);
  });

  it('refuses changes in the pseudo root and malformed handles', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    expectStatus(await s.run([op.putrootfh(), op.mkdir('x')]), nfsstat4.NFS4ERR_ROFS);
    expectStatus(await s.run([op.putrootfh(), op.createUnchecked('x')]), nfsstat4.NFS4ERR_ROFS);
    expectStatus(await s.run([op.putfh(Buffer.from('not a handle'))]), nfsstat4.NFS4ERR_BADHANDLE);
    const forged = Buffer.from(await h.fs.rootHandle(1));
    forged[27] ^= 1;
    expectStatus(await s.run([op.putfh(forged), op.getattr(FATTR4_TYPE)]), nfsstat4.NFS4ERR_BADHANDLE);
  });

  it('SECINFO_NO_NAME answers AUTH_SYS and consumes the current filehandle', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const [, si] = await s.ok([op.putrootfh(), op.secinfoNoName()]);
    assert.deepEqual((si as secinfo4[]).map((x) => x.flavor), [AUTH_SYS]);
    expectStatus(await s.run([op.putrootfh(), op.secinfoNoName(), op.getfh()]), nfsstat4.NFS4ERR_NOFILEHANDLE);
    expectStatus(await s.run([op.putrootfh(), op.secinfoNoName(secinfo_style4.SECINFO_STYLE4_PARENT)]), nfsstat4.NFS4ERR_NOENT);
  });
});

describe('NFSv4 OPEN / READ / WRITE / COMMIT / CLOSE', () => {
  it('creates, writes, reads back and closes a file', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const { stateid, fh, res } = await s.createFile(root, 'a.txt');
    assert.equal(res.delegation.delegation_type, open_delegation_type4.OPEN_DELEGATE_NONE, 'never a delegation');
    assert.equal(res.rflags, OPEN4_RESULT_LOCKTYPE_POSIX, 'POSIX byte-range locks; no CONFIRM in 4.1');
    assert.equal(stateid.seqid, 1);
    const data = Buffer.from('hello, nfs4 '.repeat(100));
    const [, wr, cm] = await s.ok([op.putfh(fh), op.write(stateid, 0n, data, stable_how4.UNSTABLE4), op.commit()]);
    assert.equal((wr as WRITE4resok).count, data.length);
    assert.deepEqual((cm as COMMIT4resok).writeverf, (wr as WRITE4resok).writeverf);
    const [, rd] = await s.ok([op.putfh(fh), op.read(stateid, 0n, 1 << 20)]);
    assert.deepEqual((rd as READ4resok).data, data);
    assert.equal((rd as READ4resok).eof, true);
    const [, cl] = await s.ok([op.putfh(fh), op.close(stateid)]);
    assert.deepEqual((cl as CLOSE4resok).open_stateid, INVALID_STATEID);
    expectStatus(await s.run([op.putfh(fh), op.read(stateid, 0n, 10)]), nfsstat4.NFS4ERR_BAD_STATEID);
    // Anonymous and bypass stateids read without an open.
    const [, anon] = await s.ok([op.putfh(fh), op.read(ANONYMOUS_STATEID, 7n, 4)]);
    assert.equal((anon as READ4resok).data.toString(), 'nfs4');
    await s.ok([op.putfh(fh), op.read(BYPASS_STATEID, 0n, 4)]);
    // Like knfsd, the bypass stateid also writes (as the anonymous one: no open needed).
    expectStatus(await s.run([op.putfh(fh), op.write(BYPASS_STATEID, 0n, Buffer.from('x'))]), nfsstat4.NFS4_OK);
  });

  it('opening again by the same owner upgrades the open and bumps the seqid; old seqids are OLD_STATEID', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const a = await s.createFile(root, 'b', { access: OPEN4_SHARE_ACCESS_READ });
    expectStatus(await s.run([op.putfh(a.fh), op.write(a.stateid, 0n, Buffer.from('x'))]), nfsstat4.NFS4ERR_OPENMODE);
    const b = await s.createFile(root, 'b', { access: OPEN4_SHARE_ACCESS_WRITE });
    assert.deepEqual(b.stateid.other, a.stateid.other);
    assert.equal(b.stateid.seqid, 2);
    expectStatus(await s.run([op.putfh(a.fh), op.write(a.stateid, 0n, Buffer.from('x'))]), nfsstat4.NFS4ERR_OLD_STATEID);
    await s.ok([op.putfh(b.fh), op.write(b.stateid, 0n, Buffer.from('x'))]);
    await s.ok([op.putfh(b.fh), op.write({ seqid: 0, other: b.stateid.other }, 1n, Buffer.from('y'))]);
    const [, dg] = await s.ok([op.putfh(b.fh), op.openDowngrade(b.stateid, OPEN4_SHARE_ACCESS_READ)]);
    expectStatus(await s.run([op.putfh(b.fh), op.write({ seqid: 0, other: b.stateid.other }, 0n, Buffer.from('z'))]), nfsstat4.NFS4ERR_OPENMODE);
    const [ts] = await s.ok([op.testStateid(a.stateid, (dg as { open_stateid: typeof a.stateid }).open_stateid, ANONYMOUS_STATEID)]);
    assert.deepEqual((ts as TEST_STATEID4resok).tsr_status_codes, [nfsstat4.NFS4ERR_OLD_STATEID, nfsstat4.NFS4_OK, nfsstat4.NFS4ERR_BAD_STATEID]);
    expectStatus(await s.run([op.freeStateid({ seqid: 0, other: b.stateid.other })]), nfsstat4.NFS4ERR_LOCKS_HELD);
    // The special "current" stateid (seqid 1, other 0) names the OPEN just done in this COMPOUND.
    const res = await s.run([op.putfh(root), op.open({ name: 'b', share_access: OPEN4_SHARE_ACCESS_READ, owner: { clientid: s.clientid, owner: Buffer.from('owner1') } }), op.freeStateid({ seqid: 1, other: Buffer.alloc(12) })]);
    expectStatus(res, nfsstat4.NFS4ERR_LOCKS_HELD);
    expectStatus(await s.run([op.freeStateid({ seqid: 0, other: Buffer.alloc(12, 9) })]), nfsstat4.NFS4ERR_BAD_STATEID);
  });

  it('enforces share deny between owners (SHARE_DENIED)', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    await s.createFile(root, 'shared', { owner: 'A', access: OPEN4_SHARE_ACCESS_READ, deny: OPEN4_SHARE_DENY_WRITE });
    const other = await h.session();
    const res = await other.run([
      op.putfh(root),
      op.open({ name: 'shared', share_access: OPEN4_SHARE_ACCESS_WRITE, owner: { clientid: other.clientid, owner: Buffer.from('B') } }),
    ]);
    expectStatus(res, nfsstat4.NFS4ERR_SHARE_DENIED);
    expectStatus(
      await other.run([op.putfh(root), op.open({ name: 'shared', share_access: OPEN4_SHARE_ACCESS_READ, owner: { clientid: other.clientid, owner: Buffer.from('B') } })]),
      nfsstat4.NFS4_OK,
    );
  });

  it('create modes: GUARDED on an existing file is EXIST; EXCLUSIVE4_1 retransmissions open the same file', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    await s.createFile(root, 'g');
    const guarded = op.open({ name: 'g', how: { mode: createmode4.GUARDED4, createattrs: { attrmask: [], attr_vals: Buffer.alloc(0) } } });
    expectStatus(await s.run([op.putfh(root), guarded]), nfsstat4.NFS4ERR_EXIST);
    const excl = (verf: string) =>
      op.open({ name: 'x', how: { mode: createmode4.EXCLUSIVE4_1, cva_verf: Buffer.from(verf), cva_attrs: { attrmask: [], attr_vals: Buffer.alloc(0) } } });
    const [, , f1] = await s.ok([op.putfh(root), excl('verf0001'), op.getfh()]);
    const [, , f2] = await s.ok([op.putfh(root), excl('verf0001'), op.getfh()]);
    assert.deepEqual(fhOf(f2), fhOf(f1));
    expectStatus(await s.run([op.putfh(root), excl('verf0002')]), nfsstat4.NFS4ERR_EXIST);
  });

  it('OPEN errors: NOENT without create, ISDIR for a directory, SYMLINK for a link, NO_GRACE for reclaims', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    await s.ok([op.putfh(root), op.mkdir('dir')]);
    await s.ok([op.putfh(root), op.symlink('ln', 'dir')]);
    expectStatus(await s.run([op.putfh(root), op.open({ name: 'missing' })]), nfsstat4.NFS4ERR_NOENT);
    expectStatus(await s.run([op.putfh(root), op.open({ name: 'dir' })]), nfsstat4.NFS4ERR_ISDIR);
    expectStatus(await s.run([op.putfh(root), op.open({ name: 'ln' })]), nfsstat4.NFS4ERR_SYMLINK);
    expectStatus(await s.run([op.putfh(root), op.open({ name: 'dir', claim: { claim: open_claim_type4.CLAIM_PREVIOUS, delegate_type: 0 } })]), nfsstat4.NFS4ERR_NO_GRACE);
    expectStatus(await s.run([op.putfh(root), op.open({ name: '..' })]), nfsstat4.NFS4ERR_BADNAME);
  });

  it('OPEN checks permission on existing files, not on the file it just created', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ uid: 1000, gid: 1000 });
    const root = await s.exportRoot();
    const ro = await s.createFile(root, 'ro', { mode: 0o444 });
    await s.ok([op.putfh(ro.fh), op.write(ro.stateid, 0n, Buffer.from('created read-only, still writable by this open'))]);
    const other = await h.session({ uid: 2000, gid: 2000 });
    const res = await other.run([op.putfh(root), op.open({ name: 'ro', share_access: OPEN4_SHARE_ACCESS_WRITE, owner: { clientid: other.clientid, owner: Buffer.from('o') } })]);
    expectStatus(res, nfsstat4.NFS4ERR_ACCESS);
  });

  it('CLAIM_FH opens the current filehandle', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'byfh', { owner: 'one' });
    const [, o] = await s.ok([op.putfh(f.fh), op.open({ claim: { claim: open_claim_type4.CLAIM_FH }, owner: { clientid: s.clientid, owner: Buffer.from('two') }, share_access: OPEN4_SHARE_ACCESS_READ })]);
    assert.notDeepEqual((o as OPEN4resok).stateid.other, f.stateid.other);
  });
});

describe('NFSv4 namespace operations', () => {
  it('CREATE makes directories and symlinks (READLINK), not regular files', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const [, , dfh] = await s.ok([op.putfh(root), op.mkdir('sub'), op.getfh()]);
    const sub = await s.attrs(fhOf(dfh), FATTR4_TYPE, FATTR4_NUMLINKS);
    assert.equal(sub.get(FATTR4_TYPE), nfs_ftype4.NF4DIR);
    const [, , rl] = await s.ok([op.putfh(root), op.symlink('link', 'sub/target'), op.readlink()]);
    assert.equal((rl as READLINK4resok).link.toString(), 'sub/target');
    expectStatus(await s.run([op.putfh(root), op.create({ type: nfs_ftype4.NF4REG }, 'reg')]), nfsstat4.NFS4ERR_BADTYPE);
    expectStatus(await s.run([op.putfh(root), op.readlink()]), nfsstat4.NFS4ERR_INVAL);
    expectStatus(await s.run([op.putfh(root), op.mkdir('sub')]), nfsstat4.NFS4ERR_EXIST);
  });

  it('RENAME, LINK and REMOVE (files and empty directories) with change_info', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const [, , dfh] = await s.ok([op.putfh(root), op.mkdir('d'), op.getfh()]);
    const f = await s.createFile(root, 'f');
    const [, , , rn] = await s.ok([op.putfh(root), op.savefh(), op.putfh(fhOf(dfh)), op.rename('f', 'g')]);
    const r = rn as RENAME4resok;
    assert.ok(r.source_cinfo.after > r.source_cinfo.before);
    assert.ok(r.target_cinfo.after > r.target_cinfo.before);
    expectStatus(await s.run([op.putfh(root), op.lookup('f')]), nfsstat4.NFS4ERR_NOENT);
    await s.ok([op.putfh(f.fh), op.savefh(), op.putfh(root), op.link('hard')]);
    assert.equal((await s.attrs(f.fh, FATTR4_NUMLINKS)).get(FATTR4_NUMLINKS), 2);
    expectStatus(await s.run([op.putfh(fhOf(dfh)), op.savefh(), op.putfh(root), op.link('dirlink')]), nfsstat4.NFS4ERR_ISDIR);
    expectStatus(await s.run([op.putfh(root), op.remove('d')]), nfsstat4.NFS4ERR_NOTEMPTY);
    await s.ok([op.putfh(fhOf(dfh)), op.remove('g')]);
    await s.ok([op.putfh(root), op.remove('d')]);
    await s.ok([op.putfh(root), op.remove('hard')]);
    expectStatus(await s.run([op.putfh(root), op.remove('hard')]), nfsstat4.NFS4ERR_NOENT);
    expectStatus(await s.run([op.putfh(root), op.remove('')]), nfsstat4.NFS4ERR_INVAL);
    expectStatus(await s.run([op.putrootfh(), op.savefh(), op.putfh(root), op.rename('a', 'b')]), nfsstat4.NFS4ERR_XDEV);
  });

  it('LOOKUP name rules: empty INVAL, dots BADNAME, too long NAMETOOLONG; in a file NOTDIR, in a symlink SYMLINK', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'file');
    const [, , lnk] = await s.ok([op.putfh(root), op.symlink('sl', 'file'), op.getfh()]);
    expectStatus(await s.run([op.putfh(root), op.lookup('')]), nfsstat4.NFS4ERR_INVAL);
    expectStatus(await s.run([op.putfh(root), op.lookup('.')]), nfsstat4.NFS4ERR_BADNAME);
    expectStatus(await s.run([op.putfh(root), op.lookup('..')]), nfsstat4.NFS4ERR_BADNAME);
    expectStatus(await s.run([op.putfh(root), op.lookup('n'.repeat(300))]), nfsstat4.NFS4ERR_NAMETOOLONG);
    expectStatus(await s.run([op.putfh(f.fh), op.lookup('x')]), nfsstat4.NFS4ERR_NOTDIR);
    expectStatus(await s.run([op.putfh(fhOf(lnk)), op.lookup('x')]), nfsstat4.NFS4ERR_SYMLINK);
  });

  it('READDIR pages with stable cookies (each entry once), checks cookies and verifiers, TOOSMALL for tiny pages', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const [, , dfh] = await s.ok([op.putfh(root), op.mkdir('many'), op.getfh()]);
    const dir = fhOf(dfh);
    for (let i = 0; i < 40; i++) await s.ok([op.putfh(dir), op.mkdir(`e${i}`)]);
    const seen: string[] = [];
    let cookie = 0n;
    let verf: Buffer = Buffer.alloc(8);
    let pages = 0;
    for (;;) {
      const [, rd] = await s.ok([op.putfh(dir), op.readdir(cookie, verf, 400, [FATTR4_TYPE, FATTR4_FILEID])]);
      const page = rd as READDIR4resok;
      pages++;
      for (const e of page.entries) {
        assert.ok(e.cookie >= 3n);
        seen.push(e.name.toString());
        assert.equal(decodeFattr4Values(e.attrs).get(FATTR4_TYPE), nfs_ftype4.NF4DIR);
      }
      if (page.eof) break;
      cookie = page.entries[page.entries.length - 1]!.cookie;
      verf = page.cookieverf;
    }
    assert.ok(pages > 3, `paged (${pages} pages)`);
    assert.deepEqual(seen.sort(), Array.from({ length: 40 }, (_, i) => `e${i}`).sort());
    expectStatus(await s.run([op.putfh(dir), op.readdir(1n)]), nfsstat4.NFS4ERR_BAD_COOKIE);
    expectStatus(await s.run([op.putfh(dir), op.readdir(5n, Buffer.from('badverf!'))]), nfsstat4.NFS4ERR_NOT_SAME);
    expectStatus(await s.run([op.putfh(dir), op.readdir(0n, undefined, 40, [FATTR4_TYPE])]), nfsstat4.NFS4ERR_TOOSMALL);
    expectStatus(await s.run([op.putfh(dir), op.readdir(0n, undefined, 4000, [FATTR4_TIME_ACCESS_SET])]), nfsstat4.NFS4ERR_INVAL);
  });

  it('READDIR of an unchanged directory answers the same bytes again; every change, request or page size shows', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const [, , dfh] = await s.ok([op.putfh(root), op.mkdir('kept'), op.getfh()]);
    const dir = fhOf(dfh);
    const files = [];
    for (let i = 0; i < 30; i++) files.push(await s.createFile(dir, `f${i}`, { mode: 0o644 }));
    // name -> [mode, size] over a whole listing in pages of `maxcount` bytes.
    const list = async (maxcount: number, attrs = [FATTR4_MODE, FATTR4_SIZE]): Promise<Map<string, unknown[]>> => {
      const out = new Map<string, unknown[]>();
      let cookie = 0n;
      let verf: Buffer = Buffer.alloc(8);
      for (;;) {
        const [, rd] = await s.ok([op.putfh(dir), op.readdir(cookie, verf, maxcount, attrs)]);
        const page = rd as READDIR4resok;
        // Each reply within maxcount: cookieverf, entries (value_follows, cookie, name, fattr4), end marker, eof.
        let bytes = 8 + 4 + 4;
        for (const e of page.entries) bytes += 4 + 8 + 4 + ((e.name.length + 3) & ~3) + 4 + 4 * e.attrs.attrmask.length + 4 + ((e.attrs.attr_vals.length + 3) & ~3);
        assert.ok(bytes <= maxcount, `page of ${bytes} bytes for maxcount ${maxcount}`);
        for (const e of page.entries) {
          assert.ok(!out.has(e.name.toString()), `${e.name} listed twice`);
          const v = decodeFattr4Values(e.attrs);
          out.set(e.name.toString(), attrs.map((a) => v.get(a)));
        }
        if (page.eof) return out;
        cookie = page.entries[page.entries.length - 1]!.cookie;
        verf = page.cookieverf;
      }
    };
    const first = await list(600);
    assert.equal(first.size, 30);
    assert.deepEqual(first.get('f7'), [0o644, 0n]);
    assert.deepEqual(await list(600), first);
    // An attribute of one entry changes: the next listing has it.
    await s.ok([op.putfh(files[7]!.fh), op.setattr({ mode: 0o600, size: 5n }, files[7]!.stateid)]);
    const after = await list(600);
    assert.deepEqual(after.get('f7'), [0o600, 5n]);
    assert.deepEqual(after.get('f8'), [0o644, 0n]);
    // An entry comes and one goes.
    await s.createFile(dir, 'new', { mode: 0o640 });
    await s.ok([op.putfh(dir), op.remove('f3')]);
    const changed = await list(600);
    assert.equal(changed.size, 30);
    assert.deepEqual(changed.get('new'), [0o640, 0n]);
    assert.ok(!changed.has('f3'));
    // Another attribute request and other page sizes list the same directory, each with its own attributes.
    const fileids = await list(600, [FATTR4_FILEID]);
    assert.deepEqual([...fileids.keys()].sort(), [...changed.keys()].sort());
    for (const v of fileids.values()) assert.equal(typeof v[0], 'bigint');
    assert.deepEqual(await list(300), changed);
    assert.deepEqual(await list(32768), changed);
    // Page sizes close enough to ask the core for the same batches.
    assert.deepEqual(await list(650), changed);
    assert.deepEqual(await list(600), changed);
  });
});

describe('NFSv4 attributes', () => {
  it('GETATTR returns exactly the supported requested attributes; owners are numeric strings', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ uid: 1234, gid: 567 });
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'owned', { mode: 0o640 });
    const a = await s.attrs(f.fh, FATTR4_TYPE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP, FATTR4_SIZE, 12 /* acl: unsupported */);
    assert.deepEqual([...a.keys()], [FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP]);
    assert.equal(a.get(FATTR4_MODE), 0o640);
    assert.equal((a.get(FATTR4_OWNER) as Buffer).toString(), '1234');
    assert.equal((a.get(FATTR4_OWNER_GROUP) as Buffer).toString(), '567');
    const sup = (await s.attrs(f.fh, FATTR4_SUPPORTED_ATTRS)).get(FATTR4_SUPPORTED_ATTRS) as number[];
    assert.ok(sup[0]! & (1 << FATTR4_TYPE) && sup[1]! & (1 << (FATTR4_MODE - 32)));
    expectStatus(await s.run([op.putfh(f.fh), op.getattr(FATTR4_TIME_ACCESS_SET)]), nfsstat4.NFS4ERR_INVAL);
  });

  it('SETATTR sets mode and size (with an open stateid); attrsset says what was set', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'sz');
    const [, sa] = await s.ok([op.putfh(f.fh), op.setattr({ mode: 0o600, size: 1000n }, f.stateid)]);
    assert.deepEqual((sa as SETATTR4resok).attrsset, [(1 << FATTR4_SIZE) >>> 0, (1 << (FATTR4_MODE - 32)) >>> 0]);
    const a = await s.attrs(f.fh, FATTR4_MODE, FATTR4_SIZE);
    assert.equal(a.get(FATTR4_MODE), 0o600);
    assert.equal(a.get(FATTR4_SIZE), 1000n);
  });

  it('SETATTR errors: unsupported ATTRNOTSUPP, read-only INVAL, bad owner BADOWNER, mode bits INVAL (attrsset empty)', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'e');
    let res = await s.run([op.putfh(f.fh), op.setattrRaw({ attrmask: [1 << 12], attr_vals: Buffer.alloc(4) })]);
    expectStatus(res, nfsstat4.NFS4ERR_ATTRNOTSUPP);
    assert.deepEqual(res.resarray[2]!.res, { attrsset: [] });
    expectStatus(await s.run([op.putfh(f.fh), op.setattrRaw({ attrmask: [1 << FATTR4_TYPE], attr_vals: Buffer.alloc(4) })]), nfsstat4.NFS4ERR_INVAL);
    const owner = Buffer.alloc(12);
    owner.writeUInt32BE(6);
    owner.write('bob@x', 4);
    res = await s.run([op.putfh(f.fh), op.setattrRaw({ attrmask: [0, 1 << (FATTR4_OWNER - 32)], attr_vals: owner })]);
    expectStatus(res, nfsstat4.NFS4ERR_BADOWNER);
    expectStatus(await s.run([op.putfh(f.fh), op.setattr({ mode: 0o10644 })]), nfsstat4.NFS4ERR_INVAL);
    expectStatus(await s.run([op.putfh(f.fh), op.setattrRaw({ attrmask: [1 << FATTR4_SIZE], attr_vals: Buffer.alloc(4) })]), nfsstat4.NFS4ERR_BADXDR);
  });

  it('ACCESS grants what the mode allows and reports the bits it judged', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ uid: 1000, gid: 1000 });
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'acc', { mode: 0o444 });
    const other = await h.session({ uid: 2000, gid: 2000 });
    const [, ac] = await other.ok([op.putfh(f.fh), op.access(ACCESS4_READ | ACCESS4_MODIFY | 0x1000)]);
    assert.deepEqual(ac as ACCESS4resok, { supported: ACCESS4_READ | ACCESS4_MODIFY, access: ACCESS4_READ });
    const [, pr] = await other.ok([op.putrootfh(), op.access(ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_DELETE)]);
    assert.deepEqual(pr as ACCESS4resok, { supported: ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_DELETE, access: ACCESS4_READ | ACCESS4_LOOKUP });
  });
});

describe('NFSv4 export policy', () => {
  it('a read-only export refuses writes, creates and removes with NFS4ERR_ROFS but opens for reading', async () => {
    const h = new Nfs4Harness([{ ...defaultExport('export', 1), readOnly: true }]);
    const root = await h.fs.rootHandle(1);
    const made = await h.fs.create({ uid: 0, gid: 0, groups: [] }, root, Buffer.from('r'), { mode: 0, attrs: { mode: 0o644 } });
    const s = await h.session();
    expectStatus(await s.run([op.putfh(root), op.createUnchecked('new')]), nfsstat4.NFS4ERR_ROFS);
    expectStatus(await s.run([op.putfh(root), op.mkdir('nd')]), nfsstat4.NFS4ERR_ROFS);
    expectStatus(await s.run([op.putfh(root), op.remove('r')]), nfsstat4.NFS4ERR_ROFS);
    expectStatus(await s.run([op.putfh(root), op.open({ name: 'r', share_access: OPEN4_SHARE_ACCESS_WRITE })]), nfsstat4.NFS4ERR_ROFS);
    const [, o] = await s.ok([op.putfh(root), op.open({ name: 'r', share_access: OPEN4_SHARE_ACCESS_READ })]);
    expectStatus(await s.run([op.putfh(made.handle), op.write((o as OPEN4resok).stateid, 0n, Buffer.from('x'))]), nfsstat4.NFS4ERR_ROFS);
    expectStatus(await s.run([op.putfh(made.handle), op.setattr({ mode: 0o600 })]), nfsstat4.NFS4ERR_ROFS);
  });

  it('root squash maps uid 0 to the anonymous ids', async () => {
    const h = new Nfs4Harness([{ ...defaultExport('export', 1), rootSquash: true }]);
    const s = await h.session({ uid: 0, gid: 0 });
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'squashed');
    const a = await s.attrs(f.fh, FATTR4_OWNER);
    assert.equal((a.get(FATTR4_OWNER) as Buffer).toString(), '65534');
    assert.ok(expectOk(await s.run([]), 0));
  });
});
