/** MOUNT codecs shared by several procedures and both versions. Pure and synchronous. */
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import { MNTNAMLEN, MNTPATHLEN, type dirpath, type exports, type mountlist } from './types';

export function decodeDirpath(r: XdrReader): dirpath {
  return Buffer.from(r.string(MNTPATHLEN));
}

export function encodeDirpath(w: XdrWriter, p: dirpath): void {
  w.opaque(p);
}

/** An optional-data chain (`*next`) as an array. */
function encodeChain<T>(w: XdrWriter, items: readonly T[], one: (w: XdrWriter, v: T) => void): void {
  for (const v of items) {
    w.bool(true);
    one(w, v);
  }
  w.bool(false);
}

function decodeChain<T>(r: XdrReader, one: (r: XdrReader) => T): T[] {
  const out: T[] = [];
  while (r.bool()) out.push(one(r));
  return out;
}

export function encodeMountlist(w: XdrWriter, l: mountlist): void {
  encodeChain(w, l, (w, m) => {
    w.opaque(m.ml_hostname);
    w.opaque(m.ml_directory);
  });
}

export function decodeMountlist(r: XdrReader): mountlist {
  return decodeChain(r, (r) => ({ ml_hostname: Buffer.from(r.string(MNTNAMLEN)), ml_directory: decodeDirpath(r) }));
}

export function encodeExports(w: XdrWriter, l: exports): void {
  encodeChain(w, l, (w, e) => {
    w.opaque(e.ex_dir);
    encodeChain(w, e.ex_groups, (w, g) => w.opaque(g));
  });
}

export function decodeExports(r: XdrReader): exports {
  return decodeChain(r, (r) => ({
    ex_dir: decodeDirpath(r),
    ex_groups: decodeChain(r, (r) => Buffer.from(r.string(MNTNAMLEN))),
  }));
}
