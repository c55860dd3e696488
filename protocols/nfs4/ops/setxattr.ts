/**
 * OP_SETXATTR (RFC 8276 §8.4.2): sets one extended attribute. SETXATTR4_CREATE fails NFS4ERR_EXIST on a
 * set name, SETXATTR4_REPLACE NFS4ERR_NOXATTR on a missing one. The change is durable before the reply;
 * sxr_info is the file's change attribute before and after, read in the same transaction (atomic).
 */
import type { XattrHow } from '../../../cluster/vfs/types';
import { XdrError } from '../../xdr/errors';
import { changeInfo } from '../helpers';
import { fixedResult, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type change_info4 } from '../types';
import { decodeChangeInfo4, encodeChangeInfo4 } from '../xdr';
import { decodeXattrKey4, requireXattrName, XATTR_VALUE_DECODE_MAX } from './xattr-common';

/** enum setxattr_option4 { SETXATTR4_EITHER = 0, SETXATTR4_CREATE = 1, SETXATTR4_REPLACE = 2 }; */
export enum setxattr_option4 {
  SETXATTR4_EITHER = 0,
  SETXATTR4_CREATE = 1,
  SETXATTR4_REPLACE = 2,
}

const HOW: Record<setxattr_option4, XattrHow> = {
  [setxattr_option4.SETXATTR4_EITHER]: 'either',
  [setxattr_option4.SETXATTR4_CREATE]: 'create',
  [setxattr_option4.SETXATTR4_REPLACE]: 'replace',
};

/** struct SETXATTR4args { setxattr_option4 sxa_option; xattrkey4 sxa_key; xattrvalue4 sxa_value; }; */
export interface SETXATTR4args {
  sxa_option: setxattr_option4;
  sxa_key: Buffer;
  sxa_value: Buffer;
}

/** SETXATTR4res, NFS4_OK: change_info4 sxr_info. */
export interface SETXATTR4resok {
  sxr_info: change_info4;
}

export const SETXATTR: Nfs4Op<SETXATTR4args, SETXATTR4resok> = {
  opnum: nfs_opnum4.OP_SETXATTR,
  name: 'SETXATTR',
  decodeArgs: (r) => {
    const sxa_option = r.uint32();
    if (!(sxa_option in HOW)) throw new XdrError(`bad setxattr_option4 ${sxa_option}`);
    const sxa_key = decodeXattrKey4(r);
    return { sxa_option, sxa_key, sxa_value: Buffer.from(r.opaque(XATTR_VALUE_DECODE_MAX)) };
  },
  encodeArgs: (w, a) => {
    w.uint32(a.sxa_option);
    w.opaque(a.sxa_key);
    w.opaque(a.sxa_value);
  },
  async handle(c, a) {
    const fh = c.writable(c.curFs(nfsstat4.NFS4ERR_NOTSUPP));
    requireXattrName(a.sxa_key);
    const out = await fh.fs.setXattr(fh.cred, fh.handle, a.sxa_key, a.sxa_value, HOW[a.sxa_option]);
    return { sxr_info: changeInfo(out) };
  },
  ...fixedResult(20),
  encodeOk: (w, r) => encodeChangeInfo4(w, r.sxr_info),
  decodeOk: (r) => ({ sxr_info: decodeChangeInfo4(r) }),
};
