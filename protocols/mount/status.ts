/**
 * The one Errc → mountstat3 table (exhaustive by type). MOUNT has few codes: what a mount can meaningfully
 * report keeps its meaning, transient conditions are IO (mount.nfs reports and the admin retries), and
 * what cannot happen while resolving an export path is SERVERFAULT.
 */
import { Errc } from '../../cluster/vfs/errors';
import { mountstat3 } from './types';

export const MOUNT3_STATUS: Readonly<Record<Errc, mountstat3>> = Object.freeze({
  [Errc.NOENT]: mountstat3.MNT3ERR_NOENT,
  [Errc.EXIST]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.NOTDIR]: mountstat3.MNT3ERR_NOTDIR,
  [Errc.ISDIR]: mountstat3.MNT3ERR_INVAL,
  [Errc.NOTEMPTY]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.ACCES]: mountstat3.MNT3ERR_ACCES,
  [Errc.PERM]: mountstat3.MNT3ERR_PERM,
  [Errc.ROFS]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.NOSPC]: mountstat3.MNT3ERR_IO,
  [Errc.DQUOT]: mountstat3.MNT3ERR_IO,
  [Errc.FBIG]: mountstat3.MNT3ERR_IO,
  [Errc.NAMETOOLONG]: mountstat3.MNT3ERR_NAMETOOLONG,
  [Errc.STALE]: mountstat3.MNT3ERR_NOENT,
  [Errc.BADHANDLE]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.INVAL]: mountstat3.MNT3ERR_INVAL,
  [Errc.IO]: mountstat3.MNT3ERR_IO,
  [Errc.XDEV]: mountstat3.MNT3ERR_INVAL,
  [Errc.MLINK]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.NOTSUPP]: mountstat3.MNT3ERR_NOTSUPP,
  [Errc.DELAY]: mountstat3.MNT3ERR_IO,
  [Errc.SHARING_VIOLATION]: mountstat3.MNT3ERR_IO,
  [Errc.LOCKED]: mountstat3.MNT3ERR_IO,
  [Errc.DENIED]: mountstat3.MNT3ERR_ACCES,
  [Errc.GRACE]: mountstat3.MNT3ERR_IO,
  [Errc.EXPIRED]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.NOT_SYNC]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.BAD_COOKIE]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.BADTYPE]: mountstat3.MNT3ERR_NOTDIR,
  [Errc.TOOSMALL]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.NOXATTR]: mountstat3.MNT3ERR_SERVERFAULT,
  [Errc.XATTR2BIG]: mountstat3.MNT3ERR_SERVERFAULT,
} satisfies Record<Errc, mountstat3>);

export function mount3StatusOf(errc: Errc): Exclude<mountstat3, mountstat3.MNT3_OK> {
  const s = MOUNT3_STATUS[errc];
  return (s === undefined || s === mountstat3.MNT3_OK ? mountstat3.MNT3ERR_SERVERFAULT : s) as Exclude<
    mountstat3,
    mountstat3.MNT3_OK
  >;
}
