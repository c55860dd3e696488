/** SET_INFO (MS-SMB2 2.2.39, 2.2.40, 3.3.5.21). */
import { Smb2Cmd } from '../constants';
import { ok, SmbError, type Smb2CommandSpec, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import type { TreeContext } from '../shares';
import { RequestView } from '../wire';
import { resolveOpen } from './files';

export class SMB2_SET_INFO_Request extends RequestView {
  private data!: Buffer;
  static decode(msg: Buffer): SMB2_SET_INFO_Request {
    const v = new SMB2_SET_INFO_Request(msg);
    v.structure(33);
    v.data = v.region(v.u16(8), v.u32(4), 32, 1024 * 1024);
    return v;
  }
  get infoType(): number {
    return this.u8(2);
  }
  get fileInfoClass(): number {
    return this.u8(3);
  }
  get buffer(): Buffer {
    return this.data;
  }
  get additionalInformation(): number {
    return this.u32(12);
  }
  get fileId(): Buffer {
    return this.bytes(16, 16);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_SET_INFO_Request) {
  if (req.buffer.length > ctx.conn.maxTransactSize) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'BufferLength exceeds MaxTransactSize');
  const o = resolveOpen(ctx, req.fileId);
  await ctx.tree!.share.setInfo(ctx as TreeContext, o, req);
  const b = Buffer.alloc(2);
  b.writeUInt16LE(2, 0);
  return ok(b);
}

export const SET_INFO: Smb2CommandSpec<SMB2_SET_INFO_Request> = {
  command: Smb2Cmd.SET_INFO,
  name: 'SET_INFO',
  scope: 'tree',
  decode: (msg) => SMB2_SET_INFO_Request.decode(msg),
  payload: (req) => req.buffer.length,
  handle,
};
