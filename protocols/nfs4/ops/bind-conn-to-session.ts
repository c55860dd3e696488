/**
 * OP_BIND_CONN_TO_SESSION (RFC 8881 §18.34): binds this connection to a session. Asked for the back channel
 * too (CDFC4_FORE_OR_BOTH / CDFC4_BACK_OR_BOTH / CDFC4_BACK) over TCP, the connection becomes the session's
 * back channel, checked again with CB_NULL (CDFS4_BOTH / CDFS4_BACK); without a back channel on this
 * transport (UDP) the answer is the fore channel, and a back-only request NFS4ERR_INVAL.
 */
import { XdrError } from '../../xdr/errors';
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { channel_dir_from_client4, channel_dir_from_server4, nfs_opnum4, nfsstat4 } from '../types';
import { decodeSessionid4, encodeSessionid4 } from '../xdr';

/** struct BIND_CONN_TO_SESSION4args { sessionid4 bctsa_sessid; channel_dir_from_client4 bctsa_dir; bool bctsa_use_conn_in_rdma_mode; }; */
export interface BIND_CONN_TO_SESSION4args {
  bctsa_sessid: Buffer;
  bctsa_dir: channel_dir_from_client4;
  bctsa_use_conn_in_rdma_mode: boolean;
}

/** struct BIND_CONN_TO_SESSION4resok { sessionid4 bctsr_sessid; channel_dir_from_server4 bctsr_dir; bool bctsr_use_conn_in_rdma_mode; }; */
export interface BIND_CONN_TO_SESSION4resok {
  bctsr_sessid: Buffer;
  bctsr_dir: channel_dir_from_server4;
  bctsr_use_conn_in_rdma_mode: boolean;
}

const DIRS: ReadonlySet<number> = new Set([
  channel_dir_from_client4.CDFC4_FORE,
  channel_dir_from_client4.CDFC4_BACK,
  channel_dir_from_client4.CDFC4_FORE_OR_BOTH,
  channel_dir_from_client4.CDFC4_BACK_OR_BOTH,
]);

export const BIND_CONN_TO_SESSION: Nfs4Op<BIND_CONN_TO_SESSION4args, BIND_CONN_TO_SESSION4resok> = {
  opnum: nfs_opnum4.OP_BIND_CONN_TO_SESSION,
  name: 'BIND_CONN_TO_SESSION',
  decodeArgs: (r) => {
    const bctsa_sessid = decodeSessionid4(r);
    const dir = r.uint32();
    if (!DIRS.has(dir)) throw new XdrError(`bad channel_dir_from_client4 ${dir}`);
    return { bctsa_sessid, bctsa_dir: dir, bctsa_use_conn_in_rdma_mode: r.bool() };
  },
  encodeArgs: (w, a) => {
    encodeSessionid4(w, a.bctsa_sessid);
    w.uint32(a.bctsa_dir);
    w.bool(a.bctsa_use_conn_in_rdma_mode);
  },
  async handle(c, a) {
    const s = c.server.sessions.get(a.bctsa_sessid);
    if (!s) throw new Nfs4Error(nfsstat4.NFS4ERR_BADSESSION);
    c.server.renew(s.client);
    let dir = channel_dir_from_server4.CDFS4_FORE;
    if (a.bctsa_dir !== channel_dir_from_client4.CDFC4_FORE && c.rpc.backchannel) {
      c.server.bindBackchannel(s, c.rpc.backchannel());
      dir = a.bctsa_dir === channel_dir_from_client4.CDFC4_BACK ? channel_dir_from_server4.CDFS4_BACK : channel_dir_from_server4.CDFS4_BOTH;
    } else if (a.bctsa_dir === channel_dir_from_client4.CDFC4_BACK) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'no back channel on this transport');
    }
    return { bctsr_sessid: s.id, bctsr_dir: dir, bctsr_use_conn_in_rdma_mode: false };
  },
  encodeOk: (w, r) => {
    encodeSessionid4(w, r.bctsr_sessid);
    w.uint32(r.bctsr_dir);
    w.bool(r.bctsr_use_conn_in_rdma_mode);
  },
  decodeOk: (r) => ({ bctsr_sessid: decodeSessionid4(r), bctsr_dir: r.uint32(), bctsr_use_conn_in_rdma_mode: r.bool() }),
};
