import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticate } from '../../../protocols/rpc/auth/authenticate';
import { authSysCred } from '../../../protocols/rpc/auth/sys';
import { AUTH_SYS, type AuthSys } from '../../../protocols/rpc/types';

const ident = (machineName: string, uid: number): AuthSys => ({ stamp: 1, machineName, uid, gid: uid, gids: [uid, 7] });

describe('AUTH_SYS machine names (decoded once per run of equal names)', () => {
  it('each credential gets its own name, whatever came before', () => {
    const names = ['alpha', 'alpha', 'beta', 'alpha', 'gämma.example', 'gämma.example', '', 'alpha'];
    names.forEach((name, i) => {
      const a = authenticate(authSysCred(ident(name, 1000 + i)));
      assert.ok(a.ok && a.auth.flavor === AUTH_SYS);
      assert.equal(a.auth.machineName, name);
      assert.equal(a.auth.uid, 1000 + i);
      assert.deepEqual(a.auth.gids, [1000 + i, 7]);
    });
  });

  it('a name is not tied to the request memory it came from (records are reused)', () => {
    const cred = authSysCred(ident('host-a', 1));
    const first = authenticate(cred);
    // The transport reuses the record buffer: the same bytes now say host-b.
    cred.body.write('host-b', 8, 'latin1');
    const second = authenticate(cred);
    assert.ok(first.ok && first.auth.flavor === AUTH_SYS && second.ok && second.auth.flavor === AUTH_SYS);
    assert.equal(first.auth.machineName, 'host-a');
    assert.equal(second.auth.machineName, 'host-b');
  });
});
