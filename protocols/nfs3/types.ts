/**
 * NFSv3 wire types (RFC 1813), spelled as in protocols/spec/nfs3.x so the RFC greps to them.
 * XDR unions are TS discriminated unions; `post_op_attr`-style optionals are `T | undefined`.
 * Codecs for the shared structures live in ./xdr.ts; per-procedure codecs live in ./procs/<proc>.ts.
 */

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;

export const NFS3_FHSIZE = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;

/**
 * Explicit maxima for the items RFC 1813 leaves unbounded. filename3 is decoded up to 4096 bytes so that a
 * name longer than the volume allows reaches the core and is answered NFS3ERR_NAMETOOLONG (not GARBAGE_ARGS).
 */
export const NFS3_FILENAME_MAX = 4096;
export const NFS3_PATH_MAX = 4096;
/** READ3resok.data / WRITE3args.data: the RPC record limit bounds them first; handlers use `limits.maxRead/maxWrite`. */
export const NFS3_DATA_MAX = 64 * 1024 * 1024;

export enum nfsstat3 {
  NFS3_OK = 0,
  NFS3ERR_PERM = 1,
  NFS3ERR_NOENT = 2,
  NFS3ERR_IO = 5,
  NFS3ERR_NXIO = 6,
  NFS3ERR_ACCES = 13,
  NFS3ERR_EXIST = 17,
  NFS3ERR_XDEV = 18,
  NFS3ERR_NODEV = 19,
  NFS3ERR_NOTDIR = 20,
  NFS3ERR_ISDIR = 21,
  NFS3ERR_INVAL = 22,
  NFS3ERR_FBIG = 27,
  NFS3ERR_NOSPC = 28,
  NFS3ERR_ROFS = 30,
  NFS3ERR_MLINK = 31,
  NFS3ERR_NAMETOOLONG = 63,
  NFS3ERR_NOTEMPTY = 66,
  NFS3ERR_DQUOT = 69,
  NFS3ERR_STALE = 70,
  NFS3ERR_REMOTE = 71,
  NFS3ERR_BADHANDLE = 10001,
  NFS3ERR_NOT_SYNC = 10002,
  NFS3ERR_BAD_COOKIE = 10003,
  NFS3ERR_NOTSUPP = 10004,
  NFS3ERR_TOOSMALL = 10005,
  NFS3ERR_SERVERFAULT = 10006,
  NFS3ERR_BADTYPE = 10007,
  NFS3ERR_JUKEBOX = 10008,
}
export const NFSSTAT3_VALUES: ReadonlySet<number> = new Set(
  Object.values(nfsstat3).filter((v): v is number => typeof v === 'number'),
);

export enum ftype3 {
  NF3REG = 1,
  NF3DIR = 2,
  NF3BLK = 3,
  NF3CHR = 4,
  NF3LNK = 5,
  NF3SOCK = 6,
  NF3FIFO = 7,
}
export const FTYPE3_VALUES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7]);

export enum stable_how {
  UNSTABLE = 0,
  DATA_SYNC = 1,
  FILE_SYNC = 2,
}
export const STABLE_HOW_VALUES: ReadonlySet<number> = new Set([0, 1, 2]);

export enum createmode3 {
  UNCHECKED = 0,
  GUARDED = 1,
  EXCLUSIVE = 2,
}
export const CREATEMODE3_VALUES: ReadonlySet<number> = new Set([0, 1, 2]);

export enum time_how {
  DONT_CHANGE = 0,
  SET_TO_SERVER_TIME = 1,
  SET_TO_CLIENT_TIME = 2,
}
export const TIME_HOW_VALUES: ReadonlySet<number> = new Set([0, 1, 2]);

export const ACCESS3_READ = 0x0001;
export const ACCESS3_LOOKUP = 0x0002;
export const ACCESS3_MODIFY = 0x0004;
export const ACCESS3_EXTEND = 0x0008;
export const ACCESS3_DELETE = 0x0010;
export const ACCESS3_EXECUTE = 0x0020;

export const FSF3_LINK = 0x0001;
export const FSF3_SYMLINK = 0x0002;
export const FSF3_HOMOGENEOUS = 0x0008;
export const FSF3_CANSETTIME = 0x0010;

export enum NFSPROC3 {
  NULL = 0,
  GETATTR = 1,
  SETATTR = 2,
  LOOKUP = 3,
  ACCESS = 4,
  READLINK = 5,
  READ = 6,
  WRITE = 7,
  CREATE = 8,
  MKDIR = 9,
  SYMLINK = 10,
  MKNOD = 11,
  REMOVE = 12,
  RMDIR = 13,
  RENAME = 14,
  LINK = 15,
  READDIR = 16,
  READDIRPLUS = 17,
  FSSTAT = 18,
  FSINFO = 19,
  PATHCONF = 20,
  COMMIT = 21,
}

// ---- basic data types (RFC 1813 §2.5, §2.6) ----

/** struct nfs_fh3 { opaque data<NFS3_FHSIZE>; } */
export type nfs_fh3 = Buffer;
/** string filename3<> — bytes as the client sent them. */
export type filename3 = Buffer;
export type nfspath3 = Buffer;
export type cookie3 = bigint;
export type cookieverf3 = Buffer;
export type createverf3 = Buffer;
export type writeverf3 = Buffer;

export interface specdata3 {
  specdata1: number;
  specdata2: number;
}

export interface nfstime3 {
  seconds: number;
  nseconds: number;
}

export interface fattr3 {
  type: ftype3;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  used: bigint;
  rdev: specdata3;
  fsid: bigint;
  fileid: bigint;
  atime: nfstime3;
  mtime: nfstime3;
  ctime: nfstime3;
}

/** union post_op_attr switch (bool attributes_follow) */
export type post_op_attr = fattr3 | undefined;

export interface wcc_attr {
  size: bigint;
  mtime: nfstime3;
  ctime: nfstime3;
}

/** union pre_op_attr switch (bool attributes_follow) */
export type pre_op_attr = wcc_attr | undefined;

export interface wcc_data {
  before: pre_op_attr;
  after: post_op_attr;
}

/** union post_op_fh3 switch (bool handle_follows) */
export type post_op_fh3 = nfs_fh3 | undefined;

/** union set_atime / set_mtime switch (time_how set_it) */
export type set_time =
  | { set_it: time_how.DONT_CHANGE }
  | { set_it: time_how.SET_TO_SERVER_TIME }
  | { set_it: time_how.SET_TO_CLIENT_TIME; time: nfstime3 };

/** set_mode3 / set_uid3 / set_gid3 / set_size3 are `union switch (bool set_it)`: undefined = not set. */
export interface sattr3 {
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  size: bigint | undefined;
  atime: set_time;
  mtime: set_time;
}

export interface diropargs3 {
  dir: nfs_fh3;
  name: filename3;
}

/** union XXX3res switch (nfsstat3 status) { case NFS3_OK: resok; default: resfail; } */
export type Nfs3Res<OK, FAIL> =
  | { status: nfsstat3.NFS3_OK; resok: OK }
  | { status: Exclude<nfsstat3, nfsstat3.NFS3_OK>; resfail: FAIL };

// ---- procedure arguments and results (RFC 1813 §3.3) ----

export interface GETATTR3args { object: nfs_fh3 }
export interface GETATTR3resok { obj_attributes: fattr3 }
export type GETATTR3res = Nfs3Res<GETATTR3resok, void>;

export type sattrguard3 = nfstime3 | undefined;
export interface SETATTR3args { object: nfs_fh3; new_attributes: sattr3; guard: sattrguard3 }
export interface SETATTR3resok { obj_wcc: wcc_data }
export interface SETATTR3resfail { obj_wcc: wcc_data }
export type SETATTR3res = Nfs3Res<SETATTR3resok, SETATTR3resfail>;

export interface LOOKUP3args { what: diropargs3 }
export interface LOOKUP3resok { object: nfs_fh3; obj_attributes: post_op_attr; dir_attributes: post_op_attr }
export interface LOOKUP3resfail { dir_attributes: post_op_attr }
export type LOOKUP3res = Nfs3Res<LOOKUP3resok, LOOKUP3resfail>;

export interface ACCESS3args { object: nfs_fh3; access: number }
export interface ACCESS3resok { obj_attributes: post_op_attr; access: number }
export interface ACCESS3resfail { obj_attributes: post_op_attr }
export type ACCESS3res = Nfs3Res<ACCESS3resok, ACCESS3resfail>;

export interface READLINK3args { symlink: nfs_fh3 }
export interface READLINK3resok { symlink_attributes: post_op_attr; data: nfspath3 }
export interface READLINK3resfail { symlink_attributes: post_op_attr }
export type READLINK3res = Nfs3Res<READLINK3resok, READLINK3resfail>;

export interface READ3args { file: nfs_fh3; offset: bigint; count: number }
export interface READ3resok { file_attributes: post_op_attr; count: number; eof: boolean; data: Buffer }
export interface READ3resfail { file_attributes: post_op_attr }
export type READ3res = Nfs3Res<READ3resok, READ3resfail>;

export interface WRITE3args { file: nfs_fh3; offset: bigint; count: number; stable: stable_how; data: Buffer }
export interface WRITE3resok { file_wcc: wcc_data; count: number; committed: stable_how; verf: writeverf3 }
export interface WRITE3resfail { file_wcc: wcc_data }
export type WRITE3res = Nfs3Res<WRITE3resok, WRITE3resfail>;

export type createhow3 =
  | { mode: createmode3.UNCHECKED | createmode3.GUARDED; obj_attributes: sattr3 }
  | { mode: createmode3.EXCLUSIVE; verf: createverf3 };
export interface CREATE3args { where: diropargs3; how: createhow3 }
/** Shared by CREATE, MKDIR, SYMLINK and MKNOD (their resok/resfail are identical). */
export interface CREATE3resok { obj: post_op_fh3; obj_attributes: post_op_attr; dir_wcc: wcc_data }
export interface CREATE3resfail { dir_wcc: wcc_data }
export type CREATE3res = Nfs3Res<CREATE3resok, CREATE3resfail>;

export interface MKDIR3args { where: diropargs3; attributes: sattr3 }
export type MKDIR3resok = CREATE3resok;
export type MKDIR3resfail = CREATE3resfail;
export type MKDIR3res = Nfs3Res<MKDIR3resok, MKDIR3resfail>;

export interface symlinkdata3 { symlink_attributes: sattr3; symlink_data: nfspath3 }
export interface SYMLINK3args { where: diropargs3; symlink: symlinkdata3 }
export type SYMLINK3resok = CREATE3resok;
export type SYMLINK3resfail = CREATE3resfail;
export type SYMLINK3res = Nfs3Res<SYMLINK3resok, SYMLINK3resfail>;

export interface devicedata3 { dev_attributes: sattr3; spec: specdata3 }
export type mknoddata3 =
  | { type: ftype3.NF3CHR | ftype3.NF3BLK; device: devicedata3 }
  | { type: ftype3.NF3SOCK | ftype3.NF3FIFO; pipe_attributes: sattr3 }
  | { type: ftype3.NF3REG | ftype3.NF3DIR | ftype3.NF3LNK };
export interface MKNOD3args { where: diropargs3; what: mknoddata3 }
export type MKNOD3resok = CREATE3resok;
export type MKNOD3resfail = CREATE3resfail;
export type MKNOD3res = Nfs3Res<MKNOD3resok, MKNOD3resfail>;

export interface REMOVE3args { object: diropargs3 }
export interface REMOVE3resok { dir_wcc: wcc_data }
export interface REMOVE3resfail { dir_wcc: wcc_data }
export type REMOVE3res = Nfs3Res<REMOVE3resok, REMOVE3resfail>;

export type RMDIR3args = REMOVE3args;
export type RMDIR3resok = REMOVE3resok;
export type RMDIR3resfail = REMOVE3resfail;
export type RMDIR3res = Nfs3Res<RMDIR3resok, RMDIR3resfail>;

export interface RENAME3args { from: diropargs3; to: diropargs3 }
export interface RENAME3resok { fromdir_wcc: wcc_data; todir_wcc: wcc_data }
export interface RENAME3resfail { fromdir_wcc: wcc_data; todir_wcc: wcc_data }
export type RENAME3res = Nfs3Res<RENAME3resok, RENAME3resfail>;

export interface LINK3args { file: nfs_fh3; link: diropargs3 }
export interface LINK3resok { file_attributes: post_op_attr; linkdir_wcc: wcc_data }
export interface LINK3resfail { file_attributes: post_op_attr; linkdir_wcc: wcc_data }
export type LINK3res = Nfs3Res<LINK3resok, LINK3resfail>;

export interface READDIR3args { dir: nfs_fh3; cookie: cookie3; cookieverf: cookieverf3; count: number }
export interface entry3 { fileid: bigint; name: filename3; cookie: cookie3 }
export interface dirlist3 { entries: entry3[]; eof: boolean }
export interface READDIR3resok { dir_attributes: post_op_attr; cookieverf: cookieverf3; reply: dirlist3 }
export interface READDIR3resfail { dir_attributes: post_op_attr }
export type READDIR3res = Nfs3Res<READDIR3resok, READDIR3resfail>;

export interface READDIRPLUS3args {
  dir: nfs_fh3;
  cookie: cookie3;
  cookieverf: cookieverf3;
  dircount: number;
  maxcount: number;
}
export interface entryplus3 {
  fileid: bigint;
  name: filename3;
  cookie: cookie3;
  name_attributes: post_op_attr;
  name_handle: post_op_fh3;
}
export interface dirlistplus3 {
  entries: entryplus3[];
  eof: boolean;
  /** Server side: the entries already encoded (each with its value_follows word); replaces `entries`. */
  encoded?: Buffer;
}
export interface READDIRPLUS3resok { dir_attributes: post_op_attr; cookieverf: cookieverf3; reply: dirlistplus3 }
export interface READDIRPLUS3resfail { dir_attributes: post_op_attr }
export type READDIRPLUS3res = Nfs3Res<READDIRPLUS3resok, READDIRPLUS3resfail>;

export interface FSSTAT3args { fsroot: nfs_fh3 }
export interface FSSTAT3resok {
  obj_attributes: post_op_attr;
  tbytes: bigint;
  fbytes: bigint;
  abytes: bigint;
  tfiles: bigint;
  ffiles: bigint;
  afiles: bigint;
  invarsec: number;
}
export interface FSSTAT3resfail { obj_attributes: post_op_attr }
export type FSSTAT3res = Nfs3Res<FSSTAT3resok, FSSTAT3resfail>;

export interface FSINFO3args { fsroot: nfs_fh3 }
export interface FSINFO3resok {
  obj_attributes: post_op_attr;
  rtmax: number;
  rtpref: number;
  rtmult: number;
  wtmax: number;
  wtpref: number;
  wtmult: number;
  dtpref: number;
  maxfilesize: bigint;
  time_delta: nfstime3;
  properties: number;
}
export interface FSINFO3resfail { obj_attributes: post_op_attr }
export type FSINFO3res = Nfs3Res<FSINFO3resok, FSINFO3resfail>;

export interface PATHCONF3args { object: nfs_fh3 }
export interface PATHCONF3resok {
  obj_attributes: post_op_attr;
  linkmax: number;
  name_max: number;
  no_trunc: boolean;
  chown_restricted: boolean;
  case_insensitive: boolean;
  case_preserving: boolean;
}
export interface PATHCONF3resfail { obj_attributes: post_op_attr }
export type PATHCONF3res = Nfs3Res<PATHCONF3resok, PATHCONF3resfail>;

export interface COMMIT3args { file: nfs_fh3; offset: bigint; count: number }
export interface COMMIT3resok { file_wcc: wcc_data; verf: writeverf3 }
export interface COMMIT3resfail { file_wcc: wcc_data }
export type COMMIT3res = Nfs3Res<COMMIT3resok, COMMIT3resfail>;
