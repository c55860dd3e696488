/**
 * Case-insensitive name lookup (DESIGN invariant 8), implemented once in the core for every frontend
 * whose share asks for it (SMB shares by default; NFS stays case-sensitive). Names are stored exactly as
 * created; only the lookup folds case.
 *
 * An exact match is tried first (one point read, the common case). On a miss the core's folded-name
 * index answers (FileSystem.lookupFolded, cluster/meta/fold-index.ts: one range read). Only for a
 * directory that is not indexed yet (made by an older version; its index is then built in the background)
 * is the directory scanned, in pages of SCAN_PAGE key-only entries with the names compared after folding,
 * so memory stays bounded by a page whatever the directory size. When two names differ only in case
 * (possible: NFS clients may create both), the exact match wins, else the first one in cookie order,
 * which is stable; index and scan make the same choice.
 *
 * Folding (foldName, fold-index.ts): Unicode upper-casing of the UTF-8 name, as Windows compares names
 * with its upcase table; names that are not valid UTF-8 only ever match exactly.
 */
import { foldName } from '../meta/fold-index';
import { CoreError, Errc } from './errors';
import type { Attr, Cred, FileSystem, Handle } from './types';

/** Entries read per readdir call while scanning for a case-folded match. */
export const SCAN_PAGE = 1024;

export interface CaselessMatch {
  handle: Handle;
  attr: Attr;
  dirAttr: Attr;
  /** The name as stored (use it for remove/rename/link of the entry found). */
  name: Buffer;
}

export { foldName };

/** Looks `name` up in `dir`, ignoring case when there is no exact match. NOENT when nothing matches. */
export async function lookupCaseless(fs: FileSystem, cred: Cred, dir: Handle, name: Buffer, signal?: AbortSignal): Promise<CaselessMatch> {
  try {
    const r = await fs.lookup(cred, dir, name);
    return { ...r, name };
  } catch (e) {
    if (!(e instanceof CoreError && e.errc === Errc.NOENT)) throw e;
  }
  const want = foldName(name);
  if (want === undefined || name.length === 0) throw new CoreError(Errc.NOENT);
  if (fs.lookupFolded) {
    const r = await fs.lookupFolded(cred, dir, name);
    if (r) return r;
  }
  let cookie = 0n;
  let verifier: Buffer | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const page = await fs.readdir(cred, dir, cookie, verifier, SCAN_PAGE, false);
    for (const d of page.entries) {
      cookie = d.cookie;
      if (foldName(d.name) === want) {
        // Look the stored name up, so handle and attributes come from the one place that mints them.
        const r = await fs.lookup(cred, dir, d.name);
        return { ...r, name: Buffer.from(d.name) };
      }
    }
    if (page.eof || page.entries.length === 0) break;
    verifier = page.verifier;
  }
  throw new CoreError(Errc.NOENT);
}
