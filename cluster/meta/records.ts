/**
 * Key layout and record codecs of the namespace. Every key starts with a one-byte table tag; integers
 * are big-endian so byte order is numeric order.
 *
 *   'V'                          → volume record (fsid, handle secret, chunk size, root id)
 *   'A'                          → inode allocator: next unused inode number (never goes down)
 *   'I' fileId:u64               → inode record
 *   'D' dirId:u64 name           → directory entry: fileId:u64 cookie:u64 type:u8
 *   'C' dirId:u64 cookie:u64 fileId:u64 type:u8 name → 0x01
 *                                cookie index: the listing row is the key itself, so a READDIR page is
 *                                one keys-only range read in cookie order (no value to fetch or copy)
 *   'F' dirId:u64 flen:u16 folded cookie:u64 name → 0x01
 *                                folded-name index for case-insensitive lookup (fold-index.ts); complete
 *                                for a directory whose inode has FLAG_FOLD_INDEXED
 *   'G' fileId:u64               → pending data trim: the brick objects of fileId beyond `length` must be
 *                                  dropped (written in the same transaction that shrank or freed the
 *                                  file, removed once the bricks have done it; replayed after a crash)
 *
 * Other tables in the same store: 'H' heal journal (cluster/bricks/heal-journal.ts), 'L' brick layout
 * (cluster/bricks/layout.ts).
 */
import { CoreError, Errc } from '../vfs/errors';
import { FileType, FIRST_DIR_COOKIE } from '../vfs/types';

export const TAG_VOLUME = 0x56; // 'V'
export const TAG_ALLOC = 0x41; // 'A'
export const TAG_INODE = 0x49; // 'I'
export const TAG_DIRENT = 0x44; // 'D'
export const TAG_COOKIE = 0x43; // 'C'
export const TAG_GC = 0x47; // 'G'
export const TAG_XATTR = 0x58; // 'X'

/** Cookies 1 and 2 are never issued: frontends may use them for "." and "..". */
export const FIRST_COOKIE = FIRST_DIR_COOKIE;

export const volumeKey = (): Buffer => Buffer.from([TAG_VOLUME]);
export const allocKey = (): Buffer => Buffer.from([TAG_ALLOC]);

// ---- 64-bit fields ---------------------------------------------------------------------------------
// Buffer's read/writeBig*64BE are plain JS doing BigInt arithmetic; a DataView's get/setBig*64 are
// builtins several times faster. One scratch DataView serves every record (codecs are synchronous), and
// the 8 bytes are copied by hand, which beats making a DataView per (small, pooled) Buffer.
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

function copyOut(b: Buffer, off: number): void {
  b[off] = scratchBytes[0]!;
  b[off + 1] = scratchBytes[1]!;
  b[off + 2] = scratchBytes[2]!;
  b[off + 3] = scratchBytes[3]!;
  b[off + 4] = scratchBytes[4]!;
  b[off + 5] = scratchBytes[5]!;
  b[off + 6] = scratchBytes[6]!;
  b[off + 7] = scratchBytes[7]!;
}

function copyIn(b: Buffer, off: number): void {
  scratchBytes[0] = b[off]!;
  scratchBytes[1] = b[off + 1]!;
  scratchBytes[2] = b[off + 2]!;
  scratchBytes[3] = b[off + 3]!;
  scratchBytes[4] = b[off + 4]!;
  scratchBytes[5] = b[off + 5]!;
  scratchBytes[6] = b[off + 6]!;
  scratchBytes[7] = b[off + 7]!;
}

/** Unsigned 64-bit big-endian; like writeBigUInt64BE, a value outside [0, 2^64) is an error. */
export function putU64(b: Buffer, off: number, v: bigint): void {
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`u64 out of range: ${v}`);
  scratch.setBigUint64(0, v);
  copyOut(b, off);
}

/** Signed 64-bit big-endian; like writeBigInt64BE, a value outside [-2^63, 2^63) is an error. */
export function putI64(b: Buffer, off: number, v: bigint): void {
  if (v < -0x8000_0000_0000_0000n || v > 0x7fff_ffff_ffff_ffffn) throw new RangeError(`i64 out of range: ${v}`);
  scratch.setBigInt64(0, v);
  copyOut(b, off);
}

export function getU64(b: Buffer, off: number): bigint {
  if (off + 8 > b.length) throw new RangeError('u64 past the end of the record');
  copyIn(b, off);
  return scratch.getBigUint64(0);
}

export function getI64(b: Buffer, off: number): bigint {
  if (off + 8 > b.length) throw new RangeError('i64 past the end of the record');
  copyIn(b, off);
  return scratch.getBigInt64(0);
}

function ownCopy(b: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafeSlow(end - start);
  b.copy(out, 0, start, end);
  return out;
}

function idKey(tag: number, id: bigint, extra = 0): Buffer {
  const b = Buffer.allocUnsafe(9 + extra);
  b[0] = tag;
  putU64(b, 1, id);
  return b;
}

export const inodeKey = (id: bigint): Buffer => idKey(TAG_INODE, id);
export const gcKey = (id: bigint): Buffer => idKey(TAG_GC, id);
export const gcPrefix = (): Buffer => Buffer.from([TAG_GC]);
export const xattrKey = (id: bigint): Buffer => idKey(TAG_XATTR, id);

export function direntKey(dirId: bigint, name: Buffer): Buffer {
  const b = idKey(TAG_DIRENT, dirId, name.length);
  name.copy(b, 9);
  return b;
}

/** Where the rows of cookies >= `cookie` start (a range bound, not a stored key). */
export function cookieKey(dirId: bigint, cookie: bigint): Buffer {
  const b = idKey(TAG_COOKIE, dirId, 8);
  putU64(b, 9, cookie);
  return b;
}

/** The stored cookie index row of one entry. */
export function cookieRowKey(dirId: bigint, cookie: bigint, fileId: bigint, type: FileType, name: Buffer): Buffer {
  const b = idKey(TAG_COOKIE, dirId, 17 + name.length);
  putU64(b, 9, cookie);
  putU64(b, 17, fileId);
  b[25] = type;
  name.copy(b, 26);
  return b;
}

/** Value of every cookie index row (values may not be empty). */
export const COOKIE_ROW_VALUE: Buffer = Buffer.from([1]);

export const cookiePrefix = (dirId: bigint): Buffer => idKey(TAG_COOKIE, dirId);

export function idFromKey(k: Buffer): bigint {
  return getU64(k, 1);
}

// ---- volume ------------------------------------------------------------------------------------------

export interface VolumeRecord {
  fsid: bigint;
  secret: Buffer;
  chunkSize: number;
  rootId: bigint;
  createdNs: bigint;
}

const VOL_VERSION = 1;

export function encodeVolume(v: VolumeRecord): Buffer {
  if (v.secret.length !== 32) throw new CoreError(Errc.INVAL, 'volume secret must be 32 bytes');
  const b = Buffer.alloc(1 + 8 + 32 + 4 + 8 + 8);
  b[0] = VOL_VERSION;
  b.writeBigUInt64BE(v.fsid, 1);
  v.secret.copy(b, 9);
  b.writeUInt32BE(v.chunkSize, 41);
  b.writeBigUInt64BE(v.rootId, 45);
  b.writeBigInt64BE(v.createdNs, 53);
  return b;
}

export function decodeVolume(b: Buffer): VolumeRecord {
  if (b.length < 61 || b[0] !== VOL_VERSION) throw new CoreError(Errc.IO, 'corrupt volume record');
  return {
    fsid: b.readBigUInt64BE(1),
    secret: Buffer.from(b.subarray(9, 41)),
    chunkSize: b.readUInt32BE(41),
    rootId: b.readBigUInt64BE(45),
    createdNs: b.readBigInt64BE(53),
  };
}

export function encodeU64(n: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(n);
  return b;
}

export function decodeU64(b: Buffer): bigint {
  if (b.length < 8) throw new CoreError(Errc.IO, 'corrupt counter record');
  return b.readBigUInt64BE(0);
}

// ---- inode -------------------------------------------------------------------------------------------

/** namespace.ts `clone` copies these field by field: a new field must be added there too. */
export interface Inode {
  id: bigint;
  type: FileType;
  /** 07777 bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: bigint;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  btime: bigint;
  /** Strictly increases on every change of data or metadata. */
  change: bigint;
  /** Random, fixed for the inode's life; part of its handles. */
  gen: number;
  dosAttrs: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Directories: the parent directory (the root is its own parent). 0 for other types. */
  parent: bigint;
  /** Directories: number of entries (so an emptiness check is a point read). */
  entries: bigint;
  /** Directories: next cookie to assign (a per-directory sequence, never reused). */
  nextCookie: bigint;
  /** EXCLUSIVE-create verifier, kept until the first SETATTR. */
  verifier?: Buffer;
  /** Symlink target. */
  target?: Buffer;
  /** Directories: the folded-name index ('F' rows, fold-index.ts) is complete for this directory. */
  foldIndexed?: boolean;
  /** The inode has an 'X' record (extended attributes), which freeing the inode must delete. */
  xattrs?: boolean;
}

const INODE_VERSION = 1;
const INODE_FIXED = 117;
const FLAG_VERIFIER = 1;
/** Directories: set when the 'F' rows are complete (cluster/meta/fold-index.ts). */
const FLAG_FOLD_INDEXED = 2;
/** An 'X' record exists for this inode. */
const FLAG_XATTRS = 4;

export function encodeInode(n: Inode): Buffer {
  const tlen = n.target ? n.target.length : 0;
  // allocUnsafe: small sizes come from Node's pool (Buffer.alloc makes an ArrayBuffer per call); every
  // byte is written below (the verifier slot is zeroed when there is none).
  const b = Buffer.allocUnsafe(INODE_FIXED + tlen);
  b[0] = INODE_VERSION;
  b[1] = n.type;
  b.writeUInt16BE(n.mode & 0o7777, 2);
  b.writeUInt32BE(n.uid >>> 0, 4);
  b.writeUInt32BE(n.gid >>> 0, 8);
  b.writeUInt32BE(n.nlink >>> 0, 12);
  putU64(b, 16, n.size);
  putI64(b, 24, n.atime);
  putI64(b, 32, n.mtime);
  putI64(b, 40, n.ctime);
  putI64(b, 48, n.btime);
  putU64(b, 56, n.change);
  b.writeUInt32BE(n.gen >>> 0, 64);
  b.writeUInt32BE(n.dosAttrs >>> 0, 68);
  b.writeUInt32BE(n.rdevMajor >>> 0, 72);
  b.writeUInt32BE(n.rdevMinor >>> 0, 76);
  putU64(b, 80, n.parent);
  putU64(b, 88, n.entries);
  putU64(b, 96, n.nextCookie);
  b.fill(0, 104, 113);
  if (n.verifier) {
    b[104] = FLAG_VERIFIER;
    n.verifier.copy(b, 105, 0, 8);
  }
  if (n.foldIndexed) b[104] |= FLAG_FOLD_INDEXED;
  if (n.xattrs) b[104] |= FLAG_XATTRS;
  b.writeUInt32BE(tlen, 113);
  if (n.target) n.target.copy(b, INODE_FIXED);
  return b;
}

export function decodeInode(id: bigint, b: Buffer): Inode {
  if (b.length < INODE_FIXED || b[0] !== INODE_VERSION) throw new CoreError(Errc.IO, `corrupt inode record ${id}`);
  const tlen = b.readUInt32BE(113);
  if (b.length < INODE_FIXED + tlen) throw new CoreError(Errc.IO, `corrupt inode record ${id}`);
  const n: Inode = {
    id,
    type: b[1] as FileType,
    mode: b.readUInt16BE(2),
    uid: b.readUInt32BE(4),
    gid: b.readUInt32BE(8),
    nlink: b.readUInt32BE(12),
    size: getU64(b, 16),
    atime: getI64(b, 24),
    mtime: getI64(b, 32),
    ctime: getI64(b, 40),
    btime: getI64(b, 48),
    change: getU64(b, 56),
    gen: b.readUInt32BE(64),
    dosAttrs: b.readUInt32BE(68),
    rdevMajor: b.readUInt32BE(72),
    rdevMinor: b.readUInt32BE(76),
    parent: getU64(b, 80),
    entries: getU64(b, 88),
    nextCookie: getU64(b, 96),
  };
  // Own copies (not pool slices): decoded inodes may be kept (namespace.ts shares them).
  if (b[104]! & FLAG_VERIFIER) n.verifier = ownCopy(b, 105, 113);
  if (b[104]! & FLAG_FOLD_INDEXED) n.foldIndexed = true;
  if (b[104]! & FLAG_XATTRS) n.xattrs = true;
  if (n.type === FileType.LNK) n.target = ownCopy(b, INODE_FIXED, INODE_FIXED + tlen);
  return n;
}

// ---- directory entries -------------------------------------------------------------------------------

export interface Dirent {
  fileId: bigint;
  cookie: bigint;
  type: FileType;
}

export function encodeDirent(d: Dirent): Buffer {
  const b = Buffer.allocUnsafe(17);
  putU64(b, 0, d.fileId);
  putU64(b, 8, d.cookie);
  b[16] = d.type;
  return b;
}

export function decodeDirent(b: Buffer): Dirent {
  if (b.length < 17) throw new CoreError(Errc.IO, 'corrupt directory entry');
  return { fileId: getU64(b, 0), cookie: getU64(b, 8), type: b[16] as FileType };
}

export interface CookieEntry {
  cookie: bigint;
  fileId: bigint;
  type: FileType;
  name: Buffer;
}

export function decodeCookieRow(key: Buffer): CookieEntry {
  if (key.length < 27 || key[0] !== TAG_COOKIE) throw new CoreError(Errc.IO, 'corrupt cookie index row');
  return { cookie: getU64(key, 9), fileId: getU64(key, 17), type: key[25] as FileType, name: key.subarray(26) };
}

// ---- pending trims -----------------------------------------------------------------------------------

export interface GcRecord {
  /** Keep brick data below this length; 0 with `freed` = drop everything. */
  length: bigint;
  /** The inode is gone. */
  freed: boolean;
  /** Distinguishes successive trims of one file, so finishing an old one keeps a newer one. */
  nonce: number;
}

export function encodeGc(g: GcRecord): Buffer {
  const b = Buffer.allocUnsafe(13);
  b[0] = g.freed ? 1 : 0;
  b.writeBigUInt64BE(g.length, 1);
  b.writeUInt32BE(g.nonce >>> 0, 9);
  return b;
}

export function decodeGc(b: Buffer): GcRecord {
  if (b.length < 13) throw new CoreError(Errc.IO, 'corrupt gc record');
  return { freed: b[0] === 1, length: b.readBigUInt64BE(1), nonce: b.readUInt32BE(9) };
}

// ---- extended attributes ---------------------------------------------------------------------------

/**
 * All extended attributes of one inode, in one 'X' record: version u8 | count u16 | per attribute, in
 * name order: name length u8 | name | value length u32 | value. One record, not one key per attribute,
 * so that freeing the inode deletes it without a range read (unlinkNode runs synchronously inside its
 * transaction), and listing is one point read. Its size is bounded by the core (MAX_XATTR_SET_BYTES).
 */
const XATTR_VERSION = 1;

export type XattrList = Array<[name: Buffer, value: Buffer]>;

export function encodeXattrs(list: XattrList): Buffer {
  let len = 3;
  for (const [k, v] of list) len += 1 + k.length + 4 + v.length;
  const b = Buffer.allocUnsafe(len);
  b[0] = XATTR_VERSION;
  b.writeUInt16BE(list.length, 1);
  let o = 3;
  for (const [k, v] of list) {
    b[o++] = k.length;
    k.copy(b, o);
    o += k.length;
    b.writeUInt32BE(v.length, o);
    o += 4;
    v.copy(b, o);
    o += v.length;
  }
  return b;
}

export function decodeXattrs(id: bigint, b: Buffer): XattrList {
  const bad = () => new CoreError(Errc.IO, `corrupt extended-attribute record ${id}`);
  if (b.length < 3 || b[0] !== XATTR_VERSION) throw bad();
  const n = b.readUInt16BE(1);
  const out: XattrList = [];
  let o = 3;
  for (let i = 0; i < n; i++) {
    if (o + 1 > b.length) throw bad();
    const kl = b[o++]!;
    if (o + kl + 4 > b.length) throw bad();
    const k = ownCopy(b, o, o + kl);
    o += kl;
    const vl = b.readUInt32BE(o);
    o += 4;
    if (o + vl > b.length) throw bad();
    out.push([k, ownCopy(b, o, o + vl)]);
    o += vl;
  }
  if (o !== b.length) throw bad();
  return out;
}
