/** READ (MS-SMB2 2.2.19, 2.2.20, 3.3.5.12). The data goes out as the core's buffers (no copy). */
import { Smb2Cmd } from '../constants';
import { SmbError, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { NtStatus } from '../ntstatus';
import type { TreeContext } from '../shares';
import { BodyWriter, RequestView } from '../wire';
import { resolveOpen } from './files';

export class SMB2_READ_Request extends RequestView {
  static decode(msg: Buffer): SMB2_READ_Request {
    const v = new SMB2_READ_Request(msg);
    v.structure(49);
    // ReadChannelInfo is for RDMA channels only; its range must still be sane.
    v.region(v.u16(44), v.u16(46), 48);
    return v;
  }
  get length(): number {
    return this.u32(4);
  }
  get offset(): bigint {
    return this.u64(8);
  }
  get fileId(): Buffer {
    return this.bytes(16, 16);
  }
  get minimumCount(): number {
    return this.u32(32);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_READ_Request): Promise<Smb2Reply> {
  if (req.length > ctx.conn.maxReadSize) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `READ of ${req.length} bytes exceeds MaxReadSize`);
  const o = resolveOpen(ctx, req.fileId);
  const r = await ctx.tree!.share.read(ctx as TreeContext, o, req.offset, req.length, req.minimumCount);
  const n = r.data.reduce((t, b) => t + b.length, 0);
  const w = new BodyWriter(16);
  w.u16(0, 17).u8(2, 64 + 16).u32(4, n);
  const body = n ? [w.buf, ...r.data] : [w.buf, Buffer.alloc(1)];
  return { status: 0, body, ...(r.release ? { release: r.release } : {}) };
}

export const READ: Smb2CommandSpec<SMB2_READ_Request> = {
  command: Smb2Cmd.READ,
  name: 'READ',
  scope: 'tree',
  decode: (msg) => SMB2_READ_Request.decode(msg),
  payload: (req) => req.length,
  handle,
};
