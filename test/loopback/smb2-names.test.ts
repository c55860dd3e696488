/**
 * SMB names and security descriptors on 127.0.0.1 over the memory backend: case-insensitive lookup on
 * SMB shares (open, rename, delete find `FILE.TXT` as `file.txt`) while the core's own lookup, which NFS
 * uses, stays case-sensitive; a share with caseInsensitive off; named streams refused as invalid names
 * while `::$DATA` works; new files carry ARCHIVE; SET_INFO security is chmod/chown through the core with
 * its permission rules; malformed descriptors are refused; FSCTL_SRV_COPYCHUNK copies server-side with
 * a resume key and enforces its limits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import type { Volume } from '../../cluster/vfs/volume';
import { Smb2Cmd, AES_CMAC } from '../../protocols/smb2/constants';
import { encodeSecurityDescriptor, encodeSid } from '../../protocols/smb2/fscc/security';
import { NtStatus } from '../../protocols/smb2/ntstatus';
import { SmbServer } from '../../protocols/smb2/server';
import { ShareRegistry } from '../../protocols/smb2/shares';
import { DiskShare } from '../../protocols/smb2/tree/disk';
import { FileType } from '../../cluster/vfs/types';
import { closeBody, createBody, dirNames, fileIdOf, queryDirBody, TestSmbClient, treeConnectBody } from './smb2-client';
import { readyClient, startTestSmb, testAccount, testUsers } from './smb2-fixture';

const ROOT = { uid: 0, gid: 0, groups: [] };

const setInfoBody = (fid: Buffer, type: number, cls: number, data: Buffer, additional = 0): Buffer => {
  const b = Buffer.alloc(32);
  b.writeUInt16LE(33, 0);
  b[2] = type;
  b[3] = cls;
  b.writeUInt32LE(data.length, 4);
  b.writeUInt16LE(64 + 32, 8);
  b.writeUInt32LE(additional, 12);
  fid.copy(b, 16);
  return Buffer.concat([b, data]);
};
const queryInfoBody = (fid: Buffer, type: number, cls: number, outLen: number, additional = 0): Buffer => {
  const b = Buffer.alloc(41);
  b.writeUInt16LE(41, 0);
  b[2] = type;
  b[3] = cls;
  b.writeUInt32LE(outLen, 4);
  b.writeUInt32LE(additional, 16);
  fid.copy(b, 24);
  return b;
};
const ioctlBody = (fid: Buffer, ctl: number, input: Buffer, maxOut = 4096): Buffer => {
  const b = Buffer.alloc(56);
  b.writeUInt16LE(57, 0);
  b.writeUInt32LE(ctl, 4);
  fid.copy(b, 8);
  b.writeUInt32LE(64 + 56, 24);
  b.writeUInt32LE(input.length, 28);
  b.writeUInt32LE(64 + 56, 36);
  b.writeUInt32LE(maxOut, 44);
  b.writeUInt32LE(1, 48); // SMB2_0_IOCTL_IS_FSCTL
  return Buffer.concat([b, input]);
};
const renameInfo = (to: string, replace: boolean): Buffer => {
  const n = Buffer.from(to, 'utf16le');
  const b = Buffer.alloc(20);
  b[0] = replace ? 1 : 0;
  b.writeUInt32LE(n.length, 16);
  return Buffer.concat([b, n]);
};

describe('loopback: SMB2 names, streams, security descriptors', () => {
  let fs: Volume;
  let server: SmbServer;
  let port: number;
  const clients: TestSmbClient[] = [];
  const ready = (user = 'alice', share = 'data'): Promise<TestSmbClient> =>
    readyClient(port, clients, { negotiate: { signingAlgos: [AES_CMAC] }, user, share, sign: true });
  const st = async (c: TestSmbClient, name: string, o: Parameters<typeof createBody>[1] = {}): Promise<{ status: number; fid: Buffer | undefined; attrs: number }> => {
    const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, o) });
    return { status: r.hdr.status, fid: r.hdr.status === 0 ? fileIdOf(r) : undefined, attrs: r.hdr.status === 0 ? r.body.readUInt32LE(56) : 0 };
  };
  const close = async (c: TestSmbClient, fid: Buffer | undefined): Promise<void> => {
    assert.equal((await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fid!) })).hdr.status, 0);
  };

  before(async () => {
    fs = createMemoryFileSystem([defaultExport('data', 1), defaultExport('exact', 2)]);
    await fs.setattr(ROOT, await fs.rootHandle(1), { mode: 0o1777 });
    await fs.setattr(ROOT, await fs.rootHandle(2), { mode: 0o1777 });
    const shares = new ShareRegistry()
      .add(new DiskShare({ config: defaultExport('data', 1), fs }))
      .add(new DiskShare({ config: defaultExport('exact', 2), fs, caseInsensitive: false }))
      .add(new DiskShare({ config: defaultExport('onlybob', 1), fs, allowUsers: ['bob'] }));
    const users = testUsers(testAccount('alice'), testAccount('bob', 1001), testAccount('admin', 0));
    ({ server, port } = await startTestSmb({ shares, users }));
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    await fs.close();
  });

  it('case-insensitive share: open, list, rename and delete find a name whatever its case; the core stays exact', async () => {
    const c = await ready();
    const made = await st(c, 'Report.TXT', { disposition: 2 });
    assert.equal(made.status, 0);
    assert.ok(made.attrs & 0x20, 'a new file carries FILE_ATTRIBUTE_ARCHIVE');
    await close(c, made.fid);
    // OPEN under other cases finds it; CREATE (must not exist) under another case collides.
    for (const n of ['report.txt', 'REPORT.TXT', 'rEpOrT.tXt']) {
      const o = await st(c, n, { disposition: 1 });
      assert.equal(o.status, 0, n);
      await close(c, o.fid);
    }
    assert.equal((await st(c, 'REPORT.txt', { disposition: 2 })).status, NtStatus.STATUS_OBJECT_NAME_COLLISION);
    // OPEN_IF under another case opens the existing file: still one entry.
    const oi = await st(c, 'report.txt', { disposition: 3 });
    assert.equal(oi.status, 0);
    assert.equal(oi.fid && (await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(oi.fid) })).hdr.status, 0);
    // Intermediate directories too.
    const d = await st(c, 'SubDir', { disposition: 2, options: 1 });
    await close(c, d.fid);
    const inner = await st(c, 'subdir\\Inner.bin', { disposition: 2 });
    assert.equal(inner.status, 0);
    await close(c, inner.fid);
    // The stored names keep their case, and NFS (the core's lookup) is case-sensitive.
    const root = await fs.rootHandle(1);
    assert.equal((await fs.lookup(ROOT, root, Buffer.from('Report.TXT'))).attr.type, FileType.REG);
    await assert.rejects(fs.lookup(ROOT, root, Buffer.from('report.txt')), (e: unknown) => e instanceof CoreError && e.errc === Errc.NOENT);
    // Exact-name QUERY_DIRECTORY under another case returns the stored name.
    const dir = await st(c, '', { disposition: 1, options: 1, access: 0x00100081 });
    const q = await c.request({ command: Smb2Cmd.QUERY_DIRECTORY, body: queryDirBody(dir.fid!, 'REPORT.txt') });
    assert.equal(q.hdr.status, 0);
    assert.deepEqual(dirNames(q.body.subarray(8, 8 + q.body.readUInt32LE(4))), ['Report.TXT']);
    await close(c, dir.fid);
    // Rename through another case of the source, onto an existing name under another case (replace).
    const other = await st(c, 'Other.txt', { disposition: 2 });
    await close(c, other.fid);
    const src = await st(c, 'REPORT.TXT', { disposition: 1, access: 0x001f01ff });
    assert.equal((await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(src.fid!, 1, 10, renameInfo('OTHER.TXT', false)) })).hdr.status, NtStatus.STATUS_OBJECT_NAME_COLLISION);
    assert.equal((await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(src.fid!, 1, 10, renameInfo('OTHER.TXT', true)) })).hdr.status, 0);
    await close(c, src.fid);
    const names = (await fs.readdir(ROOT, root, 0n, undefined, 100, false)).entries.map((e) => e.name.toString());
    assert.ok(!names.includes('Report.TXT'));
    assert.equal(names.filter((n) => n.toLowerCase() === 'other.txt').length, 1, `one entry left: ${names.join(',')}`);
    // Delete on close through another case removes the stored entry.
    const del = await st(c, 'oThEr.TxT', { disposition: 1, access: 0x00010000, options: 0x1000 });
    assert.equal(del.status, 0);
    await close(c, del.fid);
    const after = (await fs.readdir(ROOT, root, 0n, undefined, 100, false)).entries.map((e) => e.name.toString().toLowerCase());
    assert.ok(!after.includes('other.txt'));
  });

  it('rename: a sharing violation while another open of the directory holds DELETE or does not share DELETE', async () => {
    const c = await ready();
    const d = await st(c, 'rdir', { disposition: 2, options: 1 });
    await close(c, d.fid);
    const f = await st(c, 'rdir\\a.txt', { disposition: 2, access: 0x001f01ff, share: 7 });
    const tryRename = async (to: string): Promise<number> => (await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f.fid!, 1, 10, renameInfo(to, false)) })).hdr.status;
    // The directory open without share-delete: the rename must wait for it.
    const noShare = await st(c, 'rdir', { disposition: 1, options: 1, access: 0x00100081, share: 3 });
    assert.equal(await tryRename('rdir\\b.txt'), NtStatus.STATUS_SHARING_VIOLATION);
    await close(c, noShare.fid);
    // With DELETE access, even sharing everything.
    const withDelete = await st(c, 'rdir', { disposition: 1, options: 1, access: 0x00110081, share: 7 });
    assert.equal(await tryRename('rdir\\b.txt'), NtStatus.STATUS_SHARING_VIOLATION);
    await close(c, withDelete.fid);
    // A listing open (no DELETE, shares all) does not stand in the way.
    const lister = await st(c, 'rdir', { disposition: 1, options: 1, access: 0x00100081, share: 7 });
    assert.equal(await tryRename('rdir\\b.txt'), 0);
    await close(c, lister.fid);
    await close(c, f.fid);
  });

  it('absurd credit requests are granted only up to the limit; the connection keeps working', async () => {
    const c = await ready();
    let held = 0;
    for (let i = 0; i < 20; i++) {
      const r = await c.request({ command: Smb2Cmd.ECHO, body: Buffer.from([4, 0, 0, 0]), credits: 65535 });
      assert.equal(r.hdr.status, 0);
      held += r.hdr.credits - 1;
      assert.ok(r.hdr.credits <= 64, `granted ${r.hdr.credits}`);
    }
    assert.ok(held <= 64, `credits held ${held} stay within maxCredits`);
  });

  it('a share with caseInsensitive off finds exact names only', async () => {
    const c = await ready('alice', 'exact');
    const f = await st(c, 'Exact.txt', { disposition: 2 });
    await close(c, f.fid);
    assert.equal((await st(c, 'exact.txt', { disposition: 1 })).status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
    assert.equal((await st(c, 'Exact.txt', { disposition: 1 })).status, 0);
  });

  it('named streams are invalid names; the default stream works; users outside allowUsers are refused', async () => {
    const c = await ready();
    const f = await st(c, 'streamy.txt', { disposition: 2 });
    await close(c, f.fid);
    assert.equal((await st(c, 'streamy.txt:alt:$DATA', { disposition: 1 })).status, NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.equal((await st(c, 'streamy.txt:alt', { disposition: 3 })).status, NtStatus.STATUS_OBJECT_NAME_INVALID);
    const def = await st(c, 'streamy.txt::$DATA', { disposition: 1 });
    assert.equal(def.status, 0);
    await close(c, def.fid);
    const c2 = await TestSmbClient.connect(port);
    clients.push(c2);
    await c2.negotiate([0x0311], { signingAlgos: [AES_CMAC] });
    await c2.login('alice', 'pw');
    c2.sign = true;
    assert.equal((await c2.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\onlybob') })).hdr.status, NtStatus.STATUS_ACCESS_DENIED);
    const bob = await ready('bob', 'onlybob');
    assert.ok(bob.treeId);
  });

  it('SET_INFO security: DACL → chmod by the owner, owner/group → chown by root only; QUERY reads them back', async () => {
    const alice = await ready();
    const f = await st(alice, 'sec.txt', { disposition: 2, access: 0x001f01ff });
    const root = await fs.rootHandle(1);
    const fileH = (await fs.lookup(ROOT, root, Buffer.from('sec.txt'))).handle;
    const base = await fs.getattr(ROOT, fileH);
    // A descriptor for mode 0640 (owner/group/Everyone ACEs, as Windows would send).
    const sd0640 = encodeSecurityDescriptor({ ...base, mode: 0o640 }, 0x4);
    // Strip our S-1-5-88-3 mode ACE so the rwx ACEs alone decide (the 4th ACE is the last one).
    const daclOff = sd0640.readUInt32LE(16);
    const aceCount = sd0640.readUInt16LE(daclOff + 4);
    let p = daclOff + 8;
    for (let i = 0; i < aceCount - 1; i++) p += sd0640.readUInt16LE(p + 2);
    const winSd = Buffer.from(sd0640.subarray(0, p));
    winSd.writeUInt16LE(p - daclOff, daclOff + 2);
    winSd.writeUInt16LE(aceCount - 1, daclOff + 4);
    assert.equal((await alice.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f.fid!, 3, 0, winSd, 0x4) })).hdr.status, 0);
    assert.equal((await fs.getattr(ROOT, fileH)).mode & 0o7777, 0o640);
    // With the mode ACE, setuid travels too.
    const sd4750 = encodeSecurityDescriptor({ ...base, mode: 0o4750 }, 0x4);
    assert.equal((await alice.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f.fid!, 3, 0, sd4750, 0x4) })).hdr.status, 0);
    assert.equal((await fs.getattr(ROOT, fileH)).mode & 0o7777, 0o4750);
    // QUERY returns owner S-1-5-88-1-1000 and the mode ACE.
    const q = await alice.request({ command: Smb2Cmd.QUERY_INFO, body: queryInfoBody(f.fid!, 3, 0, 4096, 0x7) });
    assert.equal(q.hdr.status, 0);
    const sd = q.body.subarray(8, 8 + q.body.readUInt32LE(4));
    assert.deepEqual(sd.subarray(sd.readUInt32LE(4), sd.readUInt32LE(4) + 20), encodeSid(5, [88, 1, 1000]));
    // Giving the file away needs root: alice gets ACCESS_DENIED (the core says PERM).
    const ownerSd = encodeSecurityDescriptor({ ...base, uid: 4242 }, 0x1);
    assert.equal((await alice.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f.fid!, 3, 0, ownerSd, 0x1) })).hdr.status, NtStatus.STATUS_ACCESS_DENIED);
    // A SID that names no Unix id is INVALID_OWNER; a truncated descriptor INVALID_SECURITY_DESCR.
    const foreign = Buffer.concat([Buffer.from([1, 0, 0, 0x80, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), encodeSid(5, [21, 1, 2, 3, 500])]);
    assert.equal((await alice.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f.fid!, 3, 0, foreign, 0x1) })).hdr.status, NtStatus.STATUS_INVALID_OWNER);
    assert.equal((await alice.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f.fid!, 3, 0, sd4750.subarray(0, 30), 0x4) })).hdr.status, NtStatus.STATUS_INVALID_ACL);
    assert.equal((await alice.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f.fid!, 3, 0, Buffer.alloc(8), 0x4) })).hdr.status, NtStatus.STATUS_INVALID_SECURITY_DESCR);
    await close(alice, f.fid);
    // Another user may not chmod it (no WRITE_DAC on a file it does not own).
    const bob = await ready('bob');
    const fb = await st(bob, 'sec.txt', { disposition: 1, access: 0x00040000 });
    assert.equal(fb.status, NtStatus.STATUS_ACCESS_DENIED);
    // Root may give it away.
    const admin = await ready('admin');
    const fa = await st(admin, 'sec.txt', { disposition: 1, access: 0x000c0000 });
    assert.equal(fa.status, 0);
    const give = encodeSecurityDescriptor({ ...base, uid: 4242, gid: 77 }, 0x3);
    assert.equal((await admin.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(fa.fid!, 3, 0, give, 0x3) })).hdr.status, 0);
    const now = await fs.getattr(ROOT, fileH);
    assert.deepEqual([now.uid, now.gid], [4242, 77]);
    await close(admin, fa.fid);
  });

  it('FSCTL_SRV_COPYCHUNK: resume key, chunks copied by the server, limits, access and unknown keys', async () => {
    const c = await ready();
    const data = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    const srcO = await st(c, 'copy-src.bin', { disposition: 2, access: 0x001f01ff });
    const srcH = (await fs.lookup(ROOT, await fs.rootHandle(1), Buffer.from('copy-src.bin'))).handle;
    for (let off = 0; off < data.length; off += fs.limits.maxWrite) {
      await fs.write({ uid: 1000, gid: 1000, groups: [] }, srcH, BigInt(off), data.subarray(off, off + fs.limits.maxWrite), 2);
    }
    const key = await c.request({ command: Smb2Cmd.IOCTL, body: ioctlBody(srcO.fid!, 0x00140078, Buffer.alloc(0), 32) });
    assert.equal(key.hdr.status, 0);
    const resume = key.body.subarray(48, 48 + 24);
    const dstO = await st(c, 'copy-dst.bin', { disposition: 2, access: 0x001f01ff });
    const copyReq = (chunks: Array<[bigint, bigint, number]>, k = resume): Buffer => {
      const b = Buffer.alloc(32 + 24 * chunks.length);
      k.copy(b, 0);
      b.writeUInt32LE(chunks.length, 24);
      chunks.forEach(([s0, d0, n], i) => {
        b.writeBigUInt64LE(s0, 32 + 24 * i);
        b.writeBigUInt64LE(d0, 40 + 24 * i);
        b.writeUInt32LE(n, 48 + 24 * i);
      });
      return b;
    };
    // Three 1 MiB chunks and the tail, the second and third swapped in the target order.
    const MiB = 1024 * 1024;
    const r = await c.request({
      command: Smb2Cmd.IOCTL,
      body: ioctlBody(dstO.fid!, 0x001480f2, copyReq([[0n, 0n, MiB], [2n * 1048576n, 2n * 1048576n, MiB], [1048576n, 1048576n, MiB], [3n * 1048576n, 3n * 1048576n, 123]])),
    });
    assert.equal(r.hdr.status, 0);
    const out = r.body.subarray(48, 60);
    assert.deepEqual([out.readUInt32LE(0), out.readUInt32LE(4), out.readUInt32LE(8)], [4, 0, data.length]);
    const dstH = (await fs.lookup(ROOT, await fs.rootHandle(1), Buffer.from('copy-dst.bin'))).handle;
    const parts: Buffer[] = [];
    for (let off = 0; off < data.length + 10; off += fs.limits.maxRead) parts.push(Buffer.from((await fs.read(ROOT, dstH, BigInt(off), fs.limits.maxRead)).data));
    assert.ok(Buffer.concat(parts).equals(data), 'the copy is byte-identical');
    // Over the limits: INVALID_PARAMETER with the server's limits in the response.
    const big = await c.request({ command: Smb2Cmd.IOCTL, body: ioctlBody(dstO.fid!, 0x001480f2, copyReq([[0n, 0n, 2 * MiB]])) });
    assert.equal(big.hdr.status, NtStatus.STATUS_INVALID_PARAMETER);
    const lim = big.body.subarray(48, 60);
    assert.deepEqual([lim.readUInt32LE(0), lim.readUInt32LE(4), lim.readUInt32LE(8)], [256, MiB, 16 * MiB]);
    // A forged key names no open; a source past its end stops short.
    const forged = Buffer.from(resume);
    forged[20] ^= 0xff;
    assert.equal((await c.request({ command: Smb2Cmd.IOCTL, body: ioctlBody(dstO.fid!, 0x001480f2, copyReq([[0n, 0n, 10]], forged)) })).hdr.status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
    const short = await c.request({ command: Smb2Cmd.IOCTL, body: ioctlBody(dstO.fid!, 0x001480f2, copyReq([[BigInt(data.length - 5), 0n, 100]])) });
    assert.equal(short.hdr.status, 0xc000001f);
    // A target opened without write access is refused.
    const ro = await st(c, 'copy-dst.bin', { disposition: 1, access: 0x00120089 });
    assert.equal((await c.request({ command: Smb2Cmd.IOCTL, body: ioctlBody(ro.fid!, 0x001480f2, copyReq([[0n, 0n, 10]])) })).hdr.status, NtStatus.STATUS_ACCESS_DENIED);
    for (const f of [srcO.fid, dstO.fid, ro.fid]) await close(c, f);
  });
});
