import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileType } from '../../../cluster/vfs/types';
import { ACCESS } from '../../../protocols/nfs3/procs/access';
import { CREATE } from '../../../protocols/nfs3/procs/create';
import { FSINFO, FSINFO_PROPERTIES } from '../../../protocols/nfs3/procs/fsinfo';
import { FSSTAT } from '../../../protocols/nfs3/procs/fsstat';
import { GETATTR } from '../../../protocols/nfs3/procs/getattr';
import { LOOKUP } from '../../../protocols/nfs3/procs/lookup';
import { NULL } from '../../../protocols/nfs3/procs/null';
import { PATHCONF } from '../../../protocols/nfs3/procs/pathconf';
import { NFS3_PROCEDURES } from '../../../protocols/nfs3/table';
import {
  ACCESS3_DELETE,
  ACCESS3_EXECUTE,
  ACCESS3_EXTEND,
  ACCESS3_LOOKUP,
  ACCESS3_MODIFY,
  ACCESS3_READ,
  NFSPROC3,
  createmode3,
  ftype3,
  nfsstat3,
} from '../../../protocols/nfs3/types';
import { emptySattr3 } from '../../../protocols/nfs3/xdr';
import { Nfs3Harness, withMode } from './harness';

describe('NFSv3 table and program', () => {
  it('lists the 22 procedures in spec order', () => {
    assert.equal(NFS3_PROCEDURES.length, 22);
    NFS3_PROCEDURES.forEach((d, i) => {
      assert.equal(d.proc, i);
      assert.equal(d.name, NFSPROC3[i]);
    });
  });

  it('marks exactly the Linux-cached procedures (minus WRITE) non-idempotent', () => {
    const h = new Nfs3Harness();
    const cached = [...h.program.procs.values()].filter((p) => p.nonIdempotent).map((p) => p.name).sort();
    assert.deepEqual(cached, ['CREATE', 'LINK', 'MKDIR', 'MKNOD', 'REMOVE', 'RENAME', 'RMDIR', 'SETATTR', 'SYMLINK']);
    assert.equal(h.program.prog, 100003);
    assert.equal(h.program.vers, 3);
  });

  it('NULL answers an empty body', async () => {
    const h = new Nfs3Harness();
    const { size } = await h.call(NULL, undefined);
    assert.equal(size, 0);
  });
});

describe('GETATTR / LOOKUP', () => {
  it('GETATTR on the export root returns a directory', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const ok = await h.ok(GETATTR, { object: root });
    assert.equal(ok.obj_attributes.type, ftype3.NF3DIR);
    const core = await h.fs.getattr({ uid: 0, gid: 0, groups: [] }, root);
    assert.equal(ok.obj_attributes.fileid, core.fileId);
    assert.equal(ok.obj_attributes.fsid, core.fsid);
    assert.equal(ok.obj_attributes.mode, core.mode & 0o7777);
    assert.equal(BigInt(ok.obj_attributes.mtime.seconds) * 1_000_000_000n + BigInt(ok.obj_attributes.mtime.nseconds), core.mtime);
  });

  it('LOOKUP finds a created file; NOENT carries the directory attributes', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const fh = await h.create(root, 'a.txt');
    const ok = await h.ok(LOOKUP, { what: { dir: root, name: Buffer.from('a.txt') } });
    assert.deepEqual(ok.object, fh);
    assert.equal(ok.obj_attributes?.type, ftype3.NF3REG);
    assert.equal(ok.dir_attributes?.type, ftype3.NF3DIR);
    const fail = await h.fails(LOOKUP, { what: { dir: root, name: Buffer.from('nope') } }, nfsstat3.NFS3ERR_NOENT);
    assert.equal(fail.dir_attributes?.type, ftype3.NF3DIR);
  });

  it("'..' at the export root stays at the root; '.' is the directory itself", async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    assert.deepEqual(await h.lookup(root, '..'), root);
    assert.deepEqual(await h.lookup(root, '.'), root);
    const sub = await h.mkdir(root, 'sub');
    assert.deepEqual(await h.lookup(sub, '..'), root);
  });

  it("rejects names with '/', NUL, empty and over 255 bytes", async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    for (const name of [Buffer.from('a/b'), Buffer.from('a\0b')]) {
      const f = await h.fails(LOOKUP, { what: { dir: root, name } }, nfsstat3.NFS3ERR_INVAL);
      assert.equal(f.dir_attributes?.type, ftype3.NF3DIR);
    }
    // The core answers an empty LOOKUP name like POSIX lookup(""): NOENT. Creating it is INVAL.
    await h.fails(LOOKUP, { what: { dir: root, name: Buffer.alloc(0) } }, nfsstat3.NFS3ERR_NOENT);
    for (const name of [Buffer.from('a/b'), Buffer.from('a\0b'), Buffer.alloc(0)]) {
      const f = await h.fails(
        CREATE,
        { where: { dir: root, name }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } },
        nfsstat3.NFS3ERR_INVAL,
      );
      assert.equal(f.dir_wcc.after?.type, ftype3.NF3DIR);
    }
    await h.fails(
      CREATE,
      { where: { dir: root, name: Buffer.alloc(256, 0x62) }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } },
      nfsstat3.NFS3ERR_NAMETOOLONG,
    );
    await h.fails(LOOKUP, { what: { dir: root, name: Buffer.alloc(256, 0x61) } }, nfsstat3.NFS3ERR_NAMETOOLONG);
    // 255 bytes is legal: only NOENT.
    await h.fails(LOOKUP, { what: { dir: root, name: Buffer.alloc(255, 0x61) } }, nfsstat3.NFS3ERR_NOENT);
  });

  it('LOOKUP in a regular file is NOTDIR', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    await h.fails(LOOKUP, { what: { dir: fh, name: Buffer.from('x') } }, nfsstat3.NFS3ERR_NOTDIR);
  });

  it('malformed handle → BADHANDLE; forged handle → BADHANDLE; removed file → STALE', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    await h.fails(GETATTR, { object: Buffer.alloc(10) }, nfsstat3.NFS3ERR_BADHANDLE);
    const forged = Buffer.from(root);
    forged[12] ^= 1;
    await h.fails(GETATTR, { object: forged }, nfsstat3.NFS3ERR_BADHANDLE);
    const fh = await h.create(root, 'gone');
    await h.fs.remove({ uid: 0, gid: 0, groups: [] }, root, Buffer.from('gone'));
    await h.fails(GETATTR, { object: fh }, nfsstat3.NFS3ERR_STALE);
  });

  it('a handle of an unknown export → STALE, with no attributes', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const other = Buffer.from(root);
    other.writeUInt32BE(99, 4);
    const f = await h.fails(ACCESS, { object: other, access: ACCESS3_READ }, nfsstat3.NFS3ERR_STALE);
    assert.equal(f.obj_attributes, undefined);
  });
});

describe('ACCESS', () => {
  const ALL = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE | ACCESS3_EXECUTE;

  it('grants the owner what the mode allows and others less', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const fh = await h.create(root, 'f', {}, withMode(0o640));
    const own = await h.ok(ACCESS, { object: fh, access: ALL });
    assert.equal(own.access & (ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND), ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND);
    assert.equal(own.access & ACCESS3_EXECUTE, 0);
    assert.equal(own.obj_attributes?.type, ftype3.NF3REG);
    const other = await h.ok(ACCESS, { object: fh, access: ALL }, { uid: 2000, gid: 2000 });
    assert.equal(other.access & (ACCESS3_READ | ACCESS3_MODIFY), 0);
    // Never more than asked.
    const some = await h.ok(ACCESS, { object: fh, access: ACCESS3_READ });
    assert.equal(some.access, ACCESS3_READ);
  });
});

describe('FSINFO / FSSTAT / PATHCONF', () => {
  it('FSINFO reports the core limits and properties', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const ok = await h.ok(FSINFO, { fsroot: root });
    const l = h.fs.limits;
    assert.equal(ok.rtmax, l.maxRead);
    assert.equal(ok.wtmax, l.maxWrite);
    assert.equal(ok.rtpref, Math.min(l.preferredRead, l.maxRead));
    assert.equal(ok.dtpref, l.preferredReaddir);
    assert.equal(ok.maxfilesize, l.maxFileSize);
    assert.equal(ok.rtmult, 4096);
    assert.equal(BigInt(ok.time_delta.seconds) * 1_000_000_000n + BigInt(ok.time_delta.nseconds), l.timeDeltaNs);
    assert.equal(ok.properties, FSINFO_PROPERTIES);
    assert.equal(ok.obj_attributes?.type, ftype3.NF3DIR);
  });

  it('FSSTAT carries statfs numbers and invarsec 0', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const ok = await h.ok(FSSTAT, { fsroot: root });
    const { stat } = await h.fs.statfs({ uid: 0, gid: 0, groups: [] }, root);
    assert.equal(ok.tbytes, stat.totalBytes);
    assert.equal(ok.afiles, stat.availFiles);
    assert.equal(ok.invarsec, 0);
  });

  it('PATHCONF reports name_max and linkmax', async () => {
    const h = new Nfs3Harness();
    const ok = await h.ok(PATHCONF, { object: await h.root() });
    assert.equal(ok.name_max, h.fs.limits.maxNameBytes);
    assert.equal(ok.linkmax, h.fs.limits.maxLink);
    assert.equal(ok.no_trunc, true);
    assert.equal(ok.case_preserving, true);
  });

  it('FileType and ftype3 agree', () => {
    assert.equal(ftype3.NF3LNK as number, FileType.LNK as number);
  });
});
