/**
 * Codecs for the NFSv3 structures shared by several procedures (RFC 1813 §2.5–2.6), both directions:
 * the server decodes arguments and encodes results; the client side (tests, loopback, tools) does the
 * reverse with the same functions. Pure and synchronous. Decoders copy the few small byte items the core
 * may keep (names, symlink targets, verifiers) so a request buffer is never retained; WRITE data and
 * handles stay zero-copy views valid for the duration of the call.
 */
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import { XdrError } from '../xdr/errors';
import {
  FTYPE3_VALUES,
  NFS3_COOKIEVERFSIZE,
  NFS3_FHSIZE,
  NFS3_FILENAME_MAX,
  NFS3_PATH_MAX,
  NFSSTAT3_VALUES,
  TIME_HOW_VALUES,
  nfsstat3,
  time_how,
  type CREATE3resfail,
  type CREATE3resok,
  type Nfs3Res,
  type cookieverf3,
  type diropargs3,
  type fattr3,
  type filename3,
  type ftype3,
  type nfs_fh3,
  type nfspath3,
  type nfstime3,
  type post_op_attr,
  type post_op_fh3,
  type pre_op_attr,
  type sattr3,
  type set_time,
  type specdata3,
  type wcc_attr,
  type wcc_data,
} from './types';

// ---- exact XDR sizes, for READDIR/READDIRPLUS byte accounting ----

export const XDR_UNIT = 4;
export const pad4 = (n: number): number => (n + 3) & ~3;
/** fattr3: 5 × uint32 + size, used, rdev, fsid, fileid (8 each) + 3 × nfstime3 (8 each). */
export const FATTR3_SIZE = 5 * 4 + 5 * 8 + 3 * 8;
export const postOpAttrSize = (a: post_op_attr): number => 4 + (a ? FATTR3_SIZE : 0);
export const postOpFhSize = (h: post_op_fh3): number => 4 + (h ? 4 + pad4(h.length) : 0);

// ---- primitives ----

export function decodeNfsFh3(r: XdrReader): nfs_fh3 {
  return r.opaque(NFS3_FHSIZE);
}

export function encodeNfsFh3(w: XdrWriter, fh: nfs_fh3): void {
  w.opaque(fh);
}

export function decodeFilename3(r: XdrReader): filename3 {
  return Buffer.from(r.string(NFS3_FILENAME_MAX));
}

export function decodeNfspath3(r: XdrReader): nfspath3 {
  return Buffer.from(r.string(NFS3_PATH_MAX));
}

export function decodeCookieverf3(r: XdrReader): cookieverf3 {
  return Buffer.from(r.fixedOpaque(NFS3_COOKIEVERFSIZE));
}

/** Fixed-size 8-byte verifiers (cookieverf3, createverf3, writeverf3); a wrong-sized value is a bug upstream. */
export function encodeVerf8(w: XdrWriter, v: Buffer): void {
  if (v.length !== 8) throw new Error(`verifier must be 8 bytes, got ${v.length}`);
  w.fixedOpaque(v);
}

export function decodeFtype3(r: XdrReader): ftype3 {
  return r.enumOf<ftype3>(FTYPE3_VALUES, 'ftype3');
}

export function decodeNfsstat3(r: XdrReader): nfsstat3 {
  return r.enumOf<nfsstat3>(NFSSTAT3_VALUES, 'nfsstat3');
}

export function decodeSpecdata3(r: XdrReader): specdata3 {
  return { specdata1: r.uint32(), specdata2: r.uint32() };
}

export function encodeSpecdata3(w: XdrWriter, s: specdata3): void {
  w.uint32(s.specdata1).uint32(s.specdata2);
}

export function decodeNfstime3(r: XdrReader): nfstime3 {
  return { seconds: r.uint32(), nseconds: r.uint32() };
}

export function encodeNfstime3(w: XdrWriter, t: nfstime3): void {
  w.uint32(t.seconds).uint32(t.nseconds);
}

export function decodeDiropargs3(r: XdrReader): diropargs3 {
  return { dir: decodeNfsFh3(r), name: decodeFilename3(r) };
}

export function encodeDiropargs3(w: XdrWriter, d: diropargs3): void {
  encodeNfsFh3(w, d.dir);
  w.opaque(d.name);
}

// ---- attributes ----

export function decodeFattr3(r: XdrReader): fattr3 {
  return {
    type: decodeFtype3(r),
    mode: r.uint32(),
    nlink: r.uint32(),
    uid: r.uint32(),
    gid: r.uint32(),
    size: r.uint64(),
    used: r.uint64(),
    rdev: decodeSpecdata3(r),
    fsid: r.uint64(),
    fileid: r.uint64(),
    atime: decodeNfstime3(r),
    mtime: decodeNfstime3(r),
    ctime: decodeNfstime3(r),
  };
}

export function encodeFattr3(w: XdrWriter, a: fattr3): void {
  // Fixed 84 bytes, written in one claimed span (READDIRPLUS encodes one per entry).
  const o = w.claim(FATTR3_SIZE);
  putFattr3(w.claimed, o, a);
}

function putFattr3(v: DataView, o: number, a: fattr3): void {
  v.setUint32(o, a.type);
  v.setUint32(o + 4, a.mode);
  v.setUint32(o + 8, a.nlink);
  v.setUint32(o + 12, a.uid);
  v.setUint32(o + 16, a.gid);
  v.setBigUint64(o + 20, a.size);
  v.setBigUint64(o + 28, a.used);
  v.setUint32(o + 36, a.rdev.specdata1);
  v.setUint32(o + 40, a.rdev.specdata2);
  v.setBigUint64(o + 44, a.fsid);
  v.setBigUint64(o + 52, a.fileid);
  v.setUint32(o + 60, a.atime.seconds);
  v.setUint32(o + 64, a.atime.nseconds);
  v.setUint32(o + 68, a.mtime.seconds);
  v.setUint32(o + 72, a.mtime.nseconds);
  v.setUint32(o + 76, a.ctime.seconds);
  v.setUint32(o + 80, a.ctime.nseconds);
}

export function decodePostOpAttr(r: XdrReader): post_op_attr {
  return r.optional(decodeFattr3);
}

export function encodePostOpAttr(w: XdrWriter, a: post_op_attr): void {
  w.bool(a !== undefined);
  if (a) encodeFattr3(w, a);
}

export function decodeWccAttr(r: XdrReader): wcc_attr {
  return { size: r.uint64(), mtime: decodeNfstime3(r), ctime: decodeNfstime3(r) };
}

export function decodePreOpAttr(r: XdrReader): pre_op_attr {
  return r.optional(decodeWccAttr);
}

export function encodePreOpAttr(w: XdrWriter, a: pre_op_attr): void {
  w.bool(a !== undefined);
  if (a) {
    w.uint64(a.size);
    encodeNfstime3(w, a.mtime);
    encodeNfstime3(w, a.ctime);
  }
}

export function decodeWccData(r: XdrReader): wcc_data {
  return { before: decodePreOpAttr(r), after: decodePostOpAttr(r) };
}

export function encodeWccData(w: XdrWriter, d: wcc_data): void {
  encodePreOpAttr(w, d.before);
  encodePostOpAttr(w, d.after);
}

export function decodePostOpFh3(r: XdrReader): post_op_fh3 {
  return r.optional(decodeNfsFh3);
}

export function encodePostOpFh3(w: XdrWriter, h: post_op_fh3): void {
  w.bool(h !== undefined);
  if (h) encodeNfsFh3(w, h);
}


function decodeSetTime(r: XdrReader): set_time {
  const how = r.enumOf<time_how>(TIME_HOW_VALUES, 'time_how');
  if (how === time_how.SET_TO_CLIENT_TIME) return { set_it: how, time: decodeNfstime3(r) };
  return { set_it: how };
}

function encodeSetTime(w: XdrWriter, t: set_time): void {
  w.uint32(t.set_it);
  if (t.set_it === time_how.SET_TO_CLIENT_TIME) encodeNfstime3(w, t.time);
}

export function decodeSattr3(r: XdrReader): sattr3 {
  const mode = r.bool() ? r.uint32() : undefined;
  const uid = r.bool() ? r.uint32() : undefined;
  const gid = r.bool() ? r.uint32() : undefined;
  const size = r.bool() ? r.uint64() : undefined;
  return { mode, uid, gid, size, atime: decodeSetTime(r), mtime: decodeSetTime(r) };
}

export function encodeSattr3(w: XdrWriter, s: sattr3): void {
  const opt32 = (v: number | undefined): void => {
    w.bool(v !== undefined);
    if (v !== undefined) w.uint32(v);
  };
  opt32(s.mode);
  opt32(s.uid);
  opt32(s.gid);
  w.bool(s.size !== undefined);
  if (s.size !== undefined) w.uint64(s.size);
  encodeSetTime(w, s.atime);
  encodeSetTime(w, s.mtime);
}

/** sattr3 with nothing set. */
export function emptySattr3(): sattr3 {
  return {
    mode: undefined,
    uid: undefined,
    gid: undefined,
    size: undefined,
    atime: { set_it: time_how.DONT_CHANGE },
    mtime: { set_it: time_how.DONT_CHANGE },
  };
}

// ---- result unions ----

/** Encodes `union XXX3res switch (nfsstat3 status)`. */
export function encodeNfs3Res<OK, FAIL>(
  w: XdrWriter,
  res: Nfs3Res<OK, FAIL>,
  ok: (w: XdrWriter, v: OK) => void,
  fail: (w: XdrWriter, v: FAIL) => void,
): void {
  w.uint32(res.status);
  if (res.status === nfsstat3.NFS3_OK) ok(w, res.resok);
  else fail(w, res.resfail);
}

export function decodeNfs3Res<OK, FAIL>(
  r: XdrReader,
  ok: (r: XdrReader) => OK,
  fail: (r: XdrReader) => FAIL,
): Nfs3Res<OK, FAIL> {
  const status = decodeNfsstat3(r);
  if (status === nfsstat3.NFS3_OK) return { status, resok: ok(r) };
  return { status, resfail: fail(r) };
}

/** Rejects trailing bytes where a caller wants a strict decode (tests, client). */
export function expectEnd(r: XdrReader): void {
  if (r.remaining() !== 0) throw new XdrError(`${r.remaining()} trailing bytes`);
}

// ---- CREATE3resok / CREATE3resfail: also MKDIR, SYMLINK and MKNOD results ----

export function encodeCREATE3resok(w: XdrWriter, v: CREATE3resok): void {
  encodePostOpFh3(w, v.obj);
  encodePostOpAttr(w, v.obj_attributes);
  encodeWccData(w, v.dir_wcc);
}

export function decodeCREATE3resok(r: XdrReader): CREATE3resok {
  return { obj: decodePostOpFh3(r), obj_attributes: decodePostOpAttr(r), dir_wcc: decodeWccData(r) };
}

export function encodeCREATE3resfail(w: XdrWriter, v: CREATE3resfail): void {
  encodeWccData(w, v.dir_wcc);
}

export function decodeCREATE3resfail(r: XdrReader): CREATE3resfail {
  return { dir_wcc: decodeWccData(r) };
}

/** post_op_attr-only failure bodies (LOOKUP, ACCESS, READLINK, READ, READDIR*, FS*, PATHCONF). */
export function encodePostOpOnly<K extends string>(key: K): (w: XdrWriter, v: { [P in K]: post_op_attr }) => void {
  return (w, v) => encodePostOpAttr(w, v[key]);
}

export function decodePostOpOnly<K extends string>(key: K): (r: XdrReader) => { [P in K]: post_op_attr } {
  return (r) => ({ [key]: decodePostOpAttr(r) }) as { [P in K]: post_op_attr };
}

/** wcc_data-only bodies (SETATTR, WRITE/COMMIT failures, REMOVE, RMDIR). */
export function encodeWccOnly<K extends string>(key: K): (w: XdrWriter, v: { [P in K]: wcc_data }) => void {
  return (w, v) => encodeWccData(w, v[key]);
}

export function decodeWccOnly<K extends string>(key: K): (r: XdrReader) => { [P in K]: wcc_data } {
  return (r) => ({ [key]: decodeWccData(r) }) as { [P in K]: wcc_data };
}

/** An 8-byte verifier from the core as the wire needs it (copied; zero-padded or cut if the core erred). */
export function verf8(v: Buffer): Buffer {
  if (v.length === 8) return Buffer.from(v); // pooled copy
  const out = Buffer.alloc(8);
  v.copy(out, 0, 0, Math.min(8, v.length));
  return out;
}
