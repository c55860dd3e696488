/**
 * OP_LOOKUP (RFC 8881 §18.15): the current filehandle becomes the named object. In the pseudo root the
 * names are the exports this client may see; a LOOKUP there crosses into the export's root (a different
 * fsid, so clients mount it). Current filehandle a symlink → NFS4ERR_SYMLINK, another non-directory →
 * NFS4ERR_NOTDIR; name rules as helpers.checkComponent.
 */
import { isCoreError, Errc } from '../../../cluster/vfs/errors';
import { checkComponent, lookupPseudo, requireDir } from '../helpers';
import { voidOk, type Nfs4Op } from '../op';
import { nfs_opnum4 } from '../types';
import { decodeComponent4, encodeComponent4 } from '../xdr';

/** struct LOOKUP4args { component4 objname; }; */
export interface LOOKUP4args {
  objname: Buffer;
}

const PSEUDO_NAME_MAX = 255;

export const LOOKUP: Nfs4Op<LOOKUP4args, undefined> = {
  opnum: nfs_opnum4.OP_LOOKUP,
  name: 'LOOKUP',
  decodeArgs: (r) => ({ objname: decodeComponent4(r) }),
  encodeArgs: (w, a) => encodeComponent4(w, a.objname),
  async handle(c, a) {
    const fh = c.curFh();
    if (fh.kind === 'pseudo') {
      checkComponent(a.objname, PSEUDO_NAME_MAX);
      c.cur = await lookupPseudo(c, a.objname);
    } else {
      checkComponent(a.objname, fh.fs.limits.maxNameBytes);
      let r;
      try {
        r = await fh.fs.lookup(fh.cred, fh.handle, a.objname);
      } catch (e) {
        if (isCoreError(e) && e.errc === Errc.NOTDIR) await requireDir(c, fh);
        throw e;
      }
      c.cur = { ...fh, handle: r.handle };
    }
    c.curStateid = undefined;
    return undefined;
  },
  ...voidOk,
};
