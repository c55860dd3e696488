/**
 * OP_GETATTR (RFC 8881 §18.7): the requested attributes this server supports, in a fattr4 whose bitmap
 * says which were returned. A write-only attribute in the request is NFS4ERR_INVAL.
 */
import { buildFattr4, checkReadable } from '../attrs';
import type { Nfs4Op } from '../op';
import { nfs_opnum4, type bitmap4, type fattr4 } from '../types';
import { bitmapSize, decodeBitmap4, decodeFattr4, encodeBitmap4, encodeFattr4 } from '../xdr';

/** struct GETATTR4args { bitmap4 attr_request; }; */
export interface GETATTR4args {
  attr_request: bitmap4;
}

/** struct GETATTR4resok { fattr4 obj_attributes; }; */
export interface GETATTR4resok {
  obj_attributes: fattr4;
}

export const GETATTR: Nfs4Op<GETATTR4args, GETATTR4resok> = {
  opnum: nfs_opnum4.OP_GETATTR,
  name: 'GETATTR',
  decodeArgs: (r) => ({ attr_request: decodeBitmap4(r) }),
  encodeArgs: (w, a) => encodeBitmap4(w, a.attr_request),
  async handle(c, a) {
    const fh = c.curFh();
    checkReadable(a.attr_request);
    const src = await c.server.attrSource(fh, a.attr_request);
    return { obj_attributes: buildFattr4(a.attr_request, src, c.minor, c.owners()) };
  },
  resultBytes: (r) => bitmapSize(r.obj_attributes.attrmask) + 4 + ((r.obj_attributes.attr_vals.length + 3) & ~3),
  encodeOk: (w, r) => encodeFattr4(w, r.obj_attributes),
  decodeOk: (r) => {
    const f = decodeFattr4(r);
    return { obj_attributes: { attrmask: f.attrmask, attr_vals: Buffer.from(f.attr_vals) } };
  },
};
