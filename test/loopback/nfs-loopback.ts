/**
 * A real RpcServer on 127.0.0.1 serving MOUNT and NFSv3 (and NFSv4 when asked) from one memory volume,
 * with an RpcClient connected to it: the setup the loopback NFS tests share. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import type { FileSystem } from '../../cluster/vfs/types';
import { MNT } from '../../protocols/mount/procs/mnt';
import { createMountPrograms } from '../../protocols/mount/program';
import { MOUNT_PROGRAM, MOUNT_V3, mountstat3 } from '../../protocols/mount/types';
import { createNfsExports } from '../../protocols/nfs3/exports';
import type { Nfs3Procedure } from '../../protocols/nfs3/procedure';
import { createNfs3Program } from '../../protocols/nfs3/program';
import { NFS_PROGRAM, NFS_V3, type Nfs3Res } from '../../protocols/nfs3/types';
import { createNfs4Program } from '../../protocols/nfs4/program';
import { RpcClient } from '../../protocols/rpc/client';
import { RpcServer } from '../../protocols/rpc/server';
import type { AuthSys } from '../../protocols/rpc/types';

export interface NfsLoopback {
  server: RpcServer;
  client: RpcClient;
  port: number;
  close(): Promise<void>;
}

/**
 * Exports `data` (id 1) over MOUNT + NFSv3 (+ NFSv4 with `nfs4`): of `fs` when given (a volume other
 * protocols share in the test; the caller closes it), else of a fresh memory volume.
 */
export async function startNfsLoopback(opts: { nfs4?: boolean; fs?: FileSystem } = {}): Promise<NfsLoopback> {
  const configs = [defaultExport('data', 1)];
  const fs = opts.fs ?? createMemoryFileSystem(configs);
  const exports = createNfsExports(configs.map((config) => ({ config, fs })));
  const server = new RpcServer();
  server.addProgram(createNfs3Program(exports));
  if (opts.nfs4) server.addProgram(createNfs4Program(exports));
  for (const p of createMountPrograms({ exports })) server.addProgram(p);
  const port = await server.listenTcp('127.0.0.1', 0);
  const client = await RpcClient.connect({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  return {
    server,
    client,
    port,
    async close() {
      await client.close();
      await server.close({ graceful: false });
    },
  };
}

/** MNT of `path`; the mount must succeed. Returns the root handle. */
export async function mountRoot(client: RpcClient, auth: AuthSys, path = '/data'): Promise<Buffer> {
  const m = MNT.decodeRes(await client.call(MOUNT_PROGRAM, MOUNT_V3, MNT.proc, (w) => MNT.encodeArgs(w, Buffer.from(path)), { auth }));
  assert.ok(m.fhs_status === mountstat3.MNT3_OK, `MNT ${path}: status ${m.fhs_status}`);
  return m.mountinfo.fhandle;
}

/** One NFSv3 call through the client's codecs; the reply must decode to its last byte. */
export async function nfs3Call<A, OK, FAIL>(client: RpcClient, auth: AuthSys, d: Nfs3Procedure<A, OK, FAIL, any>, args: A, xid?: number): Promise<Nfs3Res<OK, FAIL>> {
  const r = await client.call(NFS_PROGRAM, NFS_V3, d.proc, (w) => d.encodeArgs(w, args), { auth, ...(xid !== undefined ? { xid } : {}) });
  const res = d.decodeRes(r);
  assert.equal(r.remaining(), 0);
  return res;
}
