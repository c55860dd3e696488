/**
 * NFSPROC3_LINK (RFC 1813 §3.3.15). The file and the directory must be in the same export (else XDEV).
 * Success and failure carry file_attributes and linkdir_wcc.
 */
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { dirWccData, toFattr3 } from '../attrs';
import { failPostOp, failWccOf, type Nfs3Procedure } from '../procedure';
import { NFSPROC3, type LINK3args, type LINK3res, type LINK3resfail, type LINK3resok } from '../types';
import {
  decodeDiropargs3,
  decodeNfs3Res,
  decodeNfsFh3,
  decodePostOpAttr,
  decodeWccData,
  encodeDiropargs3,
  encodeNfs3Res,
  encodeNfsFh3,
  encodePostOpAttr,
  encodeWccData,
} from '../xdr';

export function decodeLINK3args(r: XdrReader): LINK3args {
  return { file: decodeNfsFh3(r), link: decodeDiropargs3(r) };
}

export function encodeLINK3args(w: XdrWriter, a: LINK3args): void {
  encodeNfsFh3(w, a.file);
  encodeDiropargs3(w, a.link);
}

function encodeBody(w: XdrWriter, v: LINK3resok | LINK3resfail): void {
  encodePostOpAttr(w, v.file_attributes);
  encodeWccData(w, v.linkdir_wcc);
}

function decodeBody(r: XdrReader): LINK3resok {
  return { file_attributes: decodePostOpAttr(r), linkdir_wcc: decodeWccData(r) };
}

export function encodeLINK3res(w: XdrWriter, res: LINK3res): void {
  encodeNfs3Res(w, res, encodeBody, encodeBody);
}

export function decodeLINK3res(r: XdrReader): LINK3res {
  return decodeNfs3Res(r, decodeBody, decodeBody);
}

export const LINK: Nfs3Procedure<LINK3args, LINK3resok, LINK3resfail> = {
  proc: NFSPROC3.LINK,
  name: 'LINK',
  mutating: true,
  nonIdempotent: true,
  handles: (a) => [a.file, a.link.dir],
  decodeArgs: decodeLINK3args,
  async handle(ctx, a) {
    const r = await ctx.fs.link(ctx.cred, a.file, a.link.dir, a.link.name);
    return { file_attributes: toFattr3(r.attr), linkdir_wcc: dirWccData(r.dir) };
  },
  encodeRes: encodeLINK3res,
  failBody: async (_s, a, ctx) => {
    const [file_attributes, linkdir_wcc] = await Promise.all([failPostOp(ctx, a.file), failWccOf(ctx, a.link.dir)]);
    return { file_attributes, linkdir_wcc };
  },
  encodeArgs: encodeLINK3args,
  decodeRes: decodeLINK3res,
};
