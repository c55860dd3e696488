/**
 * NFSv4 (program 100003 version 4, minor versions 0, 1 and 2) on the NFS RpcServer, beside NFSv3: the
 * same exports and port. Kept out of server.ts so the wiring there stays one line.
 *
 * Reclaim records (which clients held state, so they may reclaim after a restart) live in the metadata
 * store of the first export's volume (cluster/locks/reclaim-store.ts): the cluster store of a single
 * node, and shared by every gateway with the Redis engine.
 *
 * Owner names (protocols/nfs4/idmap.ts): with `nfs4.idmapDomain` set, uids and gids are named from the
 * gateway's user database (users.json, the SMB users with their uids) and then the host's /etc/passwd
 * and /etc/group (cluster/ident/id-names.ts: read once at start, re-read when they change). AUTH_SYS
 * clients still get numbers unless `nfs4.numericIdsForAuthSys` is false, as with knfsd.
 */
import { FileIdNames, groupSource, passwdSource, type NameSource } from '../cluster/ident/id-names';
import { KvReclaimStore, type ReclaimStore } from '../cluster/locks/reclaim-store';
import type { Kv } from '../cluster/meta/kv';
import type { NfsExports } from '../protocols/nfs3/exports';
import { Nfs4Idmap } from '../protocols/nfs4/idmap';
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

/** users.json (gateway/users.ts): user name → uid; no group names there. */
function usersJsonSource(file: string): NameSource {
  return {
    file,
    parse: (text) => {
      const j = JSON.parse(text) as { users?: Record<string, { uid?: unknown }> };
      const users: Array<[string, number]> = [];
      for (const [name, u] of Object.entries(j.users ?? {})) {
        const uid = u?.uid;
        if (typeof uid === 'number' && Number.isInteger(uid) && uid >= 0 && uid <= 0xffff_fffe) users.push([name, uid]);
      }
      return { users };
    },
  };
}

export interface Nfs4AttachOptions {
  maxRecordBytes: number;
  leaseSeconds?: number;
  graceSeconds?: number;
  maxClients?: number;
  idmapDomain?: string;
  numericIdsForAuthSys?: boolean;
  /** The gateway's user database (gateway/smb.ts usersFileOf). */
  usersFile?: string;
  /** Host name databases (tests; default /etc/passwd and /etc/group). */
  passwdFile?: string;
  groupFile?: string;
}

export async function attachNfs4(rpc: RpcServer, exports: NfsExports, log: Logger, opts: Nfs4AttachOptions): Promise<Nfs4Attachment> {
  const reclaimStore = reclaimStoreOf(exports);
  let names: FileIdNames | undefined;
  if (opts.idmapDomain) {
    const sources = [...(opts.usersFile ? [usersJsonSource(opts.usersFile)] : []), passwdSource(opts.passwdFile), groupSource(opts.groupFile)];
    names = await new FileIdNames(sources, { onError: (msg) => log.warn({ err: msg }, 'nfs4 idmap: name file unreadable, keeping the last good copy') }).start();
  }
  const idmap = new Nfs4Idmap({
    ...(opts.idmapDomain ? { domain: opts.idmapDomain } : {}),
    ...(opts.numericIdsForAuthSys !== undefined ? { numericForAuthSys: opts.numericIdsForAuthSys } : {}),
    ...(names ? { names } : {}),
  });
  const program = createNfs4Program(exports, log, {
    idmap,
    maxRequestBytes: opts.maxRecordBytes,
    ...(opts.leaseSeconds !== undefined ? { leaseSeconds: opts.leaseSeconds } : {}),
    ...(opts.graceSeconds !== undefined ? { graceSeconds: opts.graceSeconds } : {}),
    ...(opts.maxClients !== undefined ? { maxClients: opts.maxClients } : {}),
    ...(reclaimStore ? { reclaimStore } : {}),
  });
  rpc.addProgram(program);
  program.nfs4.start();
  log.info({ minorVersions: [...program.nfs4.limits.minorVersions], leaseSeconds: program.nfs4.limits.leaseSeconds, reclaimRecords: reclaimStore !== undefined, idmapDomain: idmap.domain ?? null, numericIdsForAuthSys: idmap.numericForAuthSys }, 'NFSv4 enabled');
  return {
    close: async () => {
      names?.close();
      program.nfs4.close();
      await program.nfs4.flushReclaimRecords();
    },
  };
}
