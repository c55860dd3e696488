/**
 * OP_SECINFO (RFC 8881 §18.29): the flavors for a name in the current directory (the name must exist).
 * On success the current filehandle is consumed (RFC 8881 §2.6.3.1.1.8).
 */
import { Nfs4Error } from '../errors';
import { checkComponent, lookupPseudo, requireDir } from '../helpers';
import type { Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';
import { decodeComponent4, encodeComponent4 } from '../xdr';
import { SERVER_FLAVORS, decodeSecinfo4resok, encodeSecinfo4resok, secinfo4resokBytes, type SECINFO4resok } from './secinfo-common';

/** struct SECINFO4args { component4 name; }; */
export interface SECINFO4args {
  name: Buffer;
}

export const SECINFO: Nfs4Op<SECINFO4args, SECINFO4resok> = {
  opnum: nfs_opnum4.OP_SECINFO,
  name: 'SECINFO',
  decodeArgs: (r) => ({ name: decodeComponent4(r) }),
  encodeArgs: (w, a) => encodeComponent4(w, a.name),
  async handle(c, a) {
    const fh = c.curFh();
    if (fh.kind === 'pseudo') {
      checkComponent(a.name, 255);
      await lookupPseudo(c, a.name);
    } else {
      checkComponent(a.name, fh.fs.limits.maxNameBytes);
      await requireDir(c, fh);
      await fh.fs.lookup(fh.cred, fh.handle, a.name);
    }
    if (SERVER_FLAVORS.length === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_WRONGSEC);
    c.cur = undefined;
    c.curStateid = undefined;
    return SERVER_FLAVORS;
  },
  encodeOk: encodeSecinfo4resok,
  resultBytes: secinfo4resokBytes,
  decodeOk: decodeSecinfo4resok,
};
