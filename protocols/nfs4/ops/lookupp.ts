/**
 * OP_LOOKUPP (RFC 8881 §18.14): the current filehandle becomes its parent directory. At an export's root
 * that is the pseudo root; at the pseudo root there is no parent: NFS4ERR_NOENT.
 */
import { Nfs4Error } from '../errors';
import { PSEUDO_ROOT } from '../fh';
import { requireDir } from '../helpers';
import { voidArgs, voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4 } from '../types';

const DOTDOT = Buffer.from('..');

export const LOOKUPP: Nfs4Op<undefined, undefined> = {
  opnum: nfs_opnum4.OP_LOOKUPP,
  name: 'LOOKUPP',
  ...voidArgs,
  async handle(c) {
    const fh = c.curFh();
    if (fh.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_NOENT, 'the pseudo root has no parent');
    await requireDir(c, fh);
    if (await c.server.isExportRoot(fh)) c.cur = PSEUDO_ROOT;
    else c.cur = { ...fh, handle: (await fh.fs.lookup(fh.cred, fh.handle, DOTDOT)).handle };
    c.curStateid = undefined;
    return undefined;
  },
  ...voidOk,
};
