/**
 * The current/saved filehandle of a COMPOUND: either the pseudo-filesystem root, which joins the exports
 * (RFC 8881 §7.3: PUTROOTFH → pseudo root; LOOKUP "<export>" → the export's root; LOOKUPP at an export root
 * → the pseudo root), or a core handle admitted to its export (policy applied, credential squashed).
 *
 * The pseudo root's handle is a fixed 16-byte value that cannot be a core handle (those are 28 bytes and
 * start with version 1), so it is stable across restarts and every gateway.
 */
import type { ExportConfig } from '../../cluster/vfs/exports';
import type { Cred, FileSystem, Handle } from '../../cluster/vfs/types';

export const PSEUDO_ROOT_FH: Buffer = Buffer.from('f4707365756466732d726f6f74000001', 'hex');

/** The pseudo root is its own file system (fsid 0,0; no export uses minor 0); its fileid is 1. */
export const PSEUDO_FSID = Object.freeze({ major: 0n, minor: 0n });
export const PSEUDO_ROOT_FILEID = 1n;

/** The pseudo file system's fileid of the directory an export is mounted on (mounted_on_fileid). */
export function pseudoLeafFileid(exportId: number): bigint {
  return 2n + BigInt(exportId >>> 0);
}

export interface PseudoFh {
  kind: 'pseudo';
  handle: Buffer;
}

export interface FsFh {
  kind: 'fs';
  handle: Handle;
  exportId: number;
  exp: ExportConfig;
  fs: FileSystem;
  cred: Cred;
  readOnly: boolean;
}

export type Fh = PseudoFh | FsFh;

export const PSEUDO_ROOT: PseudoFh = Object.freeze({ kind: 'pseudo', handle: PSEUDO_ROOT_FH }) as PseudoFh;

export function isPseudoHandle(h: Buffer): boolean {
  return h.length === PSEUDO_ROOT_FH.length && h[0] === PSEUDO_ROOT_FH[0];
}
