/**
 * MOUNT protocol wire types (RFC 1813 Appendix I, protocols/spec/mount3.x), spec spelling. Version 1 shares
 * the DUMP/UMNT/UMNTALL/EXPORT shapes.
 */
export const MOUNT_PROGRAM = 100005;
export const MOUNT_V1 = 1;
export const MOUNT_V3 = 3;

export const MNTPATHLEN = 1024;
export const MNTNAMLEN = 255;
export const FHSIZE3 = 64;

export enum mountstat3 {
  MNT3_OK = 0,
  MNT3ERR_PERM = 1,
  MNT3ERR_NOENT = 2,
  MNT3ERR_IO = 5,
  MNT3ERR_ACCES = 13,
  MNT3ERR_NOTDIR = 20,
  MNT3ERR_INVAL = 22,
  MNT3ERR_NAMETOOLONG = 63,
  MNT3ERR_NOTSUPP = 10004,
  MNT3ERR_SERVERFAULT = 10006,
}
export const MOUNTSTAT3_VALUES: ReadonlySet<number> = new Set(
  Object.values(mountstat3).filter((v): v is number => typeof v === 'number'),
);

export enum MOUNTPROC3 {
  NULL = 0,
  MNT = 1,
  DUMP = 2,
  UMNT = 3,
  UMNTALL = 4,
  EXPORT = 5,
}

/** opaque fhandle3<FHSIZE3> */
export type fhandle3 = Buffer;
/** string dirpath<MNTPATHLEN> (bytes) */
export type dirpath = Buffer;
/** string name<MNTNAMLEN> (bytes) */
export type name = Buffer;

export interface mountres3_ok {
  fhandle: fhandle3;
  auth_flavors: number[];
}

/** union mountres3 switch (mountstat3 fhs_status) { case MNT3_OK: mountres3_ok mountinfo; default: void; } */
export type mountres3 =
  | { fhs_status: mountstat3.MNT3_OK; mountinfo: mountres3_ok }
  | { fhs_status: Exclude<mountstat3, mountstat3.MNT3_OK> };

/** mountbody list (the `ml_next` chain as an array). */
export interface mountbody {
  ml_hostname: name;
  ml_directory: dirpath;
}
export type mountlist = mountbody[];

/** exportnode list; `ex_groups` is the groupnode chain as an array. */
export interface exportnode {
  ex_dir: dirpath;
  ex_groups: name[];
}
export type exports = exportnode[];
