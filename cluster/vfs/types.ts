/**
 * The file-operation core's interface. NFSv3, NFSv4.x and SMB2/3 all map onto `FileSystem`.
 * No protocol type crosses this boundary: arguments and results are plain typed values, errors are
 * `CoreError(Errc)`. Sizes, offsets, file ids and nanosecond times are `bigint` so a 64-bit value never
 * loses precision.
 */

import type { IoProbe, LockConflict, LockOwner, LockRequest, UnlockRequest, WaitOptions as LockWaitOptions } from '../locks/byte-range';

export type { IoProbe, LockConflict, LockOwner, LockRequest, UnlockRequest, LockWaitOptions };
import type { TieredBufferPool } from './buffer-pool';
import type { FsEvent, FsEvents } from './events';
export type { FsEvent, FsEvents };

/** A caller's identity, after export/share squashing has been applied by the frontend. */
export interface Cred {
  uid: number;
  gid: number;
  /** Supplementary groups (AUTH_SYS carries at most 16). */
  groups: readonly number[];
}

export const ROOT_CRED: Cred = Object.freeze({ uid: 0, gid: 0, groups: [] });

/**
 * Opaque, fixed-layout, stable file handle bytes minted by cluster/meta:
 * version | kind | exportId | fileId | gen | mac. A malformed handle is BADHANDLE, a handle for a
 * deleted inode (or a reused id with another generation) is STALE. NFSv3 uses it as nfs_fh3 (≤ 64 bytes).
 */
export type Handle = Buffer;

export enum FileType {
  REG = 1,
  DIR = 2,
  BLK = 3,
  CHR = 4,
  LNK = 5,
  SOCK = 6,
  FIFO = 7,
}

/** Time as nanoseconds since the Unix epoch. */
export type NsTime = bigint;

/**
 * Memo slot of a shared Attr (non-enumerable, so copies do not carry it): a protocol may keep here what
 * it derives purely from that Attr (its wire form), valid for the object's life. Unshared Attrs have none.
 */
export const ATTR_MEMO: unique symbol = Symbol('derived from this attr');

export function attrMemo(a: Attr): Record<string, unknown> | undefined {
  return (a as { [ATTR_MEMO]?: Record<string, unknown> })[ATTR_MEMO];
}

/** Attributes. The core may hand out one shared, frozen Attr to several callers: copy it to change it. */
export interface Attr {
  type: FileType;
  /** Permission bits incl. setuid/setgid/sticky (07777); the type is in `type`. */
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  /** Bytes actually allocated on bricks (holes cost nothing). */
  used: bigint;
  /** Device numbers for BLK/CHR. */
  rdev: { major: number; minor: number };
  /** Volume id (NFS fsid). */
  fsid: bigint;
  /** Inode number: unique in the volume, never reused; SMB FileId == NFS fileid. */
  fileId: bigint;
  atime: NsTime;
  mtime: NsTime;
  ctime: NsTime;
  birthTime: NsTime;
  /** NFSv4 change attribute: strictly increases on every data or metadata modification. */
  change: bigint;
  /** SMB DOS attribute bits (readonly, hidden, system, archive…), kept by the core. */
  dosAttrs: number;
}

/** Wanted attribute changes. `undefined` fields are left alone. */
export interface SetAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  /** 'server' means "set to the server's current time" (NFS SET_TO_SERVER_TIME). */
  atime?: NsTime | 'server';
  mtime?: NsTime | 'server';
  birthTime?: NsTime;
  /**
   * SMB ChangeTime set explicitly (FileBasicInformation, owner only). Replaces the "now" every change
   * stamps on ctime; the NFSv4 change counter still moves. NFS never sends it.
   */
  changeTime?: NsTime;
  dosAttrs?: number;
}

/** Pre-operation attributes for weak cache consistency (NFSv3 wcc_data.before). */
export interface WccAttr {
  size: bigint;
  mtime: NsTime;
  ctime: NsTime;
  /**
   * The change attribute before the operation, read in the same transaction as the change itself, so
   * NFSv4 change_info4 can say atomic (RFC 8881 §3.3.6) without a separate read before the operation.
   */
  change: bigint;
}

/** What a mutating directory operation returns: the directory's before/after state. */
export interface DirWcc {
  before?: WccAttr;
  after?: Attr;
}

export enum Stable {
  UNSTABLE = 0,
  DATA_SYNC = 1,
  FILE_SYNC = 2,
}

export enum CreateMode {
  /** Create or open-and-truncate-by-attrs (NFS3 UNCHECKED). */
  UNCHECKED = 0,
  /** Fail with EXIST if the name exists. */
  GUARDED = 1,
  /**
   * Exclusive create with a client verifier: a retransmission with the same verifier succeeds and
   * returns the same file; a different verifier gets EXIST. The verifier is stored with the inode
   * until the first SETATTR.
   */
  EXCLUSIVE = 2,
}

export interface CreateArgs {
  mode: CreateMode;
  attrs?: SetAttrs;
  /** 8-byte verifier for EXCLUSIVE. */
  verifier?: Buffer;
}

export interface NodeResult {
  handle: Handle;
  attr: Attr;
  dir: DirWcc;
}

/**
 * The smallest cookie the core ever issues. Cookies 1 and 2 are never issued, so a frontend that
 * emits "." and ".." itself can give them cookies 1 and 2; readdir treats any cookie below this as
 * "start from the beginning" (like 0).
 */
export const FIRST_DIR_COOKIE = 3n;

export interface DirEntry {
  name: Buffer;
  fileId: bigint;
  /** Stable cookie: resuming after it neither repeats nor skips surviving entries. */
  cookie: bigint;
  type: FileType;
  /** Present when `withAttrs` was asked (READDIRPLUS). */
  attr?: Attr;
  handle?: Handle;
}

export interface ReaddirResult {
  entries: DirEntry[];
  /** Cookie verifier to hand back with a non-zero cookie. */
  verifier: Buffer;
  eof: boolean;
  dirAttr: Attr;
}

export interface StatFs {
  totalBytes: bigint;
  freeBytes: bigint;
  availBytes: bigint;
  totalFiles: bigint;
  freeFiles: bigint;
  availFiles: bigint;
}

/** Real limits of the core, reported by FSINFO / PATHCONF / FileFsAttributeInformation. */
export interface FsLimits {
  maxRead: number;
  maxWrite: number;
  preferredRead: number;
  preferredWrite: number;
  /** Preferred directory read size in bytes. */
  preferredReaddir: number;
  maxFileSize: bigint;
  maxNameBytes: number;
  maxLink: number;
  /** Time granularity in nanoseconds. */
  timeDeltaNs: bigint;
  caseInsensitive: boolean;
  casePreserving: boolean;
  chownRestricted: boolean;
  noTrunc: boolean;
}

export interface WriteResult {
  count: number;
  /** What was actually done: at least what was asked. */
  committed: Stable;
  /** Changes whenever the server may have lost UNSTABLE data (restart). 8 bytes. */
  verifier: Buffer;
  before: WccAttr;
  after: Attr;
}

export interface WriteOptions {
  /**
   * Lets an UNSTABLE write return before the brick has the bytes (write-behind): keeps `data` alive past
   * the call and returns the function that gives it back. Callers whose buffer is free to keep (an RPC
   * record held until released) pass it; without it the write completes before returning.
   */
  retain?: () => () => void;
  /**
   * Default true: a chunk an UNSTABLE write fills to its end is fsynced in the background at once
   * ("flush-behind"), so the COMMIT an NFS client sends after its writes finds little left to sync. It
   * is a cost, not a promise: durability still comes only from COMMIT/FLUSH or a stable write. SMB
   * passes false: its clients rarely send FLUSH (smbclient and Windows copy without one), Samba syncs
   * only on FLUSH or write-through, and the background fsyncs made SMB writes wait on the disk for a
   * sync nobody asked for. Unsynced chunks stay in the volume's dirty set, so a FLUSH still syncs them.
   */
  flushBehind?: boolean;
}

export interface ReadOptions {
  /**
   * Where the data buffer comes from (default the process's bulkPool); SMB passes the shared one so a
   * worker thread can seal the data in place (buffer-pool.ts).
   */
  pool?: TieredBufferPool;
  /**
   * Default true: a reader going through the file in order gets its next range read ahead (read-ahead.ts).
   * False for a caller that reads the pieces of one large request in parallel itself (SMB's 8 MiB READs):
   * those pieces are their own read-ahead, and a range held for the next request would only take a slab.
   */
  readAhead?: boolean;
}

export interface ReadResult {
  /** Zero-copy where the backend can; may be shorter than asked at EOF. */
  data: Buffer;
  eof: boolean;
  attr: Attr;
  /**
   * `data` may be pooled memory: call once nothing references it any more (after the reply carrying it
   * was sent). Not calling it is safe (the GC reclaims it); calling it early is not.
   */
  release?: () => void;
}

/** Access bits, as NFSv3 ACCESS3_* (the core speaks the same set). */
export const enum AccessBits {
  READ = 0x0001,
  LOOKUP = 0x0002,
  MODIFY = 0x0004,
  EXTEND = 0x0008,
  DELETE = 0x0010,
  EXECUTE = 0x0020,
}

export interface RenameResult {
  fromDir: DirWcc;
  toDir: DirWcc;
}

export interface LinkResult {
  attr: Attr;
  dir: DirWcc;
}

/**
 * Share-mode bits of an open (the same values as cluster/locks: read, write, delete). An open *uses*
 * some (`access`) and *shares* some (`shareAccess`) with other opens of the same file.
 */
export const enum OpenBits {
  READ = 1,
  WRITE = 2,
  DELETE = 4,
}

export interface OpenArgs {
  /** OpenBits this open uses. READ needs read permission, WRITE write permission (checked at open). */
  access: number;
  /** OpenBits other opens may use while this one exists; a conflict is SHARING_VIOLATION. */
  shareAccess: number;
  /** Holder, for diagnostics ("smb:conn7:sess3"). */
  owner: string;
  /**
   * The caller has already broken the file's SMB oplocks and leases (SMB does, asynchronously, before it
   * opens: the CREATE goes STATUS_PENDING meanwhile). Otherwise the volume waits for the break itself.
   */
  cachingBroken?: boolean;
}

/**
 * A file held open (SMB CREATE; NFSv4 OPEN later). Opens of every protocol share one table per volume,
 * so share modes hold across protocols. NFSv3 does not open.
 */
export interface OpenState {
  readonly id: bigint;
  readonly fileId: bigint;
  readonly handle: Handle;
  readonly access: number;
  readonly shareAccess: number;
  readonly owner: string;
}

/**
 * One volume's file operations. Every call carries the caller's credential. Permission checks,
 * name rules and consistency live behind this interface, once, for every protocol.
 */
/** SETXATTR's option (RFC 8276 setxattr_option4; Linux XATTR_CREATE / XATTR_REPLACE). */
export type XattrHow = 'either' | 'create' | 'replace';

export interface FileSystem {
  readonly limits: FsLimits;
  /** Handle of the root of an export (resolved by exportId). */
  rootHandle(exportId: number): Promise<Handle>;
  /** Parse and validate a handle: BADHANDLE if malformed or forged, STALE if the inode is gone. */
  getattr(cred: Cred, h: Handle): Promise<Attr>;
  /** `guardCtime`: fail NOT_SYNC unless the object's ctime equals it (sattrguard3). */
  setattr(cred: Cred, h: Handle, attrs: SetAttrs, guardCtime?: NsTime): Promise<{ before: WccAttr; after: Attr }>;
  /** `..` and `.` are resolved by the core; `..` at the export root returns the root itself. */
  lookup(cred: Cred, dir: Handle, name: Buffer): Promise<{ handle: Handle; attr: Attr; dirAttr: Attr }>;
  /**
   * Case-insensitive lookup of a regular name through the core's folded-name index (cluster/vfs/caseless.ts
   * calls it after an exact miss): the entry whose name folds like `name`, the oldest of several, with its
   * stored name; NOENT if none. undefined when the directory is not indexed yet (the caller scans).
   */
  lookupFolded?(cred: Cred, dir: Handle, name: Buffer): Promise<{ handle: Handle; attr: Attr; dirAttr: Attr; name: Buffer } | undefined>;
  /** Returns the subset of `wanted` the caller is granted. */
  access(cred: Cred, h: Handle, wanted: number): Promise<{ granted: number; attr: Attr }>;
  /**
   * Extended attributes (the "user" namespace; names without the "user." prefix). Regular files and
   * directories have them; reading and listing need read permission, changing them write permission.
   * `getXattr`: NOXATTR if the name is not set. `listXattrs`: every name, in byte order.
   * `setXattr` (`value`) and removal (`value` undefined): how 'create' fails EXIST on a set name, 'replace'
   * and removal NOXATTR on a missing one; XATTR2BIG past the limits. Durable when they resolve; the file's
   * ctime and change attribute move.
   */
  getXattr(cred: Cred, h: Handle, name: Buffer): Promise<Buffer>;
  listXattrs(cred: Cred, h: Handle): Promise<Buffer[]>;
  setXattr(cred: Cred, h: Handle, name: Buffer, value: Buffer | undefined, how: XattrHow): Promise<{ before: WccAttr; after: Attr }>;
  readlink(cred: Cred, h: Handle): Promise<{ target: Buffer; attr: Attr }>;
  read(cred: Cred, h: Handle, offset: bigint, count: number, signal?: AbortSignal, opts?: ReadOptions): Promise<ReadResult>;
  write(cred: Cred, h: Handle, offset: bigint, data: Buffer, stable: Stable, opts?: WriteOptions): Promise<WriteResult>;
  /** Make everything written to [offset, offset+count) (count 0 = to EOF) stable. */
  commit(cred: Cred, h: Handle, offset: bigint, count: number): Promise<{ verifier: Buffer; before: WccAttr; after: Attr }>;
  create(cred: Cred, dir: Handle, name: Buffer, args: CreateArgs): Promise<NodeResult>;
  mkdir(cred: Cred, dir: Handle, name: Buffer, attrs: SetAttrs): Promise<NodeResult>;
  symlink(cred: Cred, dir: Handle, name: Buffer, target: Buffer, attrs: SetAttrs): Promise<NodeResult>;
  /** Device files and sockets/fifos. May throw NOTSUPP for types the volume does not store. */
  mknod(cred: Cred, dir: Handle, name: Buffer, type: FileType, attrs: SetAttrs, rdev?: { major: number; minor: number }): Promise<NodeResult>;
  link(cred: Cred, file: Handle, dir: Handle, name: Buffer): Promise<LinkResult>;
  remove(cred: Cred, dir: Handle, name: Buffer): Promise<DirWcc>;
  rmdir(cred: Cred, dir: Handle, name: Buffer): Promise<DirWcc>;
  rename(cred: Cred, fromDir: Handle, fromName: Buffer, toDir: Handle, toName: Buffer): Promise<RenameResult>;
  /**
   * Paged listing. `cookie` 0 starts at the beginning (the core does not invent `.`/`..`; frontends
   * that want them add them). `verifier` must be the one returned earlier for a non-zero cookie,
   * else BAD_COOKIE. At most `maxEntries` entries.
   */
  readdir(cred: Cred, dir: Handle, cookie: bigint, verifier: Buffer | undefined, maxEntries: number, withAttrs: boolean): Promise<ReaddirResult>;
  statfs(cred: Cred, h: Handle): Promise<{ stat: StatFs; attr: Attr }>;
  /** Opens a file or directory with share modes (SHARING_VIOLATION on conflict, ACCES without permission). */
  open(cred: Cred, h: Handle, args: OpenArgs): Promise<{ open: OpenState; attr: Attr }>;
  /**
   * Ends an open. When it was the file's last open and a delete is pending, the name is removed now
   * (with the credential that asked for the delete). Releasing twice is a no-op.
   */
  release(open: OpenState): Promise<void>;
  /**
   * Marks (or unmarks) the file of `open` for deletion of `name` in `dir` when its last open ends
   * (SMB delete-on-close / FileDispositionInformation). The open must have DELETE access. A non-empty
   * directory is NOTEMPTY at once.
   */
  setDeletePending(cred: Cred, open: OpenState, dir: Handle, name: Buffer, pending: boolean): Promise<void>;
  /** True if a delete is pending on the file. */
  isDeletePending(fileId: bigint): boolean;
  /**
   * Byte-range locks (cluster/locks/byte-range.ts has the semantics: POSIX owners for NFS, Windows owners
   * for SMB, one table per volume). `lock` throws DENIED on conflict unless `opts.wait`, then it resolves
   * when granted or rejects with the signal's reason. ISDIR/INVAL for a non-regular file.
   */
  lock(cred: Cred, h: Handle, req: LockRequest, opts?: LockWaitOptions): Promise<void>;
  /** False when a Windows owner names no lock it holds (STATUS_RANGE_NOT_LOCKED); POSIX owners get true. */
  unlock(cred: Cred, h: Handle, req: UnlockRequest): Promise<boolean>;
  /** The held lock that would stop `req` (NFS4 LOCK4denied, NLM TEST), or undefined. */
  testLock(cred: Cred, h: Handle, req: LockRequest): Promise<LockConflict | undefined>;
  /** Drops every lock (and pending lock wait) of an owner or of an open; returns the number of locks dropped. */
  releaseLocks(sel: { owner: LockOwner } | { openId: bigint }): number;
  /** Mandatory lock check before a READ/WRITE (synchronous; throws LOCKED). */
  checkIo(fileId: bigint, probe: IoProbe): void;
  /** Change events of this volume, from every protocol (cluster/vfs/events.ts): SMB CHANGE_NOTIFY. */
  events(): FsEvents;
  /** Server boot/write verifier (8 bytes); changes on every restart of the process. */
  writeVerifier(): Buffer;
  /** Flush everything and release resources. */
  close(): Promise<void>;
}
