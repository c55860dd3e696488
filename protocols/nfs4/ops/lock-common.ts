/**
 * Shared pieces of LOCK, LOCKT and LOCKU (RFC 7530 §16.10–16.12, RFC 8881 §18.10–18.12): lock types,
 * the offset/length rules, and LOCK4denied built from the core lock manager's conflict.
 *
 *   length 0                                     → NFS4ERR_INVAL
 *   length all ones                              → to the end of the 64-bit file space
 *   offset + length past 2^64 (other lengths)    → NFS4ERR_INVAL
 */
import { LOCK_RANGE_END, toEof, type LockConflict } from '../../../cluster/locks/byte-range';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { Nfs4Error } from '../errors';
import type { FsFh } from '../fh';
import type { Nfs4Compound } from '../op';
import { parseLockOwnerKey } from '../state/owners';
import { nfsstat4, type state_owner4 } from '../types';
import { decodeStateOwner4, encodeStateOwner4 } from '../xdr';

/** enum nfs_lock_type4 { READ_LT = 1, WRITE_LT = 2, READW_LT = 3, WRITEW_LT = 4 }; */
export enum nfs_lock_type4 {
  READ_LT = 1,
  WRITE_LT = 2,
  READW_LT = 3,
  WRITEW_LT = 4,
}

export const NFS4_LENGTH_ALL = (1n << 64n) - 1n;

/** struct LOCK4denied { offset4 offset; length4 length; nfs_lock_type4 locktype; lock_owner4 owner; }; */
export interface LOCK4denied {
  offset: bigint;
  length: bigint;
  locktype: nfs_lock_type4;
  owner: state_owner4;
}

export function encodeLOCK4denied(w: XdrWriter, d: LOCK4denied): void {
  w.uint64(d.offset);
  w.uint64(d.length);
  w.uint32(d.locktype);
  encodeStateOwner4(w, d.owner);
}

export function decodeLOCK4denied(r: XdrReader): LOCK4denied {
  return { offset: r.uint64(), length: r.uint64(), locktype: r.uint32(), owner: decodeStateOwner4(r) };
}

export function checkLockType(t: number): void {
  if (t < nfs_lock_type4.READ_LT || t > nfs_lock_type4.WRITEW_LT) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `lock type ${t}`);
}

export function isWriteLock(t: nfs_lock_type4): boolean {
  return t === nfs_lock_type4.WRITE_LT || t === nfs_lock_type4.WRITEW_LT;
}

/** The byte range as the core wants it: offset + length within 2^64. */
export function lockRange(offset: bigint, length: bigint): { offset: bigint; length: bigint } {
  if (length === 0n) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'zero-length lock range');
  if (length === NFS4_LENGTH_ALL) return { offset, length: toEof(offset) };
  if (offset + length > LOCK_RANGE_END) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'lock range past 2^64');
  return { offset, length };
}

/** NFS4ERR_DENIED with the conflicting lock as LOCK4denied (an SMB holder shows as client id 0). */
export function deniedError(conflict: LockConflict | undefined): Nfs4Error {
  const body: LOCK4denied = conflict
    ? {
        offset: conflict.offset,
        length: conflict.offset + conflict.length >= LOCK_RANGE_END ? NFS4_LENGTH_ALL : conflict.length,
        locktype: conflict.exclusive ? nfs_lock_type4.WRITE_LT : nfs_lock_type4.READ_LT,
        owner: (conflict.owner.protocol === 'nfs4' ? parseLockOwnerKey(conflict.owner.key) : undefined) ?? { clientid: 0n, owner: Buffer.from(`${conflict.owner.protocol}:${conflict.owner.key}`.slice(0, 64)) },
      }
    : { offset: 0n, length: NFS4_LENGTH_ALL, locktype: nfs_lock_type4.WRITE_LT, owner: { clientid: 0n, owner: Buffer.from('unknown') } };
  return new Nfs4Error(nfsstat4.NFS4ERR_DENIED, 'lock conflict', body);
}

/** The current filehandle as a lockable file: the pseudo root and directories are ISDIR (4.1) / INVAL (4.0). */
export function lockTarget(c: Nfs4Compound): FsFh {
  return c.curFs(c.minor >= 1 ? nfsstat4.NFS4ERR_ISDIR : nfsstat4.NFS4ERR_INVAL);
}
