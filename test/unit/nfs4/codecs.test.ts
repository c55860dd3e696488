import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileType, type Attr } from '../../../cluster/vfs/types';
import { DEFAULT_LIMITS } from '../../../cluster/vfs/volume';
import {
  FATTR4_CHANGE,
  FATTR4_FILEID,
  FATTR4_MODE,
  FATTR4_OWNER,
  FATTR4_OWNER_GROUP,
  FATTR4_SIZE,
  FATTR4_SUPPATTR_EXCLCREAT,
  FATTR4_SUPPORTED_ATTRS,
  FATTR4_TIME_MODIFY,
  FATTR4_TIME_MODIFY_SET,
  FATTR4_TYPE,
  buildFattr4,
  decodeFattr4Values,
  decodeSetAttrs,
  encodeSetAttrs,
  isSupportedAttr,
  nfstime4FromNs,
  nsFromNfstime4,
  supportedAttrs,
  type AttrSource,
} from '../../../protocols/nfs4/attrs';
import { decodeCOMPOUND4args, encodeCOMPOUND4args } from '../../../protocols/nfs4/compound';
import { Nfs4Error } from '../../../protocols/nfs4/errors';
import { NFS4_OP_LIST, NFS4_OPS } from '../../../protocols/nfs4/table';
import { nfs_ftype4, nfs_opnum4, nfsstat4 } from '../../../protocols/nfs4/types';
import { bitmapBits, bitmapHas, bitmapOf, decodeBitmap4, encodeBitmap4 } from '../../../protocols/nfs4/xdr';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';
import { op } from '../../proc/nfs4/harness';

const enc = (f: (w: XdrWriter) => void): Buffer => {
  const w = new XdrWriter();
  f(w);
  return w.toBuffer();
};

const attr: Attr = {
  type: FileType.REG,
  mode: 0o4755,
  nlink: 1,
  uid: 1000,
  gid: 100,
  size: 12345n,
  used: 16384n,
  rdev: { major: 0, minor: 0 },
  fsid: 77n,
  fileId: 42n,
  atime: 1_000_000_000_123_456_789n,
  mtime: -1n,
  ctime: 5n,
  birthTime: 0n,
  change: 9n,
  dosAttrs: 0,
};
const src: AttrSource = { attr, fh: Buffer.alloc(28, 1), fsid: { major: 77n, minor: 1n }, mountedOnFileid: 42n, limits: DEFAULT_LIMITS, leaseSeconds: 90 };

describe('bitmap4', () => {
  it('sets and reads bits across words, and drops trailing zero words on the wire', () => {
    const b = bitmapOf([0, 31, 33, 55, 75]);
    assert.deepEqual(bitmapBits(b), [0, 31, 33, 55, 75]);
    assert.ok(bitmapHas(b, 75) && !bitmapHas(b, 74) && !bitmapHas(b, 200));
    assert.deepEqual(enc((w) => encodeBitmap4(w, [1, 0, 0])), Buffer.from('0000000100000001', 'hex'));
    assert.deepEqual(decodeBitmap4(new XdrReader(Buffer.from('000000020000000180000000', 'hex'))), [1, 0x80000000]);
  });

  it('refuses a bitmap longer than 64 words (pynfs asks for attribute numbers past 255; those are ignored)', () => {
    const w = new XdrWriter();
    w.uint32(65);
    for (let i = 0; i < 65; i++) w.uint32(0);
    assert.throws(() => decodeBitmap4(new XdrReader(w.toBuffer())));
  });
});

describe('fattr4', () => {
  it('encodes the values in ascending id order, exactly as RFC 7530 §5 lays them out', () => {
    const f = buildFattr4(bitmapOf([FATTR4_SIZE, FATTR4_TYPE, FATTR4_MODE]), src, 1);
    assert.deepEqual(f.attrmask, bitmapOf([FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE]));
    // type NF4REG, size 12345, mode 04755
    assert.deepEqual(f.attr_vals, Buffer.from('00000001' + '0000000000003039' + '000009ed', 'hex'));
  });

  it('round-trips through the client-side decoder, times with negative seconds included', () => {
    const ids = [FATTR4_TYPE, FATTR4_CHANGE, FATTR4_FILEID, FATTR4_OWNER, FATTR4_TIME_MODIFY, FATTR4_SUPPORTED_ATTRS];
    const v = decodeFattr4Values(buildFattr4(bitmapOf(ids), src, 1));
    assert.equal(v.get(FATTR4_TYPE), nfs_ftype4.NF4REG);
    assert.equal(v.get(FATTR4_CHANGE), 9n);
    assert.equal(v.get(FATTR4_FILEID), 42n);
    assert.equal((v.get(FATTR4_OWNER) as Buffer).toString(), '1000');
    assert.deepEqual(v.get(FATTR4_TIME_MODIFY), { seconds: -1n, nseconds: 999_999_999 });
    assert.deepEqual(v.get(FATTR4_SUPPORTED_ATTRS), supportedAttrs(1));
    assert.equal(nsFromNfstime4(nfstime4FromNs(-1n)), -1n);
  });

  it('answers a repeated request from its cached plan with the same bytes; other requests and minor versions get their own', () => {
    const ids = [FATTR4_TYPE, FATTR4_OWNER, FATTR4_OWNER_GROUP, FATTR4_TIME_MODIFY, FATTR4_SUPPATTR_EXCLCREAT];
    const a = buildFattr4(bitmapOf(ids), src, 1);
    const b = buildFattr4(bitmapOf(ids), { ...src, attr: { ...attr, uid: 0xffff_fffe, gid: 0 } }, 1);
    assert.deepEqual(a.attrmask, b.attrmask);
    assert.ok(Object.isFrozen(a.attrmask), 'the shared mask cannot be changed by one caller for the others');
    const va = decodeFattr4Values(a);
    const vb = decodeFattr4Values(b);
    assert.equal(String(va.get(FATTR4_OWNER)), '1000');
    assert.equal(String(va.get(FATTR4_OWNER_GROUP)), '100');
    assert.equal(String(vb.get(FATTR4_OWNER)), '4294967294');
    assert.equal(String(vb.get(FATTR4_OWNER_GROUP)), '0');
    assert.deepEqual(va.get(FATTR4_TIME_MODIFY), { seconds: -1n, nseconds: 999_999_999 });
    assert.ok(buildFattr4(bitmapOf(ids), src, 1).attr_vals.equals(a.attr_vals));
    // minor 0 has no suppattr_exclcreat: its plan differs although the request is the same
    assert.ok(!bitmapHas(buildFattr4(bitmapOf(ids), src, 0).attrmask, FATTR4_SUPPATTR_EXCLCREAT));
    assert.ok(bitmapHas(a.attrmask, FATTR4_SUPPATTR_EXCLCREAT));
  });

  it('offers suppattr_exclcreat only from minor version 1 on', () => {
    assert.ok(!isSupportedAttr(FATTR4_SUPPATTR_EXCLCREAT, 0));
    assert.ok(isSupportedAttr(FATTR4_SUPPATTR_EXCLCREAT, 1));
    assert.equal(buildFattr4(bitmapOf([FATTR4_SUPPATTR_EXCLCREAT]), src, 0).attr_vals.length, 0);
  });

  it('decodes settable attributes and refuses what cannot be set', () => {
    const d = decodeSetAttrs(encodeSetAttrs({ size: 5n, mode: 0o600, uid: 7, gid: 8, mtime: 'server' }), 1);
    assert.deepEqual(d.set, { size: 5n, mode: 0o600, uid: 7, gid: 8, mtime: 'server' });
    assert.deepEqual(d.ids, [FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, 37, FATTR4_TIME_MODIFY_SET]);
    const status = (f: () => unknown): nfsstat4 => {
      try {
        f();
      } catch (e) {
        if (e instanceof Nfs4Error) return e.status;
        throw e;
      }
      return nfsstat4.NFS4_OK;
    };
    assert.equal(status(() => decodeSetAttrs({ attrmask: bitmapOf([FATTR4_FILEID]), attr_vals: Buffer.alloc(8) }, 1)), nfsstat4.NFS4ERR_INVAL);
    assert.equal(status(() => decodeSetAttrs({ attrmask: bitmapOf([12]), attr_vals: Buffer.alloc(4) }, 1)), nfsstat4.NFS4ERR_ATTRNOTSUPP);
    assert.equal(status(() => decodeSetAttrs({ attrmask: bitmapOf([FATTR4_SIZE]), attr_vals: Buffer.alloc(12) }, 1)), nfsstat4.NFS4ERR_BADXDR);
    const t = encodeSetAttrs({ mtime: { seconds: 1n, nseconds: 2_000_000_000 } });
    assert.equal(status(() => decodeSetAttrs(t, 1)), nfsstat4.NFS4ERR_INVAL);
  });
});

describe('NFSv4 op codecs', () => {
  it('lists each op once, under its own number and spec name', () => {
    assert.equal(NFS4_OPS.size, NFS4_OP_LIST.length);
    for (const o of NFS4_OP_LIST) {
      assert.equal(NFS4_OPS.get(o.opnum), o);
      assert.equal(`OP_${o.name}`, nfs_opnum4[o.opnum]);
    }
  });

  it('round-trips the arguments of every built op through encodeArgs / decodeArgs', () => {
    const stateid = { seqid: 3, other: Buffer.from('0123456789ab') };
    const samples = [
      op.putfh(Buffer.alloc(28, 2)),
      op.lookup('name'),
      op.getattr(1, 4, 33, 75),
      op.read(stateid, 1n << 40n, 4096),
      op.write(stateid, 5n, Buffer.from('data!')),
      op.commit(1n, 2),
      op.symlink('l', 'target'),
      op.mkdir('d'),
      op.rename('a', 'b'),
      op.readdir(7n, Buffer.from('verifier'), 100, [1, 20]),
      op.setattr({ mode: 0o644, uid: 1 }, stateid),
      op.createUnchecked('f'),
      op.close(stateid),
      op.testStateid(stateid, stateid),
      op.exchangeId('owner'),
      op.createSession(99n, 1),
      op.sequence(Buffer.alloc(16, 5), 9, 2, true),
      op.destroySession(Buffer.alloc(16, 5)),
      op.reclaimComplete(true),
    ];
    for (const s of samples) {
      const bytes = enc((w) => s.op.encodeArgs(w, s.args));
      const r = new XdrReader(bytes);
      assert.deepEqual(s.op.decodeArgs(r), s.args, s.op.name);
      assert.equal(r.remaining(), 0, `${s.op.name} consumed exactly`);
      // Every truncation is a clean XdrError, never a crash or a silent short read.
      for (let cut = 0; cut < bytes.length; cut += 4) {
        const tr = new XdrReader(bytes.subarray(0, cut));
        let threw = false;
        try {
          s.op.decodeArgs(tr);
        } catch {
          threw = true;
        }
        assert.ok(threw, `${s.op.name} truncated at ${cut} must not decode`);
      }
    }
  });

  it('COMPOUND4args: tag, minor version, op count; the ops stay undecoded', () => {
    const bytes = enc((w) => encodeCOMPOUND4args(w, 'tag', 2, [op.putrootfh(), op.getfh()]));
    const a = decodeCOMPOUND4args(new XdrReader(bytes));
    assert.equal(a.tag.toString(), 'tag');
    assert.equal(a.minorversion, 2);
    assert.equal(a.count, 2);
    assert.deepEqual(a.ops, Buffer.from([0, 0, 0, nfs_opnum4.OP_PUTROOTFH, 0, 0, 0, nfs_opnum4.OP_GETFH]));
  });
});
