/** NFSPROC3_PATHCONF (RFC 1813 §3.3.20), from the core's limits (the same for every object: FSF3_HOMOGENEOUS). */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type PATHCONF3args, type PATHCONF3res, type PATHCONF3resfail, type PATHCONF3resok } from '../types';
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

export function decodePATHCONF3args(r: XdrReader): PATHCONF3args {
  return { object: decodeNfsFh3(r) };
}

export function encodePATHCONF3args(w: XdrWriter, a: PATHCONF3args): void {
  encodeNfsFh3(w, a.object);
}

export function encodePATHCONF3res(w: XdrWriter, res: PATHCONF3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.obj_attributes);
      w.uint32(ok.linkmax).uint32(ok.name_max);
      w.bool(ok.no_trunc).bool(ok.chown_restricted).bool(ok.case_insensitive).bool(ok.case_preserving);
    },
    encodePostOpOnly('obj_attributes'),
  );
}

export function decodePATHCONF3res(r: XdrReader): PATHCONF3res {
  return decodeNfs3Res(
    r,
    (r) => ({
      obj_attributes: decodePostOpAttr(r),
      linkmax: r.uint32(),
      name_max: r.uint32(),
      no_trunc: r.bool(),
      chown_restricted: r.bool(),
      case_insensitive: r.bool(),
      case_preserving: r.bool(),
    }),
    decodePostOpOnly('obj_attributes'),
  );
}

export const PATHCONF: Nfs3Procedure<PATHCONF3args, PATHCONF3resok, PATHCONF3resfail> = {
  proc: NFSPROC3.PATHCONF,
  name: 'PATHCONF',
  mutating: false,
  handles: (a) => [a.object],
  decodeArgs: decodePATHCONF3args,
  async handle(ctx, a) {
    const attr = await ctx.fs.getattr(ctx.cred, a.object);
    const l = ctx.fs.limits;
    return {
      obj_attributes: toFattr3(attr),
      linkmax: l.maxLink >>> 0,
      name_max: l.maxNameBytes >>> 0,
      no_trunc: l.noTrunc,
      chown_restricted: l.chownRestricted,
      case_insensitive: l.caseInsensitive,
      case_preserving: l.casePreserving,
    };
  },
  encodeRes: encodePATHCONF3res,
  failBody: async (_s, a, ctx) => ({ obj_attributes: await failPostOp(ctx, a.object) }),
  encodeArgs: encodePATHCONF3args,
  decodeRes: decodePATHCONF3res,
};
