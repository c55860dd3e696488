/** OP_GETFH (RFC 8881 §18.8): returns the current filehandle. */
import { voidArgs, type Nfs4Op } from '../op';
import { nfs_opnum4, type nfs_fh4 } from '../types';
import { decodeNfsFh4, encodeNfsFh4 } from '../xdr';

/** struct GETFH4resok { nfs_fh4 object; }; */
export interface GETFH4resok {
  object: nfs_fh4;
}

export const GETFH: Nfs4Op<undefined, GETFH4resok> = {
  opnum: nfs_opnum4.OP_GETFH,
  name: 'GETFH',
  ...voidArgs,
  async handle(c) {
    return { object: c.curFh().handle };
  },
  resultBytes: (r) => 4 + ((r.object.length + 3) & ~3),
  encodeOk: (w, r) => encodeNfsFh4(w, r.object),
  decodeOk: (r) => ({ object: Buffer.from(decodeNfsFh4(r)) }),
};
