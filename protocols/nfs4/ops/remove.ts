/** OP_REMOVE (RFC 8881 §18.25): removes a non-directory or an empty directory from the current directory. */
import { Errc, isCoreError } from '../../../cluster/vfs/errors';
import type { DirWcc } from '../../../cluster/vfs/types';
import { changeInfo, checkComponent } from '../helpers';
import { fixedResult, type Nfs4Op } from '../op';
import { nfs_opnum4, nfsstat4, type change_info4 } from '../types';
import { decodeChangeInfo4, decodeComponent4, encodeChangeInfo4, encodeComponent4 } from '../xdr';

/** struct REMOVE4args { component4 target; }; */
export interface REMOVE4args {
  target: Buffer;
}

/** struct REMOVE4resok { change_info4 cinfo; }; */
export interface REMOVE4resok {
  cinfo: change_info4;
}

export const REMOVE: Nfs4Op<REMOVE4args, REMOVE4resok> = {
  opnum: nfs_opnum4.OP_REMOVE,
  name: 'REMOVE',
  decodeArgs: (r) => ({ target: decodeComponent4(r) }),
  encodeArgs: (w, a) => encodeComponent4(w, a.target),
  async handle(c, a) {
    const dir = c.writable(c.curFs(nfsstat4.NFS4ERR_ROFS));
    checkComponent(a.target, dir.fs.limits.maxNameBytes);
    let wcc: DirWcc;
    try {
      wcc = await dir.fs.remove(dir.cred, dir.handle, a.target);
    } catch (e) {
      if (!isCoreError(e) || e.errc !== Errc.ISDIR) throw e;
      wcc = await dir.fs.rmdir(dir.cred, dir.handle, a.target);
    }
    return { cinfo: changeInfo(wcc) };
  },
  ...fixedResult(20),
  encodeOk: (w, r) => encodeChangeInfo4(w, r.cinfo),
  decodeOk: (r) => ({ cinfo: decodeChangeInfo4(r) }),
};
