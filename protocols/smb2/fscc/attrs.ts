/**
 * Core `Attr` ⇄ what SMB shows: FILETIME (100 ns since 1601-01-01 UTC), FileAttributes (MS-FSCC 2.6),
 * sizes. The only place SMB converts attributes.
 */
import { FileType, type Attr, type NsTime } from '../../../cluster/vfs/types';

/** 100 ns intervals between 1601-01-01 and 1970-01-01. */
export const FILETIME_UNIX_EPOCH = 116444736000000000n;

export function filetimeFromNs(ns: NsTime): bigint {
  // Floor division for times before 1970.
  const q = ns >= 0n ? ns / 100n : -((-ns + 99n) / 100n);
  const ft = q + FILETIME_UNIX_EPOCH;
  return ft < 0n ? 0n : ft;
}

export function nsFromFiletime(ft: bigint): NsTime {
  return (ft - FILETIME_UNIX_EPOCH) * 100n;
}

/** MS-FSCC 2.6 file attributes. */
export const FILE_ATTRIBUTE_READONLY = 0x00000001;
export const FILE_ATTRIBUTE_HIDDEN = 0x00000002;
export const FILE_ATTRIBUTE_SYSTEM = 0x00000004;
export const FILE_ATTRIBUTE_DIRECTORY = 0x00000010;
export const FILE_ATTRIBUTE_ARCHIVE = 0x00000020;
export const FILE_ATTRIBUTE_NORMAL = 0x00000080;
export const FILE_ATTRIBUTE_TEMPORARY = 0x00000100;
export const FILE_ATTRIBUTE_SPARSE_FILE = 0x00000200;
export const FILE_ATTRIBUTE_REPARSE_POINT = 0x00000400;
export const FILE_ATTRIBUTE_NOT_CONTENT_INDEXED = 0x00002000;

/** DOS bits the core stores for SMB (set through SET_INFO basic, or CREATE). */
export const STORED_DOS_ATTRS = FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM | FILE_ATTRIBUTE_ARCHIVE | FILE_ATTRIBUTE_TEMPORARY | FILE_ATTRIBUTE_NOT_CONTENT_INDEXED;

export function fileAttributes(a: Attr): number {
  let v = a.dosAttrs & STORED_DOS_ATTRS;
  if (a.type === FileType.DIR) v |= FILE_ATTRIBUTE_DIRECTORY;
  if (a.type === FileType.LNK) v |= FILE_ATTRIBUTE_REPARSE_POINT;
  return v === 0 ? FILE_ATTRIBUTE_NORMAL : v;
}

export function allocationSize(a: Attr): bigint {
  return a.type === FileType.DIR ? 0n : a.used;
}

export function endOfFile(a: Attr): bigint {
  return a.type === FileType.DIR ? 0n : a.size;
}

/** The four times in SMB order: creation, last access, last write, change. */
export function smbTimes(a: Attr): [bigint, bigint, bigint, bigint] {
  return [filetimeFromNs(a.birthTime), filetimeFromNs(a.atime), filetimeFromNs(a.mtime), filetimeFromNs(a.ctime)];
}
