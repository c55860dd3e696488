/**
 * OP_SEEK (RFC 7862 §15.11): the next data or hole at or after sa_offset, from the chunk map (a missing
 * chunk object is a hole; cluster/vfs/sparse.ts). sa_offset at or past the end of the file, or no data
 * after it, → NFS4ERR_NXIO (as lseek's ENXIO). sr_eof: the answer is the end of the file.
 */
import { seek } from '../../../cluster/vfs/sparse';
import { XdrError } from '../../xdr/errors';
import { Nfs4Error } from '../errors';
import { fixedResult, type Nfs4Op } from '../op';
import { checkStateid } from '../stateid';
import { nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';
import { sparseHost } from './sparse-common';

/** enum data_content4 { NFS4_CONTENT_DATA = 0, NFS4_CONTENT_HOLE = 1 }; */
export enum data_content4 {
  NFS4_CONTENT_DATA = 0,
  NFS4_CONTENT_HOLE = 1,
}

/** struct SEEK4args { stateid4 sa_stateid; offset4 sa_offset; data_content4 sa_what; }; */
export interface SEEK4args {
  sa_stateid: stateid4;
  sa_offset: bigint;
  sa_what: data_content4;
}

/** struct seek_res4 { bool sr_eof; offset4 sr_offset; }; */
export interface SEEK4resok {
  sr_eof: boolean;
  sr_offset: bigint;
}

export const SEEK: Nfs4Op<SEEK4args, SEEK4resok> = {
  opnum: nfs_opnum4.OP_SEEK,
  name: 'SEEK',
  decodeArgs: (r) => {
    const sa_stateid = decodeStateid4(r);
    const sa_offset = r.uint64();
    const sa_what = r.uint32();
    if (sa_what !== data_content4.NFS4_CONTENT_DATA && sa_what !== data_content4.NFS4_CONTENT_HOLE) throw new XdrError(`bad data_content4 ${sa_what}`);
    return { sa_stateid, sa_offset, sa_what };
  },
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.sa_stateid);
    w.uint64(a.sa_offset);
    w.uint32(a.sa_what);
  },
  async handle(c, a) {
    const fh = c.curFs(nfsstat4.NFS4ERR_ISDIR);
    checkStateid(c, a.sa_stateid, fh, 'read');
    const r = await seek(sparseHost(fh), fh.cred, fh.handle, a.sa_offset, a.sa_what === data_content4.NFS4_CONTENT_DATA ? 'data' : 'hole');
    if (a.sa_offset >= r.size || r.none) throw new Nfs4Error(nfsstat4.NFS4ERR_NXIO, r.none ? 'no data after the offset' : 'offset past the end of the file');
    return { sr_eof: r.offset >= r.size, sr_offset: r.offset };
  },
  // seek_res4: sr_eof, sr_offset.
  ...fixedResult(12),
  encodeOk: (w, r) => {
    w.bool(r.sr_eof);
    w.uint64(r.sr_offset);
  },
  decodeOk: (r) => ({ sr_eof: r.bool(), sr_offset: r.uint64() }),
};
