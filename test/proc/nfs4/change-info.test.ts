/**
 * change_info4 of the operations that change a directory (REMOVE, CREATE, OPEN create, LINK, RENAME):
 * before and after come from the core's own transaction, so the result is atomic and exact: `before` is
 * the change attribute a GETATTR saw just before, `after` the one a GETATTR sees just after. A client
 * whose cached change attribute equals `before` may then keep its cache (RFC 8881 §3.3.6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FATTR4_CHANGE } from '../../../protocols/nfs4/attrs';
import type { ArgOp } from '../../../protocols/nfs4/compound';
import { nfsstat4, type change_info4 } from '../../../protocols/nfs4/types';
import { expectStatus, Nfs4Harness, op, type Nfs4TestSession } from './harness';

async function change(s: Nfs4TestSession, fh: Buffer): Promise<bigint> {
  return (await s.attrs(fh, FATTR4_CHANGE)).get(FATTR4_CHANGE) as bigint;
}

/** Runs `ops` (ending with the op under test) and checks each named directory's change_info4. */
async function expectExact(s: Nfs4TestSession, ops: ArgOp[], dirs: Buffer[], pick: (res: unknown) => change_info4[]): Promise<void> {
  const before = await Promise.all(dirs.map((d) => change(s, d)));
  const res = await s.run(ops);
  expectStatus(res, nfsstat4.NFS4_OK);
  const infos = pick(res.resarray[res.resarray.length - 1]!.res);
  const after = await Promise.all(dirs.map((d) => change(s, d)));
  infos.forEach((ci, i) => {
    assert.equal(ci.atomic, true, `dir ${i}: atomic`);
    assert.equal(ci.before, before[i], `dir ${i}: before is the change attribute seen before`);
    assert.equal(ci.after, after[i], `dir ${i}: after is the change attribute seen after`);
    assert.ok(ci.after > ci.before, `dir ${i}: the directory changed`);
  });
}

const cinfo = (r: unknown): change_info4[] => [(r as { cinfo: change_info4 }).cinfo];

describe('NFSv4 change_info4 of directory changes', () => {
  it('REMOVE, CREATE, OPEN create, LINK and RENAME report the exact before/after change, atomically', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const [, , dfh] = await s.ok([op.putfh(root), op.mkdir('d'), op.getfh()]);
    const d = (dfh as { object: Buffer }).object;

    const f = await s.createFile(root, 'warm');
    await s.ok([op.putfh(f.fh), op.close(f.stateid)]);

    await expectExact(s, [op.putfh(root), op.mkdir('sub')], [root], cinfo);
    await expectExact(s, [op.putfh(root), op.symlink('ln', 'warm')], [root], cinfo);
    await expectExact(s, [op.putfh(root), op.createUnchecked('opened')], [root], cinfo);
    await expectExact(s, [op.putfh(f.fh), op.savefh(), op.putfh(d), op.link('hard')], [d], cinfo);
    await expectExact(s, [op.putfh(root), op.savefh(), op.putfh(root), op.rename('opened', 'renamed')], [root], (r) => {
      const x = r as { source_cinfo: change_info4; target_cinfo: change_info4 };
      assert.deepEqual(x.source_cinfo, x.target_cinfo, 'one directory: the same change_info4 twice');
      return [x.source_cinfo];
    });
    await expectExact(s, [op.putfh(root), op.savefh(), op.putfh(d), op.rename('renamed', 'moved')], [root, d], (r) => {
      const x = r as { source_cinfo: change_info4; target_cinfo: change_info4 };
      return [x.source_cinfo, x.target_cinfo];
    });
    await expectExact(s, [op.putfh(d), op.remove('moved')], [d], cinfo);
    await expectExact(s, [op.putfh(root), op.remove('sub')], [root], cinfo);
    await expectExact(s, [op.putfh(root), op.remove('warm')], [root], cinfo);
  });

  it('an UNCHECKED OPEN of an existing name changes nothing: before equals after', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'x');
    await s.ok([op.putfh(f.fh), op.close(f.stateid)]);
    const was = await change(s, root);
    const [, opened] = await s.ok([op.putfh(root), op.createUnchecked('x')]);
    const ci = (opened as { cinfo: change_info4 }).cinfo;
    assert.equal(ci.before, was);
    assert.equal(ci.after, was);
    assert.equal(await change(s, root), was);
  });

  it('a REMOVE that fails leaves the directory as it was and reports no change_info4', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const was = await change(s, root);
    const res = await s.run([op.putfh(root), op.remove('absent')]);
    expectStatus(res, nfsstat4.NFS4ERR_NOENT);
    assert.equal(await change(s, root), was);
  });
});
