/**
 * NFSv4.2 extended attributes (RFC 8276): GETXATTR, SETXATTR, LISTXATTRS, REMOVEXATTR, the xattr_support
 * attribute and ACCESS's XAREAD / XAWRITE / XALIST bits, through COMPOUNDs on the memory volume.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FATTR4_CHANGE, FATTR4_SUPPORTED_ATTRS, FATTR4_XATTR_SUPPORT } from '../../../protocols/nfs4/attrs';
import type { Nfs4Op } from '../../../protocols/nfs4/op';
import type { ACCESS4resok } from '../../../protocols/nfs4/ops/access';
import { GETXATTR, type GETXATTR4resok } from '../../../protocols/nfs4/ops/getxattr';
import { LISTXATTRS, type LISTXATTRS4resok } from '../../../protocols/nfs4/ops/listxattrs';
import { REMOVEXATTR, type REMOVEXATTR4resok } from '../../../protocols/nfs4/ops/removexattr';
import { SETXATTR, setxattr_option4, type SETXATTR4resok } from '../../../protocols/nfs4/ops/setxattr';
import { ACCESS4_MODIFY, ACCESS4_READ, ACCESS4_XALIST, ACCESS4_XAREAD, ACCESS4_XAWRITE, nfsstat4 } from '../../../protocols/nfs4/types';
import { Nfs4Harness, expectOk, expectStatus, op } from './harness';

const arg = <A>(o: Nfs4Op<A, any>, args: A) => ({ op: o, args });
const b = (s: string) => Buffer.from(s);
const get = (name: string) => arg(GETXATTR, { gxa_name: b(name) });
const set = (how: setxattr_option4, name: string, value: Buffer) => arg(SETXATTR, { sxa_option: how, sxa_key: b(name), sxa_value: value });
const rm = (name: string) => arg(REMOVEXATTR, { rxa_name: b(name) });
const list = (cookie: bigint, maxcount: number) => arg(LISTXATTRS, { lxa_cookie: cookie, lxa_maxcount: maxcount });
const { SETXATTR4_EITHER: EITHER, SETXATTR4_CREATE: CREATE, SETXATTR4_REPLACE: REPLACE } = setxattr_option4;

async function setup() {
  const h = new Nfs4Harness();
  const s = await h.session({ minor: 2 });
  const root = await s.exportRoot();
  const f = await s.createFile(root, 'f', { mode: 0o644 });
  await s.ok([op.putfh(f.fh), op.close(f.stateid)]);
  return { h, s, root, fh: f.fh };
}

describe('NFSv4.2 extended attributes (RFC 8276)', () => {
  it('xattr_support: true on an export, false on the pseudo root, absent before 4.2', async () => {
    const { h, s, fh } = await setup();
    const sup = (await s.attrs(fh, FATTR4_SUPPORTED_ATTRS)).get(FATTR4_SUPPORTED_ATTRS) as number[];
    assert.ok(sup[2]! & (1 << (FATTR4_XATTR_SUPPORT - 64)), 'in supported_attrs');
    assert.equal((await s.attrs(fh, FATTR4_XATTR_SUPPORT)).get(FATTR4_XATTR_SUPPORT), true);
    const [, pseudo] = await s.ok([op.putrootfh(), op.getattr(FATTR4_XATTR_SUPPORT)]);
    assert.ok(pseudo);
    const [, p] = await s.ok([op.putrootfh(), op.getfh()]);
    assert.equal((await s.attrs((p as { object: Buffer }).object, FATTR4_XATTR_SUPPORT)).get(FATTR4_XATTR_SUPPORT), false);
    const s41 = await h.session({ minor: 1 });
    const sup41 = (await s41.attrs(fh, FATTR4_SUPPORTED_ATTRS)).get(FATTR4_SUPPORTED_ATTRS) as number[];
    assert.ok(!((sup41[2] ?? 0) & (1 << (FATTR4_XATTR_SUPPORT - 64))), 'not a 4.1 attribute');
    // The ops themselves are 4.2 only.
    expectStatus(await s41.run([op.putfh(fh), get('k')]), nfsstat4.NFS4ERR_OP_ILLEGAL);
  });

  it('SETXATTR create/replace/either, GETXATTR, REMOVEXATTR; change_info is atomic and the change attribute moves', async () => {
    const { s, fh } = await setup();
    expectStatus(await s.run([op.putfh(fh), get('k')]), nfsstat4.NFS4ERR_NOXATTR);
    expectStatus(await s.run([op.putfh(fh), set(REPLACE, 'k', b('v'))]), nfsstat4.NFS4ERR_NOXATTR);
    const c0 = (await s.attrs(fh, FATTR4_CHANGE)).get(FATTR4_CHANGE) as bigint;
    const [, st] = await s.ok([op.putfh(fh), set(CREATE, 'k', b('v1'))]);
    const info = (st as SETXATTR4resok).sxr_info;
    assert.equal(info.atomic, true);
    assert.equal(info.before, c0);
    assert.ok(info.after > c0);
    assert.equal((await s.attrs(fh, FATTR4_CHANGE)).get(FATTR4_CHANGE), info.after);
    expectStatus(await s.run([op.putfh(fh), set(CREATE, 'k', b('v2'))]), nfsstat4.NFS4ERR_EXIST);
    await s.ok([op.putfh(fh), set(REPLACE, 'k', b('v2'))]);
    await s.ok([op.putfh(fh), set(EITHER, 'empty', Buffer.alloc(0))]);
    const [, g1, g2] = await s.ok([op.putfh(fh), get('k'), get('empty')]);
    assert.deepEqual((g1 as GETXATTR4resok).gxr_value, b('v2'));
    assert.deepEqual((g2 as GETXATTR4resok).gxr_value, Buffer.alloc(0));
    const [, r] = await s.ok([op.putfh(fh), rm('k')]);
    assert.ok((r as REMOVEXATTR4resok).rxr_info.after > (r as REMOVEXATTR4resok).rxr_info.before);
    expectStatus(await s.run([op.putfh(fh), rm('k')]), nfsstat4.NFS4ERR_NOXATTR);
    expectStatus(await s.run([op.putfh(fh), get('k')]), nfsstat4.NFS4ERR_NOXATTR);
  });

  it('LISTXATTRS pages by cookie within maxcount; TOOSMALL, BAD_COOKIE; an empty list is eof', async () => {
    const { s, fh } = await setup();
    const [, empty] = await s.ok([op.putfh(fh), list(0n, 8192)]);
    assert.deepEqual(empty, { lxr_cookie: 0n, lxr_names: [], lxr_eof: true });
    const names = ['user.attr1', 'user.attr2', 'user.attr3', 'user.attr4', 'user.attr5'];
    for (const n of names.slice().reverse()) await s.ok([op.putfh(fh), set(CREATE, n, b('value'))]);
    const [, all] = await s.ok([op.putfh(fh), list(0n, 8192)]);
    assert.deepEqual((all as LISTXATTRS4resok).lxr_names.map(String), names, 'every name, in byte order');
    assert.equal((all as LISTXATTRS4resok).lxr_eof, true);
    // Each name costs 4 + 12 bytes; with the fixed 16, maxcount 50 holds two.
    const seen: string[] = [];
    let cookie = 0n;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 5);
      const [, p] = await s.ok([op.putfh(fh), list(cookie, 50)]);
      const page = p as LISTXATTRS4resok;
      assert.ok(page.lxr_names.length <= 2);
      seen.push(...page.lxr_names.map(String));
      cookie = page.lxr_cookie;
      if (page.lxr_eof) break;
    }
    assert.deepEqual(seen, names, 'each name exactly once across pages');
    expectStatus(await s.run([op.putfh(fh), list(0n, 20)]), nfsstat4.NFS4ERR_TOOSMALL);
    expectStatus(await s.run([op.putfh(fh), list(6n, 8192)]), nfsstat4.NFS4ERR_BAD_COOKIE);
  });

  it('limits and bad names: XATTR2BIG, NAMETOOLONG, INVAL; no FH; the pseudo root; a read-only caller', async () => {
    const { s, fh } = await setup();
    expectStatus(await s.run([op.putfh(fh), set(EITHER, 'big', Buffer.alloc(65537))]), nfsstat4.NFS4ERR_XATTR2BIG);
    await s.ok([op.putfh(fh), set(EITHER, 'max', Buffer.alloc(65536, 1))]);
    expectStatus(await s.run([op.putfh(fh), set(EITHER, 'x'.repeat(256), b('v'))]), nfsstat4.NFS4ERR_NAMETOOLONG);
    expectStatus(await s.run([op.putfh(fh), set(EITHER, '', b('v'))]), nfsstat4.NFS4ERR_INVAL);
    expectStatus(await s.run([get('k')]), nfsstat4.NFS4ERR_NOFILEHANDLE);
    expectStatus(await s.run([op.putrootfh(), set(EITHER, 'k', b('v'))]), nfsstat4.NFS4ERR_NOTSUPP);
    // Another user may read (mode 0644) but not write.
    expectStatus(await s.run([op.putfh(fh), set(EITHER, 'k', b('v'))], { uid: 4242, gid: 4242 }), nfsstat4.NFS4ERR_ACCESS);
    const g = expectOk<GETXATTR4resok>(await s.run([op.putfh(fh), get('max')], { uid: 4242, gid: 4242 }), 2);
    assert.deepEqual(g.gxr_value, Buffer.alloc(65536, 1));
  });

  it('ACCESS answers XAREAD / XALIST from read and XAWRITE from write permission, in 4.2 only', async () => {
    const { h, s, fh } = await setup();
    const want = ACCESS4_READ | ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST;
    const mine = (await s.ok([op.putfh(fh), op.access(want)]))[1] as ACCESS4resok;
    assert.equal(mine.supported, want);
    assert.equal(mine.access, want);
    const other = expectOk<ACCESS4resok>(await s.run([op.putfh(fh), op.access(want | ACCESS4_MODIFY)], { uid: 4242, gid: 4242 }), 2);
    assert.equal(other.access, ACCESS4_READ | ACCESS4_XAREAD | ACCESS4_XALIST, 'no write: no XAWRITE');
    const s41 = await h.session({ minor: 1 });
    const old = expectOk<ACCESS4resok>(await s41.run([op.putfh(fh), op.access(want)]), 2);
    assert.equal(old.supported, ACCESS4_READ, 'the xattr bits are not judged before 4.2');
  });
});
