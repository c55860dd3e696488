/**
 * Cross-protocol byte-range locks: an SMB2 server on 127.0.0.1 and the NFSv4 program (driven through its
 * codecs by the proc-layer harness) over one memory volume, sharing the core's lock manager. An NFSv4
 * LOCK stops SMB LOCK/READ/WRITE on the range, a blocking SMB lock completes when the NFS client
 * unlocks, and an SMB lock makes NFSv4 LOCK answer NFS4ERR_DENIED and WRITE NFS4ERR_LOCKED.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import type { Volume } from '../../cluster/vfs/volume';
import { Smb2Cmd } from '../../protocols/smb2/constants';
import { decodeHeader } from '../../protocols/smb2/header';
import { NtStatus } from '../../protocols/smb2/ntstatus';
import { SmbServer } from '../../protocols/smb2/server';
import { nfsstat4 } from '../../protocols/nfs4/types';
import { expectStatus, Nfs40TestClient, Nfs4Harness, op } from '../proc/nfs4/harness';
import { createBody, fileIdOf, TestSmbClient, writeBody } from './smb2-client';
import { diskAndIpc, readyClient, startTestSmb, testAccount, testUsers } from './smb2-fixture';
import { lockBody } from './smb2-lock-body';
import { Nfs3Harness } from '../proc/nfs3/harness';
import { READ } from '../../protocols/nfs3/procs/read';
import { WRITE } from '../../protocols/nfs3/procs/write';
import { nfsstat3, stable_how } from '../../protocols/nfs3/types';

const SHARED = 1;
const EXCL = 2;
const FAIL = 0x10;

describe('loopback: byte-range locks across NFSv4 and SMB2', () => {
  const configs = [defaultExport('export', 1)];
  let fs: Volume;
  let smb: SmbServer;
  let port: number;
  let nfs: Nfs4Harness;
  const clients: TestSmbClient[] = [];

  const smbReady = (): Promise<TestSmbClient> => readyClient(port, clients, { share: 'export' });
  const smbOpen = async (c: TestSmbClient, name: string): Promise<Buffer> => {
    const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { disposition: 1 }) });
    assert.equal(r.hdr.status, 0, `open ${name}`);
    return fileIdOf(r);
  };

  before(async () => {
    fs = createMemoryFileSystem(configs);
    ({ server: smb, port } = await startTestSmb({ shares: diskAndIpc(fs, configs[0]!), users: testUsers(testAccount('alice', 0)) }));
    nfs = new Nfs4Harness(configs, {}, fs);
  });

  after(async () => {
    for (const c of clients) c.close();
    await smb.close();
    await fs.close();
  });

  it('an NFSv4 write lock stops SMB locks and I/O; a blocking SMB lock gets it after LOCKU', async () => {
    const n = await Nfs40TestClient.connect(nfs, 'client-x1');
    const root = await n.exportRoot();
    const o = await n.open(root, 'shared.bin');
    const lk = await n.lock(o.fh, o.stateid, { offset: 100n, length: 50n });
    expectStatus(lk, nfsstat4.NFS4_OK);
    const lockStateid = n.lockStateid(lk);

    const c = await smbReady();
    const fid = await smbOpen(c, 'shared.bin');
    const st = async (body: Buffer) => (await c.request({ command: Smb2Cmd.LOCK, body })).hdr.status;
    assert.equal(await st(lockBody(fid, [{ offset: 120n, length: 1n, flags: SHARED | FAIL }])), NtStatus.STATUS_LOCK_NOT_GRANTED);
    assert.equal(await st(lockBody(fid, [{ offset: 0n, length: 100n, flags: EXCL | FAIL }])), 0, 'the bytes before are free');
    assert.equal((await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, 149n, Buffer.from('x')) })).hdr.status, NtStatus.STATUS_FILE_LOCK_CONFLICT);

    const pending = await c.request({ command: Smb2Cmd.LOCK, body: lockBody(fid, [{ offset: 140n, length: 20n, flags: EXCL }]) });
    assert.equal(pending.hdr.status, NtStatus.STATUS_PENDING);
    expectStatus(await n.run([op.putfh(o.fh), op.locku(lockStateid, { seqid: 1, offset: 100n, length: 50n })]), nfsstat4.NFS4_OK);
    const m = await c.next();
    assert.ok(m);
    const fin = decodeHeader(m);
    assert.equal(fin.status, 0);
    assert.equal(fin.asyncId, pending.hdr.asyncId);
  });

  it('an SMB lock makes NFSv4 LOCK answer DENIED (naming the range) and WRITE answer LOCKED', async () => {
    const n = await Nfs40TestClient.connect(nfs, 'client-x2');
    const root = await n.exportRoot();
    const o = await n.open(root, 'smbheld.bin');
    const c = await smbReady();
    const fid = await smbOpen(c, 'smbheld.bin');
    assert.equal((await c.request({ command: Smb2Cmd.LOCK, body: lockBody(fid, [{ offset: 10n, length: 10n, flags: EXCL | FAIL }]) })).hdr.status, 0);

    const denied = await n.lock(o.fh, o.stateid, { offset: 0n, length: 15n });
    expectStatus(denied, nfsstat4.NFS4ERR_DENIED);
    const body = denied.resarray[1]!.res as { offset: bigint; length: bigint };
    assert.equal(body.offset, 10n);
    assert.equal(body.length, 10n);
    expectStatus(await n.run([op.putfh(o.fh), op.write(o.stateid, 12n, Buffer.from('zz'))]), nfsstat4.NFS4ERR_LOCKED);
    expectStatus(await n.run([op.putfh(o.fh), op.write(o.stateid, 30n, Buffer.from('zz'))]), nfsstat4.NFS4_OK);
  });

  it('an SMB exclusive lock stops NFSv3 READ and WRITE on its range (JUKEBOX), not beside it', async () => {
    const v3 = new Nfs3Harness(configs, fs);
    const root = await v3.root();
    const fh = await v3.create(root, 'v3held.bin', { uid: 0, gid: 0 });
    const w = (offset: bigint) => ({ file: fh, offset, count: 2, stable: stable_how.FILE_SYNC, data: Buffer.from('ab') });
    await v3.ok(WRITE, w(0n), { uid: 0, gid: 0 });
    const c = await smbReady();
    const fid = await smbOpen(c, 'v3held.bin');
    assert.equal((await c.request({ command: Smb2Cmd.LOCK, body: lockBody(fid, [{ offset: 100n, length: 10n, flags: EXCL | FAIL }]) })).hdr.status, 0);
    await v3.fails(WRITE, w(105n), nfsstat3.NFS3ERR_JUKEBOX, { uid: 0, gid: 0 });
    await v3.fails(READ, { file: fh, offset: 95n, count: 10 }, nfsstat3.NFS3ERR_JUKEBOX, { uid: 0, gid: 0 });
    await v3.ok(WRITE, w(200n), { uid: 0, gid: 0 });
    const r = await v3.ok(READ, { file: fh, offset: 0n, count: 2 }, { uid: 0, gid: 0 });
    assert.equal(Buffer.from(r.data).toString(), 'ab');
  });
});
