/**
 * NFSPROC3_READLINK (RFC 1813 §3.3.5). Not a symlink: the core says BADTYPE, which the RFC does not list for
 * READLINK; NFS3ERR_INVAL as Linux knfsd answers.
 */
import { Errc } from '../../../cluster/vfs/errors';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, nfsstat3, type READLINK3args, type READLINK3res, type READLINK3resfail, type READLINK3resok } from '../types';
import {
  decodeNfs3Res,
  decodeNfsFh3,
  decodeNfspath3,
  decodePostOpAttr,
  decodePostOpOnly,
  encodeNfs3Res,
  encodeNfsFh3,
  encodePostOpAttr,
  encodePostOpOnly,
} from '../xdr';

export function decodeREADLINK3args(r: XdrReader): READLINK3args {
  return { symlink: decodeNfsFh3(r) };
}

export function encodeREADLINK3args(w: XdrWriter, a: READLINK3args): void {
  encodeNfsFh3(w, a.symlink);
}

export function encodeREADLINK3res(w: XdrWriter, res: READLINK3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.symlink_attributes);
      w.opaque(ok.data);
    },
    encodePostOpOnly('symlink_attributes'),
  );
}

export function decodeREADLINK3res(r: XdrReader): READLINK3res {
  return decodeNfs3Res(
    r,
    (r) => ({ symlink_attributes: decodePostOpAttr(r), data: decodeNfspath3(r) }),
    decodePostOpOnly('symlink_attributes'),
  );
}

export const READLINK: Nfs3Procedure<READLINK3args, READLINK3resok, READLINK3resfail> = {
  proc: NFSPROC3.READLINK,
  name: 'READLINK',
  mutating: false,
  statusOverrides: { [Errc.BADTYPE]: nfsstat3.NFS3ERR_INVAL },
  handles: (a) => [a.symlink],
  decodeArgs: decodeREADLINK3args,
  async handle(ctx, a) {
    const r = await ctx.fs.readlink(ctx.cred, a.symlink);
    return { symlink_attributes: toFattr3(r.attr), data: r.target };
  },
  encodeRes: encodeREADLINK3res,
  failBody: async (_s, a, ctx) => ({ symlink_attributes: await failPostOp(ctx, a.symlink) }),
  encodeArgs: encodeREADLINK3args,
  decodeRes: decodeREADLINK3res,
};
