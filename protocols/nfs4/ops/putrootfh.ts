/** OP_PUTROOTFH (RFC 8881 §18.21): the current filehandle becomes the pseudo-filesystem root. */
import { PSEUDO_ROOT } from '../fh';
import { voidArgs, voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4 } from '../types';

export const PUTROOTFH: Nfs4Op<undefined, undefined> = {
  opnum: nfs_opnum4.OP_PUTROOTFH,
  name: 'PUTROOTFH',
  ...voidArgs,
  async handle(c) {
    c.cur = PSEUDO_ROOT;
    c.curStateid = undefined;
    return undefined;
  },
  ...voidOk,
};
