/**
 * The one Errc → nfsstat3 table. Exhaustive by type: a new Errc member fails the build here until someone
 * decides what NFSv3 clients see for it.
 *
 * Transient conflicts (another protocol's open/lease/lock, recovery grace, "try again") become
 * NFS3ERR_JUKEBOX, which NFSv3 clients retry after a delay instead of failing the application (RFC 1813
 * §2.6; Linux knfsd answers -EAGAIN/-EWOULDBLOCK/delegation breaks the same way). EXPIRED concerns NFSv4 /
 * SMB state that an NFSv3 call never holds, so it would be a server bug: SERVERFAULT.
 */
import { Errc } from '../../cluster/vfs/errors';
import { nfsstat3 } from './types';

export const NFS3_STATUS: Readonly<Record<Errc, nfsstat3>> = Object.freeze({
  [Errc.NOENT]: nfsstat3.NFS3ERR_NOENT,
  [Errc.EXIST]: nfsstat3.NFS3ERR_EXIST,
  [Errc.NOTDIR]: nfsstat3.NFS3ERR_NOTDIR,
  [Errc.ISDIR]: nfsstat3.NFS3ERR_ISDIR,
  [Errc.NOTEMPTY]: nfsstat3.NFS3ERR_NOTEMPTY,
  [Errc.ACCES]: nfsstat3.NFS3ERR_ACCES,
  [Errc.PERM]: nfsstat3.NFS3ERR_PERM,
  [Errc.ROFS]: nfsstat3.NFS3ERR_ROFS,
  [Errc.NOSPC]: nfsstat3.NFS3ERR_NOSPC,
  [Errc.DQUOT]: nfsstat3.NFS3ERR_DQUOT,
  [Errc.FBIG]: nfsstat3.NFS3ERR_FBIG,
  [Errc.NAMETOOLONG]: nfsstat3.NFS3ERR_NAMETOOLONG,
  [Errc.STALE]: nfsstat3.NFS3ERR_STALE,
  [Errc.BADHANDLE]: nfsstat3.NFS3ERR_BADHANDLE,
  [Errc.INVAL]: nfsstat3.NFS3ERR_INVAL,
  [Errc.IO]: nfsstat3.NFS3ERR_IO,
  [Errc.XDEV]: nfsstat3.NFS3ERR_XDEV,
  [Errc.MLINK]: nfsstat3.NFS3ERR_MLINK,
  [Errc.NOTSUPP]: nfsstat3.NFS3ERR_NOTSUPP,
  [Errc.DELAY]: nfsstat3.NFS3ERR_JUKEBOX,
  [Errc.SHARING_VIOLATION]: nfsstat3.NFS3ERR_JUKEBOX,
  [Errc.LOCKED]: nfsstat3.NFS3ERR_JUKEBOX,
  [Errc.DENIED]: nfsstat3.NFS3ERR_JUKEBOX,
  [Errc.GRACE]: nfsstat3.NFS3ERR_JUKEBOX,
  [Errc.EXPIRED]: nfsstat3.NFS3ERR_SERVERFAULT,
  [Errc.NOT_SYNC]: nfsstat3.NFS3ERR_NOT_SYNC,
  [Errc.BAD_COOKIE]: nfsstat3.NFS3ERR_BAD_COOKIE,
  [Errc.BADTYPE]: nfsstat3.NFS3ERR_BADTYPE,
  [Errc.TOOSMALL]: nfsstat3.NFS3ERR_TOOSMALL,
  // NFSv3 has no extended-attribute procedures: no NFSv3 call can meet these.
  [Errc.NOXATTR]: nfsstat3.NFS3ERR_NOTSUPP,
  [Errc.XATTR2BIG]: nfsstat3.NFS3ERR_NOTSUPP,
} satisfies Record<Errc, nfsstat3>);

export function nfs3StatusOf(errc: Errc): Exclude<nfsstat3, nfsstat3.NFS3_OK> {
  const s = NFS3_STATUS[errc];
  // An unknown string at run time (a core built against a newer Errc) is a server fault, never NFS3_OK.
  return (s === undefined || s === nfsstat3.NFS3_OK ? nfsstat3.NFS3ERR_SERVERFAULT : s) as Exclude<nfsstat3, nfsstat3.NFS3_OK>;
}
