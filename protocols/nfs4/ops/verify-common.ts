/**
 * VERIFY and NVERIFY (RFC 7530 §16.35 / §16.21, RFC 8881 §18.31 / §18.15): compare the client's fattr4
 * with the object's attributes, as the server would encode them for the same mask.
 *
 *   an attribute this server does not support     → NFS4ERR_ATTRNOTSUPP
 *   a write-only attribute (time_*_set), or rdattr_error → NFS4ERR_INVAL
 *   the values are compared as encoded bytes (an fattr4 is canonical XDR for a given mask)
 */
import { buildFattr4, checkReadable, isSupportedAttr } from '../attrs';
import { Nfs4Error } from '../errors';
import type { Nfs4Compound } from '../op';
import { nfsstat4, type fattr4 } from '../types';
import { bitmapBits } from '../xdr';

/** FATTR4_RDATTR_ERROR: only meaningful in READDIR replies. */
const FATTR4_RDATTR_ERROR = 11;

export async function attrsMatch(c: Nfs4Compound, f: fattr4): Promise<boolean> {
  const fh = c.curFh();
  checkReadable(f.attrmask);
  for (const id of bitmapBits(f.attrmask)) {
    if (id === FATTR4_RDATTR_ERROR) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'rdattr_error');
    if (!isSupportedAttr(id, c.minor)) throw new Nfs4Error(nfsstat4.NFS4ERR_ATTRNOTSUPP, `attribute ${id}`);
  }
  const src = await c.server.attrSource(fh, f.attrmask);
  return buildFattr4(f.attrmask, src, c.minor, c.owners()).attr_vals.equals(f.attr_vals);
}
