/**
 * The one Errc → nfsstat4 table. Exhaustive by type: a new Errc member fails the build here until someone
 * decides what NFSv4 clients see for it.
 *
 * Transient conflicts (recovery grace, "try again") are NFS4ERR_DELAY, which clients retry. A share mode
 * conflict with another protocol's open is NFS4ERR_SHARE_DENIED (RFC 8881 §9.7), a byte-range conflict
 * NFS4ERR_LOCKED. NOT_SYNC is the NFSv3 SETATTR ctime guard, which no NFSv4 operation sends: SERVERFAULT.
 * Where an operation's RFC error list differs (READLINK of a non-symlink is NFS4ERR_INVAL), the operation
 * says so itself.
 */
import { Errc } from '../../cluster/vfs/errors';
import { nfsstat4 } from './types';

export const NFS4_STATUS: Readonly<Record<Errc, nfsstat4>> = Object.freeze({
  [Errc.NOENT]: nfsstat4.NFS4ERR_NOENT,
  [Errc.EXIST]: nfsstat4.NFS4ERR_EXIST,
  [Errc.NOTDIR]: nfsstat4.NFS4ERR_NOTDIR,
  [Errc.ISDIR]: nfsstat4.NFS4ERR_ISDIR,
  [Errc.NOTEMPTY]: nfsstat4.NFS4ERR_NOTEMPTY,
  [Errc.ACCES]: nfsstat4.NFS4ERR_ACCESS,
  [Errc.PERM]: nfsstat4.NFS4ERR_PERM,
  [Errc.ROFS]: nfsstat4.NFS4ERR_ROFS,
  [Errc.NOSPC]: nfsstat4.NFS4ERR_NOSPC,
  [Errc.DQUOT]: nfsstat4.NFS4ERR_DQUOT,
  [Errc.FBIG]: nfsstat4.NFS4ERR_FBIG,
  [Errc.NAMETOOLONG]: nfsstat4.NFS4ERR_NAMETOOLONG,
  [Errc.STALE]: nfsstat4.NFS4ERR_STALE,
  [Errc.BADHANDLE]: nfsstat4.NFS4ERR_BADHANDLE,
  [Errc.INVAL]: nfsstat4.NFS4ERR_INVAL,
  [Errc.IO]: nfsstat4.NFS4ERR_IO,
  [Errc.XDEV]: nfsstat4.NFS4ERR_XDEV,
  [Errc.MLINK]: nfsstat4.NFS4ERR_MLINK,
  [Errc.NOTSUPP]: nfsstat4.NFS4ERR_NOTSUPP,
  [Errc.DELAY]: nfsstat4.NFS4ERR_DELAY,
  [Errc.SHARING_VIOLATION]: nfsstat4.NFS4ERR_SHARE_DENIED,
  [Errc.LOCKED]: nfsstat4.NFS4ERR_LOCKED,
  [Errc.DENIED]: nfsstat4.NFS4ERR_DENIED,
  [Errc.GRACE]: nfsstat4.NFS4ERR_GRACE,
  [Errc.EXPIRED]: nfsstat4.NFS4ERR_EXPIRED,
  [Errc.NOT_SYNC]: nfsstat4.NFS4ERR_SERVERFAULT,
  [Errc.BAD_COOKIE]: nfsstat4.NFS4ERR_BAD_COOKIE,
  [Errc.BADTYPE]: nfsstat4.NFS4ERR_BADTYPE,
  [Errc.TOOSMALL]: nfsstat4.NFS4ERR_TOOSMALL,
  [Errc.NOXATTR]: nfsstat4.NFS4ERR_NOXATTR,
  [Errc.XATTR2BIG]: nfsstat4.NFS4ERR_XATTR2BIG,
} satisfies Record<Errc, nfsstat4>);

export function nfs4StatusOf(errc: Errc): Exclude<nfsstat4, nfsstat4.NFS4_OK> {
  const s = NFS4_STATUS[errc];
  // An unknown string at run time (a core built against a newer Errc) is a server fault, never NFS4_OK.
  return (s === undefined || s === nfsstat4.NFS4_OK ? nfsstat4.NFS4ERR_SERVERFAULT : s) as Exclude<nfsstat4, nfsstat4.NFS4_OK>;
}
