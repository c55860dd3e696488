import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultExport, type ExportConfig } from '../../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../../cluster/vfs/memory';
import type { FileSystem } from '../../../cluster/vfs/types';
import { DUMP } from '../../../protocols/mount/procs/dump';
import { EXPORT } from '../../../protocols/mount/procs/export';
import { MNT } from '../../../protocols/mount/procs/mnt';
import { NULL } from '../../../protocols/mount/procs/null';
import { UMNT } from '../../../protocols/mount/procs/umnt';
import { UMNTALL } from '../../../protocols/mount/procs/umntall';
import type { MountProcedure } from '../../../protocols/mount/procedure';
import { createMountPrograms } from '../../../protocols/mount/program';
import { MOUNTPROC3, mountstat3, type mountres3 } from '../../../protocols/mount/types';
import { createNfsExports } from '../../../protocols/nfs3/exports';
import { AUTH_NONE, AUTH_SYS, type RpcProgramVersion } from '../../../protocols/rpc/types';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

interface Opts {
  address?: string;
  port?: number;
  vers?: 1 | 3;
}

class MountHarness {
  readonly fs: FileSystem;
  readonly v3: RpcProgramVersion;
  readonly v1: RpcProgramVersion;

  constructor(readonly configs: ExportConfig[]) {
    this.fs = createMemoryFileSystem(configs);
    const [v3, v1] = createMountPrograms({ exports: createNfsExports(configs.map((config) => ({ config, fs: this.fs }))) });
    this.v3 = v3!;
    this.v1 = v1!;
  }

  async call<A, R>(d: MountProcedure<A, R>, args: A, o: Opts = {}): Promise<R> {
    const prog = o.vers === 1 ? this.v1 : this.v3;
    const p = prog.procs.get(d.proc);
    assert.ok(p, `${d.name} served by v${prog.vers}`);
    const aw = new XdrWriter();
    d.encodeArgs(aw, args);
    const res = await p.handle(
      {
        xid: 1,
        prog: prog.prog,
        vers: prog.vers,
        proc: d.proc,
        auth: { flavor: AUTH_SYS, stamp: 0, machineName: 'c', uid: 0, gid: 0, gids: [] },
        remote: { address: o.address ?? '127.0.0.1', port: o.port ?? 800, family: 'IPv4' },
        local: { address: '127.0.0.1', port: 20048 },
        transport: 'tcp',
        signal: new AbortController().signal,
        connId: 1,
        onReplySent: () => undefined, // lent buffers are left to the GC here
      },
      p.decodeArgs(new XdrReader(aw.toBuffer())),
    );
    const rw = new XdrWriter();
    p.encodeRes(rw, res);
    const r = new XdrReader(rw.toBuffer());
    const out = d.decodeRes(r);
    assert.equal(r.remaining(), 0);
    return out;
  }

  async mnt(path: string, o: Opts = {}): Promise<mountres3> {
    return this.call(MNT, Buffer.from(path), o);
  }
}

const cfg = (name: string, id: number, over: Partial<ExportConfig> = {}): ExportConfig => ({ ...defaultExport(name, id), ...over });

describe('MOUNT v3', () => {
  it('NULL; program numbers; v1 has no MNT', async () => {
    const h = new MountHarness([cfg('data', 1)]);
    await h.call(NULL, undefined);
    assert.equal(h.v3.prog, 100005);
    assert.equal(h.v3.vers, 3);
    assert.equal(h.v1.vers, 1);
    assert.equal(h.v1.procs.has(MOUNTPROC3.MNT), false);
    assert.equal(h.v1.procs.has(MOUNTPROC3.EXPORT), true);
  });

  it('"/data", "data", "/data/" and "//data//" all mount the export "data" with AUTH_SYS first', async () => {
    const h = new MountHarness([cfg('data', 1), cfg('other', 2)]);
    const root = await h.fs.rootHandle(1);
    for (const p of ['/data', 'data', '/data/', '//data//', '/./data']) {
      const r = await h.mnt(p);
      assert.equal(r.fhs_status, mountstat3.MNT3_OK, p);
      if (r.fhs_status !== mountstat3.MNT3_OK) continue;
      assert.deepEqual(r.mountinfo.fhandle, root);
      assert.deepEqual(r.mountinfo.auth_flavors, [AUTH_SYS, AUTH_NONE]);
    }
    const o = await h.mnt('/other');
    assert.ok(o.fhs_status === mountstat3.MNT3_OK && o.mountinfo.fhandle.equals(await h.fs.rootHandle(2)));
  });

  it('unknown paths are NOENT; subdirectories mount; a file below is NOTDIR', async () => {
    const h = new MountHarness([cfg('data', 1)]);
    assert.equal((await h.mnt('/nope')).fhs_status, mountstat3.MNT3ERR_NOENT);
    assert.equal((await h.mnt('/')).fhs_status, mountstat3.MNT3ERR_NOENT);
    const root = await h.fs.rootHandle(1);
    const cred = { uid: 0, gid: 0, groups: [] };
    const sub = await h.fs.mkdir(cred, root, Buffer.from('sub'), {});
    await h.fs.create(cred, sub.handle, Buffer.from('file'), { mode: 0 });
    const r = await h.mnt('/data/sub/');
    assert.ok(r.fhs_status === mountstat3.MNT3_OK && r.mountinfo.fhandle.equals(sub.handle));
    assert.equal((await h.mnt('/data/sub/file')).fhs_status, mountstat3.MNT3ERR_NOTDIR);
    assert.equal((await h.mnt('/data/missing')).fhs_status, mountstat3.MNT3ERR_NOENT);
    // '..' cannot climb out of the export.
    const up = await h.mnt('/data/../..');
    assert.ok(up.fhs_status === mountstat3.MNT3_OK && up.mountinfo.fhandle.equals(root));
  });

  it('client rules and secure ports → ACCES', async () => {
    const h = new MountHarness([cfg('data', 1, { clients: [{ match: '10.0.0.0/8' }], secure: true })]);
    assert.equal((await h.mnt('/data', { address: '10.1.1.1' })).fhs_status, mountstat3.MNT3_OK);
    assert.equal((await h.mnt('/data', { address: '192.168.1.1' })).fhs_status, mountstat3.MNT3ERR_ACCES);
    assert.equal((await h.mnt('/data', { address: '10.1.1.1', port: 5000 })).fhs_status, mountstat3.MNT3ERR_ACCES);
  });

  it('DUMP lists mounts; UMNT and UMNTALL remove them', async () => {
    const h = new MountHarness([cfg('data', 1), cfg('b', 2)]);
    await h.mnt('data', { address: '10.0.0.1' });
    await h.mnt('/b/', { address: '10.0.0.1' });
    await h.mnt('/data', { address: '10.0.0.2' });
    await h.mnt('/nope', { address: '10.0.0.3' });
    const show = async (vers: 1 | 3 = 3) =>
      (await h.call(DUMP, undefined, { vers })).map((m) => `${m.ml_hostname.toString()}:${m.ml_directory.toString()}`).sort();
    assert.deepEqual(await show(), ['10.0.0.1:/b', '10.0.0.1:/data', '10.0.0.2:/data']);
    assert.deepEqual(await show(1), await show(3));
    await h.call(UMNT, Buffer.from('/data/'), { address: '10.0.0.1' });
    assert.deepEqual(await show(), ['10.0.0.1:/b', '10.0.0.2:/data']);
    await h.call(UMNTALL, undefined, { address: '10.0.0.1' });
    assert.deepEqual(await show(), ['10.0.0.2:/data']);
  });

  it('EXPORT lists every export with its client rules (empty = everyone)', async () => {
    const h = new MountHarness([cfg('data', 1), cfg('lab', 2, { clients: [{ match: '10.0.0.0/8' }, { match: '192.168.1.5' }] })]);
    const ex = await h.call(EXPORT, undefined);
    assert.deepEqual(
      ex.map((e) => [e.ex_dir.toString(), e.ex_groups.map((g) => g.toString())]),
      [
        ['/data', []],
        ['/lab', ['10.0.0.0/8', '192.168.1.5']],
      ],
    );
    assert.deepEqual(await h.call(EXPORT, undefined, { vers: 1 }), ex);
  });
});
