import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMIT } from '../../../protocols/nfs3/procs/commit';
import { GETATTR } from '../../../protocols/nfs3/procs/getattr';
import { READ } from '../../../protocols/nfs3/procs/read';
import { SETATTR } from '../../../protocols/nfs3/procs/setattr';
import { WRITE } from '../../../protocols/nfs3/procs/write';
import { ftype3, nfsstat3, stable_how, time_how } from '../../../protocols/nfs3/types';
import { emptySattr3 } from '../../../protocols/nfs3/xdr';
import { Nfs3Harness } from './harness';

describe('WRITE / READ / COMMIT', () => {
  it('writes, reads back, and every reply carries the same write verifier as COMMIT', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    const data = Buffer.from('hello, world\n'.repeat(100));
    const w = await h.ok(WRITE, { file: fh, offset: 0n, count: data.length, stable: stable_how.UNSTABLE, data });
    assert.equal(w.count, data.length);
    assert.ok(w.committed >= stable_how.UNSTABLE);
    assert.equal(w.verf.length, 8);
    assert.deepEqual(w.verf, h.fs.writeVerifier());
    assert.equal(w.file_wcc.before?.size, 0n);
    assert.equal(w.file_wcc.after?.size, BigInt(data.length));

    const c = await h.ok(COMMIT, { file: fh, offset: 0n, count: 0 });
    assert.deepEqual(c.verf, w.verf);
    assert.equal(c.file_wcc.after?.size, BigInt(data.length));

    const r = await h.ok(READ, { file: fh, offset: 0n, count: 1 << 16 });
    assert.deepEqual(r.data, data);
    assert.equal(r.count, data.length);
    assert.equal(r.eof, true);
    assert.equal(r.file_attributes?.size, BigInt(data.length));

    const mid = await h.ok(READ, { file: fh, offset: 13n, count: 13 });
    assert.equal(mid.data.toString(), 'hello, world\n');
    assert.equal(mid.eof, false);
    const past = await h.ok(READ, { file: fh, offset: 100000n, count: 10 });
    assert.equal(past.count, 0);
    assert.equal(past.eof, true);
  });

  it('FILE_SYNC writes report FILE_SYNC committed', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    const w = await h.write(fh, 0n, Buffer.from('x'), stable_how.FILE_SYNC);
    assert.equal(w.committed, stable_how.FILE_SYNC);
  });

  it('count differing from the data length is INVAL with file_wcc', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    const f = await h.fails(WRITE, { file: fh, offset: 0n, count: 5, stable: stable_how.FILE_SYNC, data: Buffer.from('abc') }, nfsstat3.NFS3ERR_INVAL);
    assert.equal(f.file_wcc.after?.size, 0n);
  });

  it('READ count is capped at rtmax (maxRead)', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'big');
    const max = h.fs.limits.maxRead;
    const data = Buffer.alloc(max + 4096, 7);
    for (let off = 0; off < data.length; off += h.fs.limits.maxWrite) {
      const chunk = data.subarray(off, off + h.fs.limits.maxWrite);
      await h.write(fh, BigInt(off), chunk);
    }
    const r = await h.ok(READ, { file: fh, offset: 0n, count: 0xffffffff });
    assert.equal(r.count, max);
    assert.equal(r.eof, false);
  });

  it('READ of a directory is ISDIR with its attributes; WRITE to a directory is ISDIR', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const f = await h.fails(READ, { file: root, offset: 0n, count: 10 }, nfsstat3.NFS3ERR_ISDIR);
    assert.equal(f.file_attributes?.type, ftype3.NF3DIR);
    await h.fails(WRITE, { file: root, offset: 0n, count: 1, stable: stable_how.UNSTABLE, data: Buffer.from('x') }, nfsstat3.NFS3ERR_ISDIR);
  });

  it('READ by a user without read permission is ACCES', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'secret', {}, { ...emptySattr3(), mode: 0o600 });
    await h.write(fh, 0n, Buffer.from('s3cr3t'));
    await h.fails(READ, { file: fh, offset: 0n, count: 10 }, nfsstat3.NFS3ERR_ACCES, { uid: 2000, gid: 2000 });
  });
});

describe('SETATTR', () => {
  it('truncates and sets times; wcc before/after', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    await h.write(fh, 0n, Buffer.from('0123456789'));
    const s = await h.ok(SETATTR, {
      object: fh,
      new_attributes: {
        ...emptySattr3(),
        size: 4n,
        mtime: { set_it: time_how.SET_TO_CLIENT_TIME, time: { seconds: 1_000_000, nseconds: 5 } },
        atime: { set_it: time_how.SET_TO_SERVER_TIME },
      },
      guard: undefined,
    });
    assert.equal(s.obj_wcc.before?.size, 10n);
    assert.equal(s.obj_wcc.after?.size, 4n);
    assert.deepEqual(s.obj_wcc.after?.mtime, { seconds: 1_000_000, nseconds: 5 });
    const g = await h.ok(GETATTR, { object: fh });
    assert.equal(g.obj_attributes.size, 4n);
  });

  it('a guard equal to the ctime applies; a stale guard is NOT_SYNC with obj_wcc', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    const before = (await h.ok(GETATTR, { object: fh })).obj_attributes;
    const ok = await h.ok(SETATTR, { object: fh, new_attributes: { ...emptySattr3(), mode: 0o600 }, guard: before.ctime });
    assert.equal(ok.obj_wcc.after?.mode, 0o600);
    const f = await h.fails(
      SETATTR,
      { object: fh, new_attributes: { ...emptySattr3(), mode: 0o644 }, guard: before.ctime },
      nfsstat3.NFS3ERR_NOT_SYNC,
    );
    assert.equal(f.obj_wcc.after?.mode, 0o600);
  });

  it('nseconds ≥ 10^9 is INVAL; chown by a non-owner is PERM', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    await h.fails(
      SETATTR,
      { object: fh, new_attributes: { ...emptySattr3(), mtime: { set_it: time_how.SET_TO_CLIENT_TIME, time: { seconds: 1, nseconds: 1_000_000_000 } } }, guard: undefined },
      nfsstat3.NFS3ERR_INVAL,
    );
    const f = await h.fails(SETATTR, { object: fh, new_attributes: { ...emptySattr3(), uid: 0 }, guard: undefined }, nfsstat3.NFS3ERR_PERM);
    assert.equal(f.obj_wcc.after?.uid, 1000);
  });
});
