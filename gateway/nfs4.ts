/**
 * NFSv4 (program 100003 version 4, minor versions 0, 1 and 2) on the NFS RpcServer, beside NFSv3: the
 * same exports and port. Kept out of server.ts so the wiring there stays one line.
 *
 * Reclaim records (which clients held state, so they may reclaim after a restart) live in the metadata
 * store of the first export's volume (cluster/locks/reclaim-store.ts): the cluster store of a single
 * node, and shared by every gateway with the Redis engine.
 */
import { KvReclaimStore, type ReclaimStore } from '../cluster/locks/reclaim-store';
import type { Kv } from '../cluster/meta/kv';
import type { NfsExports } from '../protocols/nfs3/exports';
import { createNfs4Program } from '../protocols/nfs4/program';
import type { RpcServer } from '../protocols/rpc/server';
import type { Logger } from './log';

export interface Nfs4Attachment {
  /** Stops lease expiry and waits for the reclaim records to be written (the RpcServer is closed by its owner). */
  close(): Promise<void>;
}

function reclaimStoreOf(exports: NfsExports): ReclaimStore | undefined {
  const first = exports.list()[0];
  const fs = first ? (exports.fsFor(first.id) as unknown as { kv?: Kv }) : undefined;
  return fs?.kv ? new KvReclaimStore(fs.kv) : undefined;
}

export function attachNfs4(
  rpc: RpcServer,
  exports: NfsExports,
  log: Logger,
  opts: { maxRecordBytes: number; leaseSeconds?: number; graceSeconds?: number; maxClients?: number },
): Nfs4Attachment {
  const reclaimStore = reclaimStoreOf(exports);
  const program = createNfs4Program(exports, log, {
    maxRequestBytes: opts.maxRecordBytes,
    ...(opts.leaseSeconds !== undefined ? { leaseSeconds: opts.leaseSeconds } : {}),
    ...(opts.graceSeconds !== undefined ? { graceSeconds: opts.graceSeconds } : {}),
    ...(opts.maxClients !== undefined ? { maxClients: opts.maxClients } : {}),
    ...(reclaimStore ? { reclaimStore } : {}),
  });
  rpc.addProgram(program);
  program.nfs4.start();
  log.info({ minorVersions: [...program.nfs4.limits.minorVersions], leaseSeconds: program.nfs4.limits.leaseSeconds, reclaimRecords: reclaimStore !== undefined }, 'NFSv4 enabled');
  return {
    close: async () => {
      program.nfs4.close();
      await program.nfs4.flushReclaimRecords();
    },
  };
}
