/**
 * OP_PUTFH (RFC 8881 §18.19, RFC 7530 §16.20): the current filehandle becomes the argument. A pseudo-root
 * handle is the pseudo root; any other handle is admitted to its export (malformed → BADHANDLE, unknown
 * export → STALE, client rules → ACCESS / PERM). Whether the object still exists is found by the next op.
 */
import { Nfs4Error } from '../errors';
import { isPseudoHandle, PSEUDO_ROOT, PSEUDO_ROOT_FH } from '../fh';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type nfs_fh4 } from '../types';
import { decodeNfsFh4, encodeNfsFh4 } from '../xdr';

/** struct PUTFH4args { nfs_fh4 object; }; */
export interface PUTFH4args {
  object: nfs_fh4;
}

export const PUTFH: Nfs4Op<PUTFH4args, undefined> = {
  opnum: nfs_opnum4.OP_PUTFH,
  name: 'PUTFH',
  decodeArgs: (r) => ({ object: Buffer.from(decodeNfsFh4(r)) }),
  encodeArgs: (w, a) => encodeNfsFh4(w, a.object),
  async handle(c, a) {
    if (isPseudoHandle(a.object)) {
      if (!a.object.equals(PSEUDO_ROOT_FH)) throw new Nfs4Error(nfsstat4.NFS4ERR_BADHANDLE, 'unknown pseudo handle');
      c.cur = PSEUDO_ROOT;
    } else {
      c.cur = c.server.admit(c.rpc, a.object);
    }
    c.curStateid = undefined;
    return undefined;
  },
  ...voidOk,
};
