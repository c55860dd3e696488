/**
 * What the NFSv4.2 data operations (SEEK, ALLOCATE, DEALLOCATE, COPY, CLONE; RFC 7862) share: the volume
 * behind the filehandle as the core's sparse-file host (cluster/vfs/sparse.ts), and the range rule
 * offset + length ≤ 2^64 (NFS4ERR_INVAL).
 */
import { isSparseHost, type SparseHost } from '../../../cluster/vfs/sparse';
import { Nfs4Error } from '../errors';
import type { FsFh } from '../fh';
import { nfsstat4 } from '../types';

export function sparseHost(fh: FsFh): SparseHost {
  if (!isSparseHost(fh.fs)) throw new Nfs4Error(nfsstat4.NFS4ERR_NOTSUPP, 'volume without sparse-file support');
  return fh.fs;
}

export function checkRange64(offset: bigint, length: bigint): void {
  if (offset + length > 1n << 64n) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'range past 2^64');
}
