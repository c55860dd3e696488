import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCOMPOUND4args } from '../../../protocols/nfs4/compound';
import { nfs_opnum4, nfsstat4 } from '../../../protocols/nfs4/types';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';
import { expectStatus, Nfs4Harness, op } from './harness';

const u32 = (...v: number[]): Buffer => {
  const b = Buffer.alloc(4 * v.length);
  v.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
  return b;
};

describe('NFSv4 COMPOUND rules', () => {
  it('answers an unserved minor version NFS4ERR_MINOR_VERS_MISMATCH with no results, echoing the tag', async () => {
    const h = new Nfs4Harness();
    for (const minor of [3, 50]) {
      const res = await h.compound([op.putrootfh()], { minor, tag: 'minor-test' });
      assert.equal(res.status, nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH, `minor ${minor}`);
      assert.equal(res.resarray.length, 0);
      assert.equal(res.tag.toString(), 'minor-test');
    }
    // Even an illegal op number is not looked at (RFC 8881 §16.2.3: minor version first).
    const res = await h.call([{ raw: u32(9999) }], { minor: 7 });
    assert.equal(res.res.status, nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH);
  });

  it('serves minor versions 0, 1 and 2 by default', async () => {
    const h = new Nfs4Harness();
    for (const minor of [0, 1, 2]) {
      const res = await h.compound([], { minor });
      assert.equal(res.status, nfsstat4.NFS4_OK);
      assert.equal(res.resarray.length, 0);
    }
  });

  it('rejects a tag that is not UTF-8 with NFS4ERR_INVAL', async () => {
    const h = new Nfs4Harness();
    const res = await h.compound([], { tag: Buffer.from([0xc3, 0x28]) });
    assert.equal(res.status, nfsstat4.NFS4ERR_INVAL);
    assert.equal(res.resarray.length, 0);
  });

  it('answers unknown op numbers OP_ILLEGAL / NFS4ERR_OP_ILLEGAL, and ops of a later minor version too', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    for (const bad of [0, 1, 2, 76, 9999, nfs_opnum4.OP_ILLEGAL]) {
      const r = await h.call([op.sequence(s.id, ++s.seqids[0]!, 0), { raw: u32(bad) }]);
      assert.equal(r.res.status, nfsstat4.NFS4ERR_OP_ILLEGAL, `op ${bad}`);
      assert.equal(r.res.resarray[1]!.resop, nfs_opnum4.OP_ILLEGAL);
    }
    // ALLOCATE (4.2) in a 4.1 COMPOUND does not exist: OP_ILLEGAL; READ_PLUS (4.2) exists but is not implemented.
    let r = await h.call([op.sequence(s.id, ++s.seqids[0]!, 0), { raw: u32(nfs_opnum4.OP_ALLOCATE) }], { minor: 1 });
    assert.equal(r.res.status, nfsstat4.NFS4ERR_OP_ILLEGAL);
    r = await h.call([op.sequence(s.id, ++s.seqids[0]!, 0), { raw: u32(nfs_opnum4.OP_READ_PLUS) }], { minor: 2 });
    assert.equal(r.res.status, nfsstat4.NFS4ERR_NOTSUPP);
    assert.equal(r.res.resarray[1]!.resop, nfs_opnum4.OP_READ_PLUS);
    // RFC 8276's extended-attribute ops extend 4.2 only.
    r = await h.call([op.sequence(s.id, ++s.seqids[0]!, 0), { raw: u32(nfs_opnum4.OP_GETXATTR) }], { minor: 1 });
    assert.equal(r.res.status, nfsstat4.NFS4ERR_OP_ILLEGAL);
  });

  it('answers NFSv4.0-only ops in 4.1 NFS4ERR_NOTSUPP, and unimplemented ops too', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    for (const o of [nfs_opnum4.OP_SETCLIENTID, nfs_opnum4.OP_RENEW, nfs_opnum4.OP_OPEN_CONFIRM, nfs_opnum4.OP_RELEASE_LOCKOWNER, nfs_opnum4.OP_DELEGRETURN]) {
      const r = await h.call([op.sequence(s.id, ++s.seqids[0]!, 0), { raw: u32(o) }]);
      assert.equal(r.res.status, nfsstat4.NFS4ERR_NOTSUPP, nfs_opnum4[o]);
      assert.equal(r.res.resarray.length, 2);
    }
  });

  it('requires SEQUENCE first (OP_NOT_IN_SESSION), alone-only session ops (NOT_ONLY_OP), SEQUENCE nowhere else (SEQUENCE_POS)', async () => {
    const h = new Nfs4Harness();
    let res = await h.compound([op.putrootfh(), op.getfh()]);
    expectStatus(res, nfsstat4.NFS4ERR_OP_NOT_IN_SESSION);
    assert.equal(res.resarray.length, 1);
    res = await h.compound([op.exchangeId('x'), op.putrootfh()]);
    expectStatus(res, nfsstat4.NFS4ERR_NOT_ONLY_OP);
    const s = await h.session();
    res = await s.run([op.putrootfh(), op.sequence(s.id, 99, 0)]);
    expectStatus(res, nfsstat4.NFS4ERR_SEQUENCE_POS);
    assert.equal(res.resarray.length, 3);
  });

  it('stops at the first failing op and reports its status', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const res = await s.run([op.putrootfh(), op.lookup('export'), op.lookup('nope'), op.getfh()]);
    expectStatus(res, nfsstat4.NFS4ERR_NOENT);
    assert.equal(res.resarray.length, 4);
    assert.deepEqual(res.resarray.map((r) => r.resop), [nfs_opnum4.OP_SEQUENCE, nfs_opnum4.OP_PUTROOTFH, nfs_opnum4.OP_LOOKUP, nfs_opnum4.OP_LOOKUP]);
  });

  it('answers ops that need a filehandle before any PUTFH NFS4ERR_NOFILEHANDLE', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    for (const o of [op.getfh(), op.getattr(1), op.lookup('a'), op.savefh(), op.read({ seqid: 0, other: Buffer.alloc(12) }, 0n, 1)]) {
      expectStatus(await s.run([o]), nfsstat4.NFS4ERR_NOFILEHANDLE, o.op.name);
    }
    expectStatus(await s.run([op.restorefh()]), nfsstat4.NFS4ERR_RESTOREFH);
  });

  it('answers arguments that do not decode NFS4ERR_BADXDR at that op', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    // LOOKUP whose name length runs past the end of the request.
    const r = await h.call([op.sequence(s.id, ++s.seqids[0]!, 0), op.putrootfh(), { raw: u32(nfs_opnum4.OP_LOOKUP, 4000) }]);
    expectStatus(r.res, nfsstat4.NFS4ERR_BADXDR);
    assert.equal(r.res.resarray.length, 3);
  });

  it('refuses a COMPOUND whose op count the bytes cannot hold (GARBAGE_ARGS at the RPC layer)', () => {
    const w = new XdrWriter();
    w.string('');
    w.uint32(1);
    w.uint32(1000);
    w.uint32(nfs_opnum4.OP_PUTROOTFH);
    assert.throws(() => decodeCOMPOUND4args(new XdrReader(w.toBuffer())), XdrError);
  });

  it('enforces the session limits: TOO_MANY_OPS and REQ_TOO_BIG at SEQUENCE', async () => {
    const h = new Nfs4Harness();
    const s = await h.session({ fore: { ca_headerpadsize: 0, ca_maxrequestsize: 512, ca_maxresponsesize: 8192, ca_maxresponsesize_cached: 8192, ca_maxoperations: 4, ca_maxrequests: 2, ca_rdma_ird: [] } });
    assert.equal(s.created.csr_fore_chan_attrs.ca_maxoperations, 4);
    expectStatus(await s.run([op.putrootfh(), op.getfh(), op.getattr(1)]), nfsstat4.NFS4_OK);
    const res = await s.run([op.putrootfh(), op.getfh(), op.getattr(1), op.getattr(1)]);
    expectStatus(res, nfsstat4.NFS4ERR_TOO_MANY_OPS);
    assert.equal(res.resarray.length, 1);
    expectStatus(await s.run([op.putrootfh(), op.lookup('x'.repeat(600))]), nfsstat4.NFS4ERR_REQ_TOO_BIG);
  });
});
