/**
 * Name rules for directory entries: bytes as the client sent them (DESIGN invariant 8). A name is one
 * path component: not empty, no '/', no NUL, at most `maxNameBytes` bytes.
 */
import { CoreError, Errc } from './errors';

export function isDot(name: Buffer): boolean {
  return name.length === 1 && name[0] === 0x2e;
}

export function isDotDot(name: Buffer): boolean {
  return name.length === 2 && name[0] === 0x2e && name[1] === 0x2e;
}

/** Syntax check: INVAL for empty or '/' or NUL, NAMETOOLONG over the limit. '.' and '..' pass. */
export function checkName(name: Buffer, maxNameBytes: number): void {
  if (name.length === 0) throw new CoreError(Errc.INVAL, 'empty name');
  if (name.length > maxNameBytes) throw new CoreError(Errc.NAMETOOLONG);
  if (name.includes(0x2f) || name.includes(0)) throw new CoreError(Errc.INVAL, "name contains '/' or NUL");
}

/** A name that is to become a new entry: '.' and '..' always exist, so creating them is EXIST. */
export function checkNewName(name: Buffer, maxNameBytes: number): void {
  checkName(name, maxNameBytes);
  if (isDot(name) || isDotDot(name)) throw new CoreError(Errc.EXIST);
}

/** A name that is to be removed or renamed: '.' and '..' are not entries of their own: INVAL. */
export function checkEntryName(name: Buffer, maxNameBytes: number): void {
  checkName(name, maxNameBytes);
  if (isDot(name) || isDotDot(name)) throw new CoreError(Errc.INVAL, "'.' or '..'");
}
