/**
 * SMB writes and durability: SMB WRITEs do not start background fsyncs ("flush-behind", which NFS keeps),
 * but what SMB promises stable still is: a FLUSH syncs every chunk the file's writes touched, and a
 * write-through WRITE (SMB2_WRITEFLAG_WRITE_THROUGH) or a write on a FILE_WRITE_THROUGH open is synced
 * before its reply. Checked on a brick that records which written objects have not been fsynced since.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import type { ObjectId } from '../../cluster/bricks/brick';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { Namespace } from '../../cluster/meta/namespace';
import { defaultExport } from '../../cluster/vfs/exports';
import { CreateMode, Stable, type Cred } from '../../cluster/vfs/types';
import { Volume } from '../../cluster/vfs/volume';
import { FILE_WRITE_THROUGH, SMB2_WRITEFLAG_WRITE_THROUGH, Smb2Cmd } from '../../protocols/smb2/constants';
import type { SmbServer } from '../../protocols/smb2/server';
import { closeBody, createBody, fileIdOf, type TestSmbClient, writeBody } from './smb2-client';
import { diskAndIpc, readyClient, startTestSmb } from './smb2-fixture';

const CHUNK = 64 * 1024;

/** A memory brick that knows which objects were written and not fsynced since. */
class TrackingBrick extends MemoryBrick {
  readonly unsynced = new Set<string>();
  fsyncs = 0;
  override async writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
    await super.writeRange(id, offset, data);
    this.unsynced.add(`${id.fileId}:${id.chunk}`);
  }
  override async fsync(id: ObjectId): Promise<void> {
    this.fsyncs++;
    await super.fsync(id);
    this.unsynced.delete(`${id.fileId}:${id.chunk}`);
  }
  /** Unsynced objects of one file. */
  of(fileId: bigint): string[] {
    return [...this.unsynced].filter((k) => k.startsWith(`${fileId}:`));
  }
}

function flushBody(fid: Buffer): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  fid.copy(b, 8);
  return b;
}

/** A WRITE request body with Flags set (writeBody leaves them 0). */
function writeBodyFlags(fid: Buffer, offset: bigint, data: Buffer, flags: number): Buffer {
  const b = writeBody(fid, offset, data);
  b.writeUInt32LE(flags, 44);
  return b;
}

describe('SMB2 writes: no flush-behind, FLUSH and write-through durable', () => {
  let brick: TrackingBrick;
  let fs: Volume;
  let smb: SmbServer;
  let port: number;
  const clients: TestSmbClient[] = [];

  before(async () => {
    const kv = new MemoryKv();
    const { vol, records } = Namespace.initialRecords({ chunkSize: CHUNK, root: { mode: 0o777 } });
    for (const [k, v] of records) kv.putSync(k, v);
    const ns = new Namespace(kv, vol, { durable: false, maxLink: 65000 });
    const config = defaultExport('data', 1);
    brick = new TrackingBrick();
    fs = new Volume(kv, brick, ns, { exports: [config] });
    ({ server: smb, port } = await startTestSmb({ shares: diskAndIpc(fs, config) }));
  });

  after(async () => {
    for (const c of clients) c.close();
    await smb.close();
  });

  async function open(c: TestSmbClient, name: string, options = 0x40): Promise<{ fid: Buffer; fileId: bigint }> {
    const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { options }) });
    assert.equal(r.hdr.status, 0);
    const root = await fs.rootHandle(1);
    const cred: Cred = { uid: 0, gid: 0, groups: [] };
    const { attr } = await fs.lookup(cred, root, Buffer.from(name));
    return { fid: fileIdOf(r), fileId: attr.fileId };
  }

  it('full chunks written by SMB stay unsynced until FLUSH, which syncs them all', async () => {
    const c = await readyClient(port, clients);
    const { fid, fileId } = await open(c, 'flush.bin');
    const before = brick.fsyncs;
    // Three whole chunks and a partial one, each WRITE one chunk (as a sequential copy sends them).
    for (let i = 0; i < 4; i++) {
      const data = Buffer.alloc(i < 3 ? CHUNK : 1000, i + 1);
      const w = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, BigInt(i * CHUNK), data) });
      assert.equal(w.hdr.status, 0);
    }
    assert.equal(brick.fsyncs, before, 'an SMB WRITE starts no background fsync');
    assert.equal(brick.of(fileId).length, 4);
    const f = await c.request({ command: Smb2Cmd.FLUSH, body: flushBody(fid) });
    assert.equal(f.hdr.status, 0);
    assert.deepEqual(brick.of(fileId), [], 'FLUSH synced every chunk written');
    assert.equal((await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fid) })).hdr.status, 0);
  });

  it('a write-through WRITE, and any WRITE on a FILE_WRITE_THROUGH open, is synced before its reply', async () => {
    const c = await readyClient(port, clients);
    const a = await open(c, 'wt-flag.bin');
    const w = await c.request({ command: Smb2Cmd.WRITE, body: writeBodyFlags(a.fid, 5n, Buffer.alloc(CHUNK, 7), SMB2_WRITEFLAG_WRITE_THROUGH) });
    assert.equal(w.hdr.status, 0);
    assert.deepEqual(brick.of(a.fileId), []);

    const b = await open(c, 'wt-open.bin', 0x40 | FILE_WRITE_THROUGH);
    const w2 = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(b.fid, 10n, Buffer.alloc(3000, 9)) });
    assert.equal(w2.hdr.status, 0);
    assert.deepEqual(brick.of(b.fileId), []);
  });

  it('core writes without the option (NFS) still flush full chunks behind', async () => {
    const root = await fs.rootHandle(1);
    const cred: Cred = { uid: 0, gid: 0, groups: [] };
    const made = await fs.create(cred, root, Buffer.from('nfs.bin'), { mode: CreateMode.UNCHECKED, attrs: { mode: 0o644 } });
    const before = brick.fsyncs;
    await fs.write(cred, made.handle, 0n, Buffer.alloc(CHUNK, 3), Stable.UNSTABLE);
    // The background fsync has been started (TrackingBrick counts at the call) when the write returns.
    assert.equal(brick.fsyncs, before + 1, 'the filled chunk is fsynced in the background');
  });
});
