/** QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34, 3.3.5.18). */
import { Smb2Cmd } from '../constants';
import { ok, SmbError, type Smb2CommandSpec, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import type { TreeContext } from '../shares';
import { decodeUtf16, Utf16Error } from '../utf16';
import { BodyWriter, RequestView } from '../wire';
import { resolveOpen } from './files';

export class SMB2_QUERY_DIRECTORY_Request extends RequestView {
  private nameBytes!: Buffer;
  static decode(msg: Buffer): SMB2_QUERY_DIRECTORY_Request {
    const v = new SMB2_QUERY_DIRECTORY_Request(msg);
    v.structure(33);
    v.nameBytes = v.region(v.u16(24), v.u16(26), 32, 2 * 1024);
    return v;
  }
  get fileInformationClass(): number {
    return this.u8(2);
  }
  get flags(): number {
    return this.u8(3);
  }
  get fileIndex(): number {
    return this.u32(4);
  }
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
  get outputBufferLength(): number {
    return this.u32(28);
  }
  get fileName(): string {
    try {
      return decodeUtf16(this.nameBytes);
    } catch (e) {
      if (e instanceof Utf16Error) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, e.message);
      throw e;
    }
  }
}

async function handle(ctx: Smb2Context, req: SMB2_QUERY_DIRECTORY_Request) {
  if (req.outputBufferLength > ctx.conn.maxTransactSize) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'OutputBufferLength exceeds MaxTransactSize');
  const o = resolveOpen(ctx, req.fileId);
  const data = await ctx.tree!.share.queryDirectory(ctx as TreeContext, o, req);
  const w = new BodyWriter(8);
  w.u16(0, 9).u16(2, 64 + 8).u32(4, data.length);
  return ok(w.buf, data.length ? data : Buffer.alloc(1));
}

export const QUERY_DIRECTORY: Smb2CommandSpec<SMB2_QUERY_DIRECTORY_Request> = {
  command: Smb2Cmd.QUERY_DIRECTORY,
  name: 'QUERY_DIRECTORY',
  scope: 'tree',
  decode: (msg) => SMB2_QUERY_DIRECTORY_Request.decode(msg),
  payload: (req) => req.outputBufferLength,
  handle,
};
