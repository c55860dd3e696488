/** OP_REMOVEXATTR (RFC 8276 §8.4.4): removes one extended attribute; NFS4ERR_NOXATTR if it is not set. */
import { changeInfo } from '../helpers';
import { fixedResult, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type change_info4 } from '../types';
import { decodeChangeInfo4, encodeChangeInfo4 } from '../xdr';
import { decodeXattrKey4, requireXattrName } from './xattr-common';

/** struct REMOVEXATTR4args { xattrkey4 rxa_name; }; */
export interface REMOVEXATTR4args {
  rxa_name: Buffer;
}

/** REMOVEXATTR4res, NFS4_OK: change_info4 rxr_info. */
export interface REMOVEXATTR4resok {
  rxr_info: change_info4;
}

export const REMOVEXATTR: Nfs4Op<REMOVEXATTR4args, REMOVEXATTR4resok> = {
  opnum: nfs_opnum4.OP_REMOVEXATTR,
  name: 'REMOVEXATTR',
  decodeArgs: (r) => ({ rxa_name: decodeXattrKey4(r) }),
  encodeArgs: (w, a) => w.opaque(a.rxa_name),
  async handle(c, a) {
    const fh = c.writable(c.curFs(nfsstat4.NFS4ERR_NOTSUPP));
    requireXattrName(a.rxa_name);
    const out = await fh.fs.setXattr(fh.cred, fh.handle, a.rxa_name, undefined, 'replace');
    return { rxr_info: changeInfo(out) };
  },
  ...fixedResult(20),
  encodeOk: (w, r) => encodeChangeInfo4(w, r.rxr_info),
  decodeOk: (r) => ({ rxr_info: decodeChangeInfo4(r) }),
};
