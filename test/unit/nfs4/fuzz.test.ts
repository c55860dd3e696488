/**
 * Fuzzing NFSv4 COMPOUNDs end to end through the program (decode → run against the memory volume →
 * encode): valid COMPOUNDs of every minor version (4.0 state ops, locks, 4.1 SEQUENCE, 4.2 COPY/SEEK) with
 * random byte flips, truncations and extreme length/count words. The argument decoder may throw XdrError
 * (→ GARBAGE_ARGS); otherwise the COMPOUND must answer with a reply that decodes, never an exception,
 * never SERVERFAULT (an op that crashed), and in bounded time. Seeded, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCOMPOUND4args, type ArgOp } from '../../../protocols/nfs4/compound';
import { SEEK } from '../../../protocols/nfs4/ops/seek';
import { COPY } from '../../../protocols/nfs4/ops/copy';
import { GETXATTR } from '../../../protocols/nfs4/ops/getxattr';
import { LISTXATTRS } from '../../../protocols/nfs4/ops/listxattrs';
import { REMOVEXATTR } from '../../../protocols/nfs4/ops/removexattr';
import { SETXATTR } from '../../../protocols/nfs4/ops/setxattr';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';
import { nfsstat4 } from '../../../protocols/nfs4/types';
import { Nfs40TestClient, Nfs4Harness, op } from '../../proc/nfs4/harness';
import { rng } from '../fuzz-rng';

function mutate(r: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = Math.floor(r() * 4);
  if (kind === 0) {
    for (let i = 0, n = 1 + Math.floor(r() * 4); i < n && b.length; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return b;
  }
  if (kind === 1) return b.subarray(0, Math.floor(r() * b.length));
  if (kind === 2 && b.length >= 4) {
    const at = Math.floor(r() * (b.length / 4)) * 4;
    b.writeUInt32BE([0xffffffff, 0x7fffffff, 0x80000000, 65, 4097, 1 << 20, 0, 1, 2][Math.floor(r() * 9)]!, at);
    return b;
  }
  const extra = Buffer.alloc(Math.floor(r() * 64));
  for (let i = 0; i < extra.length; i++) extra[i] = Math.floor(r() * 256);
  return Buffer.concat([b, extra]);
}

function compoundBytes(minor: number, ops: readonly ArgOp[]): Buffer {
  const w = new XdrWriter();
  encodeCOMPOUND4args(w, 'fuzz', minor, ops);
  return Buffer.from(w.toBuffer());
}

describe('NFSv4 COMPOUND fuzz', () => {
  it('mutated COMPOUNDs of 4.0, 4.1 and 4.2 answer cleanly (3000 cases, seeded)', { timeout: 120000 }, async () => {
    const h = new Nfs4Harness();
    const c40 = await Nfs40TestClient.connect(h, 'fuzz40');
    const root = await c40.exportRoot();
    const o = await c40.open(root, 'f');
    const s = await h.session({ minor: 2 });
    const f41 = await s.createFile(root, 'g');
    const seeds: Buffer[] = [
      compoundBytes(0, [op.setclientid('x'), op.setclientidConfirm(c40.clientid, Buffer.alloc(8))]),
      compoundBytes(0, [op.putfh(o.fh), op.lockNew({ clientid: c40.clientid, offset: 5n, length: 10n, openSeqid: 3 }, o.stateid), op.lockt({ clientid: c40.clientid })]),
      compoundBytes(0, [op.putfh(o.fh), op.write(o.stateid, 0n, Buffer.alloc(100, 1)), op.read(o.stateid, 0n, 50), op.close40(4, o.stateid)]),
      compoundBytes(0, [op.putfh(root), op.open({ seqid: 9, name: 'n', owner: { clientid: c40.clientid, owner: Buffer.from('z') } }), op.openConfirm(o.stateid, 1), op.renew(c40.clientid)]),
      compoundBytes(0, [op.putfh(root), op.lookup('f'), op.getattr(0, 1, 4, 33, 36), op.releaseLockowner(c40.clientid)]),
      compoundBytes(2, [
        op.sequence(s.id, 1, 0),
        op.putfh(f41.fh),
        op.savefh(),
        { op: SEEK, args: { sa_stateid: f41.stateid, sa_offset: 0n, sa_what: 1 } },
        { op: COPY, args: { ca_src_stateid: f41.stateid, ca_dst_stateid: f41.stateid, ca_src_offset: 0n, ca_dst_offset: 10n, ca_count: 5n, ca_consecutive: true, ca_synchronous: true, ca_source_server: 0 } },
      ]),
    ];
    const p = h.program.procs.get(1)!;
    const r = rng(0x5eed4);
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      const bytes = mutate(r, seeds[i % seeds.length]!);
      let args: unknown;
      try {
        args = p.decodeArgs(new XdrReader(bytes));
      } catch (e) {
        assert.ok(e instanceof XdrError, `case ${i}: decoder threw ${String(e)}`);
        continue;
      }
      decoded++;
      const out = await p.handle(h.ctx({ minor: 0 }), args);
      const w = new XdrWriter();
      p.encodeRes(w, out);
      const rd = new XdrReader(w.toBuffer());
      const status = rd.uint32();
      assert.notEqual(status, nfsstat4.NFS4ERR_SERVERFAULT, `case ${i}: SERVERFAULT`);
    }
    assert.ok(decoded > 1000, `most cases reached the ops (${decoded})`);
    const crashed = h.logs.filter((l) => l.msg === 'NFSv4 op failed');
    assert.deepEqual(crashed.map((l) => JSON.stringify(l.obj)), [], 'no op failed with an exception');
  });

  it('mutated extended-attribute operations in a live 4.2 session answer cleanly (1500 cases, seeded)', { timeout: 120000 }, async () => {
    // Only the operations after SEQUENCE are mutated, and each case gets the session's next seqid, so the
    // xattr ops run (a mutated SEQUENCE would only be answered from the slot or refused).
    const h = new Nfs4Harness();
    const s = await h.session({ minor: 2 });
    const root = await s.exportRoot();
    const f = await s.createFile(root, 'x');
    const opsOf = (ops: readonly ArgOp[]): { raw: Buffer; count: number } => {
      const w = new XdrWriter();
      encodeCOMPOUND4args(w, '', 2, ops);
      const all = Buffer.from(w.toBuffer());
      // tag (empty: 4 bytes), minorversion, count: the operations follow.
      return { raw: all.subarray(12), count: ops.length };
    };
    const seeds = [
      opsOf([op.putfh(f.fh), { op: SETXATTR, args: { sxa_option: 0, sxa_key: Buffer.from('k1'), sxa_value: Buffer.alloc(40, 7) } }, { op: GETXATTR, args: { gxa_name: Buffer.from('k1') } }]),
      opsOf([op.putfh(f.fh), { op: LISTXATTRS, args: { lxa_cookie: 0n, lxa_maxcount: 100 } }, { op: REMOVEXATTR, args: { rxa_name: Buffer.from('k1') } }]),
      opsOf([op.putfh(root), { op: SETXATTR, args: { sxa_option: 1, sxa_key: Buffer.from('d'), sxa_value: Buffer.alloc(3) } }, { op: LISTXATTRS, args: { lxa_cookie: 1n, lxa_maxcount: 20 } }]),
    ];
    const r = rng(0x8276);
    let ran = 0;
    for (let i = 0; i < 1500; i++) {
      const seed = seeds[i % seeds.length]!;
      const raw = mutate(r, seed.raw);
      let out;
      try {
        out = await s.call([{ raw, count: seed.count } as unknown as ArgOp]);
      } catch (e) {
        assert.ok(e instanceof XdrError, `case ${i}: ${String(e)}`);
        s.seqids[0] = s.seqids[0]! - 1; // the server never saw it: the seqid is still free
        continue;
      }
      assert.notEqual(out.res.status, nfsstat4.NFS4ERR_SERVERFAULT, `case ${i}: SERVERFAULT`);
      assert.notEqual(out.res.status, nfsstat4.NFS4ERR_SEQ_MISORDERED, `case ${i}: the session lost step`);
      if (out.res.resarray.some((x) => x.resop >= 72 && x.resop <= 75)) ran++;
    }
    assert.ok(ran > 300, `xattr operations ran in ${ran} cases`);
    const crashed = h.logs.filter((l) => l.msg === 'NFSv4 op failed');
    assert.deepEqual(crashed.map((l) => JSON.stringify(l.obj)), [], 'no op failed with an exception');
  });
});
