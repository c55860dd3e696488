/**
 * NFSv3 codec round trips for every procedure's arguments and results (OK and failure), truncated input →
 * XdrError at every cut, oversized items → XdrError, and one byte-exact vector built by hand from the
 * RFC 1813 §2.6 layouts (test/fixtures/nfs3-attr-vectors.hex, whose header names its source).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileType, type Attr } from '../../../cluster/vfs/types';
import { putFattr3Of, toFattr3 } from '../../../protocols/nfs3/attrs';
import type { AnyNfs3Procedure } from '../../../protocols/nfs3/procedure';
import { ACCESS } from '../../../protocols/nfs3/procs/access';
import { COMMIT } from '../../../protocols/nfs3/procs/commit';
import { CREATE } from '../../../protocols/nfs3/procs/create';
import { FSINFO } from '../../../protocols/nfs3/procs/fsinfo';
import { FSSTAT } from '../../../protocols/nfs3/procs/fsstat';
import { GETATTR } from '../../../protocols/nfs3/procs/getattr';
import { LINK } from '../../../protocols/nfs3/procs/link';
import { LOOKUP } from '../../../protocols/nfs3/procs/lookup';
import { MKDIR } from '../../../protocols/nfs3/procs/mkdir';
import { MKNOD } from '../../../protocols/nfs3/procs/mknod';
import { PATHCONF } from '../../../protocols/nfs3/procs/pathconf';
import { READ } from '../../../protocols/nfs3/procs/read';
import { READDIR } from '../../../protocols/nfs3/procs/readdir';
import { READDIRPLUS } from '../../../protocols/nfs3/procs/readdirplus';
import { READLINK } from '../../../protocols/nfs3/procs/readlink';
import { REMOVE } from '../../../protocols/nfs3/procs/remove';
import { RENAME } from '../../../protocols/nfs3/procs/rename';
import { RMDIR } from '../../../protocols/nfs3/procs/rmdir';
import { SETATTR } from '../../../protocols/nfs3/procs/setattr';
import { SYMLINK } from '../../../protocols/nfs3/procs/symlink';
import { WRITE } from '../../../protocols/nfs3/procs/write';
import { NFS3_PROCEDURES } from '../../../protocols/nfs3/table';
import {
  createmode3,
  ftype3,
  nfsstat3,
  stable_how,
  time_how,
  type Nfs3Res,
  type fattr3,
  type sattr3,
  type wcc_data,
} from '../../../protocols/nfs3/types';
import { FATTR3_SIZE, decodeFattr3, encodeFattr3, encodePostOpAttr, encodeWccData, expectEnd } from '../../../protocols/nfs3/xdr';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

const fh = Buffer.from('0123456789abcdef0123456789ab', 'latin1'); // 28 bytes, like a core handle
const fh2 = Buffer.alloc(64, 0xee); // the NFS3_FHSIZE maximum
const name = Buffer.from('file.txt');
const verf = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);

const attr: fattr3 = {
  type: ftype3.NF3REG,
  mode: 0o644,
  nlink: 1,
  uid: 1000,
  gid: 100,
  size: 0x1_0000_0001n,
  used: 8192n,
  rdev: { specdata1: 0, specdata2: 0 },
  fsid: 0xfeedfacecafebeefn,
  fileid: 42n,
  atime: { seconds: 1, nseconds: 2 },
  mtime: { seconds: 3, nseconds: 4 },
  ctime: { seconds: 5, nseconds: 999_999_999 },
};
const wcc: wcc_data = { before: { size: 10n, mtime: { seconds: 7, nseconds: 8 }, ctime: { seconds: 9, nseconds: 10 } }, after: attr };
const emptyWcc: wcc_data = { before: undefined, after: undefined };
const sattr: sattr3 = {
  mode: 0o755,
  uid: undefined,
  gid: 5,
  size: 12n,
  atime: { set_it: time_how.SET_TO_SERVER_TIME },
  mtime: { set_it: time_how.SET_TO_CLIENT_TIME, time: { seconds: 100, nseconds: 200 } },
};
const sattr0: sattr3 = {
  mode: undefined,
  uid: undefined,
  gid: undefined,
  size: undefined,
  atime: { set_it: time_how.DONT_CHANGE },
  mtime: { set_it: time_how.DONT_CHANGE },
};
const created = { obj: fh, obj_attributes: attr, dir_wcc: wcc };

/** [procedure, sample args, sample resok, sample resfail] */
const SAMPLES: Array<[AnyNfs3Procedure, unknown, unknown, unknown]> = [
  [GETATTR, { object: fh }, { obj_attributes: attr }, undefined],
  [SETATTR, { object: fh, new_attributes: sattr, guard: { seconds: 5, nseconds: 6 } }, { obj_wcc: wcc }, { obj_wcc: emptyWcc }],
  [SETATTR, { object: fh, new_attributes: sattr0, guard: undefined }, { obj_wcc: emptyWcc }, { obj_wcc: wcc }],
  [LOOKUP, { what: { dir: fh, name } }, { object: fh2, obj_attributes: attr, dir_attributes: undefined }, { dir_attributes: attr }],
  [ACCESS, { object: fh, access: 0x3f }, { obj_attributes: attr, access: 0x21 }, { obj_attributes: undefined }],
  [READLINK, { symlink: fh }, { symlink_attributes: attr, data: Buffer.from('../x') }, { symlink_attributes: attr }],
  [READ, { file: fh, offset: 1n << 40n, count: 65536 }, { file_attributes: attr, count: 5, eof: true, data: Buffer.from('hello') }, { file_attributes: undefined }],
  [READ, { file: fh, offset: 0n, count: 1 }, { file_attributes: undefined, count: 300, eof: false, data: Buffer.alloc(300, 9) }, { file_attributes: attr }],
  [
    WRITE,
    { file: fh, offset: 7n, count: 3, stable: stable_how.DATA_SYNC, data: Buffer.from('abc') },
    { file_wcc: wcc, count: 3, committed: stable_how.FILE_SYNC, verf },
    { file_wcc: wcc },
  ],
  [CREATE, { where: { dir: fh, name }, how: { mode: createmode3.GUARDED, obj_attributes: sattr } }, created, { dir_wcc: wcc }],
  [CREATE, { where: { dir: fh, name }, how: { mode: createmode3.EXCLUSIVE, verf } }, { obj: undefined, obj_attributes: undefined, dir_wcc: emptyWcc }, { dir_wcc: emptyWcc }],
  [MKDIR, { where: { dir: fh, name }, attributes: sattr0 }, created, { dir_wcc: wcc }],
  [SYMLINK, { where: { dir: fh, name }, symlink: { symlink_attributes: sattr, symlink_data: Buffer.from('/target') } }, created, { dir_wcc: wcc }],
  [MKNOD, { where: { dir: fh, name }, what: { type: ftype3.NF3CHR, device: { dev_attributes: sattr, spec: { specdata1: 4, specdata2: 64 } } } }, created, { dir_wcc: wcc }],
  [MKNOD, { where: { dir: fh, name }, what: { type: ftype3.NF3FIFO, pipe_attributes: sattr0 } }, created, { dir_wcc: wcc }],
  [MKNOD, { where: { dir: fh, name }, what: { type: ftype3.NF3DIR } }, created, { dir_wcc: wcc }],
  [REMOVE, { object: { dir: fh, name } }, { dir_wcc: wcc }, { dir_wcc: emptyWcc }],
  [RMDIR, { object: { dir: fh, name } }, { dir_wcc: wcc }, { dir_wcc: wcc }],
  [RENAME, { from: { dir: fh, name }, to: { dir: fh2, name: Buffer.from('b') } }, { fromdir_wcc: wcc, todir_wcc: emptyWcc }, { fromdir_wcc: emptyWcc, todir_wcc: wcc }],
  [LINK, { file: fh, link: { dir: fh2, name } }, { file_attributes: attr, linkdir_wcc: wcc }, { file_attributes: undefined, linkdir_wcc: emptyWcc }],
  [
    READDIR,
    { dir: fh, cookie: 12345678901234n, cookieverf: verf, count: 4096 },
    { dir_attributes: attr, cookieverf: verf, reply: { entries: [{ fileid: 1n, name: Buffer.from('.'), cookie: 1n }, { fileid: 9n, name, cookie: 3n }], eof: true } },
    { dir_attributes: attr },
  ],
  [
    READDIRPLUS,
    { dir: fh, cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 512, maxcount: 8192 },
    {
      dir_attributes: undefined,
      cookieverf: verf,
      reply: {
        entries: [
          { fileid: 1n, name: Buffer.from('.'), cookie: 1n, name_attributes: attr, name_handle: fh },
          { fileid: 2n, name: Buffer.from('..'), cookie: 2n, name_attributes: undefined, name_handle: undefined },
        ],
        eof: false,
      },
    },
    { dir_attributes: undefined },
  ],
  [
    FSSTAT,
    { fsroot: fh },
    { obj_attributes: attr, tbytes: 1n << 50n, fbytes: 1n << 40n, abytes: 1n << 39n, tfiles: 100n, ffiles: 50n, afiles: 49n, invarsec: 0 },
    { obj_attributes: attr },
  ],
  [
    FSINFO,
    { fsroot: fh },
    {
      obj_attributes: attr,
      rtmax: 1 << 20,
      rtpref: 1 << 20,
      rtmult: 4096,
      wtmax: 1 << 20,
      wtpref: 1 << 20,
      wtmult: 4096,
      dtpref: 65536,
      maxfilesize: (1n << 63n) - 1n,
      time_delta: { seconds: 0, nseconds: 1 },
      properties: 0x1b,
    },
    { obj_attributes: undefined },
  ],
  [
    PATHCONF,
    { object: fh },
    { obj_attributes: attr, linkmax: 65000, name_max: 255, no_trunc: true, chown_restricted: true, case_insensitive: false, case_preserving: true },
    { obj_attributes: attr },
  ],
  [COMMIT, { file: fh, offset: 0n, count: 0 }, { file_wcc: wcc, verf }, { file_wcc: wcc }],
];

function enc(f: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter();
  f(w);
  return w.toBuffer();
}

function assertTruncationsThrow(bytes: Buffer, decode: (r: XdrReader) => unknown, what: string): void {
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(
      () => {
        const r = new XdrReader(bytes.subarray(0, cut));
        decode(r);
        expectEnd(r);
      },
      XdrError,
      `${what} cut at ${cut}/${bytes.length}`,
    );
  }
}

describe('NFSv3 codecs', () => {
  it('every procedure except NULL has samples', () => {
    const covered = new Set(SAMPLES.map(([d]) => d.name));
    for (const d of NFS3_PROCEDURES) if (d.name !== 'NULL') assert.ok(covered.has(d.name), d.name);
  });

  for (const [d, args, ok, fail] of SAMPLES) {
    it(`${d.name}: args, resok and resfail round-trip; truncation → XdrError`, () => {
      const a = enc((w) => d.encodeArgs(w, args));
      const ra = new XdrReader(a);
      assert.deepEqual(d.decodeArgs(ra), args);
      assert.equal(ra.remaining(), 0);
      assertTruncationsThrow(a, (r) => d.decodeArgs(r), `${d.name} args`);

      const results: Array<Nfs3Res<unknown, unknown>> = [
        { status: nfsstat3.NFS3_OK, resok: ok },
        { status: nfsstat3.NFS3ERR_IO, resfail: fail },
      ];
      for (const res of results) {
        const b = enc((w) => d.encodeRes(w, res));
        const rb = new XdrReader(b);
        assert.deepEqual(d.decodeRes(rb), res);
        assert.equal(rb.remaining(), 0);
        assertTruncationsThrow(b, (r) => d.decodeRes(r), `${d.name} res`);
      }
    });
  }

  it('oversized handles, names and data are XdrErrors, not allocations', () => {
    const fh65 = enc((w) => w.opaque(Buffer.alloc(65)));
    assert.throws(() => GETATTR.decodeArgs(new XdrReader(fh65)), XdrError);
    const hugeName = enc((w) => {
      w.opaque(fh);
      w.uint32(0xffffffff);
    });
    assert.throws(() => LOOKUP.decodeArgs(new XdrReader(hugeName)), XdrError);
    const longName = enc((w) => {
      w.opaque(fh);
      w.opaque(Buffer.alloc(4097, 0x61));
    });
    assert.throws(() => LOOKUP.decodeArgs(new XdrReader(longName)), XdrError);
    const badStable = enc((w) => {
      w.opaque(fh).uint64(0n).uint32(1).uint32(3);
      w.opaque(Buffer.from('a'));
    });
    assert.throws(() => WRITE.decodeArgs(new XdrReader(badStable)), /stable_how/);
    const badMode = enc((w) => {
      w.opaque(fh).opaque(name).uint32(3);
    });
    assert.throws(() => CREATE.decodeArgs(new XdrReader(badMode)), /createmode3/);
    const badTime = enc((w) => {
      w.opaque(fh).uint32(0).uint32(0).uint32(0).uint32(0).uint32(7).uint32(0).uint32(0);
    });
    assert.throws(() => SETATTR.decodeArgs(new XdrReader(badTime)), /time_how/);
    const badBool = enc((w) => {
      w.opaque(fh).uint32(2);
    });
    assert.throws(() => SETATTR.decodeArgs(new XdrReader(badBool)), XdrError);
  });

  it('decoded names and verifiers are copies, not views of the request', () => {
    const a = enc((w) => CREATE.encodeArgs(w, { where: { dir: fh, name }, how: { mode: createmode3.EXCLUSIVE, verf } }));
    const args = CREATE.decodeArgs(new XdrReader(a)) as { where: { name: Buffer }; how: { verf: Buffer } };
    a.fill(0);
    assert.deepEqual(args.where.name, name);
    assert.deepEqual(args.how.verf, verf);
  });
});

describe('fattr3 / post_op_attr / wcc_data byte layout (fixtures/nfs3-attr-vectors.hex)', () => {
  const fixture = readFileSync(join(__dirname, '../../../../test/fixtures/nfs3-attr-vectors.hex'), 'utf8');
  const vectors = new Map<string, Buffer>();
  for (const line of fixture.split('\n')) {
    const m = /^(\w+):\s*([0-9a-f ]+)$/.exec(line.trim());
    if (m) vectors.set(m[1]!, Buffer.from(m[2]!.replace(/ /g, ''), 'hex'));
  }

  it('fattr3 is 84 bytes in RFC field order', () => {
    const b = enc((w) => encodeFattr3(w, attr));
    assert.equal(b.length, FATTR3_SIZE);
    assert.equal(FATTR3_SIZE, 84);
    assert.deepEqual(b, vectors.get('fattr3'));
    assert.deepEqual(decodeFattr3(new XdrReader(vectors.get('fattr3')!)), attr);
  });

  it('post_op_attr and wcc_data', () => {
    assert.deepEqual(enc((w) => encodePostOpAttr(w, undefined)), vectors.get('post_op_attr_absent'));
    assert.deepEqual(enc((w) => encodeWccData(w, wcc)), vectors.get('wcc_data'));
  });

  it('a core Attr written in place (READDIRPLUS pages) gives the bytes of its fattr3, for every edge', () => {
    const base: Attr = {
      type: FileType.REG,
      mode: 0o100644,
      nlink: 3,
      uid: 1000,
      gid: 100,
      size: 0x1_0000_0001n,
      used: 8192n,
      rdev: { major: 0, minor: 0 },
      fsid: 0x7fff_0000_1234_5678n,
      fileId: 42n,
      atime: 1_700_000_000_123_456_789n,
      mtime: 0n,
      ctime: 999_999_999n,
      birthTime: 0n,
      change: 7n,
      dosAttrs: 0,
    };
    const cases: Attr[] = [
      base,
      // Before the epoch: seconds round down, nseconds stay in [0, 1e9).
      { ...base, type: FileType.DIR, mode: 0o41777, atime: -1n, mtime: -1_500_000_000n, ctime: -(2n ** 40n) },
      // Seconds past 2^32 wrap as knfsd's do; ids and counts at their 32-bit maxima; sizes at 2^64 - 1.
      { ...base, type: FileType.CHR, rdev: { major: 0xffff_ffff, minor: 7 }, atime: (2n ** 32n + 5n) * 1_000_000_000n + 1n, uid: 0xffff_ffff, gid: 0xffff_fffe, nlink: 0xffff_ffff, size: 2n ** 64n - 1n, used: 2n ** 64n - 1n, fileId: 2n ** 63n },
      { ...base, type: FileType.LNK, mode: 0o777 },
      { ...base, type: FileType.SOCK },
      { ...base, type: FileType.FIFO },
      { ...base, type: FileType.BLK, rdev: { major: 8, minor: 1 } },
    ];
    for (const a of cases) {
      const b = Buffer.alloc(FATTR3_SIZE + 8, 0xaa);
      putFattr3Of(new DataView(b.buffer, b.byteOffset, b.length), 4, a);
      assert.deepEqual(b.subarray(4, 4 + FATTR3_SIZE), enc((w) => encodeFattr3(w, toFattr3(a))));
      // Nothing outside its 84 bytes.
      assert.deepEqual([...b.subarray(0, 4), ...b.subarray(4 + FATTR3_SIZE)], new Array(8).fill(0xaa));
    }
  });
});
