/** OP_READLINK (RFC 8881 §18.24): the target of a symlink; any other object is NFS4ERR_INVAL. */
import { Errc } from '../../../cluster/vfs/errors';
import type { Nfs4Op } from '../op';
import { voidArgs } from '../op';
import { NFS4_LINKTEXT_MAX, nfs_opnum4, nfsstat4 } from '../types';
import { pad4 } from '../xdr';

/** struct READLINK4resok { linktext4 link; }; */
export interface READLINK4resok {
  link: Buffer;
}

export const READLINK: Nfs4Op<undefined, READLINK4resok> = {
  opnum: nfs_opnum4.OP_READLINK,
  name: 'READLINK',
  ...voidArgs,
  statusOverrides: { [Errc.BADTYPE]: nfsstat4.NFS4ERR_INVAL },
  async handle(c) {
    const fh = c.curFs(nfsstat4.NFS4ERR_INVAL);
    return { link: (await fh.fs.readlink(fh.cred, fh.handle)).target };
  },
  encodeOk: (w, r) => w.opaque(r.link),
  resultBytes: (r) => 4 + pad4(r.link.length),
  decodeOk: (r) => ({ link: Buffer.from(r.opaque(NFS4_LINKTEXT_MAX)) }),
};
