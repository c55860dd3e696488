/**
 * The shape of one NFSv3 procedure (protocols/nfs3/procs/<proc>.ts) and the context its handler gets.
 * Handlers see a resolved export, its FileSystem and the squashed credential; they never see sockets,
 * RPC headers, auth parsing or status mapping. program.ts owns all of that.
 */
import type { Errc } from '../../cluster/vfs/errors';
import type { ExportConfig } from '../../cluster/vfs/exports';
import type { Cred, FileSystem, Handle } from '../../cluster/vfs/types';
import type { Logger } from '../rpc/log';
import type { RpcCallContext } from '../rpc/types';
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import { EMPTY_WCC, failWcc, postOpAttrOf } from './attrs';
import type { NFSPROC3, Nfs3Res, nfsstat3, post_op_attr, wcc_data } from './types';

/** What every call has, also the ones that touch no export (NULL). */
export interface Nfs3CallContext {
  rpc: RpcCallContext;
  /** The gateway's structured logger (protocols/rpc/log.ts shape). */
  log: Logger;
}

/** A call admitted to an export: policy applied, credential squashed. */
export interface Nfs3Context extends Nfs3CallContext {
  export: ExportConfig;
  fs: FileSystem;
  cred: Cred;
  /** Export or matching client rule is read-only (mutating procedures never reach the handler then). */
  readOnly: boolean;
}

export interface Nfs3Procedure<A, OK, FAIL, C extends Nfs3CallContext = Nfs3Context> {
  proc: NFSPROC3;
  /** Spec name without prefix: "GETATTR". */
  name: string;
  /** Changes the file system: answered NFS3ERR_ROFS on a read-only export before the handler runs. */
  mutating: boolean;
  /** Replies go through the duplicate-request cache (Linux knfsd's RC_REPLBUFF/RC_REPLSTAT set). */
  nonIdempotent?: boolean;
  /**
   * Where the RFC's error list for this procedure differs from the one table (status.ts), the exception,
   * as data: e.g. READLINK of a non-symlink is NFS3ERR_INVAL, BADTYPE being only for MKNOD/CREATE types.
   */
  statusOverrides?: Partial<Record<Errc, nfsstat3>>;
  /** The handles the call acts on; the first picks the export, all must share it (else XDEV). [] = none. */
  handles(args: A): Handle[];
  decodeArgs(r: XdrReader): A;
  handle(ctx: C, args: A): Promise<OK>;
  encodeRes(w: XdrWriter, res: Nfs3Res<OK, FAIL>): void;
  /**
   * The RFC's failure body. `ctx` is undefined when the call was refused before an export was admitted
   * (bad handle, unknown export, client rules): then nothing about the file system may be looked at.
   */
  failBody(status: nfsstat3, args: A, ctx: Nfs3Context | undefined): Promise<FAIL>;
  /** Client side of the same procedure (tests, loopback client). */
  encodeArgs(w: XdrWriter, args: A): void;
  decodeRes(r: XdrReader): Nfs3Res<OK, FAIL>;
}

export type AnyNfs3Procedure = Nfs3Procedure<any, any, any, any>;

// ---- failure-body helpers: cheap post-op attributes when there is an admitted context ----

export function failPostOp(ctx: Nfs3Context | undefined, h: Handle): Promise<post_op_attr> {
  return ctx ? postOpAttrOf(ctx.fs, ctx.cred, h) : Promise.resolve(undefined);
}

export function failWccOf(ctx: Nfs3Context | undefined, h: Handle): Promise<wcc_data> {
  return ctx ? failWcc(ctx.fs, ctx.cred, h) : Promise.resolve({ ...EMPTY_WCC });
}
