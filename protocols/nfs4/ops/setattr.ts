/**
 * OP_SETATTR (RFC 8881 §18.30): sets size, mode, owner, owner_group, times. SETATTR4res is a struct, not a
 * union: attrsset (empty on failure) follows the status either way. A size change needs a stateid that
 * allows writing (or the anonymous one); other changes check a non-special stateid if one is given.
 */
import { decodeSetAttrs } from '../attrs';
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { ANONYMOUS_STATEID, checkStateid, stateidEquals } from '../stateid';
import { nfs_opnum4, nfsstat4, type bitmap4, type fattr4, type stateid4 } from '../types';
import { bitmapOf, bitmapSize, decodeBitmap4, decodeFattr4, decodeStateid4, encodeBitmap4, encodeFattr4, encodeStateid4 } from '../xdr';

/** struct SETATTR4args { stateid4 stateid; fattr4 obj_attributes; }; */
export interface SETATTR4args {
  stateid: stateid4;
  obj_attributes: fattr4;
}

/** struct SETATTR4res { nfsstat4 status; bitmap4 attrsset; }; (the part after the status) */
export interface SETATTR4resok {
  attrsset: bitmap4;
}

export const SETATTR: Nfs4Op<SETATTR4args, SETATTR4resok> = {
  opnum: nfs_opnum4.OP_SETATTR,
  name: 'SETATTR',
  decodeArgs: (r) => ({ stateid: decodeStateid4(r), obj_attributes: decodeFattr4(r) }),
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.stateid);
    encodeFattr4(w, a.obj_attributes);
  },
  async handle(c, a) {
    const fh = c.curFh();
    const d = decodeSetAttrs(a.obj_attributes, c.minor, c.server.idmap);
    if (fh.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_ROFS, 'pseudo-filesystem root');
    c.writable(fh);
    if (d.set.size !== undefined) checkStateid(c, a.stateid, fh, 'write');
    else if (!stateidEquals(a.stateid, ANONYMOUS_STATEID)) checkStateid(c, a.stateid, fh, 'setattr');
    if (d.ids.length > 0) await fh.fs.setattr(fh.cred, fh.handle, d.set);
    return { attrsset: bitmapOf(d.ids) };
  },
  resultBytes: (r) => bitmapSize(r.attrsset),
  // attrsset names settable attributes only, whose numbers all fit in the first three words.
  maxResultBytes: () => 16,
  encodeOk: (w, r) => encodeBitmap4(w, r.attrsset),
  encodeFail: (w) => w.uint32(0),
  decodeOk: (r) => ({ attrsset: decodeBitmap4(r) }),
  decodeFail: (r) => ({ attrsset: decodeBitmap4(r) }),
};
