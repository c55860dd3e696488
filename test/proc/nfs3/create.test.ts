import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CREATE } from '../../../protocols/nfs3/procs/create';
import { GETATTR } from '../../../protocols/nfs3/procs/getattr';
import { MKDIR } from '../../../protocols/nfs3/procs/mkdir';
import { MKNOD } from '../../../protocols/nfs3/procs/mknod';
import { READLINK } from '../../../protocols/nfs3/procs/readlink';
import { SETATTR } from '../../../protocols/nfs3/procs/setattr';
import { SYMLINK } from '../../../protocols/nfs3/procs/symlink';
import { createmode3, ftype3, nfsstat3 } from '../../../protocols/nfs3/types';
import { emptySattr3 } from '../../../protocols/nfs3/xdr';
import { Nfs3Harness, withMode } from './harness';

const name = (s: string): Buffer => Buffer.from(s);

describe('CREATE', () => {
  it('UNCHECKED creates with the given mode, owned by the caller; again it succeeds on the same file', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const args = { where: { dir: root, name: name('u') }, how: { mode: createmode3.UNCHECKED as const, obj_attributes: withMode(0o600) } };
    const a = await h.ok(CREATE, args);
    assert.ok(a.obj);
    assert.equal(a.obj_attributes?.mode, 0o600);
    assert.equal(a.obj_attributes?.uid, 1000);
    assert.equal(a.obj_attributes?.type, ftype3.NF3REG);
    assert.ok(a.dir_wcc.before, 'pre-op dir attributes');
    assert.ok(a.dir_wcc.after, 'post-op dir attributes');
    const b = await h.ok(CREATE, args);
    assert.deepEqual(b.obj, a.obj);
  });

  it('GUARDED fails EXIST on an existing name, with dir_wcc', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    await h.create(root, 'g');
    const f = await h.fails(
      CREATE,
      { where: { dir: root, name: name('g') }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } },
      nfsstat3.NFS3ERR_EXIST,
    );
    assert.equal(f.dir_wcc.after?.type, ftype3.NF3DIR);
  });

  it('EXCLUSIVE: a retransmission with the same verifier returns the same file; another verifier gets EXIST', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const verf = Buffer.from('01234567');
    const args = { where: { dir: root, name: name('x') }, how: { mode: createmode3.EXCLUSIVE as const, verf } };
    const first = await h.ok(CREATE, args);
    assert.ok(first.obj);
    const again = await h.ok(CREATE, args);
    assert.deepEqual(again.obj, first.obj);
    await h.fails(CREATE, { ...args, how: { mode: createmode3.EXCLUSIVE, verf: Buffer.from('76543210') } }, nfsstat3.NFS3ERR_EXIST);
    // The client then sets the attributes.
    const s = await h.ok(SETATTR, { object: first.obj, new_attributes: withMode(0o644), guard: undefined });
    assert.equal(s.obj_wcc.after?.mode, 0o644);
  });

  it('CREATE in a directory the caller cannot write is ACCES', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const ok = await h.ok(MKDIR, { where: { dir: root, name: name('private') }, attributes: withMode(0o755) });
    assert.ok(ok.obj);
    const f = await h.fails(
      CREATE,
      { where: { dir: ok.obj, name: name('f') }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } },
      nfsstat3.NFS3ERR_ACCES,
      { uid: 2000, gid: 2000 },
    );
    assert.equal(f.dir_wcc.after?.type, ftype3.NF3DIR);
  });
});

describe('MKDIR / SYMLINK / MKNOD', () => {
  it('MKDIR creates a directory; twice is EXIST', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const ok = await h.ok(MKDIR, { where: { dir: root, name: name('d') }, attributes: withMode(0o750) });
    assert.equal(ok.obj_attributes?.type, ftype3.NF3DIR);
    assert.equal(ok.obj_attributes?.mode, 0o750);
    assert.equal(ok.dir_wcc.after?.nlink, (ok.dir_wcc.after?.nlink ?? 0));
    await h.fails(MKDIR, { where: { dir: root, name: name('d') }, attributes: emptySattr3() }, nfsstat3.NFS3ERR_EXIST);
  });

  it('SYMLINK stores the target bytes; READLINK returns them', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const target = Buffer.from('../some/where\xff', 'latin1');
    const ok = await h.ok(SYMLINK, {
      where: { dir: root, name: name('l') },
      symlink: { symlink_attributes: emptySattr3(), symlink_data: target },
    });
    assert.equal(ok.obj_attributes?.type, ftype3.NF3LNK);
    assert.ok(ok.obj);
    const rl = await h.ok(READLINK, { symlink: ok.obj });
    assert.deepEqual(rl.data, target);
    assert.equal(rl.symlink_attributes?.type, ftype3.NF3LNK);
    const file = await h.create(root, 'f');
    const f = await h.fails(READLINK, { symlink: file }, nfsstat3.NFS3ERR_INVAL);
    assert.equal(f.symlink_attributes?.type, ftype3.NF3REG);
  });

  it('MKNOD of a FIFO / socket / device, and NF3REG/NF3DIR/NF3LNK are BADTYPE', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const fifo = await h.call(MKNOD, { where: { dir: root, name: name('p') }, what: { type: ftype3.NF3FIFO, pipe_attributes: withMode(0o644) } });
    if (fifo.res.status === nfsstat3.NFS3_OK) {
      assert.equal(fifo.res.resok.obj_attributes?.type, ftype3.NF3FIFO);
    } else {
      assert.equal(nfsstat3[fifo.res.status], 'NFS3ERR_NOTSUPP');
    }
    const chr = await h.call(MKNOD, {
      where: { dir: root, name: name('c') },
      what: { type: ftype3.NF3CHR, device: { dev_attributes: withMode(0o600), spec: { specdata1: 1, specdata2: 3 } } },
    }, { uid: 0, gid: 0 });
    if (chr.res.status === nfsstat3.NFS3_OK) {
      assert.equal(chr.res.resok.obj_attributes?.type, ftype3.NF3CHR);
      assert.deepEqual(chr.res.resok.obj_attributes?.rdev, { specdata1: 1, specdata2: 3 });
      const g = await h.ok(GETATTR, { object: chr.res.resok.obj! });
      assert.deepEqual(g.obj_attributes.rdev, { specdata1: 1, specdata2: 3 });
    } else {
      assert.ok(['NFS3ERR_NOTSUPP', 'NFS3ERR_PERM'].includes(nfsstat3[chr.res.status]!));
    }
    for (const type of [ftype3.NF3REG, ftype3.NF3DIR, ftype3.NF3LNK] as const) {
      const f = await h.fails(MKNOD, { where: { dir: root, name: name('bad') }, what: { type } }, nfsstat3.NFS3ERR_BADTYPE);
      assert.equal(f.dir_wcc.after?.type, ftype3.NF3DIR);
    }
  });
});
