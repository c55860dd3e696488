/**
 * The core's one error vocabulary. Every frontend maps `Errc` to its own codes in a single
 * exhaustive `Record<Errc, …>` table (protocols/<proto>/status.ts), so adding a member here makes
 * the compiler point at every protocol that must decide what it means on the wire.
 * OS errno → Errc happens once, in the backend (cluster/bricks, cluster/meta), never in handlers.
 */
export enum Errc {
  NOENT = 'NOENT',
  EXIST = 'EXIST',
  NOTDIR = 'NOTDIR',
  ISDIR = 'ISDIR',
  NOTEMPTY = 'NOTEMPTY',
  ACCES = 'ACCES',
  PERM = 'PERM',
  ROFS = 'ROFS',
  NOSPC = 'NOSPC',
  DQUOT = 'DQUOT',
  FBIG = 'FBIG',
  NAMETOOLONG = 'NAMETOOLONG',
  STALE = 'STALE',
  BADHANDLE = 'BADHANDLE',
  INVAL = 'INVAL',
  IO = 'IO',
  XDEV = 'XDEV',
  MLINK = 'MLINK',
  NOTSUPP = 'NOTSUPP',
  DELAY = 'DELAY',
  SHARING_VIOLATION = 'SHARING_VIOLATION',
  LOCKED = 'LOCKED',
  DENIED = 'DENIED',
  GRACE = 'GRACE',
  EXPIRED = 'EXPIRED',
  /** SETATTR guard (ctime) did not match: NFS3ERR_NOT_SYNC. */
  NOT_SYNC = 'NOT_SYNC',
  /** A readdir cookie or verifier that the directory no longer honours. */
  BAD_COOKIE = 'BAD_COOKIE',
  /** The object is not a symlink (READLINK) or is of a type the operation refuses. */
  BADTYPE = 'BADTYPE',
  /** Reply would not fit the client's buffer (READDIR with a count too small for one entry). */
  TOOSMALL = 'TOOSMALL',
  /** No extended attribute of that name (Linux ENODATA). */
  NOXATTR = 'NOXATTR',
  /** An extended attribute (or the file's set of them) larger than the core keeps (Linux E2BIG/ENOSPC). */
  XATTR2BIG = 'XATTR2BIG',
}

export class CoreError extends Error {
  constructor(public readonly errc: Errc, public readonly detail?: string) {
    super(detail ? `${errc}: ${detail}` : errc);
    this.name = 'CoreError';
  }
}

export function isCoreError(e: unknown): e is CoreError {
  return e instanceof CoreError;
}

/**
 * NOENT for a name that is not there: an expected answer (every create looks its name up first), so it
 * is built without a stack trace, whose capture costs several times the lookup itself.
 */
export function noEntry(detail?: string): CoreError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new CoreError(Errc.NOENT, detail);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Shorthand for `throw new CoreError(...)` in expression position. */
export function fail(errc: Errc, detail?: string): never {
  throw new CoreError(errc, detail);
}
