/**
 * OP_LINK (RFC 8881 §18.9): saved filehandle = existing object, current = target directory. A directory
 * cannot be linked (NFS4ERR_ISDIR); objects of different exports are NFS4ERR_XDEV.
 */
import { FileType } from '../../../cluster/vfs/types';
import { Nfs4Error } from '../errors';
import { changeInfo, checkComponent } from '../helpers';
import { fixedResult, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type change_info4 } from '../types';
import { decodeChangeInfo4, decodeComponent4, encodeChangeInfo4, encodeComponent4 } from '../xdr';

/** struct LINK4args { component4 newname; }; */
export interface LINK4args {
  newname: Buffer;
}

/** struct LINK4resok { change_info4 cinfo; }; */
export interface LINK4resok {
  cinfo: change_info4;
}

export const LINK: Nfs4Op<LINK4args, LINK4resok> = {
  opnum: nfs_opnum4.OP_LINK,
  name: 'LINK',
  decodeArgs: (r) => ({ newname: decodeComponent4(r) }),
  encodeArgs: (w, a) => encodeComponent4(w, a.newname),
  async handle(c, a) {
    const src = c.savedFh();
    const dir = c.curFh();
    if (src.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_ISDIR, 'pseudo-filesystem root');
    if (dir.kind === 'pseudo' || src.exportId !== dir.exportId || src.fs !== dir.fs) throw new Nfs4Error(nfsstat4.NFS4ERR_XDEV);
    c.writable(dir);
    checkComponent(a.newname, dir.fs.limits.maxNameBytes);
    if ((await src.fs.getattr(src.cred, src.handle)).type === FileType.DIR) throw new Nfs4Error(nfsstat4.NFS4ERR_ISDIR);
    const r = await dir.fs.link(dir.cred, src.handle, dir.handle, a.newname);
    return { cinfo: changeInfo(r.dir) };
  },
  ...fixedResult(20),
  encodeOk: (w, r) => encodeChangeInfo4(w, r.cinfo),
  decodeOk: (r) => ({ cinfo: decodeChangeInfo4(r) }),
};
