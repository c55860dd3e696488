import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { FileUserDb, UserDbError, UserStore } from '../../../gateway/users';
import { ntHash } from '../../../protocols/smb2/crypto/md4';

describe('SMB user database (users.json)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-users-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('add stores the NT hash, never the password, in a 0600 file (creating its directory)', () => {
    const file = path.join(dir, 'new', 'users.json');
    const s = new UserStore(file);
    assert.deepEqual(s.add('alice', { password: 'Password' }), { uid: 1000, gid: 1000 });
    assert.deepEqual(s.add('bob', { password: 'x', uid: 2000, gid: 100, groups: [10, 20] }), { uid: 2000, gid: 100 });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes('Password'));
    const j = JSON.parse(text);
    assert.equal(j.users.alice.ntHash, 'a4f49c406510bdcab6824ee7c30fd852');
    assert.deepEqual(s.list().map((u) => u.name), ['alice', 'bob']);
  });

  it('names are unique case-insensitively; bad names, empty passwords and unknown users are errors', () => {
    const s = new UserStore(path.join(dir, 'u2.json'));
    s.add('Carol', { password: 'p' });
    assert.throws(() => s.add('carol', { password: 'p' }), UserDbError);
    assert.throws(() => s.add('../etc', { password: 'p' }), UserDbError);
    assert.throws(() => s.add('dave', { password: '' }), UserDbError);
    assert.throws(() => s.del('nobody'), UserDbError);
    assert.throws(() => s.passwd('nobody', 'x'), UserDbError);
    assert.equal(s.add('erin', { password: 'p' }).uid, 1001, 'next free uid');
  });

  it('passwd changes the hash; del removes; the running view sees both without a restart', () => {
    const file = path.join(dir, 'u3.json');
    const s = new UserStore(file);
    s.add('frank', { password: 'one' });
    const db = new FileUserDb(file);
    assert.ok(db.lookup('FRANK')!.ntHash.equals(ntHash('one')), 'lookup is case-insensitive');
    s.passwd('frank', 'two');
    // mtime granularity: make sure the stamp changes even within the same millisecond.
    const st = statSync(file);
    writeFileSync(file, readFileSync(file));
    void st;
    assert.ok(db.lookup('frank')!.ntHash.equals(ntHash('two')));
    s.del('frank');
    writeFileSync(file, readFileSync(file));
    assert.equal(db.lookup('frank'), undefined);
  });

  it('a corrupt file is an error for the CLI and keeps the last good copy for the server', () => {
    const file = path.join(dir, 'u4.json');
    new UserStore(file).add('gina', { password: 'p' });
    const errors: string[] = [];
    const db = new FileUserDb(file, (m) => errors.push(m));
    assert.ok(db.lookup('gina'));
    writeFileSync(file, '{ not json');
    assert.ok(db.lookup('gina'), 'last good copy');
    assert.equal(errors.length, 1);
    assert.throws(() => new UserStore(file).list(), UserDbError);
    writeFileSync(file, JSON.stringify({ version: 1, users: { h: { ntHash: 'zz', uid: 1, gid: 1 } } }));
    assert.throws(() => new UserStore(file).list(), UserDbError);
  });
});
