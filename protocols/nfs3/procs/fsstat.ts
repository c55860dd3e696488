/** NFSPROC3_FSSTAT (RFC 1813 §3.3.18). invarsec 0: the numbers can change at any moment. */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type FSSTAT3args, type FSSTAT3res, type FSSTAT3resfail, type FSSTAT3resok } from '../types';
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

export function decodeFSSTAT3args(r: XdrReader): FSSTAT3args {
  return { fsroot: decodeNfsFh3(r) };
}

export function encodeFSSTAT3args(w: XdrWriter, a: FSSTAT3args): void {
  encodeNfsFh3(w, a.fsroot);
}

export function encodeFSSTAT3res(w: XdrWriter, res: FSSTAT3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.obj_attributes);
      w.uint64(ok.tbytes).uint64(ok.fbytes).uint64(ok.abytes);
      w.uint64(ok.tfiles).uint64(ok.ffiles).uint64(ok.afiles);
      w.uint32(ok.invarsec);
    },
    encodePostOpOnly('obj_attributes'),
  );
}

export function decodeFSSTAT3res(r: XdrReader): FSSTAT3res {
  return decodeNfs3Res(
    r,
    (r) => ({
      obj_attributes: decodePostOpAttr(r),
      tbytes: r.uint64(),
      fbytes: r.uint64(),
      abytes: r.uint64(),
      tfiles: r.uint64(),
      ffiles: r.uint64(),
      afiles: r.uint64(),
      invarsec: r.uint32(),
    }),
    decodePostOpOnly('obj_attributes'),
  );
}

const u64 = (n: bigint): bigint => (n < 0n ? 0n : BigInt.asUintN(64, n));

export const FSSTAT: Nfs3Procedure<FSSTAT3args, FSSTAT3resok, FSSTAT3resfail> = {
  proc: NFSPROC3.FSSTAT,
  name: 'FSSTAT',
  mutating: false,
  handles: (a) => [a.fsroot],
  decodeArgs: decodeFSSTAT3args,
  async handle(ctx, a) {
    const { stat, attr } = await ctx.fs.statfs(ctx.cred, a.fsroot);
    return {
      obj_attributes: toFattr3(attr),
      tbytes: u64(stat.totalBytes),
      fbytes: u64(stat.freeBytes),
      abytes: u64(stat.availBytes),
      tfiles: u64(stat.totalFiles),
      ffiles: u64(stat.freeFiles),
      afiles: u64(stat.availFiles),
      invarsec: 0,
    };
  },
  encodeRes: encodeFSSTAT3res,
  failBody: async (_s, a, ctx) => ({ obj_attributes: await failPostOp(ctx, a.fsroot) }),
  encodeArgs: encodeFSSTAT3args,
  decodeRes: decodeFSSTAT3res,
};
