import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultExport } from '../../../cluster/vfs/exports';
import { GETATTR } from '../../../protocols/nfs3/procs/getattr';
import { LINK } from '../../../protocols/nfs3/procs/link';
import { REMOVE } from '../../../protocols/nfs3/procs/remove';
import { RENAME } from '../../../protocols/nfs3/procs/rename';
import { RMDIR } from '../../../protocols/nfs3/procs/rmdir';
import { ftype3, nfsstat3, type wcc_data } from '../../../protocols/nfs3/types';
import { Nfs3Harness } from './harness';

const b = (s: string): Buffer => Buffer.from(s);

function assertFullWcc(w: wcc_data, what: string): void {
  assert.ok(w.before, `${what}: pre-op attributes`);
  assert.ok(w.after, `${what}: post-op attributes`);
  assert.equal(w.after.type, ftype3.NF3DIR);
}

describe('REMOVE / RMDIR', () => {
  it('REMOVE gives dir_wcc; the handle goes STALE; missing name is NOENT with post-op dir attributes', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const fh = await h.create(root, 'f');
    const ok = await h.ok(REMOVE, { object: { dir: root, name: b('f') } });
    assertFullWcc(ok.dir_wcc, 'REMOVE');
    await h.fails(GETATTR, { object: fh }, nfsstat3.NFS3ERR_STALE);
    const f = await h.fails(REMOVE, { object: { dir: root, name: b('f') } }, nfsstat3.NFS3ERR_NOENT);
    assert.equal(f.dir_wcc.before, undefined);
    assert.equal(f.dir_wcc.after?.type, ftype3.NF3DIR);
  });

  it('RMDIR of a non-empty directory is NOTEMPTY; of an empty one succeeds; REMOVE of a dir fails', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const d = await h.mkdir(root, 'd');
    await h.create(d, 'inner');
    await h.fails(RMDIR, { object: { dir: root, name: b('d') } }, nfsstat3.NFS3ERR_NOTEMPTY);
    const rm = await h.call(REMOVE, { object: { dir: root, name: b('d') } });
    assert.ok(['NFS3ERR_ISDIR', 'NFS3ERR_PERM', 'NFS3ERR_ACCES'].includes(nfsstat3[rm.res.status]!), nfsstat3[rm.res.status]);
    await h.ok(REMOVE, { object: { dir: d, name: b('inner') } });
    const ok = await h.ok(RMDIR, { object: { dir: root, name: b('d') } });
    assertFullWcc(ok.dir_wcc, 'RMDIR');
    await h.fails(RMDIR, { object: { dir: root, name: b('.') } }, nfsstat3.NFS3ERR_INVAL);
  });
});

describe('RENAME', () => {
  it('renames across directories with both wcc_data; the handle keeps working', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const a = await h.mkdir(root, 'a');
    const c = await h.mkdir(root, 'c');
    const fh = await h.create(a, 'f');
    const ok = await h.ok(RENAME, { from: { dir: a, name: b('f') }, to: { dir: c, name: b('g') } });
    assertFullWcc(ok.fromdir_wcc, 'fromdir');
    assertFullWcc(ok.todir_wcc, 'todir');
    assert.deepEqual(await h.lookup(c, 'g'), fh);
    await h.fails(RENAME, { from: { dir: a, name: b('f') }, to: { dir: c, name: b('h') } }, nfsstat3.NFS3ERR_NOENT);
  });

  it('failure carries post-op attributes for both directories', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const a = await h.mkdir(root, 'a');
    const f = await h.fails(RENAME, { from: { dir: root, name: b('missing') }, to: { dir: a, name: b('x') } }, nfsstat3.NFS3ERR_NOENT);
    assert.equal(f.fromdir_wcc.after?.type, ftype3.NF3DIR);
    assert.equal(f.todir_wcc.after?.type, ftype3.NF3DIR);
    assert.notEqual(f.fromdir_wcc.after?.fileid, f.todir_wcc.after?.fileid);
  });

  it('replaces an existing target file', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const src = await h.create(root, 'src');
    const dst = await h.create(root, 'dst');
    await h.ok(RENAME, { from: { dir: root, name: b('src') }, to: { dir: root, name: b('dst') } });
    assert.deepEqual(await h.lookup(root, 'dst'), src);
    await h.fails(GETATTR, { object: dst }, nfsstat3.NFS3ERR_STALE);
  });
});

describe('LINK', () => {
  it('links with file_attributes (nlink 2) and linkdir_wcc; linking a directory fails', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const fh = await h.create(root, 'f');
    const ok = await h.ok(LINK, { file: fh, link: { dir: root, name: b('g') } });
    assert.equal(ok.file_attributes?.nlink, 2);
    assertFullWcc(ok.linkdir_wcc, 'LINK');
    assert.deepEqual(await h.lookup(root, 'g'), fh);
    const f = await h.fails(LINK, { file: fh, link: { dir: root, name: b('g') } }, nfsstat3.NFS3ERR_EXIST);
    assert.equal(f.file_attributes?.nlink, 2);
    assert.equal(f.linkdir_wcc.after?.type, ftype3.NF3DIR);
    const d = await h.mkdir(root, 'd');
    const fd = await h.call(LINK, { file: d, link: { dir: root, name: b('dlink') } });
    assert.notEqual(fd.res.status, nfsstat3.NFS3_OK);
  });
});

describe('across exports', () => {
  it('RENAME and LINK between two exports are XDEV, with no attributes', async () => {
    const h = new Nfs3Harness([defaultExport('one', 1), defaultExport('two', 2)]);
    const r1 = await h.root(1);
    const r2 = await h.root(2);
    const fh = await h.create(r1, 'f');
    const rn = await h.fails(RENAME, { from: { dir: r1, name: b('f') }, to: { dir: r2, name: b('f') } }, nfsstat3.NFS3ERR_XDEV);
    assert.equal(rn.fromdir_wcc.after, undefined);
    await h.fails(LINK, { file: fh, link: { dir: r2, name: b('f') } }, nfsstat3.NFS3ERR_XDEV);
  });
});
