/**
 * The byte-range lock manager (cluster/locks/byte-range.ts): POSIX owners (NFS) merge, split, upgrade and
 * downgrade in place; Windows owners (SMB) stack and unlock exactly; owners of either kind conflict across
 * protocols; blocked requests wake when the lock in the way goes; mandatory I/O checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteRangeLocks, LOCK_RANGE_END, toEof, type LockOwner } from '../../cluster/locks/byte-range';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { CreateMode, OpenBits, type Cred } from '../../cluster/vfs/types';

const F = 7n;
const nfsA: LockOwner = { protocol: 'nfs4', key: 'client1/ownerA' };
const nfsB: LockOwner = { protocol: 'nfs4', key: 'client1/ownerB' };
const smbA: LockOwner = { protocol: 'smb', key: 'open:1' };
const smbB: LockOwner = { protocol: 'smb', key: 'open:2' };

async function errc(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof CoreError) return e.errc;
    throw e;
  }
  return undefined;
}

const ranges = (l: ByteRangeLocks): string[] =>
  l
    .locksOf(F)
    .map((c) => `${c.owner.key}:${c.offset}+${c.length}${c.exclusive ? 'x' : 's'}`)
    .sort();

describe('byte-range locks: POSIX owners', () => {
  it('merge touching ranges of one type and split on unlock of a sub-range', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 10n });
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 10n, length: 10n });
    assert.deepEqual(ranges(l), ['client1/ownerA:0+20x']);
    assert.equal(l.unlock(F, { owner: nfsA, offset: 5n, length: 5n }), true);
    assert.deepEqual(ranges(l), ['client1/ownerA:0+5x', 'client1/ownerA:10+10x']);
    // Unlocking bytes that are not locked is fine for POSIX owners.
    assert.equal(l.unlock(F, { owner: nfsA, offset: 100n, length: 5n }), true);
    assert.equal(l.size, 2);
  });

  it('downgrade and upgrade in place, an owner never conflicts with itself', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 100n });
    await l.lock(F, { owner: nfsA, exclusive: false, offset: 40n, length: 20n });
    assert.deepEqual(ranges(l), ['client1/ownerA:0+40x', 'client1/ownerA:40+20s', 'client1/ownerA:60+40x']);
    // Another owner may now share the downgraded middle, not the rest.
    await l.lock(F, { owner: nfsB, exclusive: false, offset: 45n, length: 5n });
    assert.equal(await errc(l.lock(F, { owner: nfsB, exclusive: false, offset: 30n, length: 15n })), Errc.DENIED);
    // Upgrade of the middle fails as a whole while B shares part of it, and changes nothing.
    assert.equal(await errc(l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 100n })), Errc.DENIED);
    assert.deepEqual(ranges(l), ['client1/ownerA:0+40x', 'client1/ownerA:40+20s', 'client1/ownerA:60+40x', 'client1/ownerB:45+5s']);
    l.releaseOwner(nfsB);
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 100n });
    assert.deepEqual(ranges(l), ['client1/ownerA:0+100x']);
  });

  it('reports the conflicting lock and handles to-EOF ranges', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: nfsA, exclusive: false, offset: 1000n, length: toEof(1000n) });
    const c = l.test(F, { owner: nfsB, exclusive: true, offset: LOCK_RANGE_END - 1n, length: 1n });
    assert.deepEqual(c, { owner: nfsA, offset: 1000n, length: toEof(1000n), exclusive: false });
    assert.equal(l.test(F, { owner: nfsB, exclusive: true, offset: 0n, length: 1000n }), undefined);
    assert.equal(l.test(F, { owner: nfsB, exclusive: false, offset: 0n, length: toEof(0n) }), undefined);
    assert.equal(await errc(() => l.test(F, { owner: nfsB, exclusive: true, offset: 1n, length: toEof(0n) })), Errc.INVAL);
    assert.equal(await errc(() => l.test(F, { owner: nfsB, exclusive: true, offset: 1n, length: 0n })), Errc.INVAL);
  });
});

describe('byte-range locks: Windows owners', () => {
  it('stack without merging and unlock only an exact range, exclusive first', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 0n, length: 10n });
    // Shared over one's own exclusive lock stacks; a second exclusive by the same open conflicts.
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: false, offset: 0n, length: 10n });
    assert.equal(await errc(l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 5n, length: 1n })), Errc.DENIED);
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 10n, length: 10n });
    assert.equal(l.size, 3);
    assert.equal(l.unlock(F, { owner: smbA, offset: 0n, length: 20n }), false);
    assert.equal(l.unlock(F, { owner: smbB, offset: 0n, length: 10n }), false);
    assert.equal(l.unlock(F, { owner: smbA, offset: 0n, length: 10n }), true);
    assert.deepEqual(ranges(l), ['open:1:0+10s', 'open:1:10+10x']);
    assert.equal(l.unlock(F, { owner: smbA, offset: 0n, length: 10n }), true);
    assert.equal(l.unlock(F, { owner: smbA, offset: 0n, length: 10n }), false);
  });

  it('zero-length locks are legal and conflict only inside another lock', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 10n, length: 10n });
    await l.lock(F, { owner: smbB, openId: 2n, exclusive: true, offset: 10n, length: 0n });
    await l.lock(F, { owner: smbB, openId: 2n, exclusive: true, offset: 20n, length: 0n });
    assert.equal(await errc(l.lock(F, { owner: smbB, openId: 2n, exclusive: true, offset: 15n, length: 0n })), Errc.DENIED);
  });

  it('SMB and NFS owners conflict with each other', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 10n });
    assert.deepEqual(l.test(F, { owner: smbA, openId: 1n, exclusive: false, offset: 9n, length: 1n })?.owner, nfsA);
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: false, offset: 10n, length: 1n });
    assert.equal(await errc(l.lock(F, { owner: nfsB, exclusive: true, offset: 0n, length: toEof(0n) })), Errc.DENIED);
  });
});

describe('byte-range locks: waiting and release', () => {
  it('a blocked request is granted when the conflicting lock goes, in arrival order', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 0n, length: 10n });
    const order: string[] = [];
    const p1 = l.lock(F, { owner: smbB, openId: 2n, exclusive: true, offset: 5n, length: 10n }, { wait: true }).then(() => order.push('B'));
    const p2 = l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 1n }, { wait: true }).then(() => order.push('N'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, []);
    assert.equal(l.waiting, 2);
    l.unlock(F, { owner: smbA, offset: 0n, length: 10n });
    await Promise.all([p1, p2]);
    assert.deepEqual(order, ['B', 'N']);
    assert.equal(l.waiting, 0);
  });

  it('an aborted wait holds nothing and rejects with the reason', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 10n });
    const ac = new AbortController();
    const p = l.lock(F, { owner: nfsB, exclusive: false, offset: 0n, length: 1n }, { wait: true, signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await assert.rejects(p, /cancelled/);
    l.releaseOwner(nfsA);
    assert.equal(l.size, 0);
    assert.equal(l.waiting, 0);
  });

  it('releasing an open drops its locks, fails its waits and wakes others', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 0n, length: 10n });
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 20n, length: 10n });
    await l.lock(F, { owner: smbB, openId: 2n, exclusive: true, offset: 40n, length: 10n });
    const own = l.lock(F, { owner: smbB, openId: 2n, exclusive: true, offset: 0n, length: 1n }, { wait: true });
    const other = l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 40n, length: 1n }, { wait: true });
    assert.equal(l.releaseOpen(1n), 2);
    assert.equal(await errc(other), Errc.EXPIRED);
    await own;
    assert.deepEqual(ranges(l), ['open:2:0+1x', 'open:2:40+10x']);
  });

  it('downgrade wakes a shared waiter', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 10n });
    const p = l.lock(F, { owner: nfsB, exclusive: false, offset: 0n, length: 10n }, { wait: true });
    await l.lock(F, { owner: nfsA, exclusive: false, offset: 0n, length: 10n });
    await p;
    assert.equal(l.size, 2);
  });

  it('limits: too many locks is DELAY, nothing changes', async () => {
    const l = new ByteRangeLocks({ maxLocksPerFile: 2 });
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 10n });
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 20n, length: 10n });
    assert.equal(await errc(l.lock(F, { owner: nfsA, exclusive: false, offset: 2n, length: 2n })), Errc.DELAY);
    assert.deepEqual(ranges(l), ['client1/ownerA:0+10x', 'client1/ownerA:20+10x']);
    // Merging needs no room.
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 5n, length: 20n });
    assert.deepEqual(ranges(l), ['client1/ownerA:0+30x']);
  });
});

describe('byte-range locks: mandatory I/O checks', () => {
  it('Windows locks stop other opens; own shared lock stops own write', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: true, offset: 0n, length: 10n });
    await l.lock(F, { owner: smbA, openId: 1n, exclusive: false, offset: 20n, length: 10n });
    const io = (write: boolean, offset: bigint, openId?: bigint, owner?: LockOwner) => () => l.checkIo(F, { write, offset, length: 1n, openId, owner });
    assert.equal(await errc(io(false, 5n, 1n, smbA)), undefined);
    assert.equal(await errc(io(true, 5n, 1n, smbA)), undefined);
    assert.equal(await errc(io(true, 25n, 1n, smbA)), Errc.LOCKED);
    assert.equal(await errc(io(false, 25n, 1n, smbA)), undefined);
    assert.equal(await errc(io(false, 5n, 2n, smbB)), Errc.LOCKED);
    assert.equal(await errc(io(false, 25n, 2n, smbB)), undefined);
    assert.equal(await errc(io(true, 25n, 2n, smbB)), Errc.LOCKED);
    // NFS I/O (NFSv3 anonymous, NFSv4 owner) is held to SMB's mandatory locks too.
    assert.equal(await errc(io(true, 5n)), Errc.LOCKED);
    assert.equal(await errc(io(false, 5n, 9n, nfsA)), Errc.LOCKED);
    assert.equal(await errc(io(false, 15n)), undefined);
  });

  it('POSIX locks are advisory to NFS I/O but stop SMB I/O', async () => {
    const l = new ByteRangeLocks();
    await l.lock(F, { owner: nfsA, exclusive: true, offset: 0n, length: 10n });
    assert.doesNotThrow(() => l.checkIo(F, { write: true, offset: 0n, length: 10n }));
    assert.doesNotThrow(() => l.checkIo(F, { write: true, offset: 0n, length: 10n, owner: nfsB }));
    assert.throws(() => l.checkIo(F, { write: false, offset: 9n, length: 10n, owner: smbA, openId: 1n }), (e: CoreError) => e.errc === Errc.LOCKED);
  });
});

describe('locks through the FileSystem interface', () => {
  const alice: Cred = { uid: 1000, gid: 1000, groups: [] };
  it('locks by handle, refuses directories, and release(open) drops the open locks', async () => {
    const fs = createMemoryFileSystem();
    const root = await fs.rootHandle(1);
    const f = await fs.create(alice, root, Buffer.from('f'), { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
    const { open } = await fs.open(alice, f.handle, { access: OpenBits.READ | OpenBits.WRITE, shareAccess: 7, owner: 't' });
    const owner: LockOwner = { protocol: 'smb', key: `open:${open.id}` };
    await fs.lock(alice, f.handle, { owner, openId: open.id, exclusive: true, offset: 0n, length: 100n });
    assert.equal(await errc(fs.lock(alice, root, { owner, openId: open.id, exclusive: true, offset: 0n, length: 1n })), Errc.ISDIR);
    const c = await fs.testLock(alice, f.handle, { owner: nfsA, exclusive: false, offset: 50n, length: 1n });
    assert.equal(c?.owner.key, owner.key);
    assert.throws(() => fs.checkIo(f.attr.fileId, { write: true, offset: 0n, length: 1n }), (e: CoreError) => e.errc === Errc.LOCKED);
    const waiter = fs.lock(alice, f.handle, { owner: nfsA, exclusive: true, offset: 0n, length: 1n }, { wait: true });
    await fs.release(open);
    await waiter;
    assert.equal(await fs.unlock(alice, f.handle, { owner: nfsA, offset: 0n, length: 1n }), true);
    assert.equal(fs.releaseLocks({ owner: nfsA }), 0);
    await fs.close();
  });
});
