/**
 * NFSPROC3_LOOKUP (RFC 1813 §3.3.3). Name rules ('', '/', NUL, length) and '.'/'..' (which stays at the
 * export root) are the core's. The failure body carries the directory's attributes.
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type LOOKUP3args, type LOOKUP3res, type LOOKUP3resfail, type LOOKUP3resok } from '../types';
import {
  decodeDiropargs3,
  decodeNfs3Res,
  decodeNfsFh3,
  decodePostOpAttr,
  decodePostOpOnly,
  encodeDiropargs3,
  encodeNfs3Res,
  encodeNfsFh3,
  encodePostOpAttr,
  encodePostOpOnly,
} from '../xdr';

export function decodeLOOKUP3args(r: XdrReader): LOOKUP3args {
  return { what: decodeDiropargs3(r) };
}

export function encodeLOOKUP3args(w: XdrWriter, a: LOOKUP3args): void {
  encodeDiropargs3(w, a.what);
}

export function encodeLOOKUP3res(w: XdrWriter, res: LOOKUP3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodeNfsFh3(w, ok.object);
      encodePostOpAttr(w, ok.obj_attributes);
      encodePostOpAttr(w, ok.dir_attributes);
    },
    encodePostOpOnly('dir_attributes'),
  );
}

export function decodeLOOKUP3res(r: XdrReader): LOOKUP3res {
  return decodeNfs3Res(
    r,
    (r) => ({ object: decodeNfsFh3(r), obj_attributes: decodePostOpAttr(r), dir_attributes: decodePostOpAttr(r) }),
    decodePostOpOnly('dir_attributes'),
  );
}

export const LOOKUP: Nfs3Procedure<LOOKUP3args, LOOKUP3resok, LOOKUP3resfail> = {
  proc: NFSPROC3.LOOKUP,
  name: 'LOOKUP',
  mutating: false,
  handles: (a) => [a.what.dir],
  decodeArgs: decodeLOOKUP3args,
  async handle(ctx, a) {
    const r = await ctx.fs.lookup(ctx.cred, a.what.dir, a.what.name);
    return { object: r.handle, obj_attributes: toFattr3(r.attr), dir_attributes: toFattr3(r.dirAttr) };
  },
  encodeRes: encodeLOOKUP3res,
  failBody: async (_s, a, ctx) => ({ dir_attributes: await failPostOp(ctx, a.what.dir) }),
  encodeArgs: encodeLOOKUP3args,
  decodeRes: decodeLOOKUP3res,
};
