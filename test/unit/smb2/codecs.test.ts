import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errc } from '../../../cluster/vfs/errors';
import { FileType, type Attr } from '../../../cluster/vfs/types';
import { decodeCreateContexts, encodeCreateContexts, SMB2_CREATE_Request } from '../../../protocols/smb2/commands/create';
import { SMB2_NEGOTIATE_Request, smb1NegotiateDialect } from '../../../protocols/smb2/commands/negotiate';
import { SMB2_READ_Request } from '../../../protocols/smb2/commands/read';
import { SMB2_WRITE_Request } from '../../../protocols/smb2/commands/write';
import { shareNameOf } from '../../../protocols/smb2/commands/tree-connect';
import { SMB2_PROTOCOL_ID, Smb2Cmd, SMB2_DIALECT_WILDCARD, SMB2_DIALECT_202 } from '../../../protocols/smb2/constants';
import { CreditWindow } from '../../../protocols/smb2/credits';
import { filetimeFromNs, fileAttributes, nsFromFiletime, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL } from '../../../protocols/smb2/fscc/attrs';
import { encodeDirEntry, FileIdBothDirectoryInformation, FileNamesInformation, FileBothDirectoryInformation, FileFullDirectoryInformation, FileDirectoryInformation, FileIdFullDirectoryInformation } from '../../../protocols/smb2/fscc/dir-info';
import { encodeFileInfo, FileAllInformation, FileBasicInformation, FileNetworkOpenInformation, FileStandardInformation, FileStreamInformation } from '../../../protocols/smb2/fscc/file-info';
import { decodeSecurityDescriptor, encodeSecurityDescriptor, encodeSid, gidOfSid, modeFromDacl, SecurityDescriptorError, uidOfSid } from '../../../protocols/smb2/fscc/security';
import { compileMatcher } from '../../../protocols/smb2/fscc/wildcard';
import { decodeHeader, encodeHeader, HeaderError } from '../../../protocols/smb2/header';
import { NtStatus } from '../../../protocols/smb2/ntstatus';
import { createServerContext } from '../../../protocols/smb2/server-context';
import { ShareRegistry } from '../../../protocols/smb2/shares';
import { SMB2_STATUS, smb2StatusOf } from '../../../protocols/smb2/status';
import { parseSmbPath } from '../../../protocols/smb2/tree/paths';
import { decodeUtf16, Utf16Error } from '../../../protocols/smb2/utf16';
import { DecodeError } from '../../../protocols/smb2/wire';
import { SmbError } from '../../../protocols/smb2/command';

/** A request message: 64-byte header + body (offsets in bodies are from the header). */
function msg(command: number, body: Buffer): Buffer {
  const h = Buffer.alloc(64);
  encodeHeader(h, { creditCharge: 1, status: 0, command, credits: 1, flags: 0, nextCommand: 0, messageId: 7n, treeId: 1, asyncId: 0n, sessionId: 9n });
  return Buffer.concat([h, body]);
}

const attr = (over: Partial<Attr> = {}): Attr => ({
  type: FileType.REG,
  mode: 0o644,
  nlink: 1,
  uid: 1000,
  gid: 100,
  size: 12345n,
  used: 16384n,
  rdev: { major: 0, minor: 0 },
  fsid: 5n,
  fileId: 42n,
  atime: 1_700_000_000_000_000_000n,
  mtime: 1_700_000_001_000_000_000n,
  ctime: 1_700_000_002_000_000_000n,
  birthTime: 1_600_000_000_000_000_000n,
  change: 1n,
  dosAttrs: 0,
  ...over,
});

describe('SMB2 header', () => {
  it('round-trips the sync form and validates protocol id and StructureSize', () => {
    const m = msg(Smb2Cmd.READ, Buffer.alloc(49));
    const h = decodeHeader(m);
    assert.equal(h.command, Smb2Cmd.READ);
    assert.equal(h.messageId, 7n);
    assert.equal(h.treeId, 1);
    assert.equal(h.sessionId, 9n);
    assert.equal(m.readUInt32LE(0), SMB2_PROTOCOL_ID);
    const bad = Buffer.from(m);
    bad[0] = 0xfd;
    assert.throws(() => decodeHeader(bad), HeaderError);
    const bad2 = Buffer.from(m);
    bad2.writeUInt16LE(63, 4);
    assert.throws(() => decodeHeader(bad2), HeaderError);
    assert.throws(() => decodeHeader(m.subarray(0, 63)), HeaderError);
  });
});

describe('request views check StructureSize and every offset/length', () => {
  it('READ: good, short body, wrong StructureSize', () => {
    const b = Buffer.alloc(49);
    b.writeUInt16LE(49, 0);
    b.writeUInt32LE(65536, 4);
    b.writeBigUInt64LE(1024n, 8);
    const r = SMB2_READ_Request.decode(msg(Smb2Cmd.READ, b));
    assert.equal(r.length, 65536);
    assert.equal(r.offset, 1024n);
    assert.throws(() => SMB2_READ_Request.decode(msg(Smb2Cmd.READ, b.subarray(0, 40))), DecodeError);
    const c = Buffer.from(b);
    c.writeUInt16LE(48, 0);
    assert.throws(() => SMB2_READ_Request.decode(msg(Smb2Cmd.READ, c)), DecodeError);
  });

  it('WRITE: data offset/length must lie in the message, after the fixed part', () => {
    const body = Buffer.alloc(48 + 10);
    body.writeUInt16LE(49, 0);
    body.writeUInt16LE(64 + 48, 2);
    body.writeUInt32LE(10, 4);
    body.fill(7, 48);
    assert.deepEqual([...SMB2_WRITE_Request.decode(msg(Smb2Cmd.WRITE, body)).data], Array(10).fill(7));
    for (const [off, len] of [
      [64 + 48, 11],
      [64 + 40, 4],
      [0, 4],
      [0xffff, 1],
    ]) {
      const b = Buffer.from(body);
      b.writeUInt16LE(off!, 2);
      b.writeUInt32LE(len!, 4);
      assert.throws(() => SMB2_WRITE_Request.decode(msg(Smb2Cmd.WRITE, b)), DecodeError, `offset ${off} length ${len}`);
    }
  });

  it('NEGOTIATE: dialects and 3.1.1 contexts; no dialect is INVALID_PARAMETER', () => {
    const dialects = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];
    const ctxOff = 64 + 36 + dialects.length * 2;
    const pad = ((ctxOff + 7) & ~7) - ctxOff;
    const preauth = Buffer.alloc(8 + 38);
    preauth.writeUInt16LE(1, 0);
    preauth.writeUInt16LE(38, 2);
    preauth.writeUInt16LE(1, 8);
    preauth.writeUInt16LE(32, 10);
    preauth.writeUInt16LE(1, 12);
    const body = Buffer.alloc(36 + dialects.length * 2 + pad);
    body.writeUInt16LE(36, 0);
    body.writeUInt16LE(dialects.length, 2);
    body.writeUInt32LE(ctxOff + pad, 28);
    body.writeUInt16LE(1, 32);
    dialects.forEach((d, i) => body.writeUInt16LE(d, 36 + i * 2));
    const r = SMB2_NEGOTIATE_Request.decode(msg(Smb2Cmd.NEGOTIATE, Buffer.concat([body, preauth])));
    assert.deepEqual(r.dialects, dialects);
    assert.equal(r.contexts.length, 1);
    assert.equal(r.contexts[0]!.type, 1);
    const none = Buffer.from(body);
    none.writeUInt16LE(0, 2);
    assert.throws(() => SMB2_NEGOTIATE_Request.decode(msg(Smb2Cmd.NEGOTIATE, none)), DecodeError);
    // A context pointing past the end.
    assert.throws(() => SMB2_NEGOTIATE_Request.decode(msg(Smb2Cmd.NEGOTIATE, Buffer.concat([body, preauth.subarray(0, 20)]))), DecodeError);
  });

  it('SMB1 NEGOTIATE: "SMB 2.???" → 0x02FF, only "SMB 2.002" → 0x0202, SMB1-only → none', () => {
    const server = createServerContext({ logger: { debug() {}, info() {}, warn() {}, error() {} }, users: { lookup: () => undefined }, shares: new ShareRegistry() });
    const smb1 = (...ds: string[]): Buffer => {
      const strings = Buffer.concat(ds.map((d) => Buffer.concat([Buffer.from([2]), Buffer.from(d + '\0', 'latin1')])));
      const h = Buffer.alloc(32);
      h.writeUInt32LE(0x424d53ff, 0);
      h[4] = 0x72;
      const bc = Buffer.alloc(3);
      bc.writeUInt16LE(strings.length, 1);
      return Buffer.concat([h, bc, strings]);
    };
    assert.equal(smb1NegotiateDialect(smb1('NT LM 0.12', 'SMB 2.002', 'SMB 2.???'), server), SMB2_DIALECT_WILDCARD);
    assert.equal(smb1NegotiateDialect(smb1('NT LM 0.12', 'SMB 2.002'), server), SMB2_DIALECT_202);
    assert.equal(smb1NegotiateDialect(smb1('NT LM 0.12'), server), undefined);
    assert.equal(smb1NegotiateDialect(Buffer.alloc(10), server), undefined);
  });

  it('CREATE contexts: round trip, and malformed chains refused', () => {
    const enc = encodeCreateContexts([
      { name: 'MxAc', data: Buffer.alloc(0) },
      { name: 'QFid', data: Buffer.from([1, 2, 3]) },
    ]);
    const dec = decodeCreateContexts(enc);
    assert.deepEqual(
      dec.map((c) => [c.name, [...c.data]]),
      [
        ['MxAc', []],
        ['QFid', [1, 2, 3]],
      ],
    );
    const bad = Buffer.from(enc);
    bad.writeUInt32LE(5, 0); // Next not 8-aligned
    assert.throws(() => decodeCreateContexts(bad), DecodeError);
    const bad2 = Buffer.from(enc);
    bad2.writeUInt32LE(0xffff, 12); // DataLength past the context
    assert.throws(() => decodeCreateContexts(bad2.subarray(0, 24)), DecodeError);
  });

  it('CREATE: the name must lie in the message and be even-length UTF-16', () => {
    const name = Buffer.from('dir\\file.txt', 'utf16le');
    const body = Buffer.alloc(56 + name.length);
    body.writeUInt16LE(57, 0);
    body.writeUInt16LE(64 + 56, 44);
    body.writeUInt16LE(name.length, 46);
    name.copy(body, 56);
    assert.equal(SMB2_CREATE_Request.decode(msg(Smb2Cmd.CREATE, body)).name, 'dir\\file.txt');
    const odd = Buffer.from(body);
    odd.writeUInt16LE(name.length - 1, 46);
    assert.throws(() => SMB2_CREATE_Request.decode(msg(Smb2Cmd.CREATE, odd)), DecodeError);
    const out = Buffer.from(body);
    out.writeUInt16LE(name.length + 2, 46);
    assert.throws(() => SMB2_CREATE_Request.decode(msg(Smb2Cmd.CREATE, out)), DecodeError);
  });
});

describe('credits: the command sequence window', () => {
  it('grants, spends each id once, keeps within the limit', () => {
    const w = new CreditWindow(10);
    assert.equal(w.outstanding, 1);
    assert.ok(w.consume(0n, 1));
    assert.ok(!w.consume(0n, 1), 'reuse');
    assert.equal(w.grant(100), 10);
    assert.ok(!w.consume(11n, 1), 'beyond the window');
    assert.ok(w.consume(1n, 4), 'multi-credit');
    assert.ok(!w.consume(3n, 1), 'inside a spent multi-credit range');
    assert.ok(w.consume(7n, 1), 'out of order');
    assert.ok(w.consume(5n, 2));
    assert.equal(w.outstanding, 3);
    assert.equal(w.grant(0), 1, 'at least one when asked for none');
    assert.equal(w.grant(1000), 6);
    assert.equal(w.grant(1000), 0, 'at the limit');
  });
  it('never leaves a client without a credit', () => {
    const w = new CreditWindow(1);
    assert.ok(w.consume(0n, 1));
    assert.equal(w.grant(0), 1);
    assert.ok(w.consume(1n, 1));
  });
});

describe('paths, wildcards, UTF-16', () => {
  it('parses share-relative paths and refuses what could escape or confuse the core', () => {
    assert.deepEqual(parseSmbPath(''), { components: [], trailingSlash: false });
    assert.deepEqual(parseSmbPath('a\\b c\\d.txt').components, ['a', 'b c', 'd.txt']);
    assert.deepEqual(parseSmbPath('a\\f.txt::$DATA').components, ['a', 'f.txt']);
    assert.deepEqual(parseSmbPath('dir\\'), { components: ['dir'], trailingSlash: true });
    const status = (f: () => unknown): number => {
      try {
        f();
      } catch (e) {
        if (e instanceof SmbError) return e.status;
        throw e;
      }
      return 0;
    };
    assert.equal(status(() => parseSmbPath('\\abs')), NtStatus.STATUS_INVALID_PARAMETER);
    assert.equal(parseSmbPath('\\abs', true).components[0], 'abs');
    for (const bad of ['..\\x', 'a\\..\\..\\x', 'a\\.\\b', 'a\\\\b', 'a/b', 'x*', 'x?', 'a<b', 'a|b', 'a"b', 'bad\u0001']) {
      assert.equal(status(() => parseSmbPath(bad)), NtStatus.STATUS_OBJECT_NAME_INVALID, bad);
    }
    // No named streams (FILE_NAMED_STREAMS is not announced): a stream name is an invalid name.
    assert.equal(status(() => parseSmbPath('f.txt:stream:$DATA')), NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.equal(status(() => parseSmbPath('f.txt:stream')), NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.deepEqual(parseSmbPath('f.txt::$DATA').components, ['f.txt']);
    assert.equal(status(() => parseSmbPath('x'.repeat(256))), NtStatus.STATUS_OBJECT_NAME_INVALID);
  });

  it('matches MS-FSA expressions case-insensitively', () => {
    const m = (e: string, n: string): boolean => compileMatcher(e)(n);
    assert.ok(m('*', 'anything'));
    assert.ok(m('*.TXT', 'a.txt'));
    assert.ok(!m('*.txt', 'a.txtx'));
    assert.ok(m('a?c', 'abc'));
    assert.ok(!m('a?c', 'ac'));
    assert.ok(m('exact.name', 'EXACT.NAME'));
    assert.ok(m('<.txt', 'file.txt'));
    assert.ok(m('file>', 'file'));
    assert.ok(m('file"', 'file'));
    assert.ok(m('a*b*c', 'aXXbYYc'));
    assert.ok(!m('a*b*c', 'aXXbYY'));
  });

  it('UTF-16 names: unpaired surrogates and odd lengths are refused', () => {
    assert.equal(decodeUtf16(Buffer.from('żółw 🐢', 'utf16le')), 'żółw 🐢');
    assert.throws(() => decodeUtf16(Buffer.from([0x00, 0xd8])), Utf16Error);
    assert.throws(() => decodeUtf16(Buffer.from([0x41])), Utf16Error);
  });

  it('share names from \\\\server\\share', () => {
    assert.equal(shareNameOf('\\\\127.0.0.1\\data'), 'data');
    assert.equal(shareNameOf('\\\\host\\IPC$'), 'IPC$');
    assert.equal(shareNameOf('\\\\host\\a\\b'), undefined);
    assert.equal(shareNameOf('data'), undefined);
  });
});

describe('MS-FSCC encodings', () => {
  it('FILETIME: 100 ns since 1601', () => {
    assert.equal(filetimeFromNs(0n), 116444736000000000n);
    assert.equal(nsFromFiletime(filetimeFromNs(1_700_000_000_123_456_700n)), 1_700_000_000_123_456_700n);
    assert.equal(filetimeFromNs(-200_000_000_000_000_000_000n), 0n, 'clamped, never negative');
  });

  it('attributes: NORMAL when nothing is set, DIRECTORY for directories', () => {
    assert.equal(fileAttributes(attr()), FILE_ATTRIBUTE_NORMAL);
    assert.equal(fileAttributes(attr({ type: FileType.DIR })), FILE_ATTRIBUTE_DIRECTORY);
    assert.equal(fileAttributes(attr({ dosAttrs: 0x21 })), 0x21);
  });

  it('directory entries have the spec sizes and the file id where the spec puts it', () => {
    const a = attr();
    const name = Buffer.from('file.txt', 'utf16le');
    const sizes: Array<[number, number]> = [
      [FileDirectoryInformation, 64],
      [FileFullDirectoryInformation, 68],
      [FileBothDirectoryInformation, 94],
      [FileNamesInformation, 12],
      [FileIdBothDirectoryInformation, 104],
      [FileIdFullDirectoryInformation, 80],
    ];
    for (const [cls, fixed] of sizes) {
      const e = encodeDirEntry(cls, 'file.txt', a, 42n);
      assert.equal(e.length, fixed + name.length, `class ${cls}`);
      assert.ok(e.subarray(fixed).equals(name));
    }
    const idb = encodeDirEntry(FileIdBothDirectoryInformation, 'file.txt', a, 42n);
    assert.equal(idb.readBigUInt64LE(96), 42n);
    assert.equal(idb.readBigUInt64LE(40), 12345n);
    assert.equal(idb.readUInt32LE(60), name.length);
    assert.equal(idb.readBigUInt64LE(8), filetimeFromNs(a.birthTime));
  });

  it('file information classes have their fixed sizes', () => {
    const facts = { attr: attr(), deletePending: false, accessFlags: 0x1f01ff, position: 0n, mode: 0, path: '\\dir\\f' };
    assert.equal(encodeFileInfo(FileBasicInformation, facts)!.data.length, 40);
    assert.equal(encodeFileInfo(FileStandardInformation, facts)!.data.length, 24);
    assert.equal(encodeFileInfo(FileNetworkOpenInformation, facts)!.data.length, 56);
    assert.equal(encodeFileInfo(FileAllInformation, facts)!.data.length, 100 + Buffer.byteLength('\\dir\\f', 'utf16le'));
    assert.equal(encodeFileInfo(FileStreamInformation, facts)!.data.length, 24 + 14);
    assert.equal(encodeFileInfo(FileStreamInformation, { ...facts, attr: attr({ type: FileType.DIR }) })!.data.length, 0);
    assert.equal(encodeFileInfo(99, facts), undefined);
  });

  it('security descriptor: self-relative, owner/group SIDs S-1-5-88-x, owner/group/Everyone/mode ACEs', () => {
    const sd = encodeSecurityDescriptor(attr({ uid: 1000, gid: 100, mode: 0o4640 }), 0x7);
    assert.equal(sd[0], 1);
    assert.equal(sd.readUInt16LE(2) & 0x8004, 0x8004);
    const owner = sd.readUInt32LE(4);
    assert.equal(sd[owner + 1], 3);
    assert.equal(sd.readUInt32LE(owner + 8), 88);
    assert.equal(sd.readUInt32LE(owner + 12), 1);
    assert.equal(sd.readUInt32LE(owner + 16), 1000);
    const dacl = sd.readUInt32LE(16);
    assert.equal(sd.readUInt16LE(dacl + 4), 4);
    // Decoding our own descriptor gives back the same ids and the whole mode.
    const d = decodeSecurityDescriptor(sd);
    assert.equal(uidOfSid(d.owner!), 1000);
    assert.equal(gidOfSid(d.group!), 100);
    assert.equal(modeFromDacl(d.dacl!, 1000, 100, 0), 0o4640);
  });

  it('security descriptor → mode: owner/group/Everyone ACEs, deny ACEs, NULL DACL, Samba SIDs', () => {
    const sid = (auth: number, subs: number[]) => encodeSid(auth, subs);
    const aceB = (type: number, mask: number, s: Buffer) => {
      const b = Buffer.alloc(8 + s.length);
      b[0] = type;
      b.writeUInt16LE(b.length, 2);
      b.writeUInt32LE(mask >>> 0, 4);
      s.copy(b, 8);
      return b;
    };
    const sdOf = (owner: Buffer | null, aces: Buffer[] | null) => {
      const h = Buffer.alloc(20);
      h[0] = 1;
      h.writeUInt16LE(0x8000 | (aces ? 4 : 0), 2);
      const parts: Buffer[] = [h];
      let off = 20;
      if (owner) {
        h.writeUInt32LE(off, 4);
        parts.push(owner);
        off += owner.length;
      }
      if (aces) {
        const acl = Buffer.alloc(8);
        acl[0] = 2;
        acl.writeUInt16LE(8 + aces.reduce((n, a) => n + a.length, 0), 2);
        acl.writeUInt16LE(aces.length, 4);
        h.writeUInt32LE(off, 16);
        parts.push(acl, ...aces);
      }
      return Buffer.concat(parts);
    };
    const R = 0x1;
    const W = 0x2;
    const X = 0x20;
    const d = decodeSecurityDescriptor(
      sdOf(sid(22, [1, 7]), [aceB(0, R | W | X, sid(22, [1, 7])), aceB(1, W, sid(5, [88, 2, 9])), aceB(0, R | W, sid(5, [88, 2, 9])), aceB(0, 0x10000000, sid(1, [0]))]),
    );
    assert.equal(uidOfSid(d.owner!), 7);
    assert.equal(modeFromDacl(d.dacl!, 7, 9, 0o1000), 0o1747);
    assert.equal(modeFromDacl(decodeSecurityDescriptor(sdOf(null, null)).dacl!, 1, 1, 0o600), 0o777);
    // Offsets and sizes outside the buffer are errors, not reads past the end.
    const bad = sdOf(sid(1, [0]), [aceB(0, R, sid(1, [0]))]);
    bad.writeUInt32LE(1000, 4);
    assert.throws(() => decodeSecurityDescriptor(bad), SecurityDescriptorError);
    const bad2 = sdOf(null, [aceB(0, R, sid(1, [0]))]);
    bad2.writeUInt16LE(0xfff0, 20 + 2);
    assert.throws(() => decodeSecurityDescriptor(bad2), SecurityDescriptorError);
    assert.throws(() => decodeSecurityDescriptor(Buffer.alloc(10)), SecurityDescriptorError);
  });
});

describe('the Errc → NTSTATUS table', () => {
  it('maps every Errc to an error status', () => {
    for (const e of Object.values(Errc)) {
      const s = SMB2_STATUS[e];
      assert.ok(s !== undefined, e);
      assert.equal(s >>> 30, 3, `${e} maps to an error severity`);
    }
    assert.equal(Object.keys(SMB2_STATUS).length, Object.values(Errc).length);
  });
  it('keeps the meanings clients act on', () => {
    assert.equal(SMB2_STATUS[Errc.NOENT], NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
    assert.equal(SMB2_STATUS[Errc.EXIST], NtStatus.STATUS_OBJECT_NAME_COLLISION);
    assert.equal(SMB2_STATUS[Errc.SHARING_VIOLATION], NtStatus.STATUS_SHARING_VIOLATION);
    assert.equal(SMB2_STATUS[Errc.NOTEMPTY], NtStatus.STATUS_DIRECTORY_NOT_EMPTY);
    assert.equal(SMB2_STATUS[Errc.ACCES], NtStatus.STATUS_ACCESS_DENIED);
    assert.equal(smb2StatusOf('NEW_THING' as Errc), NtStatus.STATUS_INTERNAL_ERROR);
  });
});

describe('server context', () => {
  it('session ids are positive 64-bit values, unique, whatever the random prefix', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 200; i++) {
      const ctx = createServerContext({ logger: { debug() {}, info() {}, warn() {}, error() {} }, users: { lookup: () => undefined }, shares: new ShareRegistry() });
      const id = ctx.nextSessionId();
      assert.ok(id > 0n && id < 1n << 63n, String(id));
      assert.ok(!seen.has(id));
      seen.add(id);
      assert.ok(ctx.nextSessionId() > id);
    }
  });
});
