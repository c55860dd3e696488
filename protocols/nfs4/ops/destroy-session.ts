/**
 * OP_DESTROY_SESSION (RFC 8881 §18.37). Unknown session → BADSESSION. In a COMPOUND sequenced on the same
 * session it must be the last op (NFS4ERR_NOT_ONLY_OP otherwise).
 */
import { Nfs4Error } from '../errors';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';
import { decodeSessionid4, encodeSessionid4 } from '../xdr';

/** struct DESTROY_SESSION4args { sessionid4 dsa_sessionid; }; */
export interface DESTROY_SESSION4args {
  dsa_sessionid: Buffer;
}

export const DESTROY_SESSION: Nfs4Op<DESTROY_SESSION4args, undefined> = {
  opnum: nfs_opnum4.OP_DESTROY_SESSION,
  name: 'DESTROY_SESSION',
  decodeArgs: (r) => ({ dsa_sessionid: decodeSessionid4(r) }),
  encodeArgs: (w, a) => encodeSessionid4(w, a.dsa_sessionid),
  async handle(c, a) {
    const s = c.server.sessions.get(a.dsa_sessionid);
    if (!s) throw new Nfs4Error(nfsstat4.NFS4ERR_BADSESSION);
    if (c.session === s && c.opIndex !== c.opCount - 1) throw new Nfs4Error(nfsstat4.NFS4ERR_NOT_ONLY_OP, 'DESTROY_SESSION of this session must be last');
    c.server.sessions.destroy(s);
    c.log.info({ clientid: s.client.clientid.toString(16), session: s.id.toString('hex') }, 'NFSv4.1 session destroyed');
    return undefined;
  },
  ...voidOk,
};
