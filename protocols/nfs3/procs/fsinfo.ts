/**
 * NFSPROC3_FSINFO (RFC 1813 §3.3.19), from the core's limits. rtmult/wtmult are 4096 (the page size clients
 * align to, as Linux knfsd reports), never above rtmax/wtmax.
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { nfstime3FromNs, toFattr3 } from '../attrs';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import {
  FSF3_CANSETTIME,
  FSF3_HOMOGENEOUS,
  FSF3_LINK,
  FSF3_SYMLINK,
  NFSPROC3,
  type FSINFO3args,
  type FSINFO3res,
  type FSINFO3resfail,
  type FSINFO3resok,
} from '../types';
import {
  decodeNfs3Res,
  decodeNfsFh3,
  decodeNfstime3,
  decodePostOpAttr,
  decodePostOpOnly,
  encodeNfs3Res,
  encodeNfsFh3,
  encodeNfstime3,
  encodePostOpAttr,
  encodePostOpOnly,
} from '../xdr';

const MULT = 4096;
export const FSINFO_PROPERTIES = FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME;

export function decodeFSINFO3args(r: XdrReader): FSINFO3args {
  return { fsroot: decodeNfsFh3(r) };
}

export function encodeFSINFO3args(w: XdrWriter, a: FSINFO3args): void {
  encodeNfsFh3(w, a.fsroot);
}

export function encodeFSINFO3res(w: XdrWriter, res: FSINFO3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.obj_attributes);
      w.uint32(ok.rtmax).uint32(ok.rtpref).uint32(ok.rtmult);
      w.uint32(ok.wtmax).uint32(ok.wtpref).uint32(ok.wtmult);
      w.uint32(ok.dtpref).uint64(ok.maxfilesize);
      encodeNfstime3(w, ok.time_delta);
      w.uint32(ok.properties);
    },
    encodePostOpOnly('obj_attributes'),
  );
}

export function decodeFSINFO3res(r: XdrReader): FSINFO3res {
  return decodeNfs3Res(
    r,
    (r) => ({
      obj_attributes: decodePostOpAttr(r),
      rtmax: r.uint32(),
      rtpref: r.uint32(),
      rtmult: r.uint32(),
      wtmax: r.uint32(),
      wtpref: r.uint32(),
      wtmult: r.uint32(),
      dtpref: r.uint32(),
      maxfilesize: r.uint64(),
      time_delta: decodeNfstime3(r),
      properties: r.uint32(),
    }),
    decodePostOpOnly('obj_attributes'),
  );
}

export const FSINFO: Nfs3Procedure<FSINFO3args, FSINFO3resok, FSINFO3resfail> = {
  proc: NFSPROC3.FSINFO,
  name: 'FSINFO',
  mutating: false,
  handles: (a) => [a.fsroot],
  decodeArgs: decodeFSINFO3args,
  async handle(ctx, a) {
    const attr = await ctx.fs.getattr(ctx.cred, a.fsroot);
    const l = ctx.fs.limits;
    return {
      obj_attributes: toFattr3(attr),
      rtmax: l.maxRead,
      rtpref: Math.min(l.preferredRead, l.maxRead),
      rtmult: Math.min(MULT, l.maxRead),
      wtmax: l.maxWrite,
      wtpref: Math.min(l.preferredWrite, l.maxWrite),
      wtmult: Math.min(MULT, l.maxWrite),
      dtpref: l.preferredReaddir,
      maxfilesize: l.maxFileSize,
      time_delta: nfstime3FromNs(l.timeDeltaNs),
      properties: FSINFO_PROPERTIES,
    };
  },
  encodeRes: encodeFSINFO3res,
  failBody: async (_s, a, ctx) => ({ obj_attributes: await failPostOp(ctx, a.fsroot) }),
  encodeArgs: encodeFSINFO3args,
  decodeRes: decodeFSINFO3res,
};
