/**
 * OP_ALLOCATE (RFC 7862 §15.1): makes the file cover [aa_offset, aa_offset + aa_length): the size grows
 * when the range passes the end. Bricks are thin: no space is reserved (cluster/vfs/sparse.ts).
 */
import { allocate } from '../../../cluster/vfs/sparse';
import { voidOk, type Nfs4Op } from '../op';
import { checkStateid } from '../stateid';
import { nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';
import { checkRange64, sparseHost } from './sparse-common';

/** struct ALLOCATE4args { stateid4 aa_stateid; offset4 aa_offset; length4 aa_length; }; (DEALLOCATE4args alike) */
export interface ALLOCATE4args {
  stateid: stateid4;
  offset: bigint;
  length: bigint;
}

export const rangeArgs = {
  decodeArgs: (r: import('../../xdr/reader').XdrReader): ALLOCATE4args => ({ stateid: decodeStateid4(r), offset: r.uint64(), length: r.uint64() }),
  encodeArgs: (w: import('../../xdr/writer').XdrWriter, a: ALLOCATE4args): void => {
    encodeStateid4(w, a.stateid);
    w.uint64(a.offset);
    w.uint64(a.length);
  },
};

export const ALLOCATE: Nfs4Op<ALLOCATE4args, undefined> = {
  opnum: nfs_opnum4.OP_ALLOCATE,
  name: 'ALLOCATE',
  ...rangeArgs,
  async handle(c, a) {
    const fh = c.writable(c.curFs(nfsstat4.NFS4ERR_ISDIR));
    checkStateid(c, a.stateid, fh, 'write');
    checkRange64(a.offset, a.length);
    await allocate(sparseHost(fh), fh.cred, fh.handle, a.offset, a.length);
    return undefined;
  },
  ...voidOk,
};
