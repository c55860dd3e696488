/**
 * NFSv4 (program 100003 version 4, minor versions 1 and 2) on the NFS RpcServer, beside NFSv3: the same
 * exports and port. Kept out of server.ts so the wiring there stays one line.
 */
import type { NfsExports } from '../protocols/nfs3/exports';
import { createNfs4Program } from '../protocols/nfs4/program';
import type { RpcServer } from '../protocols/rpc/server';
import type { Logger } from './log';

export interface Nfs4Attachment {
  /** Stops lease expiry (the RpcServer itself is closed by its owner). */
  close(): void;
}

export function attachNfs4(rpc: RpcServer, exports: NfsExports, log: Logger, opts: { maxRecordBytes: number }): Nfs4Attachment {
  const program = createNfs4Program(exports, log, { maxRequestBytes: opts.maxRecordBytes });
  rpc.addProgram(program);
  program.nfs4.start();
  log.info({ minorVersions: [...program.nfs4.limits.minorVersions], leaseSeconds: program.nfs4.limits.leaseSeconds }, 'NFSv4 enabled');
  return { close: () => program.nfs4.close() };
}
