/**
 * MOUNT program 100005: version 3 (NULL, MNT, DUMP, UMNT, UMNTALL, EXPORT) and version 1 without MNT
 * (showmount asks v1 for EXPORT/DUMP; a v1 MNT would hand out an NFSv2 handle, and NFSv2 is not served, so
 * the dispatcher answers PROC_UNAVAIL). AUTH_NONE and AUTH_SYS are accepted.
 */
import { noopLogger, type Logger } from '../rpc/log';
import { AUTH_NONE, AUTH_SYS, type RpcProcedure, type RpcProgramVersion } from '../rpc/types';
import type { NfsExports } from '../nfs3/exports';
import { MountList } from './mount-list';
import type { AnyMountProcedure, MountContext } from './procedure';
import { MOUNT1_PROCEDURES, MOUNT3_PROCEDURES } from './table';
import { MOUNT_PROGRAM, MOUNT_V1, MOUNT_V3 } from './types';

export interface MountProgramOptions {
  exports: NfsExports;
  /** Shared by both versions; a fresh bounded list by default. */
  mounts?: MountList;
  log?: Logger;
}

function wrap(d: AnyMountProcedure, base: Omit<MountContext, 'rpc'>): RpcProcedure<unknown, unknown> {
  return {
    proc: d.proc,
    name: d.name,
    decodeArgs: (r) => d.decodeArgs(r),
    handle: (rpc, args) => d.handle({ ...base, rpc }, args),
    encodeRes: (w, res) => d.encodeRes(w, res),
  };
}

/** [v3, v1] for the RPC dispatcher and the portmapper. */
export function createMountPrograms(opts: MountProgramOptions): RpcProgramVersion[] {
  const base = { exports: opts.exports, mounts: opts.mounts ?? new MountList(), log: opts.log ?? noopLogger };
  const build = (vers: number, table: readonly AnyMountProcedure[]): RpcProgramVersion => ({
    prog: MOUNT_PROGRAM,
    vers,
    procs: new Map(table.map((d) => [d.proc, wrap(d, base)] as const)),
    flavors: new Set([AUTH_NONE, AUTH_SYS]),
  });
  return [build(MOUNT_V3, MOUNT3_PROCEDURES), build(MOUNT_V1, MOUNT1_PROCEDURES)];
}
