/**
 * NFSPROC3_ACCESS (RFC 1813 §3.3.4). The core answers which of the asked bits the credential is granted;
 * on a read-only export MODIFY, EXTEND and DELETE are never granted (as Linux knfsd does), so clients do
 * not offer writes that would only fail with ROFS.
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import {
  ACCESS3_DELETE,
  ACCESS3_EXTEND,
  ACCESS3_MODIFY,
  NFSPROC3,
  type ACCESS3args,
  type ACCESS3res,
  type ACCESS3resfail,
  type ACCESS3resok,
} from '../types';
import {
  decodeNfs3Res,
  decodeNfsFh3,
  decodePostOpAttr,
  decodePostOpOnly,
  encodeNfs3Res,
  encodeNfsFh3,
  encodePostOpAttr,
  encodePostOpOnly,
} from '../xdr';

const WRITE_BITS = ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;

export function decodeACCESS3args(r: XdrReader): ACCESS3args {
  return { object: decodeNfsFh3(r), access: r.uint32() };
}

export function encodeACCESS3args(w: XdrWriter, a: ACCESS3args): void {
  encodeNfsFh3(w, a.object);
  w.uint32(a.access);
}

export function encodeACCESS3res(w: XdrWriter, res: ACCESS3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.obj_attributes);
      w.uint32(ok.access);
    },
    encodePostOpOnly('obj_attributes'),
  );
}

export function decodeACCESS3res(r: XdrReader): ACCESS3res {
  return decodeNfs3Res(r, (r) => ({ obj_attributes: decodePostOpAttr(r), access: r.uint32() }), decodePostOpOnly('obj_attributes'));
}

export const ACCESS: Nfs3Procedure<ACCESS3args, ACCESS3resok, ACCESS3resfail> = {
  proc: NFSPROC3.ACCESS,
  name: 'ACCESS',
  mutating: false,
  handles: (a) => [a.object],
  decodeArgs: decodeACCESS3args,
  async handle(ctx, a) {
    const r = await ctx.fs.access(ctx.cred, a.object, a.access);
    let granted = r.granted & a.access;
    if (ctx.readOnly) granted &= ~WRITE_BITS;
    return { obj_attributes: toFattr3(r.attr), access: granted >>> 0 };
  },
  encodeRes: encodeACCESS3res,
  failBody: async (_s, a, ctx) => ({ obj_attributes: await failPostOp(ctx, a.object) }),
  encodeArgs: encodeACCESS3args,
  decodeRes: decodeACCESS3res,
};
