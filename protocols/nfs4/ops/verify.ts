/** OP_VERIFY (RFC 7530 §16.35, RFC 8881 §18.31): NFS4_OK if the attributes match, else NFS4ERR_NOT_SAME. */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type fattr4 } from '../types';
import { decodeFattr4, encodeFattr4 } from '../xdr';
import { attrsMatch } from './verify-common';

/** struct VERIFY4args { fattr4 obj_attributes; }; */
export interface VERIFY4args {
  obj_attributes: fattr4;
}

export const VERIFY: Nfs4Op<VERIFY4args, undefined> = {
  opnum: nfs_opnum4.OP_VERIFY,
  name: 'VERIFY',
  decodeArgs: (r) => ({ obj_attributes: decodeFattr4(r) }),
  encodeArgs: (w, a) => encodeFattr4(w, a.obj_attributes),
  async handle(c, a) {
    if (!(await attrsMatch(c, a.obj_attributes))) throw new Nfs4Error(nfsstat4.NFS4ERR_NOT_SAME);
    return undefined;
  },
  ...voidOk,
};
