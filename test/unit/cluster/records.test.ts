import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cookieKey,
  cookiePrefix,
  cookieRowKey,
  decodeCookieRow,
  decodeInode,
  encodeInode,
  getI64,
  getU64,
  putI64,
  putU64,
} from '../../../cluster/meta/records';
import { newInode } from '../../../cluster/meta/namespace';
import { FileType } from '../../../cluster/vfs/types';

describe('meta records', () => {
  it('64-bit helpers match Buffer’s big-endian codecs and refuse what those refuse', () => {
    const b = Buffer.alloc(16);
    for (const v of [0n, 1n, 0x0102_0304_0506_0708n, 0xffff_ffff_ffff_ffffn, 1n << 63n]) {
      putU64(b, 3, v);
      assert.equal(b.readBigUInt64BE(3), v);
      assert.equal(getU64(b, 3), v);
    }
    for (const v of [0n, -1n, -(1n << 63n), (1n << 63n) - 1n, -1_700_000_000_123_456_789n]) {
      putI64(b, 5, v);
      assert.equal(b.readBigInt64BE(5), v);
      assert.equal(getI64(b, 5), v);
    }
    assert.throws(() => putU64(b, 0, -1n), RangeError);
    assert.throws(() => putU64(b, 0, 1n << 64n), RangeError);
    assert.throws(() => putI64(b, 0, 1n << 63n), RangeError);
    assert.throws(() => getU64(b, 9), RangeError);
  });

  it('inode records round-trip, with and without verifier and symlink target', () => {
    const n = newInode(0x1234_5678_9abcn, FileType.REG, 1_700_000_000_123_456_789n);
    Object.assign(n, { mode: 0o4755, uid: 1000, gid: 100, nlink: 3, size: (1n << 40n) + 3n, atime: -5n, change: 77n });
    n.verifier = Buffer.from('12345678');
    assert.deepEqual(decodeInode(n.id, encodeInode(n)), n);
    delete n.verifier;
    const back = decodeInode(n.id, encodeInode(n));
    assert.equal(back.verifier, undefined);
    assert.deepEqual(back, n);
    const l = newInode(9n, FileType.LNK, 5n);
    l.target = Buffer.from('../some/where');
    l.size = BigInt(l.target.length);
    assert.deepEqual(decodeInode(9n, encodeInode(l)), l);
  });

  it('a cookie row is the listing entry itself, ordered by cookie inside its directory', () => {
    const row = cookieRowKey(7n, 42n, 99n, FileType.DIR, Buffer.from('name'));
    assert.deepEqual(decodeCookieRow(row), { cookie: 42n, fileId: 99n, type: FileType.DIR, name: Buffer.from('name') });
    assert.ok(row.subarray(0, 9).equals(cookiePrefix(7n)));
    // Rows of cookie >= c sort at or after cookieKey(dir, c), rows of smaller cookies before it.
    assert.ok(Buffer.compare(row, cookieKey(7n, 42n)) > 0);
    assert.ok(Buffer.compare(row, cookieKey(7n, 43n)) < 0);
    const longer = cookieRowKey(7n, 3n, 1n, FileType.REG, Buffer.alloc(255, 0xff));
    assert.ok(Buffer.compare(longer, cookieKey(7n, 4n)) < 0);
    assert.throws(() => decodeCookieRow(cookieKey(7n, 1n)));
  });
});
