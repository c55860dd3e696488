/**
 * NFSv3 + MOUNT served by a real RpcServer on 127.0.0.1 (memory backend), driven by our RpcClient and the
 * NFSv3 client-side codecs: MNT → handle, CREATE/WRITE/READ of a multi-segment reply, READDIR, the
 * duplicate-request cache on a retransmitted REMOVE, and GARBAGE_ARGS for undecodable arguments.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MNT } from '../../protocols/mount/procs/mnt';
import { MOUNT_PROGRAM, MOUNT_V3, mountstat3 } from '../../protocols/mount/types';
import type { Nfs3Procedure } from '../../protocols/nfs3/procedure';
import { CREATE } from '../../protocols/nfs3/procs/create';
import { GETATTR } from '../../protocols/nfs3/procs/getattr';
import { READ } from '../../protocols/nfs3/procs/read';
import { READDIRPLUS } from '../../protocols/nfs3/procs/readdirplus';
import { REMOVE } from '../../protocols/nfs3/procs/remove';
import { WRITE } from '../../protocols/nfs3/procs/write';
import { NFS_PROGRAM, NFS_V3, createmode3, ftype3, nfsstat3, stable_how, type Nfs3Res } from '../../protocols/nfs3/types';
import { emptySattr3 } from '../../protocols/nfs3/xdr';
import { RpcClient, RpcReplyError } from '../../protocols/rpc/client';
import { GARBAGE_ARGS } from '../../protocols/rpc/message';
import type { AuthSys } from '../../protocols/rpc/types';
import { nfs3Call, startNfsLoopback, type NfsLoopback } from './nfs-loopback';

const auth: AuthSys = { stamp: 1, machineName: 'loopback', uid: 1000, gid: 1000, gids: [] };

describe('NFSv3 over loopback TCP', () => {
  let lo: NfsLoopback;
  let client: RpcClient;
  let root: Buffer;

  before(async () => {
    lo = await startNfsLoopback();
    client = lo.client;
  });

  after(async () => {
    await lo.close();
  });

  const nfs = <A, OK, FAIL>(d: Nfs3Procedure<A, OK, FAIL, any>, args: A, xid?: number): Promise<Nfs3Res<OK, FAIL>> => nfs3Call(client, auth, d, args, xid);

  it('MNT /data returns the root handle that GETATTR accepts', async () => {
    const r = await client.call(MOUNT_PROGRAM, MOUNT_V3, MNT.proc, (w) => MNT.encodeArgs(w, Buffer.from('/data')), { auth });
    const m = MNT.decodeRes(r);
    assert.equal(m.fhs_status, mountstat3.MNT3_OK);
    if (m.fhs_status !== mountstat3.MNT3_OK) return;
    root = m.mountinfo.fhandle;
    const g = await nfs(GETATTR, { object: root });
    assert.ok(g.status === nfsstat3.NFS3_OK && g.resok.obj_attributes.type === ftype3.NF3DIR);
  });

  it('CREATE, WRITE 300 KiB in pieces, READ it back in one multi-segment reply', async () => {
    const c = await nfs(CREATE, { where: { dir: root, name: Buffer.from('big') }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } });
    assert.ok(c.status === nfsstat3.NFS3_OK && c.resok.obj);
    const fh = c.resok.obj;
    const data = Buffer.alloc(300 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    for (let off = 0; off < data.length; off += 64 * 1024) {
      const piece = data.subarray(off, off + 64 * 1024);
      const w = await nfs(WRITE, { file: fh, offset: BigInt(off), count: piece.length, stable: stable_how.UNSTABLE, data: piece });
      assert.ok(w.status === nfsstat3.NFS3_OK && w.resok.count === piece.length);
    }
    const r = await nfs(READ, { file: fh, offset: 0n, count: data.length });
    assert.ok(r.status === nfsstat3.NFS3_OK);
    assert.ok(r.resok.data.equals(data));
    assert.equal(r.resok.eof, true);
  });

  it('READDIRPLUS lists the file with a handle', async () => {
    const r = await nfs(READDIRPLUS, { dir: root, cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 4096, maxcount: 32768 });
    assert.ok(r.status === nfsstat3.NFS3_OK);
    assert.deepEqual(r.resok.reply.entries.map((e) => e.name.toString()), ['.', '..', 'big']);
    assert.equal(r.resok.reply.eof, true);
  });

  it('a retransmitted REMOVE (same xid) gets the cached reply, not NOENT', async () => {
    const c = await nfs(CREATE, { where: { dir: root, name: Buffer.from('victim') }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } });
    assert.equal(c.status, nfsstat3.NFS3_OK);
    const xid = 0x5eed1234;
    const first = await nfs(REMOVE, { object: { dir: root, name: Buffer.from('victim') } }, xid);
    assert.equal(first.status, nfsstat3.NFS3_OK);
    const again = await nfs(REMOVE, { object: { dir: root, name: Buffer.from('victim') } }, xid);
    assert.equal(nfsstat3[again.status], 'NFS3_OK');
    const fresh = await nfs(REMOVE, { object: { dir: root, name: Buffer.from('victim') } });
    assert.equal(nfsstat3[fresh.status], 'NFS3ERR_NOENT');
  });

  it('truncated arguments are GARBAGE_ARGS', async () => {
    await assert.rejects(
      client.call(NFS_PROGRAM, NFS_V3, GETATTR.proc, (w) => w.uint32(64), { auth }),
      (e: unknown) => e instanceof RpcReplyError && e.reply.kind === 'accepted' && e.reply.accept.stat === GARBAGE_ARGS,
    );
  });
});
