/** OP_GETXATTR (RFC 8276 §8.4.1): the value of one extended attribute; NFS4ERR_NOXATTR if it is not set. */
import type { Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';
import { pad4 } from '../xdr';
import { decodeXattrKey4, requireXattrName, XATTR_VALUE_DECODE_MAX } from './xattr-common';

/** struct GETXATTR4args { xattrkey4 gxa_name; }; */
export interface GETXATTR4args {
  gxa_name: Buffer;
}

/** GETXATTR4res, NFS4_OK: xattrvalue4 gxr_value. */
export interface GETXATTR4resok {
  gxr_value: Buffer;
}

export const GETXATTR: Nfs4Op<GETXATTR4args, GETXATTR4resok> = {
  opnum: nfs_opnum4.OP_GETXATTR,
  name: 'GETXATTR',
  decodeArgs: (r) => ({ gxa_name: decodeXattrKey4(r) }),
  encodeArgs: (w, a) => w.opaque(a.gxa_name),
  async handle(c, a) {
    const fh = c.curFs(nfsstat4.NFS4ERR_NOTSUPP);
    requireXattrName(a.gxa_name);
    return { gxr_value: await fh.fs.getXattr(fh.cred, fh.handle, a.gxa_name) };
  },
  encodeOk: (w, r) => w.opaque(r.gxr_value),
  resultBytes: (r) => 4 + pad4(r.gxr_value.length),
  decodeOk: (r) => ({ gxr_value: Buffer.from(r.opaque(XATTR_VALUE_DECODE_MAX)) }),
};
