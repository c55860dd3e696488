/**
 * NFSv4 owner strings (protocols/nfs4/idmap.ts): "name@domain" both ways with a configured domain,
 * decimal ids as the fallback, NFS4ERR_BADOWNER for unknown names and foreign domains, and numbers for
 * AUTH_SYS callers unless configured otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StaticIdNames } from '../../../cluster/ident/id-names';
import { Nfs4Error } from '../../../protocols/nfs4/errors';
import { DEFAULT_IDMAP, Nfs4Idmap } from '../../../protocols/nfs4/idmap';
import { nfsstat4 } from '../../../protocols/nfs4/types';
import { AUTH_NONE, AUTH_SYS, RPCSEC_GSS } from '../../../protocols/rpc/types';

const names = new StaticIdNames(
  [['root', 0], ['alice', 1001], ['bob', 1002], ['alice2', 1001]],
  [['root', 0], ['staff', 50], ['users', 100]],
);
const badOwner = (e: unknown) => e instanceof Nfs4Error && e.status === nfsstat4.NFS4ERR_BADOWNER;

describe('NFSv4 id mapping', () => {
  const named = new Nfs4Idmap({ domain: 'Example.Test', numericForAuthSys: false, names });

  it('encodes "name@domain" when the id has a name, else the decimal id', () => {
    const o = named.encoderFor(AUTH_SYS);
    assert.equal(o.user(0), 'root@Example.Test');
    assert.equal(o.user(1001), 'alice@Example.Test', 'the first name of a uid');
    assert.equal(o.group(50), 'staff@Example.Test');
    assert.equal(o.user(4242), '4242');
    assert.equal(o.group(4242), '4242');
    assert.equal(o.user(-2), '4294967294', 'uids are unsigned 32-bit');
  });

  it('decodes "name@domain" in our domain (any case) to the id, and decimal strings as ids', () => {
    assert.equal(named.uidOf('bob@example.test'), 1002);
    assert.equal(named.uidOf('alice2@EXAMPLE.TEST'), 1001);
    assert.equal(named.gidOf('users@example.test'), 100);
    assert.equal(named.uidOf('1234'), 1234);
    assert.equal(named.gidOf('0'), 0);
    assert.equal(named.uidOf('4294967295'), 0xffffffff);
    assert.equal(named.uidOf('77@example.test'), 77);
    assert.equal(named.uidOf('bob'), 1002, 'a bare name is looked up too');
  });

  it('answers NFS4ERR_BADOWNER for an unknown name, a foreign domain or an id beyond 32 bits', () => {
    assert.throws(() => named.uidOf('mallory@example.test'), badOwner);
    assert.throws(() => named.uidOf('bob@other.test'), badOwner);
    assert.throws(() => named.uidOf('1234@other.test'), badOwner);
    assert.throws(() => named.gidOf('alice@example.test'), badOwner, 'a user name is not a group');
    assert.throws(() => named.uidOf('4294967296'), badOwner);
    assert.throws(() => named.uidOf('@example.test'), badOwner);
    assert.throws(() => named.uidOf(''), (e: unknown) => e instanceof Nfs4Error && e.status === nfsstat4.NFS4ERR_INVAL);
  });

  it('sends numbers to AUTH_SYS and AUTH_NONE callers by default (knfsd nfs4_disable_idmapping), names otherwise', () => {
    const dflt = new Nfs4Idmap({ domain: 'example.test', names });
    assert.equal(dflt.numericForAuthSys, true);
    assert.equal(dflt.encoderFor(AUTH_SYS).user(1001), '1001');
    assert.equal(dflt.encoderFor(AUTH_NONE).group(50), '50');
    assert.equal(dflt.encoderFor(RPCSEC_GSS).user(1001), 'alice@example.test');
    // Numbers are sent, but names in our domain are still accepted.
    assert.equal(dflt.uidOf('alice@example.test'), 1001);
  });

  it('without a domain: numbers always, "N@any.domain", root and nobody accepted, other names BADOWNER', () => {
    for (const m of [DEFAULT_IDMAP, new Nfs4Idmap({ names, numericForAuthSys: false })]) {
      assert.equal(m.encoderFor(RPCSEC_GSS).user(1001), '1001');
      assert.equal(m.uidOf('1234@any.domain'), 1234);
    }
    assert.equal(DEFAULT_IDMAP.uidOf('root'), 0);
    assert.equal(DEFAULT_IDMAP.uidOf('nobody@x'), 65534);
    assert.equal(DEFAULT_IDMAP.gidOf('nogroup'), 65534);
    assert.throws(() => DEFAULT_IDMAP.uidOf('bob@x'), badOwner);
  });
});
