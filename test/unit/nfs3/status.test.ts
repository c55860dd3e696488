import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Errc } from '../../../cluster/vfs/errors';
import { MOUNT3_STATUS, mount3StatusOf } from '../../../protocols/mount/status';
import { mountstat3 } from '../../../protocols/mount/types';
import { NFS3_STATUS, nfs3StatusOf } from '../../../protocols/nfs3/status';
import { nfsstat3 } from '../../../protocols/nfs3/types';

describe('NFSv3 status table', () => {
  it('maps every Errc to a non-OK nfsstat3', () => {
    for (const errc of Object.values(Errc)) {
      const s = NFS3_STATUS[errc];
      assert.ok(s !== undefined, `${errc} mapped`);
      assert.notEqual(s, nfsstat3.NFS3_OK, `${errc} is not OK`);
      assert.ok(nfsstat3[s], `${errc} → a defined nfsstat3`);
    }
    assert.equal(Object.keys(NFS3_STATUS).length, Object.values(Errc).length);
  });

  it('keeps the spec meanings', () => {
    const expect: Array<[Errc, nfsstat3]> = [
      [Errc.NOENT, nfsstat3.NFS3ERR_NOENT],
      [Errc.BAD_COOKIE, nfsstat3.NFS3ERR_BAD_COOKIE],
      [Errc.NOT_SYNC, nfsstat3.NFS3ERR_NOT_SYNC],
      [Errc.NOTSUPP, nfsstat3.NFS3ERR_NOTSUPP],
      [Errc.BADTYPE, nfsstat3.NFS3ERR_BADTYPE],
      [Errc.TOOSMALL, nfsstat3.NFS3ERR_TOOSMALL],
      [Errc.STALE, nfsstat3.NFS3ERR_STALE],
      [Errc.BADHANDLE, nfsstat3.NFS3ERR_BADHANDLE],
      [Errc.NAMETOOLONG, nfsstat3.NFS3ERR_NAMETOOLONG],
      [Errc.DELAY, nfsstat3.NFS3ERR_JUKEBOX],
      [Errc.SHARING_VIOLATION, nfsstat3.NFS3ERR_JUKEBOX],
      [Errc.LOCKED, nfsstat3.NFS3ERR_JUKEBOX],
      [Errc.DENIED, nfsstat3.NFS3ERR_JUKEBOX],
      [Errc.GRACE, nfsstat3.NFS3ERR_JUKEBOX],
    ];
    for (const [e, s] of expect) assert.equal(nfsstat3[NFS3_STATUS[e]], nfsstat3[s], e);
  });

  it('an Errc unknown at run time is SERVERFAULT, never OK', () => {
    assert.equal(nfs3StatusOf('NEW_THING' as Errc), nfsstat3.NFS3ERR_SERVERFAULT);
  });
});

describe('MOUNT status table', () => {
  it('maps every Errc to a non-OK mountstat3', () => {
    for (const errc of Object.values(Errc)) {
      const s = MOUNT3_STATUS[errc];
      assert.ok(s !== undefined && s !== mountstat3.MNT3_OK && mountstat3[s], errc);
    }
    assert.equal(mount3StatusOf('NEW_THING' as Errc), mountstat3.MNT3ERR_SERVERFAULT);
  });
});
