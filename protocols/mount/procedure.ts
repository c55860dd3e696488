/** The shape of one MOUNT procedure (protocols/mount/procs/<proc>.ts) and what its handler gets. */
import type { Logger } from '../rpc/log';
import type { RpcCallContext } from '../rpc/types';
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import type { NfsExports } from '../nfs3/exports';
import type { MountList } from './mount-list';
import type { MOUNTPROC3 } from './types';

export interface MountContext {
  rpc: RpcCallContext;
  log: Logger;
  exports: NfsExports;
  mounts: MountList;
}

export interface MountProcedure<A, R> {
  proc: MOUNTPROC3;
  name: string;
  decodeArgs(r: XdrReader): A;
  handle(ctx: MountContext, args: A): Promise<R>;
  encodeRes(w: XdrWriter, res: R): void;
  /** Client side (tests, tools). */
  encodeArgs(w: XdrWriter, args: A): void;
  decodeRes(r: XdrReader): R;
}

export type AnyMountProcedure = MountProcedure<any, any>;

/** A MOUNT dirpath as path components: leading, trailing and repeated '/' and '.' components dropped. */
export function decodeExportPath(p: Buffer): string[] {
  return p
    .toString('utf8')
    .split('/')
    .filter((c) => c !== '' && c !== '.');
}
