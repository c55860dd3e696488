/**
 * OP_COPY (RFC 7862 §15.2), intra-server only: the saved filehandle is the source, the current one the
 * destination; the bytes move on the gateway (cluster/vfs/sparse.ts copyRange), never through the client.
 * Always synchronous (cr_synchronous true, no callback id): an asynchronous copy would need a callback
 * (CB_OFFLOAD) the client may not be able to receive. ca_count 0 copies to the end of the source.
 *
 *   a source server list (inter-server copy)            → NFS4ERR_NOTSUPP
 *   source and destination in different volumes         → NFS4ERR_XDEV
 *   the same file with overlapping ranges               → NFS4ERR_INVAL
 *   source offset past its end                          → NFS4ERR_INVAL
 */
import { copyRange } from '../../../cluster/vfs/sparse';
import { FileType } from '../../../cluster/vfs/types';
import type { XdrReader } from '../../xdr/reader';
import { Nfs4Error } from '../errors';
import type { FsFh } from '../fh';
import { fixedResult, type Nfs4Compound, type Nfs4Op } from '../op';
import { checkStateid } from '../stateid';
import { NFS4_OPAQUE_LIMIT, nfs_opnum4, nfsstat4, stable_how4, type stateid4 } from '../types';
import { decodeStateid4, decodeVerifier4, encodeStateid4, encodeVerifier4 } from '../xdr';
import { sparseHost } from './sparse-common';

/** struct COPY4args { stateid4 ca_src_stateid; stateid4 ca_dst_stateid; offset4 ca_src_offset; offset4 ca_dst_offset; length4 ca_count; bool ca_consecutive; bool ca_synchronous; netloc4 ca_source_server<>; }; */
export interface COPY4args {
  ca_src_stateid: stateid4;
  ca_dst_stateid: stateid4;
  ca_src_offset: bigint;
  ca_dst_offset: bigint;
  ca_count: bigint;
  ca_consecutive: boolean;
  ca_synchronous: boolean;
  /** netloc4s, kept undecoded (only their number matters: this server copies within itself). */
  ca_source_server: number;
}

/** COPY4resok { write_response4 cr_response; copy_requirements4 cr_requirements; } */
export interface COPY4resok {
  wr_count: bigint;
  wr_committed: stable_how4;
  wr_writeverf: Buffer;
  cr_consecutive: boolean;
  cr_synchronous: boolean;
}

function skipNetloc4(r: XdrReader): void {
  const t = r.uint32();
  if (t === 3) {
    r.string(NFS4_OPAQUE_LIMIT);
    r.string(NFS4_OPAQUE_LIMIT);
  } else r.string(NFS4_OPAQUE_LIMIT);
}

/** Source (saved) and destination (current) filehandles of COPY / CLONE, checked as regular files of one volume. */
export async function copyEnds(c: Nfs4Compound, src: stateid4, dst: stateid4): Promise<{ s: FsFh; d: FsFh }> {
  const d = c.writable(c.curFs(nfsstat4.NFS4ERR_ISDIR));
  const sfh = c.savedFh();
  if (sfh.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_ISDIR, 'pseudo-filesystem root');
  if (sfh.fs !== d.fs) throw new Nfs4Error(nfsstat4.NFS4ERR_XDEV, 'source and destination in different volumes');
  checkStateid(c, src, sfh, 'read');
  checkStateid(c, dst, d, 'write');
  for (const f of [sfh, d]) {
    const t = (await f.fs.getattr(f.cred, f.handle)).type;
    if (t === FileType.DIR) throw new Nfs4Error(nfsstat4.NFS4ERR_ISDIR);
    if (t !== FileType.REG) throw new Nfs4Error(nfsstat4.NFS4ERR_WRONG_TYPE);
  }
  return { s: sfh, d };
}

export function checkOverlap(s: FsFh, d: FsFh, so: bigint, doff: bigint, count: bigint): void {
  if (!s.handle.equals(d.handle)) return;
  if (count === 0n || (so < doff + count && doff < so + count)) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'overlapping ranges of one file');
}

export const COPY: Nfs4Op<COPY4args, COPY4resok> = {
  opnum: nfs_opnum4.OP_COPY,
  name: 'COPY',
  decodeArgs: (r) => {
    const a = {
      ca_src_stateid: decodeStateid4(r),
      ca_dst_stateid: decodeStateid4(r),
      ca_src_offset: r.uint64(),
      ca_dst_offset: r.uint64(),
      ca_count: r.uint64(),
      ca_consecutive: r.bool(),
      ca_synchronous: r.bool(),
      ca_source_server: 0,
    };
    a.ca_source_server = r.uint32();
    if (a.ca_source_server > 16) throw new Error('too many source servers');
    for (let i = 0; i < a.ca_source_server; i++) skipNetloc4(r);
    return a;
  },
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.ca_src_stateid);
    encodeStateid4(w, a.ca_dst_stateid);
    w.uint64(a.ca_src_offset);
    w.uint64(a.ca_dst_offset);
    w.uint64(a.ca_count);
    w.bool(a.ca_consecutive);
    w.bool(a.ca_synchronous);
    w.uint32(0);
  },
  async handle(c, a) {
    if (a.ca_source_server > 0) throw new Nfs4Error(nfsstat4.NFS4ERR_NOTSUPP, 'inter-server copy');
    const { s, d } = await copyEnds(c, a.ca_src_stateid, a.ca_dst_stateid);
    const size = (await s.fs.getattr(s.cred, s.handle)).size;
    if (a.ca_src_offset > size) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'source offset past its end');
    checkOverlap(s, d, a.ca_src_offset, a.ca_dst_offset, a.ca_count === 0n ? size - a.ca_src_offset : a.ca_count);
    const n = await copyRange(sparseHost(d), d.cred, s.handle, a.ca_src_offset, d.handle, a.ca_dst_offset, a.ca_count);
    return { wr_count: n, wr_committed: stable_how4.FILE_SYNC4, wr_writeverf: d.fs.writeVerifier(), cr_consecutive: true, cr_synchronous: true };
  },
  // wr_callback_id (none), count, committed, verifier, the two requirement flags.
  ...fixedResult(4 + 8 + 4 + 8 + 4 + 4),
  encodeOk: (w, r) => {
    w.uint32(0); // wr_callback_id<1>: none, the copy is done
    w.uint64(r.wr_count);
    w.uint32(r.wr_committed);
    encodeVerifier4(w, r.wr_writeverf);
    w.bool(r.cr_consecutive);
    w.bool(r.cr_synchronous);
  },
  decodeOk: (r) => {
    const ids = r.uint32();
    for (let i = 0; i < ids; i++) decodeStateid4(r);
    return { wr_count: r.uint64(), wr_committed: r.uint32(), wr_writeverf: decodeVerifier4(r), cr_consecutive: r.bool(), cr_synchronous: r.bool() };
  },
};

