/**
 * NFSPROC3_RENAME (RFC 1813 §3.3.14). Both directories must be in the same export (program.ts answers XDEV
 * otherwise). Success and failure carry fromdir_wcc and todir_wcc.
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { dirWccData } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type RENAME3args, type RENAME3res, type RENAME3resfail, type RENAME3resok } from '../types';
import { decodeDiropargs3, decodeNfs3Res, decodeWccData, encodeDiropargs3, encodeNfs3Res, encodeWccData } from '../xdr';

export function decodeRENAME3args(r: XdrReader): RENAME3args {
  return { from: decodeDiropargs3(r), to: decodeDiropargs3(r) };
}

export function encodeRENAME3args(w: XdrWriter, a: RENAME3args): void {
  encodeDiropargs3(w, a.from);
  encodeDiropargs3(w, a.to);
}

function encodeBody(w: XdrWriter, v: RENAME3resok | RENAME3resfail): void {
  encodeWccData(w, v.fromdir_wcc);
  encodeWccData(w, v.todir_wcc);
}

function decodeBody(r: XdrReader): RENAME3resok {
  return { fromdir_wcc: decodeWccData(r), todir_wcc: decodeWccData(r) };
}

export function encodeRENAME3res(w: XdrWriter, res: RENAME3res): void {
  encodeNfs3Res(w, res, encodeBody, encodeBody);
}

export function decodeRENAME3res(r: XdrReader): RENAME3res {
  return decodeNfs3Res(r, decodeBody, decodeBody);
}

export const RENAME: Nfs3Procedure<RENAME3args, RENAME3resok, RENAME3resfail> = {
  proc: NFSPROC3.RENAME,
  name: 'RENAME',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.from.dir, a.to.dir],
  decodeArgs: decodeRENAME3args,
  async handle(ctx, a) {
    const r = await ctx.fs.rename(ctx.cred, a.from.dir, a.from.name, a.to.dir, a.to.name);
    return { fromdir_wcc: dirWccData(r.fromDir), todir_wcc: dirWccData(r.toDir) };
  },
  encodeRes: encodeRENAME3res,
  failBody: async (_s, a, ctx) => {
    const [fromdir_wcc, todir_wcc] = await Promise.all([failWccOf(ctx, a.from.dir), failWccOf(ctx, a.to.dir)]);
    return { fromdir_wcc, todir_wcc };
  },
  encodeArgs: encodeRENAME3args,
  decodeRes: decodeRENAME3res,
};
