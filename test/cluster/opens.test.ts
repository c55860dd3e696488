/**
 * Opens through the FileSystem interface (the memory volume, the same core code as on disk): permission
 * checks at open, share modes across opens, delete pending applied at the last release.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { CreateMode, OpenBits, type Cred } from '../../cluster/vfs/types';

const alice: Cred = { uid: 1000, gid: 1000, groups: [] };
const bob: Cred = { uid: 1001, gid: 1001, groups: [] };
const n = (s: string): Buffer => Buffer.from(s);

async function errc(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CoreError) return e.errc;
    throw e;
  }
  return undefined;
}

describe('core opens', () => {
  it('checks permission at open: READ needs r, WRITE needs w', async () => {
    const fs = createMemoryFileSystem();
    const root = await fs.rootHandle(1);
    const f = await fs.create(alice, root, n('f'), { mode: CreateMode.GUARDED, attrs: { mode: 0o640 } });
    const r = await fs.open(alice, f.handle, { access: OpenBits.READ | OpenBits.WRITE, shareAccess: 7, owner: 't' });
    await fs.release(r.open);
    assert.equal(await errc(fs.open(bob, f.handle, { access: OpenBits.READ, shareAccess: 7, owner: 't' })), Errc.ACCES);
    const attrOnly = await fs.open(bob, f.handle, { access: 0, shareAccess: 7, owner: 't' });
    await fs.release(attrOnly.open);
    await fs.close();
  });

  it('share modes hold across opens of the same file', async () => {
    const fs = createMemoryFileSystem();
    const root = await fs.rootHandle(1);
    const f = await fs.create(alice, root, n('f'), { mode: CreateMode.GUARDED, attrs: { mode: 0o666 } });
    const a = await fs.open(alice, f.handle, { access: OpenBits.WRITE, shareAccess: OpenBits.READ, owner: 'a' });
    assert.equal(await errc(fs.open(bob, f.handle, { access: OpenBits.WRITE, shareAccess: 7, owner: 'b' })), Errc.SHARING_VIOLATION);
    const b = await fs.open(bob, f.handle, { access: OpenBits.READ, shareAccess: 7, owner: 'b' });
    await fs.release(a.open);
    const c = await fs.open(bob, f.handle, { access: OpenBits.WRITE, shareAccess: 7, owner: 'c' });
    await fs.release(b.open);
    await fs.release(c.open);
    await fs.close();
  });

  it('delete pending removes the name when the last open goes, not before', async () => {
    const fs = createMemoryFileSystem();
    const root = await fs.rootHandle(1);
    const f = await fs.create(alice, root, n('doomed'), { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
    const a = await fs.open(alice, f.handle, { access: OpenBits.DELETE, shareAccess: 7, owner: 'a' });
    const b = await fs.open(alice, f.handle, { access: OpenBits.READ, shareAccess: 7, owner: 'b' });
    await fs.setDeletePending(alice, a.open, root, n('doomed'), true);
    assert.ok(fs.isDeletePending(f.attr.fileId));
    await fs.release(a.open);
    await fs.lookup(alice, root, n('doomed'));
    await fs.release(b.open);
    assert.equal(await errc(fs.lookup(alice, root, n('doomed'))), Errc.NOENT);
    await fs.close();
  });

  it('delete pending can be withdrawn; needs DELETE access; a non-empty directory refuses at once', async () => {
    const fs = createMemoryFileSystem();
    const root = await fs.rootHandle(1);
    const f = await fs.create(alice, root, n('kept'), { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
    const a = await fs.open(alice, f.handle, { access: OpenBits.DELETE, shareAccess: 7, owner: 'a' });
    await fs.setDeletePending(alice, a.open, root, n('kept'), true);
    await fs.setDeletePending(alice, a.open, root, n('kept'), false);
    await fs.release(a.open);
    await fs.lookup(alice, root, n('kept'));
    const r = await fs.open(alice, f.handle, { access: OpenBits.READ, shareAccess: 7, owner: 'r' });
    assert.equal(await errc(fs.setDeletePending(alice, r.open, root, n('kept'), true)), Errc.ACCES);
    await fs.release(r.open);
    const d = await fs.mkdir(alice, root, n('dir'), { mode: 0o755 });
    await fs.create(alice, d.handle, n('child'), { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
    const o = await fs.open(alice, d.handle, { access: OpenBits.DELETE, shareAccess: 7, owner: 'd' });
    assert.equal(await errc(fs.setDeletePending(alice, o.open, root, n('dir'), true)), Errc.NOTEMPTY);
    await fs.release(o.open);
    await fs.close();
  });

  it('a renamed-away name is not deleted by a stale pending delete', async () => {
    const fs = createMemoryFileSystem();
    const root = await fs.rootHandle(1);
    const f = await fs.create(alice, root, n('a'), { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
    const o = await fs.open(alice, f.handle, { access: OpenBits.DELETE, shareAccess: 7, owner: 'a' });
    await fs.setDeletePending(alice, o.open, root, n('a'), true);
    await fs.rename(alice, root, n('a'), root, n('b'));
    await fs.create(alice, root, n('a'), { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
    await fs.release(o.open);
    await fs.lookup(alice, root, n('a'));
    await fs.lookup(alice, root, n('b'));
    await fs.close();
  });
});
