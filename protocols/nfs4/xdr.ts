/**
 * Codecs for the NFSv4 structures shared by several operations, both directions (the server decodes
 * arguments and encodes results; tests and clients do the reverse with the same functions). Pure and
 * synchronous. Small byte items the server may keep (names, owners, verifiers, stateid "other") are copied
 * by the decoders that keep them; WRITE data and file handles stay zero-copy views for the call.
 */
import { XdrError } from '../xdr/errors';
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import {
  NFS4_ATTRLIST_MAX,
  NFS4_BITMAP_WORDS_MAX,
  NFS4_FHSIZE,
  NFS4_NAME_MAX,
  NFS4_OPAQUE_LIMIT,
  NFS4_OTHER_SIZE,
  NFS4_SESSIONID_SIZE,
  NFS4_VERIFIER_SIZE,
  time_how4,
  type bitmap4,
  type change_info4,
  type channel_attrs4,
  type fattr4,
  type fsid4,
  type nfs_fh4,
  type nfs_impl_id4,
  type nfstime4,
  type settime4,
  type specdata4,
  type state_owner4,
  type stateid4,
} from './types';

export const pad4 = (n: number): number => (n + 3) & ~3;

export function expectEnd(r: XdrReader): void {
  if (r.remaining() !== 0) throw new XdrError(`${r.remaining()} trailing bytes`);
}

// ---- bitmap4 ----

export function decodeBitmap4(r: XdrReader): bitmap4 {
  return r.array(NFS4_BITMAP_WORDS_MAX, (x) => x.uint32());
}

export function encodeBitmap4(w: XdrWriter, b: bitmap4): void {
  // Trailing zero words are dropped: "a bitmap4 may be shorter than the largest attribute id" (RFC 8881 §3.3.7).
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  w.uint32(n);
  for (let i = 0; i < n; i++) w.uint32(b[i]!);
}

export function bitmapSize(b: bitmap4): number {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return 4 + 4 * n;
}

export function bitmapHas(b: bitmap4, bit: number): boolean {
  const word = bit >>> 5;
  return word < b.length && ((b[word]! >>> (bit & 31)) & 1) === 1;
}

export function bitmapSet(b: bitmap4, bit: number): void {
  const word = bit >>> 5;
  while (b.length <= word) b.push(0);
  b[word] = (b[word]! | (1 << (bit & 31))) >>> 0;
}

export function bitmapOf(bits: Iterable<number>): bitmap4 {
  const b: bitmap4 = [];
  for (const x of bits) bitmapSet(b, x);
  return b;
}

/** The set bits in ascending order (the order attribute values are packed in). */
export function bitmapBits(b: bitmap4): number[] {
  const out: number[] = [];
  for (let w = 0; w < b.length; w++) {
    let v = b[w]! >>> 0;
    for (let i = 0; v !== 0; i++, v >>>= 1) if (v & 1) out.push(w * 32 + i);
  }
  return out;
}

export function bitmapAnd(a: bitmap4, b: bitmap4): bitmap4 {
  const n = Math.min(a.length, b.length);
  const out: bitmap4 = new Array(n);
  for (let i = 0; i < n; i++) out[i] = (a[i]! & b[i]!) >>> 0;
  return out;
}

// ---- small fixed items ----

export function decodeVerifier4(r: XdrReader): Buffer {
  return Buffer.from(r.fixedOpaque(NFS4_VERIFIER_SIZE));
}

export function encodeVerifier4(w: XdrWriter, v: Buffer): void {
  if (v.length !== NFS4_VERIFIER_SIZE) throw new Error(`verifier4 must be ${NFS4_VERIFIER_SIZE} bytes`);
  w.fixedOpaque(v);
}

export function decodeSessionid4(r: XdrReader): Buffer {
  return Buffer.from(r.fixedOpaque(NFS4_SESSIONID_SIZE));
}

export function encodeSessionid4(w: XdrWriter, v: Buffer): void {
  if (v.length !== NFS4_SESSIONID_SIZE) throw new Error(`sessionid4 must be ${NFS4_SESSIONID_SIZE} bytes`);
  w.fixedOpaque(v);
}

export function decodeStateid4(r: XdrReader): stateid4 {
  const seqid = r.uint32();
  return { seqid, other: Buffer.from(r.fixedOpaque(NFS4_OTHER_SIZE)) };
}

export function encodeStateid4(w: XdrWriter, s: stateid4): void {
  w.uint32(s.seqid);
  if (s.other.length !== NFS4_OTHER_SIZE) throw new Error('stateid4.other must be 12 bytes');
  w.fixedOpaque(s.other);
}

export function decodeNfsFh4(r: XdrReader): nfs_fh4 {
  return r.opaque(NFS4_FHSIZE);
}

export function encodeNfsFh4(w: XdrWriter, fh: nfs_fh4): void {
  w.opaque(fh);
}

/** component4 (a name): copied, it may be kept by the core. */
export function decodeComponent4(r: XdrReader): Buffer {
  return Buffer.from(r.string(NFS4_NAME_MAX));
}

export function encodeComponent4(w: XdrWriter, name: Buffer | string): void {
  w.string(name);
}

export function decodeNfstime4(r: XdrReader): nfstime4 {
  return { seconds: r.int64(), nseconds: r.uint32() };
}

export function encodeNfstime4(w: XdrWriter, t: nfstime4): void {
  w.int64(t.seconds);
  w.uint32(t.nseconds);
}

export function decodeSettime4(r: XdrReader): settime4 {
  const how = r.uint32();
  if (how === time_how4.SET_TO_SERVER_TIME4) return { set_it: time_how4.SET_TO_SERVER_TIME4 };
  if (how === time_how4.SET_TO_CLIENT_TIME4) return { set_it: time_how4.SET_TO_CLIENT_TIME4, time: decodeNfstime4(r) };
  throw new XdrError(`bad time_how4 ${how}`);
}

export function encodeSettime4(w: XdrWriter, t: settime4): void {
  w.uint32(t.set_it);
  if (t.set_it === time_how4.SET_TO_CLIENT_TIME4) encodeNfstime4(w, t.time);
}

export function encodeFsid4(w: XdrWriter, f: fsid4): void {
  w.uint64(f.major);
  w.uint64(f.minor);
}

export function decodeFsid4(r: XdrReader): fsid4 {
  return { major: r.uint64(), minor: r.uint64() };
}

export function encodeSpecdata4(w: XdrWriter, s: specdata4): void {
  w.uint32(s.specdata1);
  w.uint32(s.specdata2);
}

export function decodeSpecdata4(r: XdrReader): specdata4 {
  return { specdata1: r.uint32(), specdata2: r.uint32() };
}

export function decodeFattr4(r: XdrReader): fattr4 {
  const attrmask = decodeBitmap4(r);
  return { attrmask, attr_vals: r.opaque(NFS4_ATTRLIST_MAX) };
}

export function encodeFattr4(w: XdrWriter, f: fattr4): void {
  encodeBitmap4(w, f.attrmask);
  w.opaque(f.attr_vals);
}

export function encodeChangeInfo4(w: XdrWriter, c: change_info4): void {
  w.bool(c.atomic);
  w.uint64(c.before);
  w.uint64(c.after);
}

export function decodeChangeInfo4(r: XdrReader): change_info4 {
  return { atomic: r.bool(), before: r.uint64(), after: r.uint64() };
}

export function decodeStateOwner4(r: XdrReader): state_owner4 {
  const clientid = r.uint64();
  return { clientid, owner: Buffer.from(r.opaque(NFS4_OPAQUE_LIMIT)) };
}

export function encodeStateOwner4(w: XdrWriter, o: state_owner4): void {
  w.uint64(o.clientid);
  w.opaque(o.owner);
}

export function decodeNfsImplId4(r: XdrReader): nfs_impl_id4 {
  const nii_domain = Buffer.from(r.string(NFS4_OPAQUE_LIMIT));
  const nii_name = Buffer.from(r.string(NFS4_OPAQUE_LIMIT));
  return { nii_domain, nii_name, nii_date: decodeNfstime4(r) };
}

export function encodeNfsImplId4(w: XdrWriter, v: nfs_impl_id4): void {
  w.string(v.nii_domain);
  w.string(v.nii_name);
  encodeNfstime4(w, v.nii_date);
}

export function decodeChannelAttrs4(r: XdrReader): channel_attrs4 {
  return {
    ca_headerpadsize: r.uint32(),
    ca_maxrequestsize: r.uint32(),
    ca_maxresponsesize: r.uint32(),
    ca_maxresponsesize_cached: r.uint32(),
    ca_maxoperations: r.uint32(),
    ca_maxrequests: r.uint32(),
    ca_rdma_ird: r.array(1, (x) => x.uint32()),
  };
}

export function encodeChannelAttrs4(w: XdrWriter, a: channel_attrs4): void {
  w.uint32(a.ca_headerpadsize);
  w.uint32(a.ca_maxrequestsize);
  w.uint32(a.ca_maxresponsesize);
  w.uint32(a.ca_maxresponsesize_cached);
  w.uint32(a.ca_maxoperations);
  w.uint32(a.ca_maxrequests);
  w.uint32(a.ca_rdma_ird.length);
  for (const x of a.ca_rdma_ird) w.uint32(x);
}

/** Valid UTF-8 (RFC 3629), as utf8string requires for tags. */
export function isUtf8(b: Buffer): boolean {
  // TextDecoder with fatal: throws on any invalid sequence (overlongs, surrogates, > U+10FFFF).
  try {
    UTF8.decode(b);
    return true;
  } catch {
    return false;
  }
}
const UTF8 = new TextDecoder('utf-8', { fatal: true });
