import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultExport, type ExportConfig } from '../../../cluster/vfs/exports';
import { FileType, type FileSystem } from '../../../cluster/vfs/types';
import { ACCESS } from '../../../protocols/nfs3/procs/access';
import { COMMIT } from '../../../protocols/nfs3/procs/commit';
import { CREATE } from '../../../protocols/nfs3/procs/create';
import { GETATTR } from '../../../protocols/nfs3/procs/getattr';
import { LINK } from '../../../protocols/nfs3/procs/link';
import { LOOKUP } from '../../../protocols/nfs3/procs/lookup';
import { MKDIR } from '../../../protocols/nfs3/procs/mkdir';
import { MKNOD } from '../../../protocols/nfs3/procs/mknod';
import { READ } from '../../../protocols/nfs3/procs/read';
import { REMOVE } from '../../../protocols/nfs3/procs/remove';
import { RENAME } from '../../../protocols/nfs3/procs/rename';
import { RMDIR } from '../../../protocols/nfs3/procs/rmdir';
import { SETATTR } from '../../../protocols/nfs3/procs/setattr';
import { SYMLINK } from '../../../protocols/nfs3/procs/symlink';
import { WRITE } from '../../../protocols/nfs3/procs/write';
import {
  ACCESS3_DELETE,
  ACCESS3_EXTEND,
  ACCESS3_LOOKUP,
  ACCESS3_MODIFY,
  ACCESS3_READ,
  createmode3,
  ftype3,
  nfsstat3,
  stable_how,
} from '../../../protocols/nfs3/types';
import { emptySattr3 } from '../../../protocols/nfs3/xdr';
import { Nfs3Harness } from './harness';
import { createMemoryFileSystem } from '../../../cluster/vfs/memory';

const b = (s: string): Buffer => Buffer.from(s);
const exp = (over: Partial<ExportConfig>): ExportConfig => ({ ...defaultExport('export', 1), ...over });

describe('read-only exports', () => {
  it('every mutating procedure is ROFS (with its failure body); reads and COMMIT pass', async () => {
    // Populate through a writable export of the same volume, then serve it read-only.
    const fs = createMemoryFileSystem([exp({ readOnly: true })]);
    const root = await fs.rootHandle(1);
    const cred = { uid: 1000, gid: 1000, groups: [] };
    const file = (await fs.create(cred, root, b('f'), { mode: 0 })).handle;
    const dir = (await fs.mkdir(cred, root, b('d'), {})).handle;
    const h = new Nfs3Harness([exp({ readOnly: true })], fs);
    const sattr = emptySattr3();
    const calls: Array<[string, Promise<{ res: { status: nfsstat3 } }>]> = [
      ['SETATTR', h.call(SETATTR, { object: file, new_attributes: { ...sattr, mode: 0o600 }, guard: undefined })],
      ['WRITE', h.call(WRITE, { file, offset: 0n, count: 1, stable: stable_how.FILE_SYNC, data: b('x') })],
      ['CREATE', h.call(CREATE, { where: { dir: root, name: b('n') }, how: { mode: createmode3.UNCHECKED, obj_attributes: sattr } })],
      ['MKDIR', h.call(MKDIR, { where: { dir: root, name: b('n') }, attributes: sattr })],
      ['SYMLINK', h.call(SYMLINK, { where: { dir: root, name: b('n') }, symlink: { symlink_attributes: sattr, symlink_data: b('t') } })],
      ['MKNOD', h.call(MKNOD, { where: { dir: root, name: b('n') }, what: { type: ftype3.NF3FIFO, pipe_attributes: sattr } })],
      ['REMOVE', h.call(REMOVE, { object: { dir: root, name: b('f') } })],
      ['RMDIR', h.call(RMDIR, { object: { dir: root, name: b('d') } })],
      ['RENAME', h.call(RENAME, { from: { dir: root, name: b('f') }, to: { dir: dir, name: b('f') } })],
      ['LINK', h.call(LINK, { file, link: { dir, name: b('l') } })],
    ];
    for (const [name, p] of calls) assert.equal(nfsstat3[(await p).res.status], 'NFS3ERR_ROFS', name);
    const w = await h.fails(WRITE, { file, offset: 0n, count: 1, stable: stable_how.FILE_SYNC, data: b('x') }, nfsstat3.NFS3ERR_ROFS);
    assert.equal(w.file_wcc.after?.type, ftype3.NF3REG, 'ROFS failure body has post-op attributes');
    await h.ok(GETATTR, { object: file });
    await h.ok(READ, { file, offset: 0n, count: 10 });
    await h.ok(COMMIT, { file, offset: 0n, count: 0 });
    const acc = await h.ok(ACCESS, { object: root, access: ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE }, { uid: 0, gid: 0 });
    assert.equal(acc.access, ACCESS3_READ | ACCESS3_LOOKUP, 'no write bits on a read-only export');
  });

  it('a read-only client rule makes a writable export read-only for that client only', async () => {
    const cfg = exp({ clients: [{ match: '10.0.0.0/8', readOnly: true }, { match: '*' }] });
    const h = new Nfs3Harness([cfg]);
    const root = await h.root();
    const args = { where: { dir: root, name: b('n') }, how: { mode: createmode3.GUARDED as const, obj_attributes: emptySattr3() } };
    await h.fails(CREATE, args, nfsstat3.NFS3ERR_ROFS, { address: '10.1.2.3' });
    await h.ok(CREATE, args, { address: '192.168.1.1' });
  });
});

describe('client rules, secure ports, credentials', () => {
  it('a client outside the rules gets ACCES with no attributes', async () => {
    const h = new Nfs3Harness([exp({ clients: [{ match: '192.168.0.0/16' }] })]);
    const root = await h.root();
    await h.ok(GETATTR, { object: root }, { address: '192.168.3.4' });
    await h.ok(GETATTR, { object: root }, { address: '::ffff:192.168.3.4' });
    await h.fails(GETATTR, { object: root }, nfsstat3.NFS3ERR_ACCES, { address: '10.0.0.1' });
    const f = await h.fails(LOOKUP, { what: { dir: root, name: b('x') } }, nfsstat3.NFS3ERR_ACCES, { address: '10.0.0.1' });
    assert.equal(f.dir_attributes, undefined);
  });

  it('a secure export refuses source ports ≥ 1024 with PERM', async () => {
    const h = new Nfs3Harness([exp({ secure: true })]);
    const root = await h.root();
    await h.ok(GETATTR, { object: root }, { port: 1023 });
    await h.fails(GETATTR, { object: root }, nfsstat3.NFS3ERR_PERM, { port: 40000 });
  });

  it('root squash: uid 0 acts as the anonymous user', async () => {
    const h = new Nfs3Harness([exp({ rootSquash: true, anonUid: 65534, anonGid: 65533 })]);
    const root = await h.root();
    const ok = await h.ok(CREATE, { where: { dir: root, name: b('r') }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } }, { uid: 0, gid: 0 });
    assert.equal(ok.obj_attributes?.uid, 65534);
    assert.equal(ok.obj_attributes?.gid, 65533);
    // A file only its owner may read stays closed to squashed root.
    const p = await h.create(root, 'private', { uid: 1000, gid: 1000 }, { ...emptySattr3(), mode: 0o600 });
    await h.fails(READ, { file: p, offset: 0n, count: 1 }, nfsstat3.NFS3ERR_ACCES, { uid: 0, gid: 0 });
    // Without squash root reads it.
    const h2 = new Nfs3Harness([exp({})]);
    const r2 = await h2.root();
    const p2 = await h2.create(r2, 'private', { uid: 1000, gid: 1000 }, { ...emptySattr3(), mode: 0o600 });
    await h2.ok(READ, { file: p2, offset: 0n, count: 1 }, { uid: 0, gid: 0 });
  });

  it('AUTH_NONE acts as the export anonymous ids; all squash maps everyone', async () => {
    const h = new Nfs3Harness([exp({ anonUid: 4242, anonGid: 4343 })]);
    const root = await h.root();
    const ok = await h.ok(MKDIR, { where: { dir: root, name: b('anon') }, attributes: emptySattr3() }, { none: true });
    assert.equal(ok.obj_attributes?.uid, 4242);
    const h2 = new Nfs3Harness([exp({ allSquash: true, anonUid: 77, anonGid: 78 })]);
    const ok2 = await h2.ok(MKDIR, { where: { dir: await h2.root(), name: b('x') }, attributes: emptySattr3() }, { uid: 1000 });
    assert.equal(ok2.obj_attributes?.uid, 77);
    assert.equal(ok2.obj_attributes?.gid, 78);
  });
});

describe('errors that are not CoreErrors', () => {
  it('are logged with the request and answered NFS3ERR_SERVERFAULT with the failure body', async () => {
    const real = createMemoryFileSystem();
    const broken: FileSystem = Object.create(real) as FileSystem;
    broken.getattr = async () => {
      throw new TypeError('boom');
    };
    const h = new Nfs3Harness([defaultExport('export', 1)], broken);
    const root = await real.rootHandle(1);
    await h.fails(GETATTR, { object: root }, nfsstat3.NFS3ERR_SERVERFAULT);
    const err = h.logs.find((l) => l.level === 'error');
    assert.ok(err, 'logged');
    assert.equal((err.obj as Record<string, unknown>).proc, 'NFS3_GETATTR');
    assert.equal((err.obj as Record<string, unknown>).export, 'export');
    assert.equal(FileType.DIR, 2);
  });
});
