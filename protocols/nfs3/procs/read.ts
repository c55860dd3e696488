/**
 * NFSPROC3_READ (RFC 1813 §3.3.6). count is capped at the core's maxRead (a short read is legal); the data
 * goes out by reference (XdrWriter.opaqueRef → writev), never copied.
 */
import { handleFileId } from '../../../cluster/vfs/handle';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toFattr3 } from '../attrs';
import { failPostOp, type Nfs3Procedure } from '../procedure';
import { NFS3_DATA_MAX, NFSPROC3, type READ3args, type READ3res, type READ3resfail, type READ3resok } from '../types';
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
import { XdrError } from '../../xdr/errors';

export function decodeREAD3args(r: XdrReader): READ3args {
  return { file: decodeNfsFh3(r), offset: r.uint64(), count: r.uint32() };
}

export function encodeREAD3args(w: XdrWriter, a: READ3args): void {
  encodeNfsFh3(w, a.file);
  w.uint64(a.offset).uint32(a.count);
}

export function encodeREAD3res(w: XdrWriter, res: READ3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodePostOpAttr(w, ok.file_attributes);
      w.uint32(ok.count).bool(ok.eof);
      w.opaqueRef(ok.data);
    },
    encodePostOpOnly('file_attributes'),
  );
}

export function decodeREAD3res(r: XdrReader): READ3res {
  return decodeNfs3Res(
    r,
    (r) => {
      const file_attributes = decodePostOpAttr(r);
      const count = r.uint32();
      const eof = r.bool();
      const data = r.opaque(NFS3_DATA_MAX);
      if (data.length !== count) throw new XdrError(`READ3resok count ${count} != data length ${data.length}`);
      return { file_attributes, count, eof, data };
    },
    decodePostOpOnly('file_attributes'),
  );
}

export const READ: Nfs3Procedure<READ3args, READ3resok, READ3resfail> = {
  proc: NFSPROC3.READ,
  name: 'READ',
  mutating: false,
  handles: (a) => [a.file],
  decodeArgs: decodeREAD3args,
  async handle(ctx, a) {
    const count = Math.min(a.count, ctx.fs.limits.maxRead);
    // An SMB exclusive byte-range lock is mandatory for NFSv3's anonymous reads too (NFS3ERR_JUKEBOX).
    if (count > 0) ctx.fs.checkIo(handleFileId(a.file), { offset: a.offset, length: BigInt(count), write: false });
    const r = await ctx.fs.read(ctx.cred, a.file, a.offset, count, ctx.rpc.signal);
    // The data goes out by reference; the core's (pooled) buffer is given back once the reply is sent.
    if (r.release) ctx.rpc.onReplySent(r.release);
    const data = r.data.length > count ? r.data.subarray(0, count) : r.data;
    return { file_attributes: toFattr3(r.attr), count: data.length, eof: r.eof, data };
  },
  encodeRes: encodeREAD3res,
  failBody: async (_s, a, ctx) => ({ file_attributes: await failPostOp(ctx, a.file) }),
  encodeArgs: encodeREAD3args,
  decodeRes: decodeREAD3res,
};
