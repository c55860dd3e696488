/** OP_SAVEFH (RFC 8881 §18.28): saved filehandle (and, 4.1, saved stateid) ← current. */
import { voidArgs, voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4 } from '../types';

export const SAVEFH: Nfs4Op<undefined, undefined> = {
  opnum: nfs_opnum4.OP_SAVEFH,
  name: 'SAVEFH',
  ...voidArgs,
  async handle(c) {
    c.saved = c.curFh();
    c.savedStateid = c.curStateid;
    return undefined;
  },
  ...voidOk,
};
