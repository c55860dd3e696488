/**
 * OP_DEALLOCATE (RFC 7862 §15.4): punches a hole: whole chunks in the range lose their objects, partial
 * ones are zeroed; reads of the range return zeros and the file size does not change.
 */
import { deallocate } from '../../../cluster/vfs/sparse';
import { voidOk, type Nfs4Op } from '../op';
import { checkStateid } from '../stateid';
import { nfs_opnum4, nfsstat4 } from '../types';
import { rangeArgs, type ALLOCATE4args } from './allocate';
import { checkRange64, sparseHost } from './sparse-common';

export const DEALLOCATE: Nfs4Op<ALLOCATE4args, undefined> = {
  opnum: nfs_opnum4.OP_DEALLOCATE,
  name: 'DEALLOCATE',
  ...rangeArgs,
  async handle(c, a) {
    const fh = c.writable(c.curFs(nfsstat4.NFS4ERR_ISDIR));
    checkStateid(c, a.stateid, fh, 'write');
    checkRange64(a.offset, a.length);
    await deallocate(sparseHost(fh), fh.cred, fh.handle, a.offset, a.length);
    return undefined;
  },
  ...voidOk,
};
