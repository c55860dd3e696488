/**
 * The folded-name index: case-insensitive lookup (DESIGN invariant 8) in one range read instead of a
 * directory scan. Kept by the namespace in the same transaction as every entry change (addEntry and
 * dropEntry in namespace.ts write and delete its rows next to the 'D' entry and the 'C' cookie row), so
 * it is exact on every engine and across gateways sharing one store.
 *
 *   'F' dirId:u64 flen:u16 folded cookie:u64 name → 0x01
 *
 * `folded` is the name's folded form (foldName, UTF-8). Several stored names may fold alike (NFS clients
 * can create "a" and "A"): their rows share the prefix 'F' dirId flen folded and sort by cookie, so the
 * first row is the oldest entry, the same stable choice a cookie-order scan made. Names that are not valid
 * UTF-8 have no row: they are only ever found by their exact bytes.
 *
 * Directories made before the index existed have no rows. A directory inode carries `foldIndexed` once
 * its rows are complete: set at mkdir (an empty directory is complete), or by `buildFoldIndex` for an old
 * one. Until then lookups fall back to scanning. An older gateway rewriting the directory's inode drops
 * the flag (it writes the flags byte with only the bits it knows), so a directory such a gateway changed
 * is scanned, and rebuilt, rather than trusted; a row such a gateway left behind for a removed name is
 * caught by the lookup, which checks each row against the 'D' entry it names.
 */
import { CoreError, Errc } from '../vfs/errors';
import type { Kv, KvTx } from './kv';
import { COOKIE_ROW_VALUE, cookieKey, cookiePrefix, decodeCookieRow, decodeInode, encodeInode, getU64, inodeKey, putU64 } from './records';

export const TAG_FOLD = 0x46; // 'F'

/** Cookie rows indexed per build transaction (bounds a transaction's size on every engine). */
export const BUILD_PAGE = 1024;

/**
 * Folding: Unicode upper-casing of the UTF-8 name, as Windows compares names with its upcase table (the
 * two agree for the characters file names use). undefined for a name that is not valid UTF-8.
 */
export function foldName(name: Buffer): string | undefined {
  // ASCII fast path (the common case): upper-casing is byte-wise, no decoding needed.
  let ascii = true;
  for (let i = 0; i < name.length; i++) {
    if (name[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  const s = name.toString(ascii ? 'latin1' : 'utf8');
  // Not valid UTF-8 (the decoder replaced something): no folded form.
  if (!ascii && !Buffer.from(s, 'utf8').equals(name)) return undefined;
  return s.toUpperCase();
}

/** Where the rows of names folding to `folded` start (all of them share it). */
export function foldPrefix(dirId: bigint, folded: string): Buffer {
  const f = Buffer.from(folded, 'utf8');
  if (f.length > 0xffff) throw new CoreError(Errc.NAMETOOLONG);
  const b = Buffer.allocUnsafe(11 + f.length);
  b[0] = TAG_FOLD;
  putU64(b, 1, dirId);
  b.writeUInt16BE(f.length, 9);
  f.copy(b, 11);
  return b;
}

/** The row of one entry, or undefined for a name without folded form. */
export function foldRowKey(dirId: bigint, cookie: bigint, name: Buffer): Buffer | undefined {
  // ASCII names (the common case) in one buffer: their folded form is the bytes upper-cased, same length.
  let ascii = true;
  for (let i = 0; i < name.length; i++) {
    if (name[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    const n = name.length;
    if (n > 0xffff) throw new CoreError(Errc.NAMETOOLONG);
    const b = Buffer.allocUnsafe(11 + n + 8 + n);
    b[0] = TAG_FOLD;
    putU64(b, 1, dirId);
    b[9] = n >>> 8;
    b[10] = n & 0xff;
    for (let i = 0; i < n; i++) {
      const c = name[i]!;
      b[11 + i] = c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
    }
    putU64(b, 11 + n, cookie);
    name.copy(b, 19 + n);
    return b;
  }
  const folded = foldName(name);
  if (folded === undefined) return undefined;
  const p = foldPrefix(dirId, folded);
  const b = Buffer.allocUnsafe(p.length + 8 + name.length);
  p.copy(b, 0);
  putU64(b, p.length, cookie);
  name.copy(b, p.length + 8);
  return b;
}

export interface FoldRow {
  cookie: bigint;
  name: Buffer;
}

export function decodeFoldRow(key: Buffer): FoldRow {
  if (key.length < 19 || key[0] !== TAG_FOLD) throw new CoreError(Errc.IO, 'corrupt folded-name row');
  const at = 11 + key.readUInt16BE(9);
  if (key.length < at + 8) throw new CoreError(Errc.IO, 'corrupt folded-name row');
  return { cookie: getU64(key, at), name: key.subarray(at + 8) };
}

/** Called by the namespace wherever an entry is added (same transaction). */
export function putFoldRow(tx: KvTx, dirId: bigint, cookie: bigint, name: Buffer): void {
  const k = foldRowKey(dirId, cookie, name);
  if (k) tx.put(k, COOKIE_ROW_VALUE);
}

/** Called by the namespace wherever an entry is dropped (same transaction). */
export function deleteFoldRow(tx: KvTx, dirId: bigint, cookie: bigint, name: Buffer): void {
  const k = foldRowKey(dirId, cookie, name);
  if (k) tx.delete(k);
}

/**
 * Up to `limit` rows of names folding to `folded`, in cookie order, after `after` (a row key already seen).
 * Rows are candidates: the caller checks each against the 'D' entry (see the header on older gateways).
 */
export async function foldCandidates(kv: Kv, dirId: bigint, folded: string, limit: number, after?: Buffer): Promise<Array<FoldRow & { key: Buffer }>> {
  const keys = await kv.rangeKeys({ prefix: foldPrefix(dirId, folded), after, limit });
  return keys.map((key) => ({ ...decodeFoldRow(key), key }));
}

/**
 * Indexes an old directory: its cookie rows are read a page per transaction and their 'F' rows written;
 * the transaction that reaches the end of the directory also reads the directory's inode and sets
 * `foldIndexed`, so an entry added meanwhile (always at the end: cookies only grow) either has its row
 * from addEntry or is read by that last transaction, and a change racing it makes it run again. An entry
 * dropped after its page was indexed takes its row with it (dropEntry). Returns false if the directory
 * is gone or changed generation. `progress.after` (the last cookie indexed) is kept up to date.
 */
export async function buildFoldIndex(kv: Kv, dirId: bigint, dirGen: number, stopped?: () => boolean, progress?: { after: bigint }): Promise<boolean> {
  // `progress` lets a build that failed (Errc.DELAY under a storm of changes to the directory) resume
  // where it stopped: rows written by earlier pages stay exact, since every change since keeps them.
  const at = progress ?? { after: 0n };
  let after = at.after;
  for (;;) {
    if (stopped?.()) return false;
    const r = await kv.txn(async (tx) => {
      const rows = (await tx.rangeKeys({ prefix: cookiePrefix(dirId), start: cookieKey(dirId, after + 1n), limit: BUILD_PAGE })).map(decodeCookieRow);
      for (const row of rows) putFoldRow(tx, dirId, row.cookie, row.name);
      const last = rows.length ? rows[rows.length - 1]!.cookie : after;
      if (rows.length === BUILD_PAGE) return { done: false, last };
      const b = await tx.get(inodeKey(dirId));
      if (!b) return { done: true, ok: false, last };
      const dir = decodeInode(dirId, b);
      if (dir.gen !== dirGen) return { done: true, ok: false, last };
      if (!dir.foldIndexed) {
        dir.foldIndexed = true;
        tx.put(inodeKey(dirId), encodeInode(dir));
      }
      return { done: true, ok: true, last };
    });
    if (r.done) return r.ok === true;
    after = r.last;
    at.after = after;
  }
}
