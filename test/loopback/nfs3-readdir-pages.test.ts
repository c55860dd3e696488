/**
 * READDIRPLUS of an unchanged directory is answered from kept pages (cluster/vfs/listing-pages.ts) and kept
 * encoded entries (protocols/nfs3/procs/readdirplus.ts). Over loopback with small pages and the all-zero
 * cookie verifier libnfs sends: a listing repeated gives every name once with the same attributes, and
 * after a SETATTR, a REMOVE or a CREATE the next listing shows exactly that change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MNT } from '../../protocols/mount/procs/mnt';
import { MOUNT_PROGRAM, MOUNT_V3, mountstat3 } from '../../protocols/mount/types';
import type { Nfs3Procedure } from '../../protocols/nfs3/procedure';
import { CREATE } from '../../protocols/nfs3/procs/create';
import { MKDIR } from '../../protocols/nfs3/procs/mkdir';
import { READDIRPLUS } from '../../protocols/nfs3/procs/readdirplus';
import { REMOVE } from '../../protocols/nfs3/procs/remove';
import { SETATTR } from '../../protocols/nfs3/procs/setattr';
import { createmode3, nfsstat3, type Nfs3Res } from '../../protocols/nfs3/types';
import { emptySattr3 } from '../../protocols/nfs3/xdr';
import { RpcClient } from '../../protocols/rpc/client';
import type { AuthSys } from '../../protocols/rpc/types';
import { nfs3Call, startNfsLoopback, type NfsLoopback } from './nfs-loopback';

const auth: AuthSys = { stamp: 1, machineName: 'loopback', uid: 1000, gid: 1000, gids: [] };
const N = 150;

describe('NFSv3 READDIRPLUS of an unchanged directory (kept pages)', () => {
  let lo: NfsLoopback;
  let client: RpcClient;
  let dir: Buffer;

  const nfs = <A, OK, FAIL>(d: Nfs3Procedure<A, OK, FAIL, any>, args: A): Promise<Nfs3Res<OK, FAIL>> => nfs3Call(client, auth, d, args);

  before(async () => {
    lo = await startNfsLoopback();
    client = lo.client;
    const m = MNT.decodeRes(await client.call(MOUNT_PROGRAM, MOUNT_V3, MNT.proc, (w) => MNT.encodeArgs(w, Buffer.from('/data')), { auth }));
    assert.ok(m.fhs_status === mountstat3.MNT3_OK);
    if (m.fhs_status !== mountstat3.MNT3_OK) return;
    const d = await nfs(MKDIR, { where: { dir: m.mountinfo.fhandle, name: Buffer.from('big') }, attributes: emptySattr3() });
    assert.ok(d.status === nfsstat3.NFS3_OK && d.resok.obj);
    dir = d.resok.obj;
    for (let i = 0; i < N; i += 25) {
      await Promise.all(
        Array.from({ length: 25 }, (_, j) => nfs(CREATE, { where: { dir, name: Buffer.from(`f${i + j}`) }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } })),
      );
    }
  });

  after(async () => {
    await lo.close();
  });

  /** name → [mode, fileid, handle hex], in pages of at most 1 KiB, always with an all-zero verifier. */
  async function list(): Promise<Map<string, [number, bigint, string]>> {
    const out = new Map<string, [number, bigint, string]>();
    let cookie = 0n;
    for (let pages = 0; ; pages++) {
      assert.ok(pages < 1000);
      const r = await nfs(READDIRPLUS, { dir, cookie, cookieverf: Buffer.alloc(8), dircount: 1024, maxcount: 1024 });
      assert.equal(r.status, nfsstat3.NFS3_OK);
      if (r.status !== nfsstat3.NFS3_OK) throw new Error('unreachable');
      for (const e of r.resok.reply.entries) {
        const name = e.name.toString();
        assert.ok(!out.has(name), `${name} listed twice`);
        out.set(name, [e.name_attributes!.mode, e.fileid, e.name_handle!.toString('hex')]);
        cookie = e.cookie;
      }
      if (r.resok.reply.eof) return out;
    }
  }

  it('lists the same entries again, then exactly each change', async () => {
    const first = await list();
    assert.equal(first.size, N + 2); // with '.' and '..'
    assert.deepEqual(await list(), first);
    assert.deepEqual(await list(), first);

    const f7 = first.get('f7')!;
    const s = await nfs(SETATTR, { object: Buffer.from(f7[2], 'hex'), new_attributes: { ...emptySattr3(), mode: 0o600 }, guard: undefined });
    assert.equal(s.status, nfsstat3.NFS3_OK);
    const second = await list();
    assert.equal(second.get('f7')![0] & 0o777, 0o600);
    assert.deepEqual([...second].filter(([n]) => n !== 'f7' && n !== '.'), [...first].filter(([n]) => n !== 'f7' && n !== '.'));

    assert.equal((await nfs(REMOVE, { object: { dir, name: Buffer.from('f100') } })).status, nfsstat3.NFS3_OK);
    const c = await nfs(CREATE, { where: { dir, name: Buffer.from('zz') }, how: { mode: createmode3.GUARDED, obj_attributes: emptySattr3() } });
    assert.equal(c.status, nfsstat3.NFS3_OK);
    const third = await list();
    assert.equal(third.has('f100'), false);
    assert.equal(third.has('zz'), true);
    assert.equal(third.size, N + 2);
  });
});
