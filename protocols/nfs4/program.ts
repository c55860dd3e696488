/**
 * NFS program 100003 version 4 as an `RpcProgramVersion`: NULL and COMPOUND. Registered on the same
 * RpcServer (port) as NFSv3. AUTH_NONE and AUTH_SYS are accepted (RPCSEC_GSS is a later issue; the
 * dispatcher answers other flavors AUTH_TOOWEAK).
 *
 * COMPOUND is not marked non-idempotent: NFSv4.1+ replays come from the session slot cache (SEQUENCE),
 * and the RPC duplicate-request cache must not keep READ replies (their data is pooled memory); 4.0
 * COMPOUNDs that change the namespace or attributes go through state/reply-cache40.ts.
 */
import type { NfsExports } from '../nfs3/exports';
import { noopLogger, type Logger } from '../rpc/log';
import { AUTH_NONE, AUTH_SYS, type RpcProcedure, type RpcProgramVersion } from '../rpc/types';
import { decodeCOMPOUND4args, encodeCOMPOUND4res, runCompound, type COMPOUND4args, type CompoundReply } from './compound';
import { Nfs4Server, type Nfs4Options } from './server';
import { NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, NFSPROC4_NULL } from './types';

export interface Nfs4Program extends RpcProgramVersion {
  /** The server state behind the program (tests, status, shutdown). */
  nfs4: Nfs4Server;
}

export function createNfs4Program(exports: NfsExports, log: Logger = noopLogger, opts: Nfs4Options = {}): Nfs4Program {
  return nfs4ProgramFor(new Nfs4Server(exports, log, opts), log);
}

export function nfs4ProgramFor(server: Nfs4Server, log: Logger = server.log): Nfs4Program {
  const nul: RpcProcedure<undefined, undefined> = {
    proc: NFSPROC4_NULL,
    name: 'NULL',
    decodeArgs: () => undefined,
    handle: async () => undefined,
    encodeRes: () => {},
  };
  const compound: RpcProcedure<COMPOUND4args, CompoundReply> = {
    proc: NFSPROC4_COMPOUND,
    name: 'COMPOUND',
    decodeArgs: decodeCOMPOUND4args,
    // 4.0 has no slot cache: its non-idempotent COMPOUNDs go through a duplicate-request cache.
    handle: (rpc, args) =>
      args.minorversion === 0 && server.limits.minorVersions.has(0)
        ? server.replyCache40.run(rpc, args.ops, (guard) => runCompound(server, rpc, args, log, guard))
        : runCompound(server, rpc, args, log),
    encodeRes: (w, res) => {
      if (res.kind === 'raw') w.fixedOpaque(res.bytes);
      else encodeCOMPOUND4res(w, res.res);
    },
  };
  const procs = new Map<number, RpcProcedure<any, any>>([
    [NFSPROC4_NULL, nul],
    [NFSPROC4_COMPOUND, compound],
  ]);
  return { prog: NFS4_PROGRAM, vers: NFS_V4, procs, flavors: new Set([AUTH_NONE, AUTH_SYS]), nfs4: server };
}
