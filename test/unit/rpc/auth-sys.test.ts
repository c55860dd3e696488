import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticate } from '../../../protocols/rpc/auth/authenticate';
import { authSysCred, decodeAuthSysParms } from '../../../protocols/rpc/auth/sys';
import { AUTH_BADCRED, AUTH_REJECTEDCRED } from '../../../protocols/rpc/message';
import { AUTH_DH, AUTH_NONE, AUTH_SHORT, AUTH_SYS, RPCSEC_GSS, type AuthSys } from '../../../protocols/rpc/types';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrWriter } from '../../../protocols/xdr/writer';

const sample: AuthSys = { stamp: 0x5f5e100, machineName: 'client.example', uid: 1000, gid: 100, gids: [100, 4, 27] };

/** authsys_parms written field by field (so the test does not trust the encoder under test). */
function rawParms(name: Buffer, gids: number[], trailing = Buffer.alloc(0)): Buffer {
  const w = new XdrWriter();
  w.uint32(1).opaque(name).uint32(0).uint32(0).uint32(gids.length);
  for (const g of gids) w.uint32(g);
  return Buffer.concat([w.toBuffer(), trailing]);
}

describe('AUTH_SYS', () => {
  it('round-trips authsys_parms', () => {
    const cred = authSysCred(sample);
    assert.equal(cred.flavor, AUTH_SYS);
    assert.deepEqual(decodeAuthSysParms(cred.body), sample);
  });

  it('accepts the limits exactly: a 255-byte machine name and 16 gids', () => {
    const body = rawParms(Buffer.alloc(255, 0x61), Array.from({ length: 16 }, (_, i) => i));
    const a = decodeAuthSysParms(body);
    assert.equal(a.machineName.length, 255);
    assert.equal(a.gids.length, 16);
  });

  it('rejects over-limit, truncated and trailing input', () => {
    assert.throws(() => decodeAuthSysParms(rawParms(Buffer.alloc(256, 0x61), [])), XdrError);
    assert.throws(() => decodeAuthSysParms(rawParms(Buffer.from('h'), Array.from({ length: 17 }, () => 1))), XdrError);
    assert.throws(() => decodeAuthSysParms(rawParms(Buffer.from('h'), [], Buffer.alloc(4))), XdrError);
    const good = rawParms(Buffer.from('host'), [1, 2]);
    for (let n = 0; n < good.length; n++) assert.throws(() => decodeAuthSysParms(good.subarray(0, n)), XdrError);
  });

  it('the encoder refuses what the decoder would reject', () => {
    assert.throws(() => authSysCred({ ...sample, gids: Array.from({ length: 17 }, () => 0) }), RangeError);
    assert.throws(() => authSysCred({ ...sample, machineName: 'x'.repeat(256) }), RangeError);
  });
});

describe('authenticate', () => {
  it('accepts AUTH_NONE, with or without a body', () => {
    assert.deepEqual(authenticate({ flavor: AUTH_NONE, body: Buffer.alloc(0) }), { ok: true, auth: { flavor: AUTH_NONE } });
    assert.equal(authenticate({ flavor: AUTH_NONE, body: Buffer.alloc(8) }).ok, true);
  });

  it('parses AUTH_SYS into the identity', () => {
    const res = authenticate(authSysCred(sample));
    assert.deepEqual(res, { ok: true, auth: { flavor: AUTH_SYS, ...sample } });
  });

  it('answers a malformed AUTH_SYS body with AUTH_BADCRED', () => {
    const res = authenticate({ flavor: AUTH_SYS, body: Buffer.alloc(6) });
    assert.equal(res.ok, false);
    if (!res.ok) assert.equal(res.authStat, AUTH_BADCRED);
  });

  it('answers unsupported flavors with AUTH_REJECTEDCRED', () => {
    for (const flavor of [AUTH_SHORT, AUTH_DH, RPCSEC_GSS, 390003, 0xffffffff]) {
      const res = authenticate({ flavor, body: Buffer.alloc(0) });
      assert.equal(res.ok, false, `flavor ${flavor}`);
      if (!res.ok) assert.equal(res.authStat, AUTH_REJECTEDCRED);
    }
  });
});
