import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errc } from '../../../cluster/vfs/errors';
import { NFS4_STATUS, nfs4StatusOf } from '../../../protocols/nfs4/status';
import { nfsstat4 } from '../../../protocols/nfs4/types';

describe('NFSv4 status table', () => {
  it('maps every Errc to a defined, non-OK nfsstat4', () => {
    for (const e of Object.values(Errc)) {
      const s = NFS4_STATUS[e];
      assert.ok(s !== undefined, `Errc.${e} mapped`);
      assert.notEqual(s, nfsstat4.NFS4_OK, `Errc.${e} is not NFS4_OK`);
      assert.ok(nfsstat4[s] !== undefined, `Errc.${e} → a defined nfsstat4 (${s})`);
    }
    assert.equal(Object.keys(NFS4_STATUS).length, Object.values(Errc).length);
  });

  it('uses the NFSv4 codes where they differ from NFSv3', () => {
    assert.equal(NFS4_STATUS[Errc.ACCES], nfsstat4.NFS4ERR_ACCESS);
    assert.equal(NFS4_STATUS[Errc.SHARING_VIOLATION], nfsstat4.NFS4ERR_SHARE_DENIED);
    assert.equal(NFS4_STATUS[Errc.DELAY], nfsstat4.NFS4ERR_DELAY);
    assert.equal(NFS4_STATUS[Errc.LOCKED], nfsstat4.NFS4ERR_LOCKED);
  });

  it('answers an unknown code SERVERFAULT, never OK', () => {
    assert.equal(nfs4StatusOf('NO_SUCH_ERRC' as Errc), nfsstat4.NFS4ERR_SERVERFAULT);
  });

  it('has the RFC 8881 / 7862 values for the session and minor-version errors', () => {
    assert.equal(nfsstat4.NFS4ERR_MINOR_VERS_MISMATCH, 10021);
    assert.equal(nfsstat4.NFS4ERR_OP_ILLEGAL, 10044);
    assert.equal(nfsstat4.NFS4ERR_BADSESSION, 10052);
    assert.equal(nfsstat4.NFS4ERR_SEQ_MISORDERED, 10063);
    assert.equal(nfsstat4.NFS4ERR_RETRY_UNCACHED_REP, 10068);
    assert.equal(nfsstat4.NFS4ERR_TOO_MANY_OPS, 10070);
    assert.equal(nfsstat4.NFS4ERR_OP_NOT_IN_SESSION, 10071);
    assert.equal(nfsstat4.NFS4ERR_NOT_ONLY_OP, 10081);
    assert.equal(nfsstat4.NFS4ERR_WRONG_TYPE, 10083);
    assert.equal(nfsstat4.NFS4ERR_OFFLOAD_NO_REQS, 10094);
  });
});
