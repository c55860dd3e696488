/** OP_NVERIFY (RFC 7530 §16.21, RFC 8881 §18.15): NFS4_OK if the attributes differ, else NFS4ERR_SAME. */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';
import { decodeFattr4, encodeFattr4 } from '../xdr';
import type { VERIFY4args } from './verify';
import { attrsMatch } from './verify-common';

export const NVERIFY: Nfs4Op<VERIFY4args, undefined> = {
  opnum: nfs_opnum4.OP_NVERIFY,
  name: 'NVERIFY',
  decodeArgs: (r) => ({ obj_attributes: decodeFattr4(r) }),
  encodeArgs: (w, a) => encodeFattr4(w, a.obj_attributes),
  async handle(c, a) {
    if (await attrsMatch(c, a.obj_attributes)) throw new Nfs4Error(nfsstat4.NFS4ERR_SAME);
    return undefined;
  },
  ...voidOk,
};
