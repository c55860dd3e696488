/**
 * SMB2 LOCK on 127.0.0.1 over the memory backend: conflicts between two clients, mandatory locks on
 * READ/WRITE, blocking locks answered asynchronously (interim STATUS_PENDING with an AsyncId, then the
 * final reply), SMB2 CANCEL, a pending lock ended by CLOSE, exact unlocks, bad requests, and a lock taken
 * through the core by an NFS owner conflicting with SMB.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { ROOT_CRED } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { SMB2_FLAGS_ASYNC_COMMAND, Smb2Cmd } from '../../protocols/smb2/constants';
import { decodeHeader } from '../../protocols/smb2/header';
import { NtStatus } from '../../protocols/smb2/ntstatus';
import { SmbServer } from '../../protocols/smb2/server';
import { closeBody, createBody, fileIdOf, readBody, TestSmbClient, writeBody, type Reply } from './smb2-client';
import { diskAndIpc, readyClient, startTestSmb } from './smb2-fixture';
import { lockBody } from './smb2-lock-body';


const SHARED = 1;
const EXCL = 2;
const UNLOCK = 4;
const FAIL = 0x10;


function parse(m: Buffer | undefined): Reply {
  if (!m) throw new Error('connection closed');
  return { hdr: decodeHeader(m), msg: m, body: m.subarray(64) };
}

/** SMB2 CANCEL for an asynchronous request (async header with its AsyncId). */
function cancelFrame(c: TestSmbClient, messageId: bigint, asyncId: bigint): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(4, 0);
  const m = c.build({ command: Smb2Cmd.CANCEL, body: b, messageId, flags: SMB2_FLAGS_ASYNC_COMMAND });
  m.writeBigUInt64LE(asyncId, 32);
  return c.frame(m);
}

describe('loopback: SMB2 LOCK', () => {
  let fs: Volume;
  let server: SmbServer;
  let port: number;
  const clients: TestSmbClient[] = [];
  const ready = (): Promise<TestSmbClient> => readyClient(port, clients);
  const open = async (c: TestSmbClient, name: string): Promise<Buffer> => {
    const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { disposition: 3 }) });
    assert.equal(r.hdr.status, 0);
    return fileIdOf(r);
  };
  const lock = (c: TestSmbClient, fid: Buffer, elems: Array<{ offset: bigint; length: bigint; flags: number }>) =>
    c.request({ command: Smb2Cmd.LOCK, body: lockBody(fid, elems) });

  before(async () => {
    fs = createMemoryFileSystem([defaultExport('data', 1)]);
    ({ server, port } = await startTestSmb({ shares: diskAndIpc(fs, defaultExport('data', 1)) }));
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    await fs.close();
  });

  it('an exclusive lock refuses other opens lock, read and write; the holder passes', async () => {
    const a = await ready();
    const b = await ready();
    const fa = await open(a, 'l1.bin');
    const fb = await open(b, 'l1.bin');
    assert.equal((await a.request({ command: Smb2Cmd.WRITE, body: writeBody(fa, 0n, Buffer.alloc(200, 1)) })).hdr.status, 0);
    assert.equal((await lock(a, fa, [{ offset: 100n, length: 10n, flags: EXCL | FAIL }])).hdr.status, 0);
    assert.equal((await lock(b, fb, [{ offset: 105n, length: 1n, flags: SHARED | FAIL }])).hdr.status, NtStatus.STATUS_LOCK_NOT_GRANTED);
    assert.equal((await b.request({ command: Smb2Cmd.READ, body: readBody(fb, 104n, 2) })).hdr.status, NtStatus.STATUS_FILE_LOCK_CONFLICT);
    assert.equal((await b.request({ command: Smb2Cmd.WRITE, body: writeBody(fb, 109n, Buffer.from('x')) })).hdr.status, NtStatus.STATUS_FILE_LOCK_CONFLICT);
    assert.equal((await b.request({ command: Smb2Cmd.READ, body: readBody(fb, 0n, 100) })).hdr.status, 0);
    assert.equal((await a.request({ command: Smb2Cmd.READ, body: readBody(fa, 100n, 10) })).hdr.status, 0);
    assert.equal((await a.request({ command: Smb2Cmd.WRITE, body: writeBody(fa, 100n, Buffer.from('y')) })).hdr.status, 0);
    // Unlock must name the exact range.
    assert.equal((await lock(a, fa, [{ offset: 100n, length: 5n, flags: UNLOCK }])).hdr.status, NtStatus.STATUS_RANGE_NOT_LOCKED);
    assert.equal((await lock(a, fa, [{ offset: 100n, length: 10n, flags: UNLOCK }])).hdr.status, 0);
    assert.equal((await lock(a, fa, [{ offset: 100n, length: 10n, flags: UNLOCK }])).hdr.status, NtStatus.STATUS_RANGE_NOT_LOCKED);
    assert.equal((await b.request({ command: Smb2Cmd.READ, body: readBody(fb, 104n, 2) })).hdr.status, 0);
  });

  it('several locks in one request are all or nothing', async () => {
    const a = await ready();
    const b = await ready();
    const fa = await open(a, 'l2.bin');
    const fb = await open(b, 'l2.bin');
    assert.equal((await lock(a, fa, [{ offset: 50n, length: 10n, flags: EXCL | FAIL }])).hdr.status, 0);
    const r = await lock(b, fb, [
      { offset: 0n, length: 10n, flags: EXCL | FAIL },
      { offset: 55n, length: 1n, flags: EXCL | FAIL },
    ]);
    assert.equal(r.hdr.status, NtStatus.STATUS_LOCK_NOT_GRANTED);
    // The first element was rolled back: A can take it.
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: SHARED | FAIL }])).hdr.status, 0);
  });

  it('a blocking lock goes asynchronous and completes when the holder unlocks', async () => {
    const a = await ready();
    const b = await ready();
    const fa = await open(a, 'l3.bin');
    const fb = await open(b, 'l3.bin');
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: EXCL }])).hdr.status, 0);
    const interim = await b.request({ command: Smb2Cmd.LOCK, body: lockBody(fb, [{ offset: 5n, length: 10n, flags: EXCL }]) });
    assert.equal(interim.hdr.status, NtStatus.STATUS_PENDING);
    assert.ok(interim.hdr.flags & SMB2_FLAGS_ASYNC_COMMAND);
    assert.notEqual(interim.hdr.asyncId, 0n);
    assert.ok(interim.hdr.credits > 0, 'the interim response grants credits');
    // Nothing more until A lets go.
    let early = 0;
    const onData = (): void => void early++;
    b.socket.on('data', onData);
    await new Promise((r) => setTimeout(r, 150));
    b.socket.off('data', onData);
    assert.equal(early, 0, 'no final reply while the lock is held');
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: UNLOCK }])).hdr.status, 0);
    const fin = parse(await b.next());
    assert.equal(fin.hdr.status, 0);
    assert.equal(fin.hdr.messageId, interim.hdr.messageId);
    assert.equal(fin.hdr.asyncId, interim.hdr.asyncId);
    assert.ok(fin.hdr.flags & SMB2_FLAGS_ASYNC_COMMAND);
    assert.equal(fin.hdr.credits, 0);
    // B holds it now.
    assert.equal((await lock(a, fa, [{ offset: 12n, length: 1n, flags: SHARED | FAIL }])).hdr.status, NtStatus.STATUS_LOCK_NOT_GRANTED);
  });

  it('SMB2 CANCEL ends a pending lock with STATUS_CANCELLED', async () => {
    const a = await ready();
    const b = await ready();
    const fa = await open(a, 'l4.bin');
    const fb = await open(b, 'l4.bin');
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: SHARED }])).hdr.status, 0);
    const interim = await b.request({ command: Smb2Cmd.LOCK, body: lockBody(fb, [{ offset: 0n, length: 1n, flags: EXCL }]) });
    assert.equal(interim.hdr.status, NtStatus.STATUS_PENDING);
    b.writeRaw(cancelFrame(b, interim.hdr.messageId, interim.hdr.asyncId));
    const fin = parse(await b.next());
    assert.equal(fin.hdr.status, NtStatus.STATUS_CANCELLED);
    assert.equal(fin.hdr.asyncId, interim.hdr.asyncId);
    // Nothing was left behind: A's unlock works and B's lock can now be had at once.
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: UNLOCK }])).hdr.status, 0);
    assert.equal((await lock(b, fb, [{ offset: 0n, length: 1n, flags: EXCL | FAIL }])).hdr.status, 0);
  });

  it('closing the file ends its pending lock with STATUS_RANGE_NOT_LOCKED', async () => {
    const a = await ready();
    const b = await ready();
    const fa = await open(a, 'l5.bin');
    const fb = await open(b, 'l5.bin');
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: EXCL }])).hdr.status, 0);
    const interim = await b.request({ command: Smb2Cmd.LOCK, body: lockBody(fb, [{ offset: 0n, length: 1n, flags: SHARED }]) });
    assert.equal(interim.hdr.status, NtStatus.STATUS_PENDING);
    b.writeRaw(b.frame(b.build({ command: Smb2Cmd.CLOSE, body: closeBody(fb) })));
    const replies = [parse(await b.next()), parse(await b.next())];
    const byCmd = new Map(replies.map((r) => [r.hdr.command, r.hdr.status]));
    assert.equal(byCmd.get(Smb2Cmd.LOCK), NtStatus.STATUS_RANGE_NOT_LOCKED);
    assert.equal(byCmd.get(Smb2Cmd.CLOSE), 0);
    // A's own locks are released by A's close; a new open of B then locks at once.
    assert.equal((await a.request({ command: Smb2Cmd.CLOSE, body: closeBody(fa) })).hdr.status, 0);
    const fb2 = await open(b, 'l5.bin');
    assert.equal((await lock(b, fb2, [{ offset: 0n, length: 10n, flags: EXCL | FAIL }])).hdr.status, 0);
  });

  it('stacks a shared lock on its own exclusive one; zero-length locks', async () => {
    const a = await ready();
    const fa = await open(a, 'l6.bin');
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: EXCL | FAIL }])).hdr.status, 0);
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: SHARED | FAIL }])).hdr.status, 0);
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: EXCL | FAIL }])).hdr.status, NtStatus.STATUS_LOCK_NOT_GRANTED);
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 0n, flags: EXCL | FAIL }])).hdr.status, 0);
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 0n, flags: UNLOCK }])).hdr.status, 0);
    // Two unlocks of the same range: the exclusive first, then the shared.
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: UNLOCK }, { offset: 0n, length: 10n, flags: UNLOCK }])).hdr.status, 0);
    assert.equal((await lock(a, fa, [{ offset: 0n, length: 10n, flags: UNLOCK }])).hdr.status, NtStatus.STATUS_RANGE_NOT_LOCKED);
  });

  it('refuses malformed lock requests', async () => {
    const a = await ready();
    const fa = await open(a, 'l7.bin');
    const st = async (body: Buffer) => (await a.request({ command: Smb2Cmd.LOCK, body })).hdr.status;
    assert.equal(await st(lockBody(fa, [], 0)), NtStatus.STATUS_INVALID_PARAMETER);
    assert.equal(await st(lockBody(fa, [{ offset: 0n, length: 1n, flags: EXCL }], 500)), NtStatus.STATUS_INVALID_PARAMETER);
    assert.equal(await st(lockBody(fa, [{ offset: 0n, length: 1n, flags: EXCL | SHARED }])), NtStatus.STATUS_INVALID_PARAMETER);
    assert.equal(await st(lockBody(fa, [{ offset: 0n, length: 1n, flags: 0 }])), NtStatus.STATUS_INVALID_PARAMETER);
    assert.equal(
      await st(lockBody(fa, [{ offset: 0n, length: 1n, flags: EXCL }, { offset: 5n, length: 1n, flags: EXCL }])),
      NtStatus.STATUS_INVALID_PARAMETER,
    );
    assert.equal(await st(lockBody(fa, [{ offset: 0xffffffffffffffffn, length: 2n, flags: EXCL | FAIL }])), NtStatus.STATUS_INVALID_LOCK_RANGE);
    assert.equal(await st(lockBody(fa, [{ offset: 0n, length: 1n, flags: UNLOCK | EXCL }])), NtStatus.STATUS_INVALID_PARAMETER);
    assert.equal(await st(lockBody(Buffer.alloc(16, 7), [{ offset: 0n, length: 1n, flags: EXCL }])), NtStatus.STATUS_FILE_CLOSED);
    // A lock on the last byte of the 64-bit space is fine.
    assert.equal(await st(lockBody(fa, [{ offset: 0xfffffffffffffffen, length: 1n, flags: EXCL | FAIL }])), 0);
  });

  it('grants no oplock or lease, so every break acknowledgment is refused', async () => {
    const a = await ready();
    const body = createBody('ol.bin', { disposition: 3 });
    body[3] = 0x09; // RequestedOplockLevel: batch
    const cr = await a.request({ command: Smb2Cmd.CREATE, body });
    assert.equal(cr.hdr.status, 0);
    assert.equal(cr.body[2], 0, 'OplockLevel NONE');
    const ack = Buffer.alloc(24);
    ack.writeUInt16LE(24, 0);
    ack[2] = 0x01;
    fileIdOf(cr).copy(ack, 8);
    assert.equal((await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: ack })).hdr.status, 0xc00000e3);
    const lease = Buffer.alloc(36);
    lease.writeUInt16LE(36, 0);
    assert.equal((await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: lease })).hdr.status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
  });

  it('a lock taken by an NFS owner through the core conflicts with SMB, and the reverse', async () => {
    const a = await ready();
    const fa = await open(a, 'x.bin');
    const root = await fs.rootHandle(1);
    const h = (await fs.lookup(ROOT_CRED, root, Buffer.from('x.bin'))).handle;
    const nfs = { protocol: 'nfs4' as const, key: 'client9/owner1' };
    await fs.lock(ROOT_CRED, h, { owner: nfs, exclusive: true, offset: 0n, length: 100n });
    assert.equal((await lock(a, fa, [{ offset: 50n, length: 1n, flags: SHARED | FAIL }])).hdr.status, NtStatus.STATUS_LOCK_NOT_GRANTED);
    assert.equal((await a.request({ command: Smb2Cmd.WRITE, body: writeBody(fa, 10n, Buffer.from('z')) })).hdr.status, NtStatus.STATUS_FILE_LOCK_CONFLICT);
    // A blocking SMB lock waits for the NFS owner to let go.
    const interim = await a.request({ command: Smb2Cmd.LOCK, body: lockBody(fa, [{ offset: 200n, length: 10n, flags: EXCL }]) });
    assert.equal(interim.hdr.status, 0, 'no conflict outside the NFS range');
    const pend = await a.request({ command: Smb2Cmd.LOCK, body: lockBody(fa, [{ offset: 90n, length: 20n, flags: EXCL }]) });
    assert.equal(pend.hdr.status, NtStatus.STATUS_PENDING);
    fs.releaseLocks({ owner: nfs });
    assert.equal(parse(await a.next()).hdr.status, 0);
    const c = await fs.testLock(ROOT_CRED, h, { owner: nfs, exclusive: false, offset: 95n, length: 1n });
    assert.equal(c?.owner.protocol, 'smb');
    assert.equal(c?.exclusive, true);
  });
});
