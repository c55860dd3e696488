/**
 * The operations this server implements, by op number (spec order). An op number in range for the
 * COMPOUND's minor version but absent here is answered NFS4ERR_NOTSUPP (compound.ts); so is a 4.0-only op
 * in a 4.1+ COMPOUND.
 *
 * Not implemented yet (NFS4ERR_NOTSUPP): DELEGPURGE, DELEGRETURN (no delegations are ever granted), LOCK,
 * LOCKT, LOCKU, NVERIFY, VERIFY, OPENATTR, OPEN_CONFIRM, RENEW, SETCLIENTID, SETCLIENTID_CONFIRM,
 * RELEASE_LOCKOWNER, BACKCHANNEL_CTL, GET_DIR_DELEGATION, the pNFS ops, SET_SSV, WANT_DELEGATION and
 * every NFSv4.2 op (ALLOCATE, COPY, DEALLOCATE, SEEK, CLONE…).
 */
import type { AnyNfs4Op } from './op';
import { ACCESS } from './ops/access';
import { BIND_CONN_TO_SESSION } from './ops/bind-conn-to-session';
import { CLOSE } from './ops/close';
import { COMMIT } from './ops/commit';
import { CREATE } from './ops/create';
import { CREATE_SESSION } from './ops/create-session';
import { DESTROY_CLIENTID } from './ops/destroy-clientid';
import { DESTROY_SESSION } from './ops/destroy-session';
import { EXCHANGE_ID } from './ops/exchange-id';
import { FREE_STATEID } from './ops/free-stateid';
import { GETATTR } from './ops/getattr';
import { GETFH } from './ops/getfh';
import { LINK } from './ops/link';
import { LOOKUP } from './ops/lookup';
import { LOOKUPP } from './ops/lookupp';
import { OPEN } from './ops/open';
import { OPEN_DOWNGRADE } from './ops/open-downgrade';
import { PUTFH } from './ops/putfh';
import { PUTPUBFH } from './ops/putpubfh';
import { PUTROOTFH } from './ops/putrootfh';
import { READ } from './ops/read';
import { READDIR } from './ops/readdir';
import { READLINK } from './ops/readlink';
import { RECLAIM_COMPLETE } from './ops/reclaim-complete';
import { REMOVE } from './ops/remove';
import { RENAME } from './ops/rename';
import { RESTOREFH } from './ops/restorefh';
import { SAVEFH } from './ops/savefh';
import { SECINFO } from './ops/secinfo';
import { SECINFO_NO_NAME } from './ops/secinfo-no-name';
import { SEQUENCE } from './ops/sequence';
import { SETATTR } from './ops/setattr';
import { TEST_STATEID } from './ops/test-stateid';
import { WRITE } from './ops/write';

export const NFS4_OP_LIST: readonly AnyNfs4Op[] = [
  ACCESS,
  CLOSE,
  COMMIT,
  CREATE,
  GETATTR,
  GETFH,
  LINK,
  LOOKUP,
  LOOKUPP,
  OPEN,
  OPEN_DOWNGRADE,
  PUTFH,
  PUTPUBFH,
  PUTROOTFH,
  READ,
  READDIR,
  READLINK,
  REMOVE,
  RENAME,
  RESTOREFH,
  SAVEFH,
  SECINFO,
  SETATTR,
  WRITE,
  BIND_CONN_TO_SESSION,
  EXCHANGE_ID,
  CREATE_SESSION,
  DESTROY_SESSION,
  FREE_STATEID,
  SECINFO_NO_NAME,
  SEQUENCE,
  TEST_STATEID,
  DESTROY_CLIENTID,
  RECLAIM_COMPLETE,
];

export const NFS4_OPS: ReadonlyMap<number, AnyNfs4Op> = new Map(NFS4_OP_LIST.map((o) => [o.opnum, o]));
