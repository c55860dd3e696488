/** OP_RESTOREFH (RFC 8881 §18.27): current filehandle (and stateid) ← saved; none saved → NFS4ERR_RESTOREFH. */
import { Nfs4Error } from '../errors';
import { voidArgs, voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';

export const RESTOREFH: Nfs4Op<undefined, undefined> = {
  opnum: nfs_opnum4.OP_RESTOREFH,
  name: 'RESTOREFH',
  ...voidArgs,
  async handle(c) {
    if (!c.saved) throw new Nfs4Error(nfsstat4.NFS4ERR_RESTOREFH);
    c.cur = c.saved;
    c.curStateid = c.savedStateid;
    return undefined;
  },
  ...voidOk,
};
