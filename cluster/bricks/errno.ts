/**
 * OS errno → Errc, once, as data (like Samba's errmap_unix.c). Anything not listed is IO: a brick's
 * own trouble is a server fault, never the client's (so EACCES/EPERM/EINVAL from the brick's disk
 * are IO, not ACCES/PERM/INVAL).
 */
import { CoreError, Errc } from '../vfs/errors';

export const ERRNO_TO_ERRC: Readonly<Record<string, Errc>> = Object.freeze({
  ENOSPC: Errc.NOSPC,
  EDQUOT: Errc.DQUOT,
  EFBIG: Errc.FBIG,
  EROFS: Errc.ROFS,
  EIO: Errc.IO,
  ENXIO: Errc.IO,
  ENODEV: Errc.IO,
  EUCLEAN: Errc.IO,
  ESTALE: Errc.IO,
  EMFILE: Errc.DELAY,
  ENFILE: Errc.DELAY,
  EAGAIN: Errc.DELAY,
  EBUSY: Errc.DELAY,
  ENOMEM: Errc.DELAY,
  EINTR: Errc.DELAY,
  ETIMEDOUT: Errc.DELAY,
});

export function errnoToErrc(code: string | undefined): Errc {
  return (code && ERRNO_TO_ERRC[code]) || Errc.IO;
}

/** Wraps any thrown value from fs calls as a CoreError (CoreErrors pass through). */
export function toCoreError(e: unknown, what: string): CoreError {
  if (e instanceof CoreError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return new CoreError(errnoToErrc(code), `${what}: ${code ?? String(e)}`);
}
