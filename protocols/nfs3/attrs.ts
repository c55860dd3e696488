/**
 * Core `Attr` / `WccAttr` / `SetAttrs` ⇄ NFSv3 fattr3 / wcc_data / sattr3. The only place NFSv3 converts
 * attributes. Times: the core keeps signed nanoseconds since the epoch; nfstime3 is (uint32 seconds, uint32
 * nseconds), so seconds wrap modulo 2^32 exactly as Linux knfsd encodes them.
 */
import { CoreError, Errc } from '../../cluster/vfs/errors';
import {
  attrMemo,
  FileType,
  type Attr,
  type Cred,
  type DirWcc,
  type FileSystem,
  type Handle,
  type NodeResult,
  type NsTime,
  type SetAttrs,
  type WccAttr,
} from '../../cluster/vfs/types';
import { ftype3, time_how, type CREATE3resok, type fattr3, type nfstime3, type post_op_attr, type sattr3, type set_time, type wcc_attr, type wcc_data } from './types';

const NS = 1_000_000_000n;

export function nfstime3FromNs(ns: NsTime): nfstime3 {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  return { seconds: Number(BigInt.asUintN(32, sec)), nseconds: Number(nsec) };
}

/** nseconds ≥ 10^9 is not a time: INVAL (the failure body then carries wcc_data). */
export function nsFromNfstime3(t: nfstime3): NsTime {
  if (t.nseconds >= 1_000_000_000) throw new CoreError(Errc.INVAL, `nfstime3 nseconds ${t.nseconds}`);
  return BigInt(t.seconds) * NS + BigInt(t.nseconds);
}

const FTYPE_OF: Readonly<Record<FileType, ftype3>> = {
  [FileType.REG]: ftype3.NF3REG,
  [FileType.DIR]: ftype3.NF3DIR,
  [FileType.BLK]: ftype3.NF3BLK,
  [FileType.CHR]: ftype3.NF3CHR,
  [FileType.LNK]: ftype3.NF3LNK,
  [FileType.SOCK]: ftype3.NF3SOCK,
  [FileType.FIFO]: ftype3.NF3FIFO,
};

const FILETYPE_OF: Readonly<Record<ftype3, FileType>> = {
  [ftype3.NF3REG]: FileType.REG,
  [ftype3.NF3DIR]: FileType.DIR,
  [ftype3.NF3BLK]: FileType.BLK,
  [ftype3.NF3CHR]: FileType.CHR,
  [ftype3.NF3LNK]: FileType.LNK,
  [ftype3.NF3SOCK]: FileType.SOCK,
  [ftype3.NF3FIFO]: FileType.FIFO,
};

export function ftype3Of(t: FileType): ftype3 {
  return FTYPE_OF[t];
}

export function fileTypeOf(t: ftype3): FileType {
  return FILETYPE_OF[t];
}

const u32 = (n: number): number => n >>> 0;
const u64 = (n: bigint): bigint => BigInt.asUintN(64, n);

/**
 * A shared core Attr (one per unchanged inode, with a memo slot) is converted once and its fattr3 kept in
 * the slot, so a READDIRPLUS of an unchanged directory converts each entry once. Exact (an Attr object
 * never changes); it lives as long as the Attr does.
 */
export function toFattr3(a: Attr): fattr3 {
  const memo = attrMemo(a);
  if (!memo) return makeFattr3(a);
  let f = memo.nfs3 as fattr3 | undefined;
  if (!f) {
    f = Object.freeze(makeFattr3(a));
    memo.nfs3 = f;
  }
  return f;
}

function makeFattr3(a: Attr): fattr3 {
  return {
    type: ftype3Of(a.type),
    mode: a.mode & 0o7777,
    nlink: u32(a.nlink),
    uid: u32(a.uid),
    gid: u32(a.gid),
    size: u64(a.size),
    used: u64(a.used),
    rdev: { specdata1: u32(a.rdev.major), specdata2: u32(a.rdev.minor) },
    fsid: u64(a.fsid),
    fileid: u64(a.fileId),
    atime: nfstime3FromNs(a.atime),
    mtime: nfstime3FromNs(a.mtime),
    ctime: nfstime3FromNs(a.ctime),
  };
}

/**
 * The XDR fattr3 of `a` written straight into `v` at `o` (FATTR3_SIZE bytes), the same fields as
 * `toFattr3` without building the object: a READDIRPLUS page writes one per entry, and its bytes are what
 * is kept (procs/readdirplus.ts), so a kept fattr3 per listed file would be memory and garbage-collector
 * work for nothing.
 */
export function putFattr3Of(v: DataView, o: number, a: Attr): void {
  // DataView's setters reduce modulo 2^32 / 2^64 themselves (what u32/u64 do), with no BigInt made.
  v.setUint32(o, FTYPE_OF[a.type]);
  v.setUint32(o + 4, a.mode & 0o7777);
  v.setUint32(o + 8, u32(a.nlink));
  v.setUint32(o + 12, u32(a.uid));
  v.setUint32(o + 16, u32(a.gid));
  v.setBigUint64(o + 20, a.size);
  v.setBigUint64(o + 28, a.used);
  v.setUint32(o + 36, u32(a.rdev.major));
  v.setUint32(o + 40, u32(a.rdev.minor));
  v.setBigUint64(o + 44, a.fsid);
  v.setBigUint64(o + 52, a.fileId);
  putNfstime3(v, o + 60, a.atime);
  putNfstime3(v, o + 68, a.mtime);
  putNfstime3(v, o + 76, a.ctime);
}

/** nfstime3FromNs, written in place. */
function putNfstime3(v: DataView, o: number, ns: NsTime): void {
  let sec = ns / NS;
  let nsec = ns % NS;
  if (nsec < 0n) {
    nsec += NS;
    sec -= 1n;
  }
  v.setUint32(o, Number(BigInt.asUintN(32, sec)));
  v.setUint32(o + 4, Number(nsec));
}

export function toPostOpAttr(a: Attr | undefined): post_op_attr {
  return a ? toFattr3(a) : undefined;
}

export function toWccAttr(w: WccAttr): wcc_attr {
  return { size: u64(w.size), mtime: nfstime3FromNs(w.mtime), ctime: nfstime3FromNs(w.ctime) };
}

export function toWccData(before: WccAttr | undefined, after: Attr | undefined): wcc_data {
  return { before: before ? toWccAttr(before) : undefined, after: toPostOpAttr(after) };
}

export function dirWccData(d: DirWcc): wcc_data {
  return toWccData(d.before, d.after);
}

export const EMPTY_WCC: Readonly<wcc_data> = Object.freeze({ before: undefined, after: undefined });

function fromSetTime(t: set_time): NsTime | 'server' | undefined {
  switch (t.set_it) {
    case time_how.DONT_CHANGE:
      return undefined;
    case time_how.SET_TO_SERVER_TIME:
      return 'server';
    case time_how.SET_TO_CLIENT_TIME:
      return nsFromNfstime3(t.time);
  }
}

/** sattr3 → SetAttrs. Mode bits beyond 07777 are dropped (the type is not settable). */
export function fromSattr3(s: sattr3): SetAttrs {
  const out: SetAttrs = {};
  if (s.mode !== undefined) out.mode = s.mode & 0o7777;
  if (s.uid !== undefined) out.uid = s.uid;
  if (s.gid !== undefined) out.gid = s.gid;
  if (s.size !== undefined) out.size = s.size;
  const atime = fromSetTime(s.atime);
  if (atime !== undefined) out.atime = atime;
  const mtime = fromSetTime(s.mtime);
  if (mtime !== undefined) out.mtime = mtime;
  return out;
}

// ---- cheap attributes for failure bodies ----

/** post_op_attr for a failure body: the object's attributes if a getattr succeeds, else none. */
export async function postOpAttrOf(fs: FileSystem, cred: Cred, h: Handle): Promise<post_op_attr> {
  try {
    return toFattr3(await fs.getattr(cred, h));
  } catch {
    return undefined;
  }
}

/** wcc_data for a failure body: no pre-op attributes, post-op attributes where cheap. */
export async function failWcc(fs: FileSystem, cred: Cred, h: Handle): Promise<wcc_data> {
  return { before: undefined, after: await postOpAttrOf(fs, cred, h) };
}

/** NodeResult (create, mkdir, symlink, mknod) → CREATE3resok. */
export function nodeResok(r: NodeResult): CREATE3resok {
  return { obj: r.handle, obj_attributes: toFattr3(r.attr), dir_wcc: dirWccData(r.dir) };
}
