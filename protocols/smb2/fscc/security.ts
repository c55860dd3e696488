/**
 * Security descriptors (MS-DTYP 2.4.6, self-relative) mapped from and to the owner, group and mode bits the
 * core keeps. There are no ACLs in the core: a descriptor is a view of (uid, gid, mode), and setting one is
 * chown/chgrp/chmod through the core, which applies the POSIX permission rules once for every protocol.
 *
 * SIDs: Unix ids are written the way Windows' Services for NFS and the Linux CIFS client (idsfromsid,
 * modefromsid) understand them: S-1-5-88-1-<uid>, S-1-5-88-2-<gid>, and the full mode (with setuid,
 * setgid, sticky) in an extra ACE for S-1-5-88-3-<mode> that grants nothing. Samba's S-1-22-1-<uid> /
 * S-1-22-2-<gid> are accepted on input as well. "Other" is Everyone (S-1-1-0).
 *
 * Input DACL → mode: the S-1-5-88-3 ACE wins when present; else rwx per class from the ACCESS_ALLOWED
 * ACEs for the owner, the group and Everyone, minus the matching ACCESS_DENIED ACEs. A NULL DACL (no
 * SE_DACL_PRESENT, or a zero offset) means "everyone may do everything", i.e. 0777.
 */
import { FileType, type Attr } from '../../../cluster/vfs/types';
import {
  DELETE,
  FILE_DELETE_CHILD,
  FILE_EXECUTE,
  FILE_GENERIC_EXECUTE,
  FILE_GENERIC_READ,
  FILE_GENERIC_WRITE,
  FILE_READ_DATA,
  FILE_WRITE_DATA,
  GENERIC_ALL,
  GENERIC_EXECUTE,
  GENERIC_READ,
  GENERIC_WRITE,
  READ_CONTROL,
  SYNCHRONIZE,
  WRITE_DAC,
  WRITE_OWNER,
  FILE_WRITE_ATTRIBUTES,
} from '../constants';

export const OWNER_SECURITY_INFORMATION = 0x1;
export const GROUP_SECURITY_INFORMATION = 0x2;
export const DACL_SECURITY_INFORMATION = 0x4;
export const SACL_SECURITY_INFORMATION = 0x8;

const SE_DACL_PRESENT = 0x0004;
const SE_SELF_RELATIVE = 0x8000;
const ACCESS_ALLOWED_ACE_TYPE = 0;
const ACCESS_DENIED_ACE_TYPE = 1;
/** Bounds for what a client may send: a SID has at most 15 sub-authorities (MS-DTYP 2.4.2), an ACL ≤ 64 KiB. */
const MAX_SUB_AUTHORITIES = 15;
const MAX_ACES = 1024;

export class SecurityDescriptorError extends Error {
  constructor(
    readonly what: 'sd' | 'owner' | 'group' | 'acl',
    message: string,
  ) {
    super(message);
  }
}

export interface Sid {
  authority: number;
  subs: number[];
}

export function encodeSid(authority: number, subs: number[]): Buffer {
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = 1;
  b[1] = subs.length;
  b.writeUIntBE(authority, 2, 6);
  subs.forEach((s, i) => b.writeUInt32LE(s >>> 0, 8 + 4 * i));
  return b;
}

export const uidSid = (uid: number): Buffer => encodeSid(5, [88, 1, uid]);
export const gidSid = (gid: number): Buffer => encodeSid(5, [88, 2, gid]);
export const modeSid = (mode: number): Buffer => encodeSid(5, [88, 3, mode & 0o7777]);
export const EVERYONE_SID = encodeSid(1, [0]);

export function sidString(s: Sid): string {
  return `S-1-${s.authority}-${s.subs.join('-')}`;
}

/** The uid a SID names (S-1-5-88-1-x or S-1-22-1-x), else undefined. */
export function uidOfSid(s: Sid): number | undefined {
  if (s.authority === 5 && s.subs.length === 3 && s.subs[0] === 88 && s.subs[1] === 1) return s.subs[2];
  if (s.authority === 22 && s.subs.length === 2 && s.subs[0] === 1) return s.subs[1];
  return undefined;
}

/** The gid a SID names (S-1-5-88-2-x or S-1-22-2-x), else undefined. */
export function gidOfSid(s: Sid): number | undefined {
  if (s.authority === 5 && s.subs.length === 3 && s.subs[0] === 88 && s.subs[1] === 2) return s.subs[2];
  if (s.authority === 22 && s.subs.length === 2 && s.subs[0] === 2) return s.subs[1];
  return undefined;
}

const isEveryone = (s: Sid): boolean => s.authority === 1 && s.subs.length === 1 && s.subs[0] === 0;
const isModeSid = (s: Sid): boolean => s.authority === 5 && s.subs.length === 3 && s.subs[0] === 88 && s.subs[1] === 3;

function rightsOf(bits: number, isDir: boolean, owner: boolean): number {
  let m = READ_CONTROL | SYNCHRONIZE | 0x80; // FILE_READ_ATTRIBUTES
  if (bits & 4) m |= FILE_GENERIC_READ;
  if (bits & 2) m |= FILE_GENERIC_WRITE | (isDir ? FILE_DELETE_CHILD | DELETE : 0);
  if (bits & 1) m |= FILE_GENERIC_EXECUTE;
  if (owner) m |= WRITE_DAC | WRITE_OWNER | FILE_WRITE_ATTRIBUTES;
  return m >>> 0;
}

/** rwx bits an access mask carries (generic rights included). */
function bitsOf(mask: number): number {
  let b = 0;
  if (mask & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL)) b |= 4;
  if (mask & (FILE_WRITE_DATA | GENERIC_WRITE | GENERIC_ALL)) b |= 2;
  if (mask & (FILE_EXECUTE | GENERIC_EXECUTE | GENERIC_ALL)) b |= 1;
  return b;
}

function ace(type: number, mask: number, sid: Buffer): Buffer {
  const b = Buffer.alloc(8 + sid.length);
  b[0] = type;
  b[1] = 0;
  b.writeUInt16LE(b.length, 2);
  b.writeUInt32LE(mask >>> 0, 4);
  sid.copy(b, 8);
  return b;
}

export function encodeSecurityDescriptor(a: Attr, what: number): Buffer {
  const isDir = a.type === FileType.DIR;
  const parts: Buffer[] = [];
  let off = 20;
  let ownerOff = 0;
  let groupOff = 0;
  let daclOff = 0;
  let control = SE_SELF_RELATIVE;
  if (what & OWNER_SECURITY_INFORMATION) {
    const s = uidSid(a.uid);
    ownerOff = off;
    parts.push(s);
    off += s.length;
  }
  if (what & GROUP_SECURITY_INFORMATION) {
    const s = gidSid(a.gid);
    groupOff = off;
    parts.push(s);
    off += s.length;
  }
  if (what & DACL_SECURITY_INFORMATION) {
    const aces = [
      ace(ACCESS_ALLOWED_ACE_TYPE, rightsOf((a.mode >> 6) & 7, isDir, true), uidSid(a.uid)),
      ace(ACCESS_ALLOWED_ACE_TYPE, rightsOf((a.mode >> 3) & 7, isDir, false), gidSid(a.gid)),
      ace(ACCESS_ALLOWED_ACE_TYPE, rightsOf(a.mode & 7, isDir, false), EVERYONE_SID),
      // Grants nothing; carries the whole mode (setuid/setgid/sticky included) for clients that read it.
      ace(ACCESS_ALLOWED_ACE_TYPE, 0, modeSid(a.mode)),
    ];
    const size = 8 + aces.reduce((n, x) => n + x.length, 0);
    const acl = Buffer.alloc(8);
    acl[0] = 2; // ACL_REVISION
    acl.writeUInt16LE(size, 2);
    acl.writeUInt16LE(aces.length, 4);
    daclOff = off;
    control |= SE_DACL_PRESENT;
    parts.push(acl, ...aces);
    off += size;
  }
  const h = Buffer.alloc(20);
  h[0] = 1;
  h.writeUInt16LE(control, 2);
  h.writeUInt32LE(ownerOff, 4);
  h.writeUInt32LE(groupOff, 8);
  h.writeUInt32LE(0, 12);
  h.writeUInt32LE(daclOff, 16);
  return Buffer.concat([h, ...parts]);
}

function decodeSidAt(b: Buffer, off: number, what: SecurityDescriptorError['what']): { sid: Sid; len: number } {
  if (off + 8 > b.length) throw new SecurityDescriptorError(what, 'SID outside the buffer');
  if (b[off] !== 1) throw new SecurityDescriptorError(what, `SID revision ${b[off]}`);
  const n = b[off + 1]!;
  if (n > MAX_SUB_AUTHORITIES) throw new SecurityDescriptorError(what, `${n} sub-authorities`);
  const len = 8 + 4 * n;
  if (off + len > b.length) throw new SecurityDescriptorError(what, 'SID outside the buffer');
  const subs: number[] = [];
  for (let i = 0; i < n; i++) subs.push(b.readUInt32LE(off + 8 + 4 * i));
  return { sid: { authority: b.readUIntBE(off + 2, 6), subs }, len };
}

export interface AceInfo {
  type: number;
  flags: number;
  mask: number;
  sid: Sid;
}

export interface DecodedSecurityDescriptor {
  owner?: Sid;
  group?: Sid;
  /** undefined: no DACL given; null: a NULL DACL (everyone, everything). */
  dacl?: AceInfo[] | null;
}

/** Parses a self-relative descriptor from SET_INFO; every offset and length is checked against the buffer. */
export function decodeSecurityDescriptor(b: Buffer): DecodedSecurityDescriptor {
  if (b.length < 20) throw new SecurityDescriptorError('sd', 'shorter than the header');
  if (b[0] !== 1) throw new SecurityDescriptorError('sd', `revision ${b[0]}`);
  const control = b.readUInt16LE(2);
  if (!(control & SE_SELF_RELATIVE)) throw new SecurityDescriptorError('sd', 'not self-relative');
  const ownerOff = b.readUInt32LE(4);
  const groupOff = b.readUInt32LE(8);
  const daclOff = b.readUInt32LE(16);
  const out: DecodedSecurityDescriptor = {};
  if (ownerOff) out.owner = decodeSidAt(b, ownerOff, 'owner').sid;
  if (groupOff) out.group = decodeSidAt(b, groupOff, 'group').sid;
  if (!(control & SE_DACL_PRESENT) || daclOff === 0) {
    out.dacl = null;
    return out;
  }
  if (daclOff + 8 > b.length) throw new SecurityDescriptorError('acl', 'ACL outside the buffer');
  const rev = b[daclOff]!;
  if (rev !== 2 && rev !== 4) throw new SecurityDescriptorError('acl', `ACL revision ${rev}`);
  const aclSize = b.readUInt16LE(daclOff + 2);
  const count = b.readUInt16LE(daclOff + 4);
  if (aclSize < 8 || daclOff + aclSize > b.length) throw new SecurityDescriptorError('acl', 'AclSize outside the buffer');
  if (count > MAX_ACES) throw new SecurityDescriptorError('acl', `${count} ACEs`);
  const end = daclOff + aclSize;
  const aces: AceInfo[] = [];
  let p = daclOff + 8;
  for (let i = 0; i < count; i++) {
    if (p + 4 > end) throw new SecurityDescriptorError('acl', 'ACE outside the ACL');
    const type = b[p]!;
    const flags = b[p + 1]!;
    const size = b.readUInt16LE(p + 2);
    if (size < 8 || size % 4 || p + size > end) throw new SecurityDescriptorError('acl', `bad AceSize ${size}`);
    if (type === ACCESS_ALLOWED_ACE_TYPE || type === ACCESS_DENIED_ACE_TYPE) {
      if (size < 16) throw new SecurityDescriptorError('acl', 'ACE too short for its SID');
      const { sid, len } = decodeSidAt(b.subarray(0, p + size), p + 8, 'acl');
      if (8 + len > size) throw new SecurityDescriptorError('acl', 'SID beyond its ACE');
      aces.push({ type, flags, mask: b.readUInt32LE(p + 4), sid });
    }
    // Other ACE types (object, callback, audit) say nothing about mode bits: skipped.
    p += size;
  }
  out.dacl = aces;
  return out;
}

const INHERIT_ONLY_ACE = 0x08;

/**
 * Mode bits from a DACL, for a file whose owner/group are `uid`/`gid` after the change. Bits the DACL
 * cannot express (setuid, setgid, sticky) are kept from `oldMode` unless the S-1-5-88-3 ACE gives them.
 */
export function modeFromDacl(dacl: AceInfo[] | null, uid: number, gid: number, oldMode: number): number {
  if (dacl === null) return (oldMode & 0o7000) | 0o777;
  const allow = [0, 0, 0];
  const deny = [0, 0, 0];
  for (const a of dacl) {
    if (a.flags & INHERIT_ONLY_ACE) continue;
    if (isModeSid(a.sid)) return a.sid.subs[2]! & 0o7777;
    let cls: number;
    if (uidOfSid(a.sid) === uid) cls = 0;
    else if (gidOfSid(a.sid) === gid) cls = 1;
    else if (isEveryone(a.sid)) cls = 2;
    else continue;
    const bits = bitsOf(a.mask);
    // First match wins, as in Windows' ordered evaluation: a right already allowed is not taken back.
    if (a.type === ACCESS_DENIED_ACE_TYPE) deny[cls] = deny[cls]! | (bits & ~allow[cls]!);
    else allow[cls] = allow[cls]! | (bits & ~deny[cls]!);
  }
  return (oldMode & 0o7000) | (allow[0]! << 6) | (allow[1]! << 3) | allow[2]!;
}
