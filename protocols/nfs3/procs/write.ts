/**
 * NFSPROC3_WRITE (RFC 1813 §3.3.7). count must equal the opaque data length (NFS3ERR_INVAL otherwise);
 * more than the core's maxWrite is written short, as Linux knfsd does (the reply's count tells the client).
 * stable_how goes to the core; the reply carries what it committed and the write verifier.
 * `data` is a view into the request buffer, valid for the duration of the call.
 */
import { CoreError, Errc } from '../../../cluster/vfs/errors';
import { handleFileId } from '../../../cluster/vfs/handle';
import { Stable } from '../../../cluster/vfs/types';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { toWccData } from '../attrs';
import { failWccOf, type Nfs3Procedure } from '../procedure';
import {
  NFS3_DATA_MAX,
  NFS3_WRITEVERFSIZE,
  NFSPROC3,
  STABLE_HOW_VALUES,
  stable_how,
  type WRITE3args,
  type WRITE3res,
  type WRITE3resfail,
  type WRITE3resok,
} from '../types';
import {
  decodeNfs3Res,
  decodeNfsFh3,
  decodeWccData,
  decodeWccOnly,
  encodeNfs3Res,
  encodeNfsFh3,
  encodeVerf8,
  encodeWccData,
  encodeWccOnly,
  verf8,
} from '../xdr';

const STABLE_OF: Readonly<Record<stable_how, Stable>> = {
  [stable_how.UNSTABLE]: Stable.UNSTABLE,
  [stable_how.DATA_SYNC]: Stable.DATA_SYNC,
  [stable_how.FILE_SYNC]: Stable.FILE_SYNC,
};

const STABLE_HOW_OF: Readonly<Record<Stable, stable_how>> = {
  [Stable.UNSTABLE]: stable_how.UNSTABLE,
  [Stable.DATA_SYNC]: stable_how.DATA_SYNC,
  [Stable.FILE_SYNC]: stable_how.FILE_SYNC,
};

export function decodeWRITE3args(r: XdrReader): WRITE3args {
  return {
    file: decodeNfsFh3(r),
    offset: r.uint64(),
    count: r.uint32(),
    stable: r.enumOf<stable_how>(STABLE_HOW_VALUES, 'stable_how'),
    data: r.opaque(NFS3_DATA_MAX),
  };
}

export function encodeWRITE3args(w: XdrWriter, a: WRITE3args): void {
  encodeNfsFh3(w, a.file);
  w.uint64(a.offset).uint32(a.count).uint32(a.stable);
  w.opaqueRef(a.data);
}

export function encodeWRITE3res(w: XdrWriter, res: WRITE3res): void {
  encodeNfs3Res(
    w,
    res,
    (w, ok) => {
      encodeWccData(w, ok.file_wcc);
      w.uint32(ok.count).uint32(ok.committed);
      encodeVerf8(w, ok.verf);
    },
    encodeWccOnly('file_wcc'),
  );
}

export function decodeWRITE3res(r: XdrReader): WRITE3res {
  return decodeNfs3Res(
    r,
    (r) => ({
      file_wcc: decodeWccData(r),
      count: r.uint32(),
      committed: r.enumOf<stable_how>(STABLE_HOW_VALUES, 'stable_how'),
      verf: Buffer.from(r.fixedOpaque(NFS3_WRITEVERFSIZE)),
    }),
    decodeWccOnly('file_wcc'),
  );
}

export const WRITE: Nfs3Procedure<WRITE3args, WRITE3resok, WRITE3resfail> = {
  proc: NFSPROC3.WRITE,
  name: 'WRITE',
  mutating: true,
  // Not in the DRC: rewriting the same bytes is harmless (Linux knfsd does cache WRITE: RC_REPLBUFF).
  handles: (a) => [a.file],
  decodeArgs: decodeWRITE3args,
  async handle(ctx, a) {
    if (a.count !== a.data.length) throw new CoreError(Errc.INVAL, `WRITE count ${a.count} != data length ${a.data.length}`);
    const max = ctx.fs.limits.maxWrite;
    const data = a.data.length > max ? a.data.subarray(0, max) : a.data;
    // SMB byte-range locks are mandatory for everyone's I/O, NFSv3's anonymous writes included
    // (NFS3ERR_JUKEBOX: the client retries, as for a Windows server's mandatory lock through knfsd).
    ctx.fs.checkIo(handleFileId(a.file), { offset: a.offset, length: BigInt(data.length), write: true });
    // `data` lies in the request record: an UNSTABLE write may keep it and answer before the brick
    // has the bytes (cluster/bricks/write-behind.ts).
    const retain = ctx.rpc.retainRequest;
    const r = await ctx.fs.write(ctx.cred, a.file, a.offset, data, STABLE_OF[a.stable], retain ? { retain } : undefined);
    return { file_wcc: toWccData(r.before, r.after), count: r.count, committed: STABLE_HOW_OF[r.committed], verf: verf8(r.verifier) };
  },
  encodeRes: encodeWRITE3res,
  failBody: async (_s, a, ctx) => ({ file_wcc: await failWccOf(ctx, a.file) }),
  encodeArgs: encodeWRITE3args,
  decodeRes: decodeWRITE3res,
};
