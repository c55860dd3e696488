/**
 * Core `Attr` (plus what only NFSv4 asks: handle, fsid4, lease, limits, statfs) ⇄ fattr4. The only place
 * NFSv4 converts attributes (RFC 7530 §5, RFC 8881 §5).
 *
 * GETATTR/READDIR: the reply's bitmap is exactly the requested attributes this server supports for the
 * minor version, in ascending id order, values packed in the same order. Asking for a write-only attribute
 * (time_access_set, time_modify_set) is NFS4ERR_INVAL.
 *
 * SETATTR/CREATE/OPEN: every set bit must be a supported attribute (else NFS4ERR_ATTRNOTSUPP) that is
 * writable (else NFS4ERR_INVAL), the values must fill attr_vals exactly (else NFS4ERR_BADXDR).
 *
 * Owners: the strings come from idmap.ts (numbers for AUTH_SYS callers by default, "name@domain" when a
 * domain is configured and the caller is not sent numbers; decimal strings always accepted).
 */
import { FileType, type Attr, type FsLimits, type NsTime, type SetAttrs, type StatFs } from '../../cluster/vfs/types';
import { XdrError } from '../xdr/errors';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { Nfs4Error } from './errors';
import { DEFAULT_IDMAP, NUMERIC_OWNERS, type OwnerDecoder, type OwnerEncoder } from './idmap';
import { FH4_PERSISTENT, nfs_ftype4, nfsstat4, time_how4, type bitmap4, type fattr4, type fsid4, type nfstime4 } from './types';
import {
  bitmapBits,
  bitmapHas,
  bitmapOf,
  decodeBitmap4,
  decodeFsid4,
  decodeNfstime4,
  decodeSettime4,
  decodeSpecdata4,
  encodeBitmap4,
  encodeFsid4,
  encodeNfsFh4,
  encodeNfstime4,
  encodeSpecdata4,
} from './xdr';

export const FATTR4_SUPPORTED_ATTRS = 0;
export const FATTR4_TYPE = 1;
export const FATTR4_FH_EXPIRE_TYPE = 2;
export const FATTR4_CHANGE = 3;
export const FATTR4_SIZE = 4;
export const FATTR4_LINK_SUPPORT = 5;
export const FATTR4_SYMLINK_SUPPORT = 6;
export const FATTR4_NAMED_ATTR = 7;
export const FATTR4_FSID = 8;
export const FATTR4_UNIQUE_HANDLES = 9;
export const FATTR4_LEASE_TIME = 10;
export const FATTR4_RDATTR_ERROR = 11;
export const FATTR4_ACL = 12;
export const FATTR4_ACLSUPPORT = 13;
export const FATTR4_ARCHIVE = 14;
export const FATTR4_CANSETTIME = 15;
export const FATTR4_CASE_INSENSITIVE = 16;
export const FATTR4_CASE_PRESERVING = 17;
export const FATTR4_CHOWN_RESTRICTED = 18;
export const FATTR4_FILEHANDLE = 19;
export const FATTR4_FILEID = 20;
export const FATTR4_FILES_AVAIL = 21;
export const FATTR4_FILES_FREE = 22;
export const FATTR4_FILES_TOTAL = 23;
export const FATTR4_FS_LOCATIONS = 24;
export const FATTR4_HIDDEN = 25;
export const FATTR4_HOMOGENEOUS = 26;
export const FATTR4_MAXFILESIZE = 27;
export const FATTR4_MAXLINK = 28;
export const FATTR4_MAXNAME = 29;
export const FATTR4_MAXREAD = 30;
export const FATTR4_MAXWRITE = 31;
export const FATTR4_MIMETYPE = 32;
export const FATTR4_MODE = 33;
export const FATTR4_NO_TRUNC = 34;
export const FATTR4_NUMLINKS = 35;
export const FATTR4_OWNER = 36;
export const FATTR4_OWNER_GROUP = 37;
export const FATTR4_QUOTA_AVAIL_HARD = 38;
export const FATTR4_QUOTA_AVAIL_SOFT = 39;
export const FATTR4_QUOTA_USED = 40;
export const FATTR4_RAWDEV = 41;
export const FATTR4_SPACE_AVAIL = 42;
export const FATTR4_SPACE_FREE = 43;
export const FATTR4_SPACE_TOTAL = 44;
export const FATTR4_SPACE_USED = 45;
export const FATTR4_SYSTEM = 46;
export const FATTR4_TIME_ACCESS = 47;
export const FATTR4_TIME_ACCESS_SET = 48;
export const FATTR4_TIME_BACKUP = 49;
export const FATTR4_TIME_CREATE = 50;
export const FATTR4_TIME_DELTA = 51;
export const FATTR4_TIME_METADATA = 52;
export const FATTR4_TIME_MODIFY = 53;
export const FATTR4_TIME_MODIFY_SET = 54;
export const FATTR4_MOUNTED_ON_FILEID = 55;
export const FATTR4_FS_LAYOUT_TYPES = 62;
export const FATTR4_SUPPATTR_EXCLCREAT = 75;
/** RFC 8276 §8.2: whether the object's filesystem has extended attributes (NFSv4.2). */
export const FATTR4_XATTR_SUPPORT = 82;

/** Everything GETATTR needs to answer for one object. */
export interface AttrSource {
  attr: Attr;
  /** The object's NFSv4 file handle. */
  fh: Buffer;
  fsid: fsid4;
  mountedOnFileid: bigint;
  limits: FsLimits;
  leaseSeconds: number;
  /** Present when one of the space_* / files_* attributes was asked (see `needsStatfs`). */
  statfs?: StatFs;
  /** The pseudo-filesystem's root: no extended attributes there. */
  pseudo?: true;
}

type Encoder = (w: XdrWriter, s: AttrSource, minor: number, owners: OwnerEncoder) => void;

const NS = 1_000_000_000n;

export function nfstime4FromNs(ns: NsTime): nfstime4 {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  return { seconds: sec, nseconds: Number(nsec) };
}

export function nsFromNfstime4(t: nfstime4): NsTime {
  if (t.nseconds >= 1_000_000_000) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `nfstime4 nseconds ${t.nseconds}`);
  return t.seconds * NS + BigInt(t.nseconds);
}

const FTYPE4_OF: Readonly<Record<FileType, nfs_ftype4>> = {
  [FileType.REG]: nfs_ftype4.NF4REG,
  [FileType.DIR]: nfs_ftype4.NF4DIR,
  [FileType.BLK]: nfs_ftype4.NF4BLK,
  [FileType.CHR]: nfs_ftype4.NF4CHR,
  [FileType.LNK]: nfs_ftype4.NF4LNK,
  [FileType.SOCK]: nfs_ftype4.NF4SOCK,
  [FileType.FIFO]: nfs_ftype4.NF4FIFO,
};

export function ftype4Of(t: FileType): nfs_ftype4 {
  return FTYPE4_OF[t];
}

const u64 = (n: bigint): bigint => BigInt.asUintN(64, n);
const stat = (s: AttrSource): StatFs => {
  if (!s.statfs) throw new Error('statfs attributes encoded without statfs');
  return s.statfs;
};
/** nfstime4 straight from nanoseconds (no intermediate object: READDIR writes three per entry). */
function writeNsTime(w: XdrWriter, ns: NsTime): void {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  w.int64(sec);
  w.uint32(Number(nsec));
}

/**
 * The numeric owner strings, as XDR-ready bytes: every READDIR entry carries two, and the few ids a
 * directory has repeat. Only the numeric encoder is cached (a name can change when the name tables are
 * reloaded; a number cannot); the cache is cleared when it grows past a bound.
 */
const NUMERIC_OWNER_BYTES = new Map<number, Buffer>();
const NUMERIC_OWNER_BYTES_MAX = 4096;
function writeOwner(w: XdrWriter, o: OwnerEncoder, id: number, group: boolean): void {
  if (o !== NUMERIC_OWNERS) {
    w.string(group ? o.group(id) : o.user(id));
    return;
  }
  const key = id >>> 0;
  let b = NUMERIC_OWNER_BYTES.get(key);
  if (!b) {
    if (NUMERIC_OWNER_BYTES.size >= NUMERIC_OWNER_BYTES_MAX) NUMERIC_OWNER_BYTES.clear();
    b = Buffer.from(String(key));
    NUMERIC_OWNER_BYTES.set(key, b);
  }
  w.opaque(b);
}

/** Attribute encoders by id; the table is the supported set (minus the minor-version-specific ones). */
const ENCODERS: ReadonlyMap<number, Encoder> = new Map<number, Encoder>([
  [FATTR4_SUPPORTED_ATTRS, (w, _s, minor) => encodeBitmap4(w, supportedAttrs(minor))],
  [FATTR4_TYPE, (w, s) => w.uint32(ftype4Of(s.attr.type))],
  [FATTR4_FH_EXPIRE_TYPE, (w) => w.uint32(FH4_PERSISTENT)],
  [FATTR4_CHANGE, (w, s) => w.uint64(u64(s.attr.change))],
  [FATTR4_SIZE, (w, s) => w.uint64(u64(s.attr.size))],
  [FATTR4_LINK_SUPPORT, (w) => w.bool(true)],
  [FATTR4_SYMLINK_SUPPORT, (w) => w.bool(true)],
  [FATTR4_NAMED_ATTR, (w) => w.bool(false)],
  [FATTR4_FSID, (w, s) => encodeFsid4(w, s.fsid)],
  [FATTR4_UNIQUE_HANDLES, (w) => w.bool(true)],
  [FATTR4_LEASE_TIME, (w, s) => w.uint32(s.leaseSeconds)],
  [FATTR4_RDATTR_ERROR, (w) => w.uint32(nfsstat4.NFS4_OK)],
  // No ACLs: aclsupport is answered (0 = no ACE types), the acl attribute is not supported.
  [FATTR4_ACLSUPPORT, (w) => w.uint32(0)],
  [FATTR4_CANSETTIME, (w) => w.bool(true)],
  [FATTR4_CASE_INSENSITIVE, (w, s) => w.bool(s.limits.caseInsensitive)],
  [FATTR4_CASE_PRESERVING, (w, s) => w.bool(s.limits.casePreserving)],
  [FATTR4_CHOWN_RESTRICTED, (w, s) => w.bool(s.limits.chownRestricted)],
  [FATTR4_FILEHANDLE, (w, s) => encodeNfsFh4(w, s.fh)],
  [FATTR4_FILEID, (w, s) => w.uint64(u64(s.attr.fileId))],
  [FATTR4_FILES_AVAIL, (w, s) => w.uint64(u64(stat(s).availFiles))],
  [FATTR4_FILES_FREE, (w, s) => w.uint64(u64(stat(s).freeFiles))],
  [FATTR4_FILES_TOTAL, (w, s) => w.uint64(u64(stat(s).totalFiles))],
  [FATTR4_HOMOGENEOUS, (w) => w.bool(true)],
  [FATTR4_MAXFILESIZE, (w, s) => w.uint64(u64(s.limits.maxFileSize))],
  [FATTR4_MAXLINK, (w, s) => w.uint32(s.limits.maxLink)],
  [FATTR4_MAXNAME, (w, s) => w.uint32(s.limits.maxNameBytes)],
  [FATTR4_MAXREAD, (w, s) => w.uint64(BigInt(s.limits.maxRead))],
  [FATTR4_MAXWRITE, (w, s) => w.uint64(BigInt(s.limits.maxWrite))],
  [FATTR4_MODE, (w, s) => w.uint32(s.attr.mode & 0o7777)],
  [FATTR4_NO_TRUNC, (w, s) => w.bool(s.limits.noTrunc)],
  [FATTR4_NUMLINKS, (w, s) => w.uint32(s.attr.nlink >>> 0)],
  [FATTR4_OWNER, (w, s, _m, o) => writeOwner(w, o, s.attr.uid, false)],
  [FATTR4_OWNER_GROUP, (w, s, _m, o) => writeOwner(w, o, s.attr.gid, true)],
  [FATTR4_RAWDEV, (w, s) => encodeSpecdata4(w, { specdata1: s.attr.rdev.major >>> 0, specdata2: s.attr.rdev.minor >>> 0 })],
  [FATTR4_SPACE_AVAIL, (w, s) => w.uint64(u64(stat(s).availBytes))],
  [FATTR4_SPACE_FREE, (w, s) => w.uint64(u64(stat(s).freeBytes))],
  [FATTR4_SPACE_TOTAL, (w, s) => w.uint64(u64(stat(s).totalBytes))],
  [FATTR4_SPACE_USED, (w, s) => w.uint64(u64(s.attr.used))],
  [FATTR4_TIME_ACCESS, (w, s) => writeNsTime(w, s.attr.atime)],
  [FATTR4_TIME_ACCESS_SET, () => { throw new Error('write-only attribute encoded'); }],
  [FATTR4_TIME_CREATE, (w, s) => writeNsTime(w, s.attr.birthTime)],
  [FATTR4_TIME_DELTA, (w, s) => writeNsTime(w, s.limits.timeDeltaNs)],
  [FATTR4_TIME_METADATA, (w, s) => writeNsTime(w, s.attr.ctime)],
  [FATTR4_TIME_MODIFY, (w, s) => writeNsTime(w, s.attr.mtime)],
  [FATTR4_TIME_MODIFY_SET, () => { throw new Error('write-only attribute encoded'); }],
  [FATTR4_MOUNTED_ON_FILEID, (w, s) => w.uint64(u64(s.mountedOnFileid))],
  [FATTR4_SUPPATTR_EXCLCREAT, (w) => encodeBitmap4(w, EXCLCREAT_ATTRS)],
  [FATTR4_XATTR_SUPPORT, (w, s) => w.bool(!s.pseudo)],
]);

/** Attributes that exist from NFSv4.1 on (RFC 8881 §5.8.1.14 and later), and from 4.2 on (RFC 8276). */
const MIN_MINOR: ReadonlyMap<number, number> = new Map([
  [FATTR4_SUPPATTR_EXCLCREAT, 1],
  [FATTR4_XATTR_SUPPORT, 2],
]);

export const WRITE_ONLY_ATTRS: ReadonlySet<number> = new Set([FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET]);
/** Attributes SETATTR (and the create attributes of CREATE/OPEN) can set. */
export const SETTABLE_ATTRS: ReadonlySet<number> = new Set([
  FATTR4_SIZE,
  FATTR4_MODE,
  FATTR4_OWNER,
  FATTR4_OWNER_GROUP,
  FATTR4_TIME_ACCESS_SET,
  FATTR4_TIME_CREATE,
  FATTR4_TIME_MODIFY_SET,
]);
/** What an EXCLUSIVE4_1 create may carry in cva_attrs (suppattr_exclcreat). */
export const EXCLCREAT_ATTRS: bitmap4 = bitmapOf([FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP, FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET]);
const STATFS_ATTRS: readonly number[] = [FATTR4_FILES_AVAIL, FATTR4_FILES_FREE, FATTR4_FILES_TOTAL, FATTR4_SPACE_AVAIL, FATTR4_SPACE_FREE, FATTR4_SPACE_TOTAL];

const SUPPORTED_BY_MINOR: bitmap4[] = [0, 1, 2].map((minor) =>
  bitmapOf([...ENCODERS.keys()].filter((id) => (MIN_MINOR.get(id) ?? 0) <= minor)),
);

export function supportedAttrs(minor: number): bitmap4 {
  return SUPPORTED_BY_MINOR[Math.min(minor, 2)]!;
}

export function isSupportedAttr(id: number, minor: number): boolean {
  return bitmapHas(supportedAttrs(minor), id);
}

export function needsStatfs(requested: bitmap4): boolean {
  return STATFS_ATTRS.some((id) => bitmapHas(requested, id));
}

/** NFS4ERR_INVAL for a GETATTR/READDIR request naming a write-only attribute. */
export function checkReadable(requested: bitmap4): void {
  for (const id of WRITE_ONLY_ATTRS) {
    if (bitmapHas(requested, id)) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `attribute ${id} is write-only`);
  }
}

/** The ids that will be returned for `requested`, ascending. */
export function returnedAttrs(requested: bitmap4, minor: number): number[] {
  return bitmapBits(requested).filter((id) => isSupportedAttr(id, minor) && !WRITE_ONLY_ATTRS.has(id));
}

/**
 * What answering one attribute request takes, worked out once per distinct (request, minor version)
 * instead of once per object: the ids returned, their bitmap and their encoders in order. Clients ask
 * the same few bitmaps over and over (every READDIR entry, every GETATTR after a WRITE), so the table
 * stays small; it is cleared if odd requests ever fill it.
 */
export interface AttrPlan {
  readonly ids: readonly number[];
  readonly mask: bitmap4;
  readonly encoders: readonly Encoder[];
}

const PLANS = new Map<string, AttrPlan>();
const PLANS_MAX = 256;

export function attrPlan(requested: bitmap4, minor: number): AttrPlan {
  let key = String(minor);
  for (let i = 0; i < requested.length; i++) key += ',' + requested[i];
  let p = PLANS.get(key);
  if (!p) {
    const ids = returnedAttrs(requested, minor);
    p = { ids, mask: Object.freeze(bitmapOf(ids)) as bitmap4, encoders: ids.map((id) => ENCODERS.get(id)!) };
    if (PLANS.size >= PLANS_MAX) PLANS.clear();
    PLANS.set(key, p);
  }
  return p;
}

/** Writes one fattr4 (bitmap + attrlist4) for `src`. */
export function encodeFattr4For(w: XdrWriter, requested: bitmap4, src: AttrSource, minor: number, owners: OwnerEncoder = NUMERIC_OWNERS): void {
  const plan = attrPlan(requested, minor);
  encodeBitmap4(w, plan.mask);
  const tok = w.reserve();
  const start = w.length;
  for (const enc of plan.encoders) enc(w, src, minor, owners);
  w.patchUint32(tok, w.length - start);
}

// ---- decoding for SETATTR / CREATE / OPEN ----

export interface DecodedSetAttrs {
  set: SetAttrs;
  /** The ids given, ascending (what `attrsset` reports on success). */
  ids: number[];
}

function decodeTimeSet(r: XdrReader): NsTime | 'server' {
  const t = decodeSettime4(r);
  return t.set_it === time_how4.SET_TO_SERVER_TIME4 ? 'server' : nsFromNfstime4(t.time);
}

/**
 * fattr4 → SetAttrs. Unsupported attribute: ATTRNOTSUPP; supported but not settable: INVAL; short or long
 * values: BADXDR; mode bits beyond 07777: INVAL.
 */
export function decodeSetAttrs(f: fattr4, minor: number, owners: OwnerDecoder = DEFAULT_IDMAP): DecodedSetAttrs {
  const ids = bitmapBits(f.attrmask);
  for (const id of ids) {
    if (!isSupportedAttr(id, minor)) throw new Nfs4Error(nfsstat4.NFS4ERR_ATTRNOTSUPP, `attribute ${id} not supported`);
  }
  for (const id of ids) {
    if (!SETTABLE_ATTRS.has(id)) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `attribute ${id} is read-only`);
  }
  const r = new XdrReader(f.attr_vals);
  const set: SetAttrs = {};
  try {
    for (const id of ids) {
      switch (id) {
        case FATTR4_SIZE:
          set.size = r.uint64();
          break;
        case FATTR4_MODE: {
          const m = r.uint32();
          if (m & ~0o7777) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `mode ${m.toString(8)} has bits beyond 07777`);
          set.mode = m;
          break;
        }
        case FATTR4_OWNER:
          set.uid = owners.uidOf(r.string(1024).toString('utf8'));
          break;
        case FATTR4_OWNER_GROUP:
          set.gid = owners.gidOf(r.string(1024).toString('utf8'));
          break;
        case FATTR4_TIME_ACCESS_SET:
          set.atime = decodeTimeSet(r);
          break;
        case FATTR4_TIME_MODIFY_SET:
          set.mtime = decodeTimeSet(r);
          break;
        case FATTR4_TIME_CREATE: {
          const ns = nsFromNfstime4({ seconds: r.int64(), nseconds: r.uint32() });
          set.birthTime = ns;
          break;
        }
      }
    }
  } catch (e) {
    if (e instanceof XdrError) throw new Nfs4Error(nfsstat4.NFS4ERR_BADXDR, `attr_vals: ${e.message}`);
    throw e;
  }
  if (r.remaining() !== 0) throw new Nfs4Error(nfsstat4.NFS4ERR_BADXDR, `${r.remaining()} bytes after the attribute values`);
  return { set, ids };
}

/** An empty fattr4 (CREATE/OPEN with no attributes). */
export function emptyFattr4(): fattr4 {
  return { attrmask: [], attr_vals: Buffer.alloc(0) };
}

/** The fattr4 for `src` as a value (GETATTR, READDIR entries). */
export function buildFattr4(requested: bitmap4, src: AttrSource, minor: number, owners: OwnerEncoder = NUMERIC_OWNERS): fattr4 {
  return buildFattr4With(attrPlan(requested, minor), src, minor, owners);
}

/** `buildFattr4` with the plan already at hand (READDIR: one plan for the whole page). */
export function buildFattr4With(plan: AttrPlan, src: AttrSource, minor: number, owners: OwnerEncoder = NUMERIC_OWNERS): fattr4 {
  const w = new XdrWriter(256);
  const encs = plan.encoders;
  for (let i = 0; i < encs.length; i++) encs[i]!(w, src, minor, owners);
  // The mask is shared by every fattr4 of this plan: callers only read it (encodeFattr4, entrySize).
  return { attrmask: plan.mask, attr_vals: w.toBuffer() };
}

// ---- client side: attribute values back from an fattr4 (tests, tools) ----

export type AttrValue = number | bigint | boolean | Buffer | bitmap4 | fsid4 | nfstime4 | { specdata1: number; specdata2: number };

const DECODERS: ReadonlyMap<number, (r: XdrReader) => AttrValue> = new Map<number, (r: XdrReader) => AttrValue>([
  [FATTR4_SUPPORTED_ATTRS, (r) => decodeBitmap4(r)],
  [FATTR4_TYPE, (r) => r.uint32()],
  [FATTR4_FH_EXPIRE_TYPE, (r) => r.uint32()],
  [FATTR4_CHANGE, (r) => r.uint64()],
  [FATTR4_SIZE, (r) => r.uint64()],
  [FATTR4_LINK_SUPPORT, (r) => r.bool()],
  [FATTR4_SYMLINK_SUPPORT, (r) => r.bool()],
  [FATTR4_NAMED_ATTR, (r) => r.bool()],
  [FATTR4_FSID, (r) => decodeFsid4(r)],
  [FATTR4_UNIQUE_HANDLES, (r) => r.bool()],
  [FATTR4_LEASE_TIME, (r) => r.uint32()],
  [FATTR4_RDATTR_ERROR, (r) => r.uint32()],
  [FATTR4_ACLSUPPORT, (r) => r.uint32()],
  [FATTR4_CANSETTIME, (r) => r.bool()],
  [FATTR4_CASE_INSENSITIVE, (r) => r.bool()],
  [FATTR4_CASE_PRESERVING, (r) => r.bool()],
  [FATTR4_CHOWN_RESTRICTED, (r) => r.bool()],
  [FATTR4_FILEHANDLE, (r) => Buffer.from(r.opaque(128))],
  [FATTR4_FILEID, (r) => r.uint64()],
  [FATTR4_FILES_AVAIL, (r) => r.uint64()],
  [FATTR4_FILES_FREE, (r) => r.uint64()],
  [FATTR4_FILES_TOTAL, (r) => r.uint64()],
  [FATTR4_HOMOGENEOUS, (r) => r.bool()],
  [FATTR4_MAXFILESIZE, (r) => r.uint64()],
  [FATTR4_MAXLINK, (r) => r.uint32()],
  [FATTR4_MAXNAME, (r) => r.uint32()],
  [FATTR4_MAXREAD, (r) => r.uint64()],
  [FATTR4_MAXWRITE, (r) => r.uint64()],
  [FATTR4_MODE, (r) => r.uint32()],
  [FATTR4_NO_TRUNC, (r) => r.bool()],
  [FATTR4_NUMLINKS, (r) => r.uint32()],
  [FATTR4_OWNER, (r) => Buffer.from(r.string(1024))],
  [FATTR4_OWNER_GROUP, (r) => Buffer.from(r.string(1024))],
  [FATTR4_RAWDEV, (r) => decodeSpecdata4(r)],
  [FATTR4_SPACE_AVAIL, (r) => r.uint64()],
  [FATTR4_SPACE_FREE, (r) => r.uint64()],
  [FATTR4_SPACE_TOTAL, (r) => r.uint64()],
  [FATTR4_SPACE_USED, (r) => r.uint64()],
  [FATTR4_TIME_ACCESS, (r) => decodeNfstime4(r)],
  [FATTR4_TIME_CREATE, (r) => decodeNfstime4(r)],
  [FATTR4_TIME_DELTA, (r) => decodeNfstime4(r)],
  [FATTR4_TIME_METADATA, (r) => decodeNfstime4(r)],
  [FATTR4_TIME_MODIFY, (r) => decodeNfstime4(r)],
  [FATTR4_MOUNTED_ON_FILEID, (r) => r.uint64()],
  [FATTR4_SUPPATTR_EXCLCREAT, (r) => decodeBitmap4(r)],
  [FATTR4_XATTR_SUPPORT, (r) => r.bool()],
]);

/** Decodes every value of an fattr4 this module knows; an unknown id ends with an XdrError. */
export function decodeFattr4Values(f: fattr4): Map<number, AttrValue> {
  const r = new XdrReader(f.attr_vals);
  const out = new Map<number, AttrValue>();
  for (const id of bitmapBits(f.attrmask)) {
    const d = DECODERS.get(id);
    if (!d) throw new XdrError(`no decoder for attribute ${id}`);
    out.set(id, d(r));
  }
  if (r.remaining() !== 0) throw new XdrError(`${r.remaining()} bytes after the attribute values`);
  return out;
}

/** Client side: packs attribute values for SETATTR / CREATE / OPEN (size, mode, owners — ids or strings — times). */
export function encodeSetAttrs(set: { size?: bigint; mode?: number; uid?: number | string; gid?: number | string; atime?: nfstime4 | 'server'; mtime?: nfstime4 | 'server' }): fattr4 {
  const ids: number[] = [];
  const w = new XdrWriter(128);
  if (set.size !== undefined) {
    ids.push(FATTR4_SIZE);
    w.uint64(set.size);
  }
  if (set.mode !== undefined) {
    ids.push(FATTR4_MODE);
    w.uint32(set.mode);
  }
  if (set.uid !== undefined) {
    ids.push(FATTR4_OWNER);
    w.string(String(set.uid));
  }
  if (set.gid !== undefined) {
    ids.push(FATTR4_OWNER_GROUP);
    w.string(String(set.gid));
  }
  const time = (t: nfstime4 | 'server') => {
    if (t === 'server') w.uint32(time_how4.SET_TO_SERVER_TIME4);
    else {
      w.uint32(time_how4.SET_TO_CLIENT_TIME4);
      encodeNfstime4(w, t);
    }
  };
  if (set.atime !== undefined) {
    ids.push(FATTR4_TIME_ACCESS_SET);
    time(set.atime);
  }
  if (set.mtime !== undefined) {
    ids.push(FATTR4_TIME_MODIFY_SET);
    time(set.mtime);
  }
  return { attrmask: bitmapOf(ids), attr_vals: w.toBuffer() };
}
