/**
 * NFSv4.x wire types (RFC 7530, RFC 8881, RFC 7862), spelled as in protocols/spec/nfs4.x so the RFCs grep to
 * them. XDR unions are TS discriminated unions. Codecs for the shared structures live in ./xdr.ts; each
 * operation's codecs live in ./ops/<op>.ts.
 */

export const NFS4_PROGRAM = 100003;
export const NFS_V4 = 4;
export const NFSPROC4_NULL = 0;
export const NFSPROC4_COMPOUND = 1;

export const NFS4_FHSIZE = 128;
export const NFS4_VERIFIER_SIZE = 8;
export const NFS4_OTHER_SIZE = 12;
export const NFS4_OPAQUE_LIMIT = 1024;
export const NFS4_SESSIONID_SIZE = 16;
export const NFS4_UINT32_MAX = 0xffffffff;

/**
 * Explicit maxima for the items the RFCs leave unbounded. Names and link texts are decoded up to 4096 bytes
 * so that a name longer than the volume allows reaches the core and is answered NFS4ERR_NAMETOOLONG.
 */
export const NFS4_NAME_MAX = 4096;
export const NFS4_LINKTEXT_MAX = 4096;
export const NFS4_TAG_MAX = 4096;
/** bitmap4 words accepted (8 × 32 = 256 attribute ids; the highest defined id is < 100). */
export const NFS4_BITMAP_WORDS_MAX = 64;
/** attrlist4 bytes accepted in SETATTR / CREATE / OPEN / VERIFY. */
export const NFS4_ATTRLIST_MAX = 64 * 1024;
/** READ4resok.data / WRITE4args.data: the RPC record limit bounds them first. */
export const NFS4_DATA_MAX = 64 * 1024 * 1024;
/** Items in TEST_STATEID, secinfo lists, sec parms. */
export const NFS4_LIST_MAX = 1024;

export enum nfsstat4 {
  NFS4_OK = 0,
  NFS4ERR_PERM = 1,
  NFS4ERR_NOENT = 2,
  NFS4ERR_IO = 5,
  NFS4ERR_NXIO = 6,
  NFS4ERR_ACCESS = 13,
  NFS4ERR_EXIST = 17,
  NFS4ERR_XDEV = 18,
  NFS4ERR_NOTDIR = 20,
  NFS4ERR_ISDIR = 21,
  NFS4ERR_INVAL = 22,
  NFS4ERR_FBIG = 27,
  NFS4ERR_NOSPC = 28,
  NFS4ERR_ROFS = 30,
  NFS4ERR_MLINK = 31,
  NFS4ERR_NAMETOOLONG = 63,
  NFS4ERR_NOTEMPTY = 66,
  NFS4ERR_DQUOT = 69,
  NFS4ERR_STALE = 70,
  NFS4ERR_BADHANDLE = 10001,
  NFS4ERR_BAD_COOKIE = 10003,
  NFS4ERR_NOTSUPP = 10004,
  NFS4ERR_TOOSMALL = 10005,
  NFS4ERR_SERVERFAULT = 10006,
  NFS4ERR_BADTYPE = 10007,
  NFS4ERR_DELAY = 10008,
  NFS4ERR_SAME = 10009,
  NFS4ERR_DENIED = 10010,
  NFS4ERR_EXPIRED = 10011,
  NFS4ERR_LOCKED = 10012,
  NFS4ERR_GRACE = 10013,
  NFS4ERR_FHEXPIRED = 10014,
  NFS4ERR_SHARE_DENIED = 10015,
  NFS4ERR_WRONGSEC = 10016,
  NFS4ERR_CLID_INUSE = 10017,
  NFS4ERR_RESOURCE = 10018,
  NFS4ERR_MOVED = 10019,
  NFS4ERR_NOFILEHANDLE = 10020,
  NFS4ERR_MINOR_VERS_MISMATCH = 10021,
  NFS4ERR_STALE_CLIENTID = 10022,
  NFS4ERR_STALE_STATEID = 10023,
  NFS4ERR_OLD_STATEID = 10024,
  NFS4ERR_BAD_STATEID = 10025,
  NFS4ERR_BAD_SEQID = 10026,
  NFS4ERR_NOT_SAME = 10027,
  NFS4ERR_LOCK_RANGE = 10028,
  NFS4ERR_SYMLINK = 10029,
  NFS4ERR_RESTOREFH = 10030,
  NFS4ERR_LEASE_MOVED = 10031,
  NFS4ERR_ATTRNOTSUPP = 10032,
  NFS4ERR_NO_GRACE = 10033,
  NFS4ERR_RECLAIM_BAD = 10034,
  NFS4ERR_RECLAIM_CONFLICT = 10035,
  NFS4ERR_BADXDR = 10036,
  NFS4ERR_LOCKS_HELD = 10037,
  NFS4ERR_OPENMODE = 10038,
  NFS4ERR_BADOWNER = 10039,
  NFS4ERR_BADCHAR = 10040,
  NFS4ERR_BADNAME = 10041,
  NFS4ERR_BAD_RANGE = 10042,
  NFS4ERR_LOCK_NOTSUPP = 10043,
  NFS4ERR_OP_ILLEGAL = 10044,
  NFS4ERR_DEADLOCK = 10045,
  NFS4ERR_FILE_OPEN = 10046,
  NFS4ERR_ADMIN_REVOKED = 10047,
  NFS4ERR_CB_PATH_DOWN = 10048,
  NFS4ERR_BADIOMODE = 10049,
  NFS4ERR_BADLAYOUT = 10050,
  NFS4ERR_BAD_SESSION_DIGEST = 10051,
  NFS4ERR_BADSESSION = 10052,
  NFS4ERR_BADSLOT = 10053,
  NFS4ERR_COMPLETE_ALREADY = 10054,
  NFS4ERR_CONN_NOT_BOUND_TO_SESSION = 10055,
  NFS4ERR_DELEG_ALREADY_WANTED = 10056,
  NFS4ERR_BACK_CHAN_BUSY = 10057,
  NFS4ERR_LAYOUTTRYLATER = 10058,
  NFS4ERR_LAYOUTUNAVAILABLE = 10059,
  NFS4ERR_NOMATCHING_LAYOUT = 10060,
  NFS4ERR_RECALLCONFLICT = 10061,
  NFS4ERR_UNKNOWN_LAYOUTTYPE = 10062,
  NFS4ERR_SEQ_MISORDERED = 10063,
  NFS4ERR_SEQUENCE_POS = 10064,
  NFS4ERR_REQ_TOO_BIG = 10065,
  NFS4ERR_REP_TOO_BIG = 10066,
  NFS4ERR_REP_TOO_BIG_TO_CACHE = 10067,
  NFS4ERR_RETRY_UNCACHED_REP = 10068,
  NFS4ERR_UNSAFE_COMPOUND = 10069,
  NFS4ERR_TOO_MANY_OPS = 10070,
  NFS4ERR_OP_NOT_IN_SESSION = 10071,
  NFS4ERR_HASH_ALG_UNSUPP = 10072,
  NFS4ERR_CLIENTID_BUSY = 10074,
  NFS4ERR_PNFS_IO_HOLE = 10075,
  NFS4ERR_SEQ_FALSE_RETRY = 10076,
  NFS4ERR_BAD_HIGH_SLOT = 10077,
  NFS4ERR_DEADSESSION = 10078,
  NFS4ERR_ENCR_ALG_UNSUPP = 10079,
  NFS4ERR_PNFS_NO_LAYOUT = 10080,
  NFS4ERR_NOT_ONLY_OP = 10081,
  NFS4ERR_WRONG_CRED = 10082,
  NFS4ERR_WRONG_TYPE = 10083,
  NFS4ERR_DIRDELEG_UNAVAIL = 10084,
  NFS4ERR_REJECT_DELEG = 10085,
  NFS4ERR_RETURNCONFLICT = 10086,
  NFS4ERR_DELEG_REVOKED = 10087,
  NFS4ERR_PARTNER_NOTSUPP = 10088,
  NFS4ERR_PARTNER_NO_AUTH = 10089,
  NFS4ERR_UNION_NOTSUPP = 10090,
  NFS4ERR_OFFLOAD_DENIED = 10091,
  NFS4ERR_WRONG_LFS = 10092,
  NFS4ERR_BADLABEL = 10093,
  NFS4ERR_OFFLOAD_NO_REQS = 10094,
  /** RFC 8276 (extended attributes). */
  NFS4ERR_NOXATTR = 10095,
  NFS4ERR_XATTR2BIG = 10096,
}

export enum nfs_opnum4 {
  OP_ACCESS = 3,
  OP_CLOSE = 4,
  OP_COMMIT = 5,
  OP_CREATE = 6,
  OP_DELEGPURGE = 7,
  OP_DELEGRETURN = 8,
  OP_GETATTR = 9,
  OP_GETFH = 10,
  OP_LINK = 11,
  OP_LOCK = 12,
  OP_LOCKT = 13,
  OP_LOCKU = 14,
  OP_LOOKUP = 15,
  OP_LOOKUPP = 16,
  OP_NVERIFY = 17,
  OP_OPEN = 18,
  OP_OPENATTR = 19,
  OP_OPEN_CONFIRM = 20,
  OP_OPEN_DOWNGRADE = 21,
  OP_PUTFH = 22,
  OP_PUTPUBFH = 23,
  OP_PUTROOTFH = 24,
  OP_READ = 25,
  OP_READDIR = 26,
  OP_READLINK = 27,
  OP_REMOVE = 28,
  OP_RENAME = 29,
  OP_RENEW = 30,
  OP_RESTOREFH = 31,
  OP_SAVEFH = 32,
  OP_SECINFO = 33,
  OP_SETATTR = 34,
  OP_SETCLIENTID = 35,
  OP_SETCLIENTID_CONFIRM = 36,
  OP_VERIFY = 37,
  OP_WRITE = 38,
  OP_RELEASE_LOCKOWNER = 39,
  OP_BACKCHANNEL_CTL = 40,
  OP_BIND_CONN_TO_SESSION = 41,
  OP_EXCHANGE_ID = 42,
  OP_CREATE_SESSION = 43,
  OP_DESTROY_SESSION = 44,
  OP_FREE_STATEID = 45,
  OP_GET_DIR_DELEGATION = 46,
  OP_GETDEVICEINFO = 47,
  OP_GETDEVICELIST = 48,
  OP_LAYOUTCOMMIT = 49,
  OP_LAYOUTGET = 50,
  OP_LAYOUTRETURN = 51,
  OP_SECINFO_NO_NAME = 52,
  OP_SEQUENCE = 53,
  OP_SET_SSV = 54,
  OP_TEST_STATEID = 55,
  OP_WANT_DELEGATION = 56,
  OP_DESTROY_CLIENTID = 57,
  OP_RECLAIM_COMPLETE = 58,
  OP_ALLOCATE = 59,
  OP_COPY = 60,
  OP_COPY_NOTIFY = 61,
  OP_DEALLOCATE = 62,
  OP_IO_ADVISE = 63,
  OP_LAYOUTERROR = 64,
  OP_LAYOUTSTATS = 65,
  OP_OFFLOAD_CANCEL = 66,
  OP_OFFLOAD_STATUS = 67,
  OP_READ_PLUS = 68,
  OP_SEEK = 69,
  OP_WRITE_SAME = 70,
  OP_CLONE = 71,
  /** RFC 8276 (extended attributes), optional NFSv4.2 extension ops. */
  OP_GETXATTR = 72,
  OP_SETXATTR = 73,
  OP_LISTXATTRS = 74,
  OP_REMOVEXATTR = 75,
  OP_ILLEGAL = 10044,
}

/**
 * The first and last op number defined in each minor version (RFC 7530 §16, RFC 8881 §18, RFC 7862 §15;
 * RFC 8276 adds the extended-attribute ops 72..75 to 4.2).
 */
export const FIRST_OP = nfs_opnum4.OP_ACCESS;
export const LAST_OP_BY_MINOR: readonly number[] = [nfs_opnum4.OP_RELEASE_LOCKOWNER, nfs_opnum4.OP_RECLAIM_COMPLETE, nfs_opnum4.OP_REMOVEXATTR];

/** NFSv4.0 operations that NFSv4.1+ servers MUST NOT implement (RFC 8881 §18.51 / §2.10.2): NFS4ERR_NOTSUPP. */
export const V40_ONLY_OPS: ReadonlySet<number> = new Set([
  nfs_opnum4.OP_OPEN_CONFIRM,
  nfs_opnum4.OP_RENEW,
  nfs_opnum4.OP_SETCLIENTID,
  nfs_opnum4.OP_SETCLIENTID_CONFIRM,
  nfs_opnum4.OP_RELEASE_LOCKOWNER,
]);

export enum nfs_ftype4 {
  NF4REG = 1,
  NF4DIR = 2,
  NF4BLK = 3,
  NF4CHR = 4,
  NF4LNK = 5,
  NF4SOCK = 6,
  NF4FIFO = 7,
  NF4ATTRDIR = 8,
  NF4NAMEDATTR = 9,
}

export enum time_how4 {
  SET_TO_SERVER_TIME4 = 0,
  SET_TO_CLIENT_TIME4 = 1,
}

export enum stable_how4 {
  UNSTABLE4 = 0,
  DATA_SYNC4 = 1,
  FILE_SYNC4 = 2,
}

export enum createmode4 {
  UNCHECKED4 = 0,
  GUARDED4 = 1,
  EXCLUSIVE4 = 2,
  EXCLUSIVE4_1 = 3,
}

export enum opentype4 {
  OPEN4_NOCREATE = 0,
  OPEN4_CREATE = 1,
}

export enum open_claim_type4 {
  CLAIM_NULL = 0,
  CLAIM_PREVIOUS = 1,
  CLAIM_DELEGATE_CUR = 2,
  CLAIM_DELEGATE_PREV = 3,
  CLAIM_FH = 4,
  CLAIM_DELEG_CUR_FH = 5,
  CLAIM_DELEG_PREV_FH = 6,
}

export enum open_delegation_type4 {
  OPEN_DELEGATE_NONE = 0,
  OPEN_DELEGATE_READ = 1,
  OPEN_DELEGATE_WRITE = 2,
  OPEN_DELEGATE_NONE_EXT = 3,
}

export enum why_no_delegation4 {
  WND4_NOT_WANTED = 0,
  WND4_CONTENTION = 1,
  WND4_RESOURCE = 2,
  WND4_NOT_SUPP_FTYPE = 3,
  WND4_WRITE_DELEG_NOT_SUPP_FTYPE = 4,
  WND4_NOT_SUPP_UPGRADE = 5,
  WND4_NOT_SUPP_DOWNGRADE = 6,
  WND4_CANCELLED = 7,
  WND4_IS_DIR = 8,
}

export enum state_protect_how4 {
  SP4_NONE = 0,
  SP4_MACH_CRED = 1,
  SP4_SSV = 2,
}

export enum channel_dir_from_client4 {
  CDFC4_FORE = 0x1,
  CDFC4_BACK = 0x2,
  CDFC4_FORE_OR_BOTH = 0x3,
  CDFC4_BACK_OR_BOTH = 0x7,
}

export enum channel_dir_from_server4 {
  CDFS4_FORE = 0x1,
  CDFS4_BACK = 0x2,
  CDFS4_BOTH = 0x3,
}

export enum secinfo_style4 {
  SECINFO_STYLE4_CURRENT_FH = 0,
  SECINFO_STYLE4_PARENT = 1,
}

export const ACCESS4_READ = 0x01;
export const ACCESS4_LOOKUP = 0x02;
export const ACCESS4_MODIFY = 0x04;
export const ACCESS4_EXTEND = 0x08;
export const ACCESS4_DELETE = 0x10;
export const ACCESS4_EXECUTE = 0x20;
export const ACCESS4_ALL = 0x3f;
/** RFC 8276 §8.4.1.2: read, write and list extended attributes (NFSv4.2 only). */
export const ACCESS4_XAREAD = 0x40;
export const ACCESS4_XAWRITE = 0x80;
export const ACCESS4_XALIST = 0x100;

export const OPEN4_SHARE_ACCESS_READ = 0x1;
export const OPEN4_SHARE_ACCESS_WRITE = 0x2;
export const OPEN4_SHARE_ACCESS_BOTH = 0x3;
export const OPEN4_SHARE_DENY_NONE = 0x0;
export const OPEN4_SHARE_DENY_READ = 0x1;
export const OPEN4_SHARE_DENY_WRITE = 0x2;
export const OPEN4_SHARE_DENY_BOTH = 0x3;
export const OPEN4_SHARE_ACCESS_WANT_DELEG_MASK = 0xff00;
export const OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE = 0x0000;
export const OPEN4_SHARE_ACCESS_WANT_NO_DELEG = 0x0400;
export const OPEN4_SHARE_ACCESS_WANT_CANCEL = 0x0500;
export const OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL = 0x10000;
export const OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED = 0x20000;

export const OPEN4_RESULT_CONFIRM = 0x2;
export const OPEN4_RESULT_LOCKTYPE_POSIX = 0x4;
export const OPEN4_RESULT_PRESERVE_UNLINKED = 0x8;

export const FH4_PERSISTENT = 0x0;

export const EXCHGID4_FLAG_SUPP_MOVED_REFER = 0x00000001;
export const EXCHGID4_FLAG_SUPP_MOVED_MIGR = 0x00000002;
export const EXCHGID4_FLAG_SUPP_FENCE_OPS = 0x00000004;
export const EXCHGID4_FLAG_BIND_PRINC_STATEID = 0x00000100;
export const EXCHGID4_FLAG_USE_NON_PNFS = 0x00010000;
export const EXCHGID4_FLAG_USE_PNFS_MDS = 0x00020000;
export const EXCHGID4_FLAG_USE_PNFS_DS = 0x00040000;
export const EXCHGID4_FLAG_MASK_PNFS = 0x00070000;
export const EXCHGID4_FLAG_UPD_CONFIRMED_REC_A = 0x40000000;
export const EXCHGID4_FLAG_CONFIRMED_R = 0x80000000;
/** Flags a client may send in eia_flags (RFC 8881 §18.35.3); others: NFS4ERR_INVAL. */
export const EXCHGID4_CLIENT_FLAGS =
  EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_SUPP_MOVED_MIGR | EXCHGID4_FLAG_BIND_PRINC_STATEID | EXCHGID4_FLAG_MASK_PNFS | EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;

export const CREATE_SESSION4_FLAG_PERSIST = 0x1;
export const CREATE_SESSION4_FLAG_CONN_BACK_CHAN = 0x2;
export const CREATE_SESSION4_FLAG_CONN_RDMA = 0x4;

export const SEQ4_STATUS_CB_PATH_DOWN = 0x00000001;
export const SEQ4_STATUS_CB_GSS_CONTEXTS_EXPIRING = 0x00000002;
export const SEQ4_STATUS_CB_GSS_CONTEXTS_EXPIRED = 0x00000004;
export const SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED = 0x00000008;
export const SEQ4_STATUS_EXPIRED_SOME_STATE_REVOKED = 0x00000010;
export const SEQ4_STATUS_ADMIN_STATE_REVOKED = 0x00000020;
export const SEQ4_STATUS_RECALLABLE_STATE_REVOKED = 0x00000040;
export const SEQ4_STATUS_LEASE_MOVED = 0x00000080;
export const SEQ4_STATUS_RESTART_RECLAIM_NEEDED = 0x00000100;
export const SEQ4_STATUS_CB_PATH_DOWN_SESSION = 0x00000200;
export const SEQ4_STATUS_BACKCHANNEL_FAULT = 0x00000400;

// ---- basic structures ----

export type verifier4 = Buffer;
export type nfs_fh4 = Buffer;
export type sessionid4 = Buffer;
export type component4 = Buffer;
export type linktext4 = Buffer;
export type bitmap4 = number[];

export interface nfstime4 {
  seconds: bigint;
  nseconds: number;
}

export type settime4 = { set_it: time_how4.SET_TO_SERVER_TIME4 } | { set_it: time_how4.SET_TO_CLIENT_TIME4; time: nfstime4 };

export interface fsid4 {
  major: bigint;
  minor: bigint;
}

export interface specdata4 {
  specdata1: number;
  specdata2: number;
}

export interface stateid4 {
  seqid: number;
  /** 12 bytes. */
  other: Buffer;
}

/** Raw attributes: the mask and the packed values, decoded by attrs.ts against the mask. */
export interface fattr4 {
  attrmask: bitmap4;
  attr_vals: Buffer;
}

export interface change_info4 {
  atomic: boolean;
  before: bigint;
  after: bigint;
}

export interface nfs_impl_id4 {
  nii_domain: Buffer;
  nii_name: Buffer;
  nii_date: nfstime4;
}

export interface client_owner4 {
  co_verifier: verifier4;
  co_ownerid: Buffer;
}

export interface server_owner4 {
  so_minor_id: bigint;
  so_major_id: Buffer;
}

export interface state_owner4 {
  clientid: bigint;
  owner: Buffer;
}
export type open_owner4 = state_owner4;

export interface channel_attrs4 {
  ca_headerpadsize: number;
  ca_maxrequestsize: number;
  ca_maxresponsesize: number;
  ca_maxresponsesize_cached: number;
  ca_maxoperations: number;
  ca_maxrequests: number;
  ca_rdma_ird: number[];
}

export interface state_protect_ops4 {
  spo_must_enforce: bitmap4;
  spo_must_allow: bitmap4;
}

/** Compound result of one operation, before encoding. */
export interface nfs_resop4 {
  resop: number;
  status: nfsstat4;
  /** The op's resok (status NFS4_OK) or its failure body (the few unions with one), as the op defines. */
  res?: unknown;
}

export interface COMPOUND4res {
  status: nfsstat4;
  tag: Buffer;
  resarray: nfs_resop4[];
}
