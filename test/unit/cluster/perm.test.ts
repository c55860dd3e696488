import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreError, Errc } from '../../../cluster/vfs/errors';
import { checkEntryName, checkName, checkNewName } from '../../../cluster/vfs/names';
import { accessBits, permits, privBitsKilledByWrite, R, stickyAllows, W, X } from '../../../cluster/vfs/perm';
import { AccessBits, FileType, type Cred } from '../../../cluster/vfs/types';

const root: Cred = { uid: 0, gid: 0, groups: [] };
const alice: Cred = { uid: 10, gid: 10, groups: [] };
const bob: Cred = { uid: 11, gid: 11, groups: [20] };
const file = (mode: number, uid = 10, gid = 20) => ({ type: FileType.REG, mode, uid, gid });
const dir = (mode: number, uid = 10, gid = 20) => ({ type: FileType.DIR, mode, uid, gid });
const ALL = 0x3f;

test('owner, group (incl. supplementary) and other classes', () => {
  assert.ok(permits(alice, file(0o600), R | W));
  assert.ok(!permits(alice, file(0o060), R), 'owner class applies even if group would allow');
  assert.ok(permits(bob, file(0o640), R));
  assert.ok(!permits(bob, file(0o640), W));
  assert.ok(!permits({ uid: 12, gid: 12, groups: [] }, file(0o640), R));
});

test('root bypasses r/w, but executes only with some x bit; searches any directory', () => {
  assert.ok(permits(root, file(0o000), R | W));
  assert.ok(!permits(root, file(0o644), X));
  assert.ok(permits(root, file(0o001), X));
  assert.ok(permits(root, dir(0o000), X));
});

test('ACCESS bits follow the nfsd mapping', () => {
  assert.equal(accessBits(alice, dir(0o700), ALL), AccessBits.READ | AccessBits.LOOKUP | AccessBits.MODIFY | AccessBits.EXTEND | AccessBits.DELETE);
  assert.equal(accessBits(bob, dir(0o750), ALL), AccessBits.READ | AccessBits.LOOKUP);
  assert.equal(accessBits(alice, file(0o700), ALL), AccessBits.READ | AccessBits.MODIFY | AccessBits.EXTEND | AccessBits.EXECUTE);
  assert.equal(accessBits(root, file(0o644), ALL), AccessBits.READ | AccessBits.MODIFY | AccessBits.EXTEND);
  assert.equal(accessBits(bob, file(0o644), AccessBits.READ), AccessBits.READ);
});

test('sticky directories', () => {
  const d = dir(0o1777, 30);
  assert.ok(stickyAllows(alice, d, file(0o644, 10)));
  assert.ok(!stickyAllows(bob, d, file(0o644, 10)));
  assert.ok(stickyAllows({ uid: 30, gid: 0, groups: [] }, d, file(0o644, 10)));
  assert.ok(stickyAllows(root, d, file(0o644, 10)));
  assert.ok(stickyAllows(bob, dir(0o777, 30), file(0o644, 10)));
});

test('writes by non-root drop set-id bits', () => {
  assert.equal(privBitsKilledByWrite(bob, file(0o6755)), 0o6000);
  assert.equal(privBitsKilledByWrite(bob, file(0o6745)), 0o4000, 'setgid without g+x is a locking mark, kept');
  assert.equal(privBitsKilledByWrite(root, file(0o6755)), 0);
});

test('name rules', () => {
  const errc = (f: () => void) => {
    try {
      f();
    } catch (e) {
      return (e as CoreError).errc;
    }
    return undefined;
  };
  const B = (s: string) => Buffer.from(s);
  assert.equal(errc(() => checkName(B(''), 255)), Errc.INVAL);
  assert.equal(errc(() => checkName(B('a/b'), 255)), Errc.INVAL);
  assert.equal(errc(() => checkName(Buffer.from([0x61, 0, 0x62]), 255)), Errc.INVAL);
  assert.equal(errc(() => checkName(Buffer.alloc(256, 0x61), 255)), Errc.NAMETOOLONG);
  assert.equal(errc(() => checkName(Buffer.alloc(255, 0x61), 255)), undefined);
  assert.equal(errc(() => checkNewName(B('.'), 255)), Errc.EXIST);
  assert.equal(errc(() => checkNewName(B('..'), 255)), Errc.EXIST);
  assert.equal(errc(() => checkEntryName(B('.'), 255)), Errc.INVAL);
  assert.equal(errc(() => checkName(Buffer.from([0xff, 0xfe]), 255)), undefined, 'names are bytes, not necessarily UTF-8');
});
