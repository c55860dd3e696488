/**
 * OP_EXCHANGE_ID (RFC 8881 §18.35): a client owner gets a client id. The cases of §18.35.4:
 *
 *   update flag, confirmed record:   same verifier → that record; other verifier → NOT_SAME;
 *                                    other principal → PERM.   No confirmed record → NOENT.
 *   no update flag, confirmed record, same verifier and principal → that record (CONFIRMED_R)
 *                                    other verifier (client rebooted) → a new unconfirmed record; the old
 *                                    one is expired when the new one is confirmed (CREATE_SESSION)
 *                                    other principal: CLID_INUSE while the old one holds state, else
 *                                    the old record is removed at once (case 3)
 *   no confirmed record               → a new unconfirmed record (replacing an unconfirmed one)
 *
 * State protection: SP4_NONE only (SP4_MACH_CRED and SP4_SSV need RPCSEC_GSS: NFS4ERR_NOTSUPP). The
 * server is never a pNFS server (EXCHGID4_FLAG_USE_NON_PNFS).
 */
import { XdrError } from '../../xdr/errors';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { AUTH_SYS, type RpcAuth } from '../../rpc/types';
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import type { ClientRecord } from '../state/clients';
import {
  EXCHGID4_CLIENT_FLAGS,
  EXCHGID4_FLAG_CONFIRMED_R,
  EXCHGID4_FLAG_UPD_CONFIRMED_REC_A,
  EXCHGID4_FLAG_USE_NON_PNFS,
  NFS4_LIST_MAX,
  NFS4_OPAQUE_LIMIT,
  nfs_opnum4,
  nfsstat4,
  state_protect_how4,
  type client_owner4,
  type nfs_impl_id4,
  type server_owner4,
  type state_protect_ops4,
} from '../types';
import { decodeBitmap4, decodeNfsImplId4, decodeVerifier4, encodeBitmap4, encodeNfsImplId4, encodeVerifier4 } from '../xdr';

/** union state_protect4_a switch (state_protect_how4 spa_how) { SP4_NONE: void; SP4_MACH_CRED: state_protect_ops4; SP4_SSV: ssv_sp_parms4 }; */
export type state_protect4_a =
  | { spa_how: state_protect_how4.SP4_NONE }
  | { spa_how: state_protect_how4.SP4_MACH_CRED; spa_mach_ops: state_protect_ops4 }
  | { spa_how: state_protect_how4.SP4_SSV; ssp_ops: state_protect_ops4; ssp_hash_algs: Buffer[]; ssp_encr_algs: Buffer[]; ssp_window: number; ssp_num_gss_handles: number };

/** struct EXCHANGE_ID4args { client_owner4 eia_clientowner; uint32_t eia_flags; state_protect4_a eia_state_protect; nfs_impl_id4 eia_client_impl_id<1>; }; */
export interface EXCHANGE_ID4args {
  eia_clientowner: client_owner4;
  eia_flags: number;
  eia_state_protect: state_protect4_a;
  eia_client_impl_id: nfs_impl_id4[];
}

/** EXCHANGE_ID4resok, with state_protect4_r always SP4_NONE. */
export interface EXCHANGE_ID4resok {
  eir_clientid: bigint;
  eir_sequenceid: number;
  eir_flags: number;
  eir_state_protect: state_protect_how4.SP4_NONE;
  eir_server_owner: server_owner4;
  eir_server_scope: Buffer;
  eir_server_impl_id: nfs_impl_id4[];
}

function decodeOps(r: XdrReader): state_protect_ops4 {
  return { spo_must_enforce: decodeBitmap4(r), spo_must_allow: decodeBitmap4(r) };
}

function encodeOps(w: XdrWriter, o: state_protect_ops4): void {
  encodeBitmap4(w, o.spo_must_enforce);
  encodeBitmap4(w, o.spo_must_allow);
}

function decodeProtect(r: XdrReader): state_protect4_a {
  const how = r.uint32();
  switch (how) {
    case state_protect_how4.SP4_NONE:
      return { spa_how: how };
    case state_protect_how4.SP4_MACH_CRED:
      return { spa_how: how, spa_mach_ops: decodeOps(r) };
    case state_protect_how4.SP4_SSV:
      return {
        spa_how: how,
        ssp_ops: decodeOps(r),
        ssp_hash_algs: r.array(NFS4_LIST_MAX, (x) => Buffer.from(x.opaque(NFS4_OPAQUE_LIMIT))),
        ssp_encr_algs: r.array(NFS4_LIST_MAX, (x) => Buffer.from(x.opaque(NFS4_OPAQUE_LIMIT))),
        ssp_window: r.uint32(),
        ssp_num_gss_handles: r.uint32(),
      };
    default:
      throw new XdrError(`bad state_protect_how4 ${how}`);
  }
}

function encodeProtect(w: XdrWriter, p: state_protect4_a): void {
  w.uint32(p.spa_how);
  if (p.spa_how === state_protect_how4.SP4_MACH_CRED) encodeOps(w, p.spa_mach_ops);
  else if (p.spa_how === state_protect_how4.SP4_SSV) {
    encodeOps(w, p.ssp_ops);
    w.uint32(p.ssp_hash_algs.length);
    for (const a of p.ssp_hash_algs) w.opaque(a);
    w.uint32(p.ssp_encr_algs.length);
    for (const a of p.ssp_encr_algs) w.opaque(a);
    w.uint32(p.ssp_window);
    w.uint32(p.ssp_num_gss_handles);
  }
}

/** Who is asking, for the principal checks of EXCHANGE_ID / CREATE_SESSION. */
export function principalOf(auth: RpcAuth): string {
  return auth.flavor === AUTH_SYS ? `sys:${auth.uid}` : 'none';
}

const SERVER_IMPL: nfs_impl_id4 = {
  nii_domain: Buffer.from('gateway.invalid'),
  nii_name: Buffer.from('gateway NFSv4 server'),
  nii_date: { seconds: 0n, nseconds: 0 },
};

export const EXCHANGE_ID: Nfs4Op<EXCHANGE_ID4args, EXCHANGE_ID4resok> = {
  opnum: nfs_opnum4.OP_EXCHANGE_ID,
  name: 'EXCHANGE_ID',
  decodeArgs: (r) => ({
    eia_clientowner: { co_verifier: decodeVerifier4(r), co_ownerid: Buffer.from(r.opaque(NFS4_OPAQUE_LIMIT)) },
    eia_flags: r.uint32(),
    eia_state_protect: decodeProtect(r),
    eia_client_impl_id: r.array(1, decodeNfsImplId4),
  }),
  encodeArgs: (w, a) => {
    encodeVerifier4(w, a.eia_clientowner.co_verifier);
    w.opaque(a.eia_clientowner.co_ownerid);
    w.uint32(a.eia_flags);
    encodeProtect(w, a.eia_state_protect);
    w.uint32(a.eia_client_impl_id.length);
    for (const i of a.eia_client_impl_id) encodeNfsImplId4(w, i);
  },
  async handle(c, a) {
    const flags = a.eia_flags >>> 0;
    if (flags & ~EXCHGID4_CLIENT_FLAGS) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `eia_flags ${flags.toString(16)}`);
    if (a.eia_state_protect.spa_how !== state_protect_how4.SP4_NONE) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_NOTSUPP, 'state protection needs RPCSEC_GSS');
    }
    const { co_verifier: verifier, co_ownerid: ownerId } = a.eia_clientowner;
    const principal = principalOf(c.rpc.auth);
    const table = c.server.clients;
    const conf = table.confirmedFor(ownerId);
    let rec: ClientRecord;
    if (flags & EXCHGID4_FLAG_UPD_CONFIRMED_REC_A) {
      if (!conf) throw new Nfs4Error(nfsstat4.NFS4ERR_NOENT, 'no confirmed record to update');
      if (!conf.verifier.equals(verifier)) throw new Nfs4Error(nfsstat4.NFS4ERR_NOT_SAME);
      if (conf.principal !== principal) throw new Nfs4Error(nfsstat4.NFS4ERR_PERM);
      rec = conf;
    } else if (conf && conf.verifier.equals(verifier) && conf.principal === principal) {
      rec = conf;
    } else {
      if (conf && conf.principal !== principal) {
        if (conf.sessions.size > 0 || c.server.states.countFor(conf) > 0) throw new Nfs4Error(nfsstat4.NFS4ERR_CLID_INUSE, 'owner in use by another principal');
        c.server.expireClient(conf, 'replaced by another principal');
      }
      rec = table.create(ownerId, verifier, principal, c.minor, c.server.now());
    }
    c.server.renew(rec);
    return {
      eir_clientid: rec.clientid,
      eir_sequenceid: (rec.csSeq + 1) >>> 0,
      eir_flags: EXCHGID4_FLAG_USE_NON_PNFS | (rec.confirmed ? EXCHGID4_FLAG_CONFIRMED_R : 0),
      eir_state_protect: state_protect_how4.SP4_NONE,
      eir_server_owner: { so_minor_id: 0n, so_major_id: c.server.serverOwner },
      eir_server_scope: c.server.serverOwner,
      eir_server_impl_id: [SERVER_IMPL],
    };
  },
  encodeOk: (w, r) => {
    w.uint64(r.eir_clientid);
    w.uint32(r.eir_sequenceid);
    w.uint32(r.eir_flags);
    w.uint32(r.eir_state_protect);
    w.uint64(r.eir_server_owner.so_minor_id);
    w.opaque(r.eir_server_owner.so_major_id);
    w.opaque(r.eir_server_scope);
    w.uint32(r.eir_server_impl_id.length);
    for (const i of r.eir_server_impl_id) encodeNfsImplId4(w, i);
  },
  decodeOk: (r) => {
    const eir_clientid = r.uint64();
    const eir_sequenceid = r.uint32();
    const eir_flags = r.uint32();
    const how = r.uint32();
    if (how !== state_protect_how4.SP4_NONE) throw new XdrError(`this client side decodes SP4_NONE only, got ${how}`);
    const so_minor_id = r.uint64();
    const so_major_id = Buffer.from(r.opaque(NFS4_OPAQUE_LIMIT));
    const eir_server_scope = Buffer.from(r.opaque(NFS4_OPAQUE_LIMIT));
    return {
      eir_clientid,
      eir_sequenceid,
      eir_flags,
      eir_state_protect: how,
      eir_server_owner: { so_minor_id, so_major_id },
      eir_server_scope,
      eir_server_impl_id: r.array(1, decodeNfsImplId4),
    };
  },
};
