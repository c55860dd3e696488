/**
 * NFSv4.2 data operations (RFC 7862) against the memory volume with 4 KiB chunks: SEEK from the chunk map,
 * DEALLOCATE punching holes (objects dropped, zeros read), ALLOCATE extending, COPY and CLONE on the
 * server; and VERIFY / NVERIFY (RFC 7530 §16.35 / §16.21).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultExport } from '../../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../../cluster/vfs/memory';
import { buildFattr4, FATTR4_OWNER, FATTR4_SIZE } from '../../../protocols/nfs4/attrs';
import type { Nfs4Op } from '../../../protocols/nfs4/op';
import { ALLOCATE } from '../../../protocols/nfs4/ops/allocate';
import { CLONE } from '../../../protocols/nfs4/ops/clone';
import { COPY, type COPY4resok } from '../../../protocols/nfs4/ops/copy';
import { DEALLOCATE } from '../../../protocols/nfs4/ops/deallocate';
import type { GETATTR4resok } from '../../../protocols/nfs4/ops/getattr';
import { NVERIFY } from '../../../protocols/nfs4/ops/nverify';
import type { READ4resok } from '../../../protocols/nfs4/ops/read';
import { SEEK, data_content4, type SEEK4resok } from '../../../protocols/nfs4/ops/seek';
import { VERIFY } from '../../../protocols/nfs4/ops/verify';
import { nfsstat4, type stateid4 } from '../../../protocols/nfs4/types';
import { bitmapOf } from '../../../protocols/nfs4/xdr';
import { Nfs4Harness, expectOk, expectStatus, op } from './harness';

const CS = 4096;
const arg = <A>(o: Nfs4Op<A, any>, args: A) => ({ op: o, args });
const seek = (s: stateid4, offset: bigint, what: data_content4) => arg(SEEK, { sa_stateid: s, sa_offset: offset, sa_what: what });

async function setup() {
  const configs = [defaultExport('export', 1)];
  const h = new Nfs4Harness(configs, {}, createMemoryFileSystem(configs, { chunkSize: CS }));
  const s = await h.session({ minor: 2 });
  const root = await s.exportRoot();
  return { h, s, root };
}

describe('NFSv4.2 SEEK / ALLOCATE / DEALLOCATE / COPY / CLONE', () => {
  it('SEEK finds data and holes from the chunk map; DEALLOCATE punches one; NXIO past the end', async () => {
    const { s, root } = await setup();
    const f = await s.createFile(root, 'sparse');
    const block = Buffer.alloc(CS, 0x61);
    // Data in chunks 0 and 3; 1 and 2 are holes; size 4 chunks + 100 bytes.
    await s.ok([op.putfh(f.fh), op.write(f.stateid, 0n, block), op.write(f.stateid, 3n * BigInt(CS), block), op.write(f.stateid, 4n * BigInt(CS), Buffer.alloc(100, 1))]);
    const ask = async (off: bigint, what: data_content4) => expectOk<SEEK4resok>(await s.run([op.putfh(f.fh), seek(f.stateid, off, what)], { minor: 2 }), 2);
    assert.deepEqual(await ask(0n, data_content4.NFS4_CONTENT_HOLE), { sr_eof: false, sr_offset: BigInt(CS) });
    assert.deepEqual(await ask(BigInt(CS) + 5n, data_content4.NFS4_CONTENT_DATA), { sr_eof: false, sr_offset: 3n * BigInt(CS) });
    assert.deepEqual(await ask(10n, data_content4.NFS4_CONTENT_DATA), { sr_eof: false, sr_offset: 10n });
    assert.deepEqual(await ask(3n * BigInt(CS), data_content4.NFS4_CONTENT_HOLE), { sr_eof: true, sr_offset: 4n * BigInt(CS) + 100n }, 'the end of the file is a hole');
    expectStatus(await s.run([op.putfh(f.fh), seek(f.stateid, 10n * BigInt(CS), data_content4.NFS4_CONTENT_DATA)], { minor: 2 }), nfsstat4.NFS4ERR_NXIO);

    // Punch chunk 3 whole and the second half of chunk 0.
    await s.ok([op.putfh(f.fh), arg(DEALLOCATE, { stateid: f.stateid, offset: BigInt(CS / 2), length: 4n * BigInt(CS) - BigInt(CS / 2) })], { minor: 2 } as never);
    assert.deepEqual(await ask(BigInt(CS), data_content4.NFS4_CONTENT_DATA), { sr_eof: false, sr_offset: 4n * BigInt(CS) }, 'chunk 3 is a hole now');
    const [, rd] = await s.ok([op.putfh(f.fh), op.read(f.stateid, 0n, CS)]);
    const data = (rd as READ4resok).data;
    assert.ok(data.subarray(0, CS / 2).every((b) => b === 0x61) && data.subarray(CS / 2).every((b) => b === 0), 'zeros after the punch');
    const [, ga] = await s.ok([op.putfh(f.fh), op.getattr(FATTR4_SIZE)]);
    assert.ok((ga as GETATTR4resok).obj_attributes.attr_vals.readBigUInt64BE(0) === 4n * BigInt(CS) + 100n, 'size unchanged');
  });

  it('ALLOCATE extends the file; COPY and CLONE copy on the server; overlapping ranges are INVAL', async () => {
    const { s, root } = await setup();
    const a = await s.createFile(root, 'a');
    const payload = Buffer.from('0123456789'.repeat(1000));
    await s.ok([op.putfh(a.fh), op.write(a.stateid, 0n, payload)]);
    await s.ok([op.putfh(a.fh), arg(ALLOCATE, { stateid: a.stateid, offset: 0n, length: 20000n })]);
    const m = await s.attrs(a.fh, FATTR4_SIZE);
    assert.equal(m.get(FATTR4_SIZE), 20000n);

    const b = await s.createFile(root, 'b', { owner: 'o2' });
    const copy = arg(COPY, { ca_src_stateid: a.stateid, ca_dst_stateid: b.stateid, ca_src_offset: 0n, ca_dst_offset: 0n, ca_count: 0n, ca_consecutive: true, ca_synchronous: true, ca_source_server: 0 });
    const [, , , cp] = await s.ok([op.putfh(a.fh), op.savefh(), op.putfh(b.fh), copy]);
    assert.equal((cp as COPY4resok).wr_count, 20000n);
    const [, rd] = await s.ok([op.putfh(b.fh), op.read(b.stateid, 0n, 10000)]);
    assert.deepEqual((rd as READ4resok).data, payload);

    const c = await s.createFile(root, 'c', { owner: 'o3' });
    const clone = arg(CLONE, { cl_src_stateid: a.stateid, cl_dst_stateid: c.stateid, cl_src_offset: 10n, cl_dst_offset: 0n, cl_count: 20n });
    await s.ok([op.putfh(a.fh), op.savefh(), op.putfh(c.fh), clone]);
    const [, rc] = await s.ok([op.putfh(c.fh), op.read(c.stateid, 0n, 100)]);
    assert.equal((rc as READ4resok).data.toString(), '01234567890123456789');

    const self = arg(CLONE, { cl_src_stateid: a.stateid, cl_dst_stateid: a.stateid, cl_src_offset: 0n, cl_dst_offset: 10n, cl_count: 100n });
    expectStatus(await s.run([op.putfh(a.fh), op.savefh(), op.putfh(a.fh), self]), nfsstat4.NFS4ERR_INVAL);
    expectStatus(await s.run([op.putfh(a.fh), copy]), nfsstat4.NFS4ERR_NOFILEHANDLE, 'no saved filehandle');
  });

  it('4.2 ops are OP_ILLEGAL in a 4.1 COMPOUND', async () => {
    const { h } = await setup();
    const s1 = await h.session();
    const root = await s1.exportRoot();
    const f = await s1.createFile(root, 'x');
    const res = await s1.run([op.putfh(f.fh), seek(f.stateid, 0n, data_content4.NFS4_CONTENT_DATA)]);
    assert.equal(res.resarray[2]?.status, nfsstat4.NFS4ERR_OP_ILLEGAL);
  });
});

describe('VERIFY / NVERIFY', () => {
  it('compare the given attributes with the object: NOT_SAME / SAME; unsupported ATTRNOTSUPP', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'v');
    await s.ok([op.putfh(f.fh), op.write(f.stateid, 0n, Buffer.alloc(123))]);
    const src = await h.server.attrSource({ kind: 'fs', handle: f.fh, exportId: 1, exp: h.exports.list()[0]!, fs: h.fs, cred: { uid: 0, gid: 0, groups: [] }, readOnly: false }, bitmapOf([FATTR4_SIZE]));
    const same = buildFattr4(bitmapOf([FATTR4_SIZE]), src, 1);
    const other = { attrmask: same.attrmask, attr_vals: Buffer.alloc(8) };
    await s.ok([op.putfh(f.fh), arg(VERIFY, { obj_attributes: same })]);
    expectStatus(await s.run([op.putfh(f.fh), arg(VERIFY, { obj_attributes: other })]), nfsstat4.NFS4ERR_NOT_SAME);
    await s.ok([op.putfh(f.fh), arg(NVERIFY, { obj_attributes: other })]);
    expectStatus(await s.run([op.putfh(f.fh), arg(NVERIFY, { obj_attributes: same })]), nfsstat4.NFS4ERR_SAME);
    expectStatus(await s.run([op.putfh(f.fh), arg(VERIFY, { obj_attributes: { attrmask: bitmapOf([200]), attr_vals: Buffer.alloc(4) } })]), nfsstat4.NFS4ERR_ATTRNOTSUPP);
  });

  it('owners: "1234@domain" and "nobody" are accepted (numeric ids; the guest has no idmapd), "bob" is BADOWNER', async () => {
    const h = new Nfs4Harness();
    const s = await h.session();
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'o');
    const ownerAttr = (str: string) => {
      const b = Buffer.alloc(4 + ((str.length + 3) & ~3));
      b.writeUInt32BE(str.length);
      b.write(str, 4);
      return { attrmask: [0, 1 << (FATTR4_OWNER - 32)], attr_vals: b };
    };
    await s.ok([op.putfh(f.fh), op.setattrRaw(ownerAttr('1234@example.org'))]);
    assert.equal((await s.attrs(f.fh, FATTR4_OWNER)).get(FATTR4_OWNER)?.toString(), '1234');
    await s.ok([op.putfh(f.fh), op.setattrRaw(ownerAttr('nobody'))]);
    assert.equal((await s.attrs(f.fh, FATTR4_OWNER)).get(FATTR4_OWNER)?.toString(), '65534');
    expectStatus(await s.run([op.putfh(f.fh), op.setattrRaw(ownerAttr('bob'))]), nfsstat4.NFS4ERR_BADOWNER);
  });
});
