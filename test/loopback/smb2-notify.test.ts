/**
 * SMB2 CHANGE_NOTIFY on 127.0.0.1, with an NFSv3 server on the same memory volume: a file created over
 * NFS completes an Explorer-style watch; changes kept between requests; completion filter; WATCH_TREE;
 * rename pairs; data modification; overflow → STATUS_NOTIFY_ENUM_DIR; CANCEL; close → NOTIFY_CLEANUP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { ROOT_CRED } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import type { Nfs3Procedure } from '../../protocols/nfs3/procedure';
import { CREATE } from '../../protocols/nfs3/procs/create';
import { LOOKUP } from '../../protocols/nfs3/procs/lookup';
import { WRITE } from '../../protocols/nfs3/procs/write';
import { createmode3, nfsstat3, stable_how, type Nfs3Res } from '../../protocols/nfs3/types';
import { emptySattr3 } from '../../protocols/nfs3/xdr';
import { RpcClient } from '../../protocols/rpc/client';
import type { AuthSys } from '../../protocols/rpc/types';
import { SMB2_FLAGS_ASYNC_COMMAND, Smb2Cmd } from '../../protocols/smb2/constants';
import { decodeHeader } from '../../protocols/smb2/header';
import { NtStatus } from '../../protocols/smb2/ntstatus';
import { SmbServer } from '../../protocols/smb2/server';
import { closeBody, createBody, fileIdOf, TestSmbClient, type Reply } from './smb2-client';
import { diskAndIpc, readyClient, startTestSmb } from './smb2-fixture';
import { mountRoot, nfs3Call, startNfsLoopback, type NfsLoopback } from './nfs-loopback';

const auth: AuthSys = { stamp: 1, machineName: 'loopback', uid: 1000, gid: 1000, gids: [] };

const FILE_NAME = 0x1;
const DIR_NAME = 0x2;
const SIZE = 0x8;
const LAST_WRITE = 0x10;
const WATCH_TREE = 1;

function notifyBody(fid: Buffer, filter: number, o: { tree?: boolean; maxOut?: number } = {}): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt16LE(32, 0);
  b.writeUInt16LE(o.tree ? WATCH_TREE : 0, 2);
  b.writeUInt32LE(o.maxOut ?? 4096, 4);
  fid.copy(b, 8);
  b.writeUInt32LE(filter, 24);
  return b;
}

/** FILE_NOTIFY_INFORMATION entries of a CHANGE_NOTIFY response as "action:name". */
function changes(r: Reply): string[] {
  const len = r.body.readUInt32LE(4);
  if (len === 0) return [];
  let p = r.body.readUInt16LE(2) - 64;
  const out: string[] = [];
  for (;;) {
    const next = r.body.readUInt32LE(p);
    const n = r.body.readUInt32LE(p + 8);
    out.push(`${r.body.readUInt32LE(p + 4)}:${r.body.subarray(p + 12, p + 12 + n).toString('utf16le')}`);
    if (!next) break;
    p += next;
  }
  return out;
}

function parse(m: Buffer | undefined): Reply {
  if (!m) throw new Error('connection closed');
  return { hdr: decodeHeader(m), msg: m, body: m.subarray(64) };
}

describe('loopback: SMB2 CHANGE_NOTIFY fed by NFS and SMB changes', () => {
  let fs: Volume;
  let smb: SmbServer;
  let nfsServer: NfsLoopback;
  let nfsClient: RpcClient;
  let port: number;
  const clients: TestSmbClient[] = [];

  const nfs = <A, OK, FAIL>(d: Nfs3Procedure<A, OK, FAIL, any>, args: A): Promise<Nfs3Res<OK, FAIL>> => nfs3Call(nfsClient, auth, d, args);
  const nfsCreate = async (dir: Buffer, name: string): Promise<Buffer> => {
    const c = await nfs(CREATE, { where: { dir, name: Buffer.from(name) }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } });
    assert.ok(c.status === nfsstat3.NFS3_OK && c.resok.obj);
    return c.resok.obj;
  };

  const ready = (): Promise<TestSmbClient> => readyClient(port, clients);
  /** Opens a directory (FILE_DIRECTORY_FILE, FILE_OPEN_IF) for listing. */
  const openDir = async (c: TestSmbClient, name: string): Promise<Buffer> => {
    const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { access: 0x00100081, disposition: 3, options: 0x1 }) });
    assert.equal(r.hdr.status, 0, `open dir ${name}`);
    return fileIdOf(r);
  };
  const pending = async (c: TestSmbClient, fid: Buffer, filter: number, o: { tree?: boolean; maxOut?: number } = {}): Promise<Reply> => {
    const r = await c.request({ command: Smb2Cmd.CHANGE_NOTIFY, body: notifyBody(fid, filter, o) });
    assert.equal(r.hdr.status, NtStatus.STATUS_PENDING);
    assert.ok(r.hdr.flags & SMB2_FLAGS_ASYNC_COMMAND);
    return r;
  };

  before(async () => {
    const configs = [defaultExport('data', 1)];
    fs = createMemoryFileSystem(configs);
    ({ server: smb, port } = await startTestSmb({ shares: diskAndIpc(fs, configs[0]!) }));
    nfsServer = await startNfsLoopback({ fs });
    nfsClient = nfsServer.client;
    await mountRoot(nfsClient, auth);
  });

  after(async () => {
    for (const c of clients) c.close();
    await nfsServer.close();
    await smb.close();
    await fs.close();
  });

  it('a file created over NFS completes a pending watch; later changes wait for the next request', async () => {
    const c = await ready();
    const d = await openDir(c, 'w1');
    const w1Handle = (await fs.lookup(ROOT_CRED, await fs.rootHandle(1), Buffer.from('w1'))).handle;
    const p = await pending(c, d, FILE_NAME | DIR_NAME);
    await nfsCreate(w1Handle, 'fromnfs.txt');
    const fin = parse(await c.next());
    assert.equal(fin.hdr.status, 0);
    assert.equal(fin.hdr.asyncId, p.hdr.asyncId);
    assert.deepEqual(changes(fin), ['1:fromnfs.txt']);
    // No request outstanding: the change is kept and returned at once by the next one.
    await nfsCreate(w1Handle, 'second.txt');
    const r = await c.request({ command: Smb2Cmd.CHANGE_NOTIFY, body: notifyBody(d, FILE_NAME | DIR_NAME) });
    assert.equal(r.hdr.status, 0);
    assert.deepEqual(changes(r), ['1:second.txt']);
  });

  it('reports a rename as old and new name together, removals, and honours the filter', async () => {
    const c = await ready();
    const d = await openDir(c, 'w2');
    const h = (await fs.lookup(ROOT_CRED, await fs.rootHandle(1), Buffer.from('w2'))).handle;
    await fs.create(ROOT_CRED, h, Buffer.from('a'), { mode: 1 });
    await pending(c, d, DIR_NAME);
    // Files do not match a DIR_NAME filter; a directory does.
    await fs.create(ROOT_CRED, h, Buffer.from('ignored'), { mode: 1 });
    await fs.mkdir(ROOT_CRED, h, Buffer.from('subdir'), {});
    assert.deepEqual(changes(parse(await c.next())), ['1:subdir']);
    await pending(c, d, FILE_NAME);
    await fs.rename(ROOT_CRED, h, Buffer.from('a'), h, Buffer.from('b'));
    assert.deepEqual(changes(parse(await c.next())), ['4:a', '5:b']);
    await pending(c, d, FILE_NAME);
    await fs.remove(ROOT_CRED, h, Buffer.from('b'));
    assert.deepEqual(changes(parse(await c.next())), ['2:b']);
  });

  it('an NFS WRITE to a looked-up file is a modification (SIZE / LAST_WRITE)', async () => {
    const c = await ready();
    const d = await openDir(c, 'w3');
    const h = (await fs.lookup(ROOT_CRED, await fs.rootHandle(1), Buffer.from('w3'))).handle;
    const f = await nfsCreate(h, 'data.bin');
    await pending(c, d, SIZE | LAST_WRITE);
    const l = await nfs(LOOKUP, { what: { dir: h, name: Buffer.from('data.bin') } });
    assert.equal(l.status, nfsstat3.NFS3_OK);
    const w = await nfs(WRITE, { file: f, offset: 0n, count: 5, stable: stable_how.FILE_SYNC, data: Buffer.from('hello') });
    assert.equal(w.status, nfsstat3.NFS3_OK);
    assert.deepEqual(changes(parse(await c.next())), ['3:data.bin']);
  });

  it('WATCH_TREE reports changes in subdirectories with their relative path', async () => {
    const c = await ready();
    const d = await openDir(c, 'w4');
    const h = (await fs.lookup(ROOT_CRED, await fs.rootHandle(1), Buffer.from('w4'))).handle;
    const sub = await fs.mkdir(ROOT_CRED, h, Buffer.from('sub'), { mode: 0o777 });
    const deep = await fs.mkdir(ROOT_CRED, sub.handle, Buffer.from('deep'), { mode: 0o777 });
    await pending(c, d, FILE_NAME, { tree: true });
    await nfsCreate(deep.handle, 'leaf.txt');
    assert.deepEqual(changes(parse(await c.next())), ['1:sub\\deep\\leaf.txt']);
    // Without WATCH_TREE only the directory itself counts.
    const c2 = await ready();
    const d2 = await openDir(c2, 'w4');
    await pending(c2, d2, FILE_NAME);
    await nfsCreate(deep.handle, 'leaf2.txt');
    await nfsCreate(h, 'top.txt');
    assert.deepEqual(changes(parse(await c2.next())), ['1:top.txt']);
  });

  it('more changes than the buffer holds → STATUS_NOTIFY_ENUM_DIR', async () => {
    const c = await ready();
    const d = await openDir(c, 'w5');
    const h = (await fs.lookup(ROOT_CRED, await fs.rootHandle(1), Buffer.from('w5'))).handle;
    await pending(c, d, FILE_NAME, { maxOut: 40 });
    for (let i = 0; i < 5; i++) await fs.create(ROOT_CRED, h, Buffer.from(`file-with-a-long-name-${i}`), { mode: 1 });
    const r = parse(await c.next());
    assert.equal(r.hdr.status, NtStatus.STATUS_NOTIFY_ENUM_DIR);
    assert.equal(r.body.readUInt32LE(4), 0);
  });

  it('CANCEL → STATUS_CANCELLED; CLOSE of the handle → STATUS_NOTIFY_CLEANUP; files are refused', async () => {
    const c = await ready();
    const d = await openDir(c, 'w6');
    const p = await pending(c, d, FILE_NAME);
    const cancel = c.build({ command: Smb2Cmd.CANCEL, body: Buffer.from([4, 0, 0, 0]), messageId: p.hdr.messageId, flags: SMB2_FLAGS_ASYNC_COMMAND });
    cancel.writeBigUInt64LE(p.hdr.asyncId, 32);
    c.writeRaw(c.frame(cancel));
    const fin = parse(await c.next());
    assert.equal(fin.hdr.status, NtStatus.STATUS_CANCELLED);
    await pending(c, d, FILE_NAME);
    c.writeRaw(c.frame(c.build({ command: Smb2Cmd.CLOSE, body: closeBody(d) })));
    const got = new Map<number, number>();
    for (let i = 0; i < 2; i++) {
      const r = parse(await c.next());
      got.set(r.hdr.command, r.hdr.status);
    }
    assert.equal(got.get(Smb2Cmd.CHANGE_NOTIFY), NtStatus.STATUS_NOTIFY_CLEANUP);
    assert.equal(got.get(Smb2Cmd.CLOSE), 0);
    const f = await c.request({ command: Smb2Cmd.CREATE, body: createBody('w6\\plain.txt', { disposition: 3 }) });
    const r = await c.request({ command: Smb2Cmd.CHANGE_NOTIFY, body: notifyBody(fileIdOf(f), FILE_NAME) });
    assert.equal(r.hdr.status, NtStatus.STATUS_INVALID_PARAMETER);
  });
});
