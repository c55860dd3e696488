/**
 * OP_CREATE (RFC 8881 §18.4): directories, symlinks, devices, sockets and fifos (regular files are made by
 * OPEN: NF4REG here is NFS4ERR_BADTYPE). The new object becomes the current filehandle; attrset reports the
 * create attributes that were applied.
 */
import { FileType, type NodeResult } from '../../../cluster/vfs/types';
import { decodeSetAttrs } from '../attrs';
import { Nfs4Error } from '../errors';
import { changeInfo, checkComponent } from '../helpers';
import type { Nfs4Op } from '../op';
import { NFS4_LINKTEXT_MAX, nfs_ftype4, nfs_opnum4, nfsstat4, type bitmap4, type change_info4, type fattr4, type specdata4 } from '../types';
import {
  bitmapOf,
  bitmapSize,
  decodeBitmap4,
  decodeChangeInfo4,
  decodeComponent4,
  decodeFattr4,
  decodeSpecdata4,
  encodeBitmap4,
  encodeChangeInfo4,
  encodeComponent4,
  encodeFattr4,
  encodeSpecdata4,
} from '../xdr';

/**
 * union createtype4 switch (nfs_ftype4 type) {
 *   case NF4LNK: linktext4 linkdata; case NF4BLK: case NF4CHR: specdata4 devdata;
 *   case NF4SOCK: case NF4FIFO: case NF4DIR: void; default: void; };
 */
export type createtype4 =
  | { type: nfs_ftype4.NF4LNK; linkdata: Buffer }
  | { type: nfs_ftype4.NF4BLK | nfs_ftype4.NF4CHR; devdata: specdata4 }
  | { type: number };

/** struct CREATE4args { createtype4 objtype; component4 objname; fattr4 createattrs; }; */
export interface CREATE4args {
  objtype: createtype4;
  objname: Buffer;
  createattrs: fattr4;
}

/** struct CREATE4resok { change_info4 cinfo; bitmap4 attrset; }; */
export interface CREATE4resok {
  cinfo: change_info4;
  attrset: bitmap4;
}

function decodeCreatetype4(r: import('../../xdr/reader').XdrReader): createtype4 {
  const type = r.uint32();
  if (type === nfs_ftype4.NF4LNK) return { type, linkdata: Buffer.from(r.opaque(NFS4_LINKTEXT_MAX)) };
  if (type === nfs_ftype4.NF4BLK || type === nfs_ftype4.NF4CHR) return { type, devdata: decodeSpecdata4(r) };
  return { type };
}

const MKNOD_TYPES: ReadonlyMap<number, FileType> = new Map([
  [nfs_ftype4.NF4BLK, FileType.BLK],
  [nfs_ftype4.NF4CHR, FileType.CHR],
  [nfs_ftype4.NF4SOCK, FileType.SOCK],
  [nfs_ftype4.NF4FIFO, FileType.FIFO],
]);

export const CREATE: Nfs4Op<CREATE4args, CREATE4resok> = {
  opnum: nfs_opnum4.OP_CREATE,
  name: 'CREATE',
  decodeArgs: (r) => ({ objtype: decodeCreatetype4(r), objname: decodeComponent4(r), createattrs: decodeFattr4(r) }),
  encodeArgs: (w, a) => {
    w.uint32(a.objtype.type);
    if ('linkdata' in a.objtype) w.opaque(a.objtype.linkdata);
    else if ('devdata' in a.objtype) encodeSpecdata4(w, a.objtype.devdata);
    encodeComponent4(w, a.objname);
    encodeFattr4(w, a.createattrs);
  },
  async handle(c, a) {
    const dir = c.writable(c.curFs(nfsstat4.NFS4ERR_ROFS));
    const t = a.objtype;
    if (t.type !== nfs_ftype4.NF4DIR && t.type !== nfs_ftype4.NF4LNK && !MKNOD_TYPES.has(t.type)) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_BADTYPE, `CREATE of type ${t.type}`);
    }
    checkComponent(a.objname, dir.fs.limits.maxNameBytes);
    const attrs = decodeSetAttrs(a.createattrs, c.minor, c.server.idmap);
    const { fs, cred } = dir;
    let r: NodeResult;
    if (t.type === nfs_ftype4.NF4DIR) r = await fs.mkdir(cred, dir.handle, a.objname, attrs.set);
    else if ('linkdata' in t) r = await fs.symlink(cred, dir.handle, a.objname, t.linkdata, attrs.set);
    else {
      const rdev = 'devdata' in t ? { major: t.devdata.specdata1, minor: t.devdata.specdata2 } : undefined;
      r = await fs.mknod(cred, dir.handle, a.objname, MKNOD_TYPES.get(t.type)!, attrs.set, rdev);
    }
    c.cur = { ...dir, handle: r.handle };
    c.curStateid = undefined;
    return { cinfo: changeInfo(r.dir), attrset: bitmapOf(attrs.ids) };
  },
  resultBytes: (r) => 20 + bitmapSize(r.attrset),
  // change_info4, and attrset: settable attributes only, in at most three bitmap words.
  maxResultBytes: () => 20 + 16,
  encodeOk: (w, r) => {
    encodeChangeInfo4(w, r.cinfo);
    encodeBitmap4(w, r.attrset);
  },
  decodeOk: (r) => ({ cinfo: decodeChangeInfo4(r), attrset: decodeBitmap4(r) }),
};
