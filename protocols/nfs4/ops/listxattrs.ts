/**
 * OP_LISTXATTRS (RFC 8276 §8.4.3): the names of a file's extended attributes, paged. The cookie is the
 * index of the next name in byte order (as Linux knfsd's is), so a set changed between pages may move
 * names across the page boundary; a cookie past the end is NFS4ERR_BAD_COOKIE. lxa_maxcount bounds the
 * whole LISTXATTRS4resok (cookie, array length, names, eof): NFS4ERR_TOOSMALL if not even one name fits.
 */
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';
import { pad4 } from '../xdr';
import { decodeXattrKey4 } from './xattr-common';

/** struct LISTXATTRS4args { nfs_cookie4 lxa_cookie; count4 lxa_maxcount; }; */
export interface LISTXATTRS4args {
  lxa_cookie: bigint;
  lxa_maxcount: number;
}

/** struct LISTXATTRS4resok { nfs_cookie4 lxr_cookie; xattrkey4 lxr_names<>; bool lxr_eof; }; */
export interface LISTXATTRS4resok {
  lxr_cookie: bigint;
  lxr_names: Buffer[];
  lxr_eof: boolean;
}

/** cookie + array length + eof. */
const FIXED = 8 + 4 + 4;
/** Names decoded in one reply (client side): far more than a file may hold (the core bounds the set). */
const MAX_NAMES = 65536;

export const LISTXATTRS: Nfs4Op<LISTXATTRS4args, LISTXATTRS4resok> = {
  opnum: nfs_opnum4.OP_LISTXATTRS,
  name: 'LISTXATTRS',
  decodeArgs: (r) => ({ lxa_cookie: r.uint64(), lxa_maxcount: r.uint32() }),
  encodeArgs: (w, a) => {
    w.uint64(a.lxa_cookie);
    w.uint32(a.lxa_maxcount);
  },
  async handle(c, a) {
    const fh = c.curFs(nfsstat4.NFS4ERR_NOTSUPP);
    const all = await fh.fs.listXattrs(fh.cred, fh.handle);
    if (a.lxa_cookie > BigInt(all.length)) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_COOKIE, 'cookie past the last name');
    const start = Number(a.lxa_cookie);
    let room = a.lxa_maxcount - FIXED;
    const names: Buffer[] = [];
    for (let i = start; i < all.length; i++) {
      const cost = 4 + pad4(all[i]!.length);
      if (cost > room) break;
      room -= cost;
      names.push(all[i]!);
    }
    if (room < 0 || (names.length === 0 && start < all.length)) throw new Nfs4Error(nfsstat4.NFS4ERR_TOOSMALL, `maxcount ${a.lxa_maxcount}`);
    const next = start + names.length;
    return { lxr_cookie: BigInt(next), lxr_names: names, lxr_eof: next === all.length };
  },
  encodeOk: (w, r) => {
    w.uint64(r.lxr_cookie);
    w.uint32(r.lxr_names.length);
    for (const n of r.lxr_names) w.opaque(n);
    w.bool(r.lxr_eof);
  },
  resultBytes: (r) => r.lxr_names.reduce((n, k) => n + 4 + pad4(k.length), FIXED),
  decodeOk: (r) => {
    const lxr_cookie = r.uint64();
    const n = r.uint32();
    if (n > MAX_NAMES) throw new Error(`LISTXATTRS reply with ${n} names`);
    const lxr_names: Buffer[] = [];
    for (let i = 0; i < n; i++) lxr_names.push(decodeXattrKey4(r));
    return { lxr_cookie, lxr_names, lxr_eof: r.bool() };
  },
};
