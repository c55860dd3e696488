/**
 * The one Errc → NTSTATUS table. Exhaustive by type: a new Errc fails the build here until someone decides
 * what SMB clients see. Meanings follow MS-ERREF and the errno → NTSTATUS table Samba keeps
 * (source3/lib/errmap_unix.c), since Windows clients have been tested against those answers.
 *
 * Path-walk failures are decided by the disk share, not here: a missing or non-directory *intermediate*
 * component is STATUS_OBJECT_PATH_NOT_FOUND (MS-FSA 2.1.5.1), a missing last component
 * STATUS_OBJECT_NAME_NOT_FOUND (this table's NOENT).
 */
import { Errc } from '../../cluster/vfs/errors';
import { NtStatus, type NTSTATUS } from './ntstatus';

export const SMB2_STATUS: Readonly<Record<Errc, NTSTATUS>> = Object.freeze({
  [Errc.NOENT]: NtStatus.STATUS_OBJECT_NAME_NOT_FOUND,
  [Errc.EXIST]: NtStatus.STATUS_OBJECT_NAME_COLLISION,
  [Errc.NOTDIR]: NtStatus.STATUS_NOT_A_DIRECTORY,
  [Errc.ISDIR]: NtStatus.STATUS_FILE_IS_A_DIRECTORY,
  [Errc.NOTEMPTY]: NtStatus.STATUS_DIRECTORY_NOT_EMPTY,
  [Errc.ACCES]: NtStatus.STATUS_ACCESS_DENIED,
  [Errc.PERM]: NtStatus.STATUS_ACCESS_DENIED,
  [Errc.ROFS]: NtStatus.STATUS_MEDIA_WRITE_PROTECTED,
  [Errc.NOSPC]: NtStatus.STATUS_DISK_FULL,
  [Errc.DQUOT]: NtStatus.STATUS_DISK_FULL,
  [Errc.FBIG]: NtStatus.STATUS_DISK_FULL,
  [Errc.NAMETOOLONG]: NtStatus.STATUS_OBJECT_NAME_INVALID,
  // The file went away under an open handle (deleted through NFS, say): the handle is no longer good.
  [Errc.STALE]: NtStatus.STATUS_INVALID_HANDLE,
  [Errc.BADHANDLE]: NtStatus.STATUS_INVALID_HANDLE,
  [Errc.INVAL]: NtStatus.STATUS_INVALID_PARAMETER,
  [Errc.IO]: NtStatus.STATUS_UNEXPECTED_IO_ERROR,
  [Errc.XDEV]: NtStatus.STATUS_NOT_SAME_DEVICE,
  [Errc.MLINK]: NtStatus.STATUS_TOO_MANY_LINKS,
  [Errc.NOTSUPP]: NtStatus.STATUS_NOT_SUPPORTED,
  // Transient: "try again" (Samba answers EAGAIN the same way).
  [Errc.DELAY]: NtStatus.STATUS_NETWORK_BUSY,
  [Errc.SHARING_VIOLATION]: NtStatus.STATUS_SHARING_VIOLATION,
  [Errc.LOCKED]: NtStatus.STATUS_FILE_LOCK_CONFLICT,
  [Errc.DENIED]: NtStatus.STATUS_LOCK_NOT_GRANTED,
  [Errc.GRACE]: NtStatus.STATUS_NETWORK_BUSY,
  // State the client held (an open, a lease) is gone.
  [Errc.EXPIRED]: NtStatus.STATUS_FILE_CLOSED,
  [Errc.NOT_SYNC]: NtStatus.STATUS_INVALID_PARAMETER,
  // A directory enumeration whose resume point the directory no longer honours.
  [Errc.BAD_COOKIE]: NtStatus.STATUS_INVALID_PARAMETER,
  [Errc.BADTYPE]: NtStatus.STATUS_OBJECT_TYPE_MISMATCH,
  [Errc.TOOSMALL]: NtStatus.STATUS_BUFFER_TOO_SMALL,
  [Errc.NOXATTR]: NtStatus.STATUS_NONEXISTENT_EA_ENTRY,
  [Errc.XATTR2BIG]: NtStatus.STATUS_EA_TOO_LARGE,
} satisfies Record<Errc, NTSTATUS>);

export function smb2StatusOf(errc: Errc): NTSTATUS {
  // An unknown string at run time (a core newer than this table) is an internal error, never success.
  const s = SMB2_STATUS[errc];
  return s === undefined || s === NtStatus.STATUS_SUCCESS ? NtStatus.STATUS_INTERNAL_ERROR : s;
}
