/** The NFSv3 procedures in spec order (RFC 1813 §3.3): index = procedure number. */
import type { AnyNfs3Procedure } from './procedure';
import { ACCESS } from './procs/access';
import { COMMIT } from './procs/commit';
import { CREATE } from './procs/create';
import { FSINFO } from './procs/fsinfo';
import { FSSTAT } from './procs/fsstat';
import { GETATTR } from './procs/getattr';
import { LINK } from './procs/link';
import { LOOKUP } from './procs/lookup';
import { MKDIR } from './procs/mkdir';
import { MKNOD } from './procs/mknod';
import { NULL } from './procs/null';
import { PATHCONF } from './procs/pathconf';
import { READ } from './procs/read';
import { READDIR } from './procs/readdir';
import { READDIRPLUS } from './procs/readdirplus';
import { READLINK } from './procs/readlink';
import { REMOVE } from './procs/remove';
import { RENAME } from './procs/rename';
import { RMDIR } from './procs/rmdir';
import { SETATTR } from './procs/setattr';
import { SYMLINK } from './procs/symlink';
import { WRITE } from './procs/write';

export const NFS3_PROCEDURES: readonly AnyNfs3Procedure[] = [
  NULL,
  GETATTR,
  SETATTR,
  LOOKUP,
  ACCESS,
  READLINK,
  READ,
  WRITE,
  CREATE,
  MKDIR,
  SYMLINK,
  MKNOD,
  REMOVE,
  RMDIR,
  RENAME,
  LINK,
  READDIR,
  READDIRPLUS,
  FSSTAT,
  FSINFO,
  PATHCONF,
  COMMIT,
];
