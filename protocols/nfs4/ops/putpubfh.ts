/**
 * OP_PUTPUBFH (RFC 8881 §18.20): the public filehandle. This server has no separate public file system:
 * the public filehandle is the pseudo root, as RFC 8881 §7.5 allows.
 */
import { PSEUDO_ROOT } from '../fh';
import { voidArgs, voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4 } from '../types';

export const PUTPUBFH: Nfs4Op<undefined, undefined> = {
  opnum: nfs_opnum4.OP_PUTPUBFH,
  name: 'PUTPUBFH',
  ...voidArgs,
  async handle(c) {
    c.cur = PSEUDO_ROOT;
    c.curStateid = undefined;
    return undefined;
  },
  ...voidOk,
};
