/**
 * Security descriptors (MS-DTYP 2.4.6, self-relative) built from the owner, group and mode bits, for
 * QUERY_INFO with InfoType SECURITY. Unix ids map to SIDs the way Samba does: S-1-22-1-<uid> for users,
 * S-1-22-2-<gid> for groups; "other" is Everyone (S-1-1-0). Read-only for now (SET_INFO refuses).
 */
import { FileType, type Attr } from '../../../cluster/vfs/types';
import { DELETE, FILE_DELETE_CHILD, FILE_GENERIC_EXECUTE, FILE_GENERIC_READ, FILE_GENERIC_WRITE, READ_CONTROL, SYNCHRONIZE, WRITE_DAC, WRITE_OWNER, FILE_WRITE_ATTRIBUTES } from '../constants';

export const OWNER_SECURITY_INFORMATION = 0x1;
export const GROUP_SECURITY_INFORMATION = 0x2;
export const DACL_SECURITY_INFORMATION = 0x4;

const SE_DACL_PRESENT = 0x0004;
const SE_SELF_RELATIVE = 0x8000;
const ACCESS_ALLOWED_ACE_TYPE = 0;

export function encodeSid(authority: number, subs: number[]): Buffer {
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = 1;
  b[1] = subs.length;
  b.writeUIntBE(authority, 2, 6);
  subs.forEach((s, i) => b.writeUInt32LE(s >>> 0, 8 + 4 * i));
  return b;
}

export const uidSid = (uid: number): Buffer => encodeSid(22, [1, uid]);
export const gidSid = (gid: number): Buffer => encodeSid(22, [2, gid]);
export const EVERYONE_SID = encodeSid(1, [0]);

function rightsOf(bits: number, isDir: boolean, owner: boolean): number {
  let m = READ_CONTROL | SYNCHRONIZE | 0x80; // FILE_READ_ATTRIBUTES
  if (bits & 4) m |= FILE_GENERIC_READ;
  if (bits & 2) m |= FILE_GENERIC_WRITE | (isDir ? FILE_DELETE_CHILD | DELETE : 0);
  if (bits & 1) m |= FILE_GENERIC_EXECUTE;
  if (owner) m |= WRITE_DAC | WRITE_OWNER | FILE_WRITE_ATTRIBUTES;
  return m >>> 0;
}

function ace(mask: number, sid: Buffer): Buffer {
  const b = Buffer.alloc(8 + sid.length);
  b[0] = ACCESS_ALLOWED_ACE_TYPE;
  b[1] = 0;
  b.writeUInt16LE(b.length, 2);
  b.writeUInt32LE(mask, 4);
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
    const aces = [ace(rightsOf((a.mode >> 6) & 7, isDir, true), uidSid(a.uid)), ace(rightsOf((a.mode >> 3) & 7, isDir, false), gidSid(a.gid)), ace(rightsOf(a.mode & 7, isDir, false), EVERYONE_SID)];
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
