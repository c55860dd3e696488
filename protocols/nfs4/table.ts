/**
 * The operations this server implements, by op number (spec order). An op number in range for the
 * COMPOUND's minor version but absent here is answered NFS4ERR_NOTSUPP (compound.ts); so is a 4.0-only op
 * in a 4.1+ COMPOUND.
 *
 * Not implemented yet (NFS4ERR_NOTSUPP): DELEGPURGE, DELEGRETURN (no delegations are ever granted),
 * OPENATTR, BACKCHANNEL_CTL, GET_DIR_DELEGATION, the pNFS ops, SET_SSV, WANT_DELEGATION and
 * the other NFSv4.2 ops (OFFLOAD_*, COPY_NOTIFY, READ_PLUS, IO_ADVISE, WRITE_SAME, LAYOUT*).
 */
import type { AnyNfs4Op } from './op';
import { ACCESS } from './ops/access';
import { ALLOCATE } from './ops/allocate';
import { CLONE } from './ops/clone';
import { COPY } from './ops/copy';
import { DEALLOCATE } from './ops/deallocate';
import { SEEK } from './ops/seek';
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
import { LOCK } from './ops/lock';
import { LOCKT } from './ops/lockt';
import { LOCKU } from './ops/locku';
import { OPEN_CONFIRM } from './ops/open-confirm';
import { RELEASE_LOCKOWNER } from './ops/release-lockowner';
import { RENEW } from './ops/renew';
import { SETCLIENTID } from './ops/setclientid';
import { SETCLIENTID_CONFIRM } from './ops/setclientid-confirm';
import { LOOKUP } from './ops/lookup';
import { LOOKUPP } from './ops/lookupp';
import { NVERIFY } from './ops/nverify';
import { VERIFY } from './ops/verify';
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
import { GETXATTR } from './ops/getxattr';
import { LISTXATTRS } from './ops/listxattrs';
import { REMOVEXATTR } from './ops/removexattr';
import { SETXATTR } from './ops/setxattr';

export const NFS4_OP_LIST: readonly AnyNfs4Op[] = [
  ACCESS,
  CLOSE,
  COMMIT,
  CREATE,
  GETATTR,
  GETFH,
  LINK,
  LOCK,
  LOCKT,
  LOCKU,
  LOOKUP,
  LOOKUPP,
  NVERIFY,
  OPEN,
  OPEN_CONFIRM,
  OPEN_DOWNGRADE,
  PUTFH,
  PUTPUBFH,
  PUTROOTFH,
  READ,
  READDIR,
  READLINK,
  REMOVE,
  RENAME,
  RENEW,
  RESTOREFH,
  SAVEFH,
  SECINFO,
  SETATTR,
  SETCLIENTID,
  SETCLIENTID_CONFIRM,
  VERIFY,
  WRITE,
  RELEASE_LOCKOWNER,
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
  ALLOCATE,
  COPY,
  DEALLOCATE,
  SEEK,
  CLONE,
  GETXATTR,
  SETXATTR,
  LISTXATTRS,
  REMOVEXATTR,
];

export const NFS4_OPS: ReadonlyMap<number, AnyNfs4Op> = new Map(NFS4_OP_LIST.map((o) => [o.opnum, o]));
