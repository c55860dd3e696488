/**
 * A real RpcServer on 127.0.0.1 serving MOUNT and NFSv3 (and NFSv4 when asked) from one memory volume,
 * with an RpcClient connected to it: the setup the loopback NFS tests share. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { createMountPrograms } from '../../protocols/mount/program';
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

/** Export `data` (id 1) of a fresh memory volume over MOUNT + NFSv3 (+ NFSv4 with `nfs4`). */
export async function startNfsLoopback(opts: { nfs4?: boolean } = {}): Promise<NfsLoopback> {
  const configs = [defaultExport('data', 1)];
  const fs = createMemoryFileSystem(configs);
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

/** One NFSv3 call through the client's codecs; the reply must decode to its last byte. */
export async function nfs3Call<A, OK, FAIL>(client: RpcClient, auth: AuthSys, d: Nfs3Procedure<A, OK, FAIL, any>, args: A, xid?: number): Promise<Nfs3Res<OK, FAIL>> {
  const r = await client.call(NFS_PROGRAM, NFS_V3, d.proc, (w) => d.encodeArgs(w, args), { auth, ...(xid !== undefined ? { xid } : {}) });
  const res = d.decodeRes(r);
  assert.equal(r.remaining(), 0);
  return res;
}
