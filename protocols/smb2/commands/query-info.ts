/** QUERY_INFO (MS-SMB2 2.2.37, 2.2.38, 3.3.5.20). */
import { Smb2Cmd } from '../constants';
import { SmbError, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { NtStatus } from '../ntstatus';
import type { TreeContext } from '../shares';
import { BodyWriter, RequestView } from '../wire';
import { resolveOpen } from './files';

export class SMB2_QUERY_INFO_Request extends RequestView {
  private input!: Buffer;
  static decode(msg: Buffer): SMB2_QUERY_INFO_Request {
    const v = new SMB2_QUERY_INFO_Request(msg);
    v.structure(41);
    v.input = v.region(v.u16(8), v.u32(12), 40, 64 * 1024);
    return v;
  }
  get infoType(): number {
    return this.u8(2);
  }
  get fileInfoClass(): number {
    return this.u8(3);
  }
  get outputBufferLength(): number {
    return this.u32(4);
  }
  get inputBuffer(): Buffer {
    return this.input;
  }
  get additionalInformation(): number {
    return this.u32(16);
  }
  get flags(): number {
    return this.u32(20);
  }
  get fileId(): Buffer {
    return this.bytes(24, 16);
  }
}

/** The QUERY_INFO response body around `data` (also used for STATUS_BUFFER_OVERFLOW replies). */
export function queryInfoBody(data: Buffer): Buffer[] {
  const w = new BodyWriter(8);
  w.u16(0, 9).u16(2, 64 + 8).u32(4, data.length);
  return [w.buf, data.length ? data : Buffer.alloc(1)];
}

/**
 * Fits `data` into the client's buffer: too small for the fixed part → STATUS_INFO_LENGTH_MISMATCH;
 * too small for all of it → STATUS_BUFFER_OVERFLOW with as much as fits (MS-SMB2 3.3.5.20.1).
 */
export function fitInfo(data: Buffer, fixed: number, max: number): Smb2Reply {
  // A buffer below the class's minimum is refused even when this particular answer would fit (Windows).
  if (max < fixed) throw new SmbError(NtStatus.STATUS_INFO_LENGTH_MISMATCH);
  if (data.length <= max) return { status: 0, body: queryInfoBody(data) };
  return { status: NtStatus.STATUS_BUFFER_OVERFLOW, body: queryInfoBody(data.subarray(0, max)) };
}

async function handle(ctx: Smb2Context, req: SMB2_QUERY_INFO_Request): Promise<Smb2Reply> {
  if (req.outputBufferLength > ctx.conn.maxTransactSize) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'OutputBufferLength exceeds MaxTransactSize');
  const o = resolveOpen(ctx, req.fileId);
  return ctx.tree!.share.queryInfo(ctx as TreeContext, o, req);
}

export const QUERY_INFO: Smb2CommandSpec<SMB2_QUERY_INFO_Request> = {
  command: Smb2Cmd.QUERY_INFO,
  name: 'QUERY_INFO',
  scope: 'tree',
  decode: (msg) => SMB2_QUERY_INFO_Request.decode(msg),
  payload: (req) => Math.max(req.outputBufferLength, req.inputBuffer.length),
  handle,
};
