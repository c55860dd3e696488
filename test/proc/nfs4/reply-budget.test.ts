/**
 * The reply budget of sessions whose ca_maxresponsesize is below the server's cap (as the Linux client's):
 * results are counted by their declared size (Nfs4Op.resultBytes) instead of being encoded twice, and an op
 * that changes something is not run when its result might not fit (Nfs4Op.maxResultBytes): the COMPOUND
 * ends with NFS4ERR_REP_TOO_BIG and nothing changed (RFC 8881 §2.10.6.4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeSetAttrs, FATTR4_CHANGE, FATTR4_FILEHANDLE, FATTR4_MODE, FATTR4_OWNER, FATTR4_SIZE, FATTR4_SUPPORTED_ATTRS, FATTR4_TYPE } from '../../../protocols/nfs4/attrs';
import type { OPEN4resok } from '../../../protocols/nfs4/ops/open';
import { SECINFO } from '../../../protocols/nfs4/ops/secinfo';
import { data_content4, SEEK } from '../../../protocols/nfs4/ops/seek';
import { NFS4_OPS } from '../../../protocols/nfs4/table';
import { createmode4, nfsstat4, type COMPOUND4res } from '../../../protocols/nfs4/types';
import { XdrWriter } from '../../../protocols/xdr/writer';
import type { ArgOp } from '../../../protocols/nfs4/compound';
import { DEFAULT_FORE, expectStatus, Nfs4Harness, op } from './harness';

/** COMPOUND4res status + empty tag + count, and the RPC accepted-reply header (AUTH_NONE verifier). */
const REPLY_OVERHEAD = 12 + 24;
/** SEQUENCE's result: op number, status, SEQUENCE4resok. */
const SEQUENCE_RESULT = 8 + 36;

/** Every OK result of `res` measured by encoding it, against what its op declares. */
function checkDeclared(res: COMPOUND4res, args: readonly ArgOp[]): number {
  let checked = 0;
  res.resarray.forEach((r, i) => {
    const o = NFS4_OPS.get(r.resop)!;
    if (r.status !== nfsstat4.NFS4_OK) return;
    const w = new XdrWriter();
    o.encodeOk(w, r.res);
    if (o.resultBytes) {
      assert.equal(o.resultBytes(r.res), w.length, `${o.name}: resultBytes`);
      checked++;
    }
    if (o.maxResultBytes && i > 0) assert.ok(o.maxResultBytes(args[i - 1]!.args) >= w.length, `${o.name}: maxResultBytes ${o.maxResultBytes(args[i - 1]!.args)} < ${w.length}`);
  });
  return checked;
}

describe('NFSv4.1 reply budget', () => {
  it('the declared result sizes are the encoded sizes, and the bounds hold', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const seen = new Set<string>();
    const run = async (ops: ArgOp[]): Promise<unknown[]> => {
      const res = await s.run(ops);
      expectStatus(res, nfsstat4.NFS4_OK);
      checkDeclared(res, ops);
      for (const r of res.resarray) seen.add(NFS4_OPS.get(r.resop)!.name);
      return res.resarray.slice(1).map((r) => r.res);
    };
    const owner = { clientid: s.clientid, owner: Buffer.from('budget') };
    const [, opened, fh] = (await run([
      op.putfh(root),
      op.open({ name: 'a', how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({ mode: 0o640 }) }, owner }),
      op.getfh(),
      op.getattr(FATTR4_SUPPORTED_ATTRS, FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_FILEHANDLE),
      op.access(0x3f),
    ])) as [unknown, OPEN4resok, { object: Buffer }];
    const file = fh.object;
    assert.ok(opened.attrset.length > 0, 'the OPEN set attributes (attrset not empty)');
    await run([op.putfh(file), op.write(opened.stateid, 0n, Buffer.alloc(1001, 7)), op.commit(), op.read(opened.stateid, 0n, 4096), op.read(opened.stateid, 3n, 5)]);
    // OPEN_DOWNGRADE goes only to an access the owner opened with: open for reading too, then downgrade.
    await run([op.putfh(root), op.open({ name: 'a', owner, share_access: 1 }), op.putfh(file), op.setattr({ mode: 0o600 }), op.openDowngrade({ seqid: 0, other: opened.stateid.other }, 1)]);
    await run([op.putfh(file), op.close({ seqid: 0, other: opened.stateid.other })]);
    await run([op.putfh(root), op.mkdir('d'), op.putfh(root), op.savefh(), op.rename('a', 'b'), op.putfh(file), op.savefh(), op.putfh(root), op.link('c'), op.remove('c')]);
    for (const name of ['SEQUENCE', 'PUTFH', 'OPEN', 'GETFH', 'GETATTR', 'ACCESS', 'WRITE', 'COMMIT', 'READ', 'SETATTR', 'OPEN_DOWNGRADE', 'CLOSE', 'CREATE', 'SAVEFH', 'RENAME', 'LINK', 'REMOVE']) {
      assert.ok(seen.has(name), `${name} was checked`);
    }
  });

  it('the read-only ops declare their exact result size too (READDIR, READLINK, SECINFO, SEEK, TEST_STATEID)', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ minor: 2 });
    const root = await s.exportRoot();
    const seen = new Set<string>();
    let checked = 0;
    const run = async (ops: ArgOp[]): Promise<void> => {
      const res = await s.run(ops, { minor: 2 });
      expectStatus(res, nfsstat4.NFS4_OK);
      checked += checkDeclared(res, ops);
      for (const r of res.resarray) seen.add(NFS4_OPS.get(r.resop)!.name);
    };
    const f = await s.createFile(root, 'data');
    await s.ok([op.putfh(f.fh), op.write(f.stateid, 0n, Buffer.alloc(3000, 1))], { minor: 2 });
    for (let i = 0; i < 40; i++) await s.ok([op.putfh(root), op.createUnchecked(`entry-with-a-longer-name-${i}`, undefined, `o${i}`)], { minor: 2 });
    await run([op.putfh(root), op.symlink('ln', 'a/target/of/odd/length')]);
    const [, , lnfh] = await s.ok([op.putfh(root), op.lookup('ln'), op.getfh()], { minor: 2 });
    const seekOp = { op: SEEK, args: { sa_stateid: f.stateid, sa_offset: 0n, sa_what: data_content4.NFS4_CONTENT_DATA } };
    await run([
      op.putfh(root),
      op.readdir(0n, Buffer.alloc(8), 32768, [FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER]),
      op.readdir(0n, Buffer.alloc(8), 600),
      { op: SECINFO, args: { name: Buffer.from('data') } },
      op.putfh(root),
      op.secinfoNoName(),
      op.putfh((lnfh as { object: Buffer }).object),
      op.readlink(),
      op.putfh(f.fh),
      seekOp,
      op.testStateid(f.stateid, f.stateid),
    ]);
    for (const name of ['READDIR', 'SECINFO', 'SECINFO_NO_NAME', 'READLINK', 'SEEK', 'TEST_STATEID']) {
      assert.ok(seen.has(name), `${name} was checked`);
      const o = [...NFS4_OPS.values()].find((x) => x.name === name)!;
      assert.equal(typeof o.resultBytes, 'function', `${name} declares resultBytes`);
    }
    assert.ok(checked >= 12, `${checked} results checked`);
  });

  it('an op that changes something is not run when its result might not fit: REP_TOO_BIG, nothing removed', async () => {
    const h = new Nfs4Harness();
    const roomy = await h.session();
    const root = await roomy.exportRoot();
    const f = await roomy.createFile(root, 'victim');
    await roomy.ok([op.putfh(f.fh), op.close(f.stateid)]);
    // SEQUENCE, PUTFH (8), two SAVEFH (8 each), REMOVE (8 + change_info4 20): exactly the limit.
    const limit = REPLY_OVERHEAD + SEQUENCE_RESULT + 8 + 8 + 8 + 28;
    const s = await h.session({ fore: { ...DEFAULT_FORE, ca_maxresponsesize: limit } });
    assert.equal(s.created.csr_fore_chan_attrs.ca_maxresponsesize, limit);
    const over = await s.call([op.putfh(root), op.savefh(), op.savefh(), op.savefh(), op.remove('victim')]);
    expectStatus(over.res, nfsstat4.NFS4ERR_REP_TOO_BIG);
    assert.equal(over.res.resarray.length, 6, 'the COMPOUND ended at REMOVE');
    assert.ok(over.bytes.length + 24 <= limit, `reply ${over.bytes.length} bytes + RPC header within the limit`);
    // The REMOVE did not run: the name is still there.
    await roomy.ok([op.putfh(root), op.lookup('victim')]);
    // With one op less the result fits to the byte, and the REMOVE runs.
    const fits = await s.call([op.putfh(root), op.savefh(), op.savefh(), op.remove('victim')]);
    expectStatus(fits.res, nfsstat4.NFS4_OK);
    assert.equal(fits.bytes.length + 24, limit, 'the reply fills the limit exactly');
    expectStatus(await roomy.run([op.putfh(root), op.lookup('victim')]), nfsstat4.NFS4ERR_NOENT);
  });

  it('an op without side effects runs and is measured: a GETATTR that would overflow is REP_TOO_BIG', async () => {
    const h = new Nfs4Harness();
    const ga = op.getattr(FATTR4_SUPPORTED_ATTRS, FATTR4_TYPE, FATTR4_FILEHANDLE, FATTR4_CHANGE);
    const one = await (await h.session()).call([op.putrootfh(), ga]);
    expectStatus(one.res, nfsstat4.NFS4_OK);
    // Room for the first GETATTR and the second's op number and status (its REP_TOO_BIG), not for its attributes.
    const limit = one.bytes.length + 24 + 8;
    const s = await h.session({ fore: { ...DEFAULT_FORE, ca_maxresponsesize: limit } });
    const big = await s.call([op.putrootfh(), ga, ga]);
    expectStatus(big.res, nfsstat4.NFS4ERR_REP_TOO_BIG);
    assert.equal(big.res.resarray.length, 4, 'the first GETATTR fits, the second does not');
    assert.equal(big.bytes.length + 24, limit, 'the reply fills the limit exactly');
    // With one byte less, the first GETATTR leaves no room for the second's status: it is the one refused.
    const tight = await h.session({ fore: { ...DEFAULT_FORE, ca_maxresponsesize: limit - 1 } });
    const short = await tight.call([op.putrootfh(), ga, ga]);
    expectStatus(short.res, nfsstat4.NFS4ERR_REP_TOO_BIG);
    assert.equal(short.res.resarray.length, 3);
    assert.ok(short.bytes.length + 24 <= limit - 1);
    expectStatus(await s.run([op.putrootfh(), op.getattr(FATTR4_TYPE)]), nfsstat4.NFS4_OK);
  });

  it('every operation that changes state declares a bound of its result', () => {
    const changing = ['OPEN', 'CLOSE', 'OPEN_DOWNGRADE', 'WRITE', 'COMMIT', 'CREATE', 'REMOVE', 'RENAME', 'LINK', 'SETATTR', 'LOCK', 'LOCKU', 'FREE_STATEID', 'ALLOCATE', 'DEALLOCATE', 'CLONE', 'COPY', 'RECLAIM_COMPLETE'];
    for (const name of changing) {
      const o = [...NFS4_OPS.values()].find((x) => x.name === name);
      assert.ok(o, name);
      assert.equal(typeof o.maxResultBytes, 'function', `${name} declares maxResultBytes`);
    }
  });
});
