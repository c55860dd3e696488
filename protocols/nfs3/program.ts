/**
 * NFS program 100003 version 3 as an `RpcProgramVersion`. Each procedure descriptor is wrapped with what
 * every call needs before and after its handler:
 *
 *   handles(args) → export id (handleExportId; malformed → BADHANDLE; handles of two exports → XDEV)
 *   → export config (unknown id → STALE) → client rules (exportAccess; refused → ACCES)
 *   → `secure` export from a source port ≥ 1024 → PERM (as Linux knfsd)
 *   → credential: AUTH_SYS uid/gid/gids, AUTH_NONE → the export's anonymous ids; then squashCred
 *   → read-only export or client rule and a mutating procedure → ROFS
 *   → handler. A thrown CoreError → nfsstat3 (the descriptor's statusOverrides, else status.ts) + the procedure's failure body; anything else is
 *     logged and rethrown (the RPC dispatcher answers SYSTEM_ERR).
 *
 * Failure bodies for calls refused before admission get no attributes (nothing about the export leaks).
 */
import { CoreError, Errc, isCoreError } from '../../cluster/vfs/errors';
import { exportAccess, squashCred, type ExportConfig } from '../../cluster/vfs/exports';
import { handleExportId } from '../../cluster/vfs/handle';
import type { Cred } from '../../cluster/vfs/types';
import { errInfo, noopLogger, type Logger } from '../rpc/log';
import { AUTH_NONE, AUTH_SYS, type RpcAuth, type RpcCallContext, type RpcProcedure, type RpcProgramVersion } from '../rpc/types';
import type { NfsExports } from './exports';
import type { AnyNfs3Procedure, Nfs3CallContext, Nfs3Context } from './procedure';
import { nfs3StatusOf } from './status';
import { NFS3_PROCEDURES } from './table';
import { NFS_PROGRAM, NFS_V3, nfsstat3, type Nfs3Res } from './types';

/** Source ports below this are "reserved" (a `secure` export accepts only those). */
const IPPORT_RESERVED = 1024;

export function credOf(auth: RpcAuth, exp: ExportConfig): Cred {
  if (auth.flavor === AUTH_SYS) return squashCred(exp, { uid: auth.uid, gid: auth.gid, groups: auth.gids });
  return { uid: exp.anonUid, gid: exp.anonGid, groups: [] };
}

/** Resolves and admits the export for a call's handles. Throws CoreError for every refusal. */
export function admit(rpc: RpcCallContext, handles: readonly Buffer[], exports: NfsExports, log: Logger): Nfs3Context {
  const id = handleExportId(handles[0]!);
  for (let i = 1; i < handles.length; i++) {
    if (handleExportId(handles[i]!) !== id) throw new CoreError(Errc.XDEV, 'handles of different exports');
  }
  const exp = exports.byId(id);
  if (!exp) throw new CoreError(Errc.STALE, `unknown export id ${id}`);
  const access = exportAccess(exp, rpc.remote.address);
  if (!access.allowed) throw new CoreError(Errc.ACCES, `client ${rpc.remote.address} not allowed on export ${exp.name}`);
  if (exp.secure && rpc.remote.port >= IPPORT_RESERVED) {
    throw new CoreError(Errc.PERM, `insecure source port ${rpc.remote.port} on secure export ${exp.name}`);
  }
  return { rpc, log, export: exp, fs: exports.fsFor(id), cred: credOf(rpc.auth, exp), readOnly: access.readOnly };
}

function logFields(rpc: RpcCallContext, name: string, exp?: ExportConfig): Record<string, unknown> {
  return { conn: rpc.connId, xid: rpc.xid, proc: `NFS3_${name}`, client: rpc.remote.address, export: exp?.name };
}

export function wrapNfs3Procedure(
  d: AnyNfs3Procedure,
  exports: NfsExports,
  log: Logger,
): RpcProcedure<unknown, Nfs3Res<unknown, unknown>> {
  async function run(rpc: RpcCallContext, args: unknown): Promise<Nfs3Res<unknown, unknown>> {
    const handles = d.handles(args);
    if (handles.length === 0) {
      const base: Nfs3CallContext = { rpc, log };
      return { status: nfsstat3.NFS3_OK, resok: await d.handle(base, args) };
    }
    let ctx: Nfs3Context | undefined;
    try {
      ctx = admit(rpc, handles, exports, log);
      if (d.mutating && ctx.readOnly) throw new CoreError(Errc.ROFS, `export ${ctx.export.name} is read-only`);
      return { status: nfsstat3.NFS3_OK, resok: await d.handle(ctx, args) };
    } catch (e) {
      let status: Exclude<nfsstat3, nfsstat3.NFS3_OK>;
      if (!isCoreError(e)) {
        // A bug or an unexpected backend failure: the client gets NFS3ERR_SERVERFAULT with the
        // procedure's proper failure body (STYLE: non-CoreError → SERVERFAULT), the log gets the stack.
        log.error({ ...logFields(rpc, d.name, ctx?.export), ...errInfo(e) }, 'NFSv3 procedure failed');
        status = nfsstat3.NFS3ERR_SERVERFAULT;
      } else {
        status = (d.statusOverrides?.[e.errc] as Exclude<nfsstat3, nfsstat3.NFS3_OK> | undefined) ?? nfs3StatusOf(e.errc);
        log.debug({ ...logFields(rpc, d.name, ctx?.export), status: nfsstat3[status], detail: e.detail }, 'NFSv3 error');
      }
      let resfail: unknown;
      try {
        resfail = await d.failBody(status, args, ctx);
      } catch (e2) {
        // A failure body is best effort; never let it turn a clean error into SYSTEM_ERR.
        log.warn({ ...logFields(rpc, d.name, ctx?.export), ...errInfo(e2) }, 'NFSv3 failure body fell back to empty');
        resfail = await d.failBody(status, args, undefined);
      }
      return { status, resfail };
    }
  }
  const p: RpcProcedure<unknown, Nfs3Res<unknown, unknown>> = {
    proc: d.proc,
    name: d.name,
    decodeArgs: (r) => d.decodeArgs(r),
    handle: run,
    encodeRes: (w, res) => d.encodeRes(w, res),
  };
  if (d.nonIdempotent) p.nonIdempotent = true;
  return p;
}

/** The NFSv3 program for the RPC dispatcher. AUTH_NONE and AUTH_SYS are accepted. */
export function createNfs3Program(exports: NfsExports, log: Logger = noopLogger): RpcProgramVersion {
  const procs = new Map<number, RpcProcedure<any, any>>();
  for (const d of NFS3_PROCEDURES) procs.set(d.proc, wrapNfs3Procedure(d, exports, log));
  return { prog: NFS_PROGRAM, vers: NFS_V3, procs, flavors: new Set([AUTH_NONE, AUTH_SYS]) };
}
