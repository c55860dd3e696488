/**
 * POSIX permission rules, once for every protocol. Pure functions over an inode's owner, group and
 * mode and a caller's credential. Mode-bit failures are ACCES; "only the owner (or root) may" failures
 * are PERM.
 */
import { CoreError, Errc } from './errors';
import { AccessBits, FileType, type Cred } from './types';

export const R = 4;
export const W = 2;
export const X = 1;

export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

export interface Owned {
  type: FileType;
  mode: number;
  uid: number;
  gid: number;
}

export function isRoot(c: Cred): boolean {
  return c.uid === 0;
}

export function inGroup(c: Cred, gid: number): boolean {
  return c.gid === gid || c.groups.includes(gid);
}

/** The rwx class that applies to the caller (owner, else group, else other). */
export function classBits(c: Cred, n: Owned): number {
  if (c.uid === n.uid) return (n.mode >> 6) & 7;
  if (inGroup(c, n.gid)) return (n.mode >> 3) & 7;
  return n.mode & 7;
}

/**
 * True if the caller may do all of `want` (R|W|X) on the object. Root may read and write anything and
 * search any directory, but executes a non-directory only if some execute bit is set.
 */
export function permits(c: Cred, n: Owned, want: number): boolean {
  if (isRoot(c)) {
    if (want & X && n.type !== FileType.DIR && (n.mode & 0o111) === 0) return false;
    return true;
  }
  return (classBits(c, n) & want) === want;
}

export function requirePerm(c: Cred, n: Owned, want: number): void {
  if (!permits(c, n, want)) throw new CoreError(Errc.ACCES);
}

/**
 * Data access through a handle (read, write, truncate). File access over NFS is checked by the client
 * when the application opens the file; the server sees each READ/WRITE on its own. A process may keep
 * writing a file it created read-only (tar and cp -p create with the final mode, then write), and a
 * client reads a binary it may only execute. So, as Linux knfsd does, the owner is let through, and
 * read is allowed where execute is.
 */
export function requireDataPerm(c: Cred, n: Owned, want: number): void {
  if (c.uid === n.uid || permits(c, n, want)) return;
  if (want === R && permits(c, n, X)) return;
  throw new CoreError(Errc.ACCES);
}

export function isOwnerOrRoot(c: Cred, n: Owned): boolean {
  return isRoot(c) || c.uid === n.uid;
}

/**
 * In a sticky directory only the owner of the entry, the owner of the directory or root may remove or
 * rename the entry.
 */
export function stickyAllows(c: Cred, dir: Owned, child: Owned): boolean {
  if (!(dir.mode & S_ISVTX)) return true;
  return isRoot(c) || c.uid === dir.uid || c.uid === child.uid;
}

/**
 * ACCESS: the subset of `wanted` granted, with the same mapping as Linux nfsd: on directories READ=r,
 * LOOKUP=x, MODIFY/EXTEND/DELETE=w+x; on other objects READ=r, MODIFY/EXTEND=w, EXECUTE=x, and
 * LOOKUP/DELETE are not meaningful (never granted).
 */
export function accessBits(c: Cred, n: Owned, wanted: number): number {
  let g = 0;
  const r = permits(c, n, R);
  const w = permits(c, n, W);
  const x = permits(c, n, X);
  if (n.type === FileType.DIR) {
    if (r) g |= AccessBits.READ;
    if (x) g |= AccessBits.LOOKUP;
    if (w && x) g |= AccessBits.MODIFY | AccessBits.EXTEND | AccessBits.DELETE;
  } else {
    if (r) g |= AccessBits.READ;
    if (w) g |= AccessBits.MODIFY | AccessBits.EXTEND;
    if (x) g |= AccessBits.EXECUTE;
  }
  return g & wanted;
}

/**
 * Mode bits that a data write (or truncate) by this caller strips: set-user-ID always, set-group-ID if
 * group-execute is set (without it the bit marks mandatory locking, not privilege). Root keeps them.
 */
export function privBitsKilledByWrite(c: Cred, n: Owned): number {
  if (isRoot(c) || n.type !== FileType.REG) return 0;
  let kill = n.mode & S_ISUID;
  if (n.mode & S_ISGID && n.mode & 0o010) kill |= S_ISGID;
  return kill;
}
