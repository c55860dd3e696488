import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFoldRow, foldName, foldPrefix, foldRowKey } from '../../../cluster/meta/fold-index';
import { newInode } from '../../../cluster/meta/namespace';
import { decodeInode, encodeInode } from '../../../cluster/meta/records';
import { FileType } from '../../../cluster/vfs/types';

describe('folded-name index records', () => {
  it('folds ASCII and other UTF-8 alike, and refuses names that are not UTF-8', () => {
    assert.equal(foldName(Buffer.from('Readme.txt')), 'README.TXT');
    assert.equal(foldName(Buffer.from('café')), 'CAFÉ');
    assert.equal(foldName(Buffer.from('ÇA')), foldName(Buffer.from('ça')));
    assert.equal(foldName(Buffer.from([0x61, 0xff])), undefined);
    assert.equal(foldName(Buffer.from([0xc3])), undefined); // truncated sequence
  });

  it('rows of names that fold alike share a prefix and sort by cookie; no row for non-UTF-8 names', () => {
    const a = foldRowKey(7n, 9n, Buffer.from('Abc'))!;
    const b = foldRowKey(7n, 3n, Buffer.from('aBC'))!;
    const p = foldPrefix(7n, 'ABC');
    assert.ok(a.subarray(0, p.length).equals(p) && b.subarray(0, p.length).equals(p));
    assert.ok(Buffer.compare(b, a) < 0, 'cookie 3 before cookie 9');
    assert.deepEqual(decodeFoldRow(a), { cookie: 9n, name: Buffer.from('Abc') });
    // A longer folded name that starts the same is not under the prefix of the shorter one.
    const longer = foldRowKey(7n, 1n, Buffer.from('abcd'))!;
    assert.ok(!longer.subarray(0, p.length).equals(p));
    assert.equal(foldRowKey(7n, 1n, Buffer.from([0x41, 0xfe])), undefined);
    assert.throws(() => decodeFoldRow(Buffer.from([0x46, 1, 2])));
  });

  it('an ASCII name\'s row (built in one buffer) is its folded prefix, cookie and name, for every ASCII byte', () => {
    const all = Buffer.from(Array.from({ length: 127 }, (_, i) => i + 1));
    for (const name of [all, Buffer.from('x'), Buffer.from('MiXeD-09_~.txt'), Buffer.from('`{@[')]) {
      const p = foldPrefix(0x0102030405060708n, foldName(name)!);
      const cookie = Buffer.alloc(8);
      cookie.writeBigUInt64BE(0xfedcba9876543210n);
      assert.deepEqual(foldRowKey(0x0102030405060708n, 0xfedcba9876543210n, name), Buffer.concat([p, cookie, name]));
    }
  });

  it('the indexed flag of a directory inode round-trips and leaves the verifier alone', () => {
    const d = newInode(5n, FileType.DIR, 1n);
    assert.equal(d.foldIndexed, true, 'a new directory is indexed');
    assert.equal(decodeInode(5n, encodeInode(d)).foldIndexed, true);
    d.foldIndexed = false;
    assert.equal(decodeInode(5n, encodeInode(d)).foldIndexed, undefined);
    const f = newInode(6n, FileType.REG, 1n);
    assert.equal(f.foldIndexed, undefined);
    f.verifier = Buffer.from('12345678');
    const back = decodeInode(6n, encodeInode(f));
    assert.deepEqual(back.verifier, Buffer.from('12345678'));
    assert.equal(back.foldIndexed, undefined);
  });
});
