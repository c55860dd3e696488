/**
 * OP_SECINFO_NO_NAME (RFC 8881 §18.45): the flavors for the current filehandle (SECINFO_STYLE4_CURRENT_FH)
 * or its parent (SECINFO_STYLE4_PARENT; the pseudo root has none: NFS4ERR_NOENT). Consumes the current
 * filehandle on success.
 */
import { XdrError } from '../../xdr/errors';
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, secinfo_style4 } from '../types';
import { SERVER_FLAVORS, decodeSecinfo4resok, encodeSecinfo4resok, secinfo4resokBytes, type SECINFO4resok } from './secinfo-common';

export const SECINFO_NO_NAME: Nfs4Op<secinfo_style4, SECINFO4resok> = {
  opnum: nfs_opnum4.OP_SECINFO_NO_NAME,
  name: 'SECINFO_NO_NAME',
  decodeArgs: (r) => {
    const s = r.uint32();
    if (s !== secinfo_style4.SECINFO_STYLE4_CURRENT_FH && s !== secinfo_style4.SECINFO_STYLE4_PARENT) throw new XdrError(`bad secinfo_style4 ${s}`);
    return s;
  },
  encodeArgs: (w, a) => w.uint32(a),
  async handle(c, style) {
    const fh = c.curFh();
    if (style === secinfo_style4.SECINFO_STYLE4_PARENT && fh.kind === 'pseudo') {
      throw new Nfs4Error(nfsstat4.NFS4ERR_NOENT, 'the pseudo root has no parent');
    }
    if (fh.kind === 'fs') await fh.fs.getattr(fh.cred, fh.handle);
    c.cur = undefined;
    c.curStateid = undefined;
    return SERVER_FLAVORS;
  },
  encodeOk: encodeSecinfo4resok,
  resultBytes: secinfo4resokBytes,
  decodeOk: decodeSecinfo4resok,
};
