/**
 * OP_RENAME (RFC 8881 §18.26): saved filehandle = source directory, current = target directory. Objects
 * of different exports (or the pseudo root and an export) are NFS4ERR_XDEV.
 */
import { Nfs4Error } from '../errors';
import { changeInfo, checkComponent } from '../helpers';
import { fixedResult, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type change_info4 } from '../types';
import { decodeChangeInfo4, decodeComponent4, encodeChangeInfo4, encodeComponent4 } from '../xdr';

/** struct RENAME4args { component4 oldname; component4 newname; }; */
export interface RENAME4args {
  oldname: Buffer;
  newname: Buffer;
}

/** struct RENAME4resok { change_info4 source_cinfo; change_info4 target_cinfo; }; */
export interface RENAME4resok {
  source_cinfo: change_info4;
  target_cinfo: change_info4;
}

export const RENAME: Nfs4Op<RENAME4args, RENAME4resok> = {
  opnum: nfs_opnum4.OP_RENAME,
  name: 'RENAME',
  decodeArgs: (r) => ({ oldname: decodeComponent4(r), newname: decodeComponent4(r) }),
  encodeArgs: (w, a) => {
    encodeComponent4(w, a.oldname);
    encodeComponent4(w, a.newname);
  },
  async handle(c, a) {
    const src = c.savedFh();
    const dst = c.curFh();
    if (src.kind === 'pseudo' && dst.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_ROFS, 'pseudo-filesystem root');
    if (src.kind === 'pseudo' || dst.kind === 'pseudo' || src.exportId !== dst.exportId || src.fs !== dst.fs) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_XDEV);
    }
    c.writable(src);
    c.writable(dst);
    checkComponent(a.oldname, src.fs.limits.maxNameBytes);
    checkComponent(a.newname, dst.fs.limits.maxNameBytes);
    const r = await dst.fs.rename(dst.cred, src.handle, a.oldname, dst.handle, a.newname);
    return { source_cinfo: changeInfo(r.fromDir), target_cinfo: changeInfo(r.toDir) };
  },
  ...fixedResult(40),
  encodeOk: (w, r) => {
    encodeChangeInfo4(w, r.source_cinfo);
    encodeChangeInfo4(w, r.target_cinfo);
  },
  decodeOk: (r) => ({ source_cinfo: decodeChangeInfo4(r), target_cinfo: decodeChangeInfo4(r) }),
};
