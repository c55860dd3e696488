/**
 * IOCTL (MS-SMB2 2.2.31, 2.2.32, 3.3.5.15). FSCTL_VALIDATE_NEGOTIATE_INFO is answered here (it concerns
 * the connection, not a file); DFS referrals are refused as a non-DFS server must; the rest goes to the
 * share handler (pipes: FSCTL_PIPE_TRANSCEIVE).
 */
import { FSCTL_DFS_GET_REFERRALS, FSCTL_DFS_GET_REFERRALS_EX, FSCTL_VALIDATE_NEGOTIATE_INFO, RELATED_FILE_ID, SMB2_0_IOCTL_IS_FSCTL, SMB2_DIALECT_311, Smb2Cmd } from '../constants';
import { DisconnectError, SmbError, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { NtStatus } from '../ntstatus';
import type { TreeContext } from '../shares';
import type { SmbOpen } from '../state';
import { BodyWriter, RequestView } from '../wire';
import { resolveOpen } from './files';

export class SMB2_IOCTL_Request extends RequestView {
  private input!: Buffer;
  static decode(msg: Buffer): SMB2_IOCTL_Request {
    const v = new SMB2_IOCTL_Request(msg);
    v.structure(57);
    v.input = v.region(v.u32(24), v.u32(28), 56, 1024 * 1024);
    // Output buffer in the request (rarely used) must be sane too.
    v.region(v.u32(36), v.u32(40), 56, 1024 * 1024);
    return v;
  }
  get ctlCode(): number {
    return this.u32(4);
  }
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
  get inputBuffer(): Buffer {
    return this.input;
  }
  get maxInputResponse(): number {
    return this.u32(32);
  }
  get maxOutputResponse(): number {
    return this.u32(44);
  }
  get flags(): number {
    return this.u32(48);
  }
}

export function ioctlBody(ctlCode: number, fileId: Buffer, output: Buffer): Buffer[] {
  const w = new BodyWriter(48);
  w.u16(0, 49)
    .u32(4, ctlCode)
    .put(8, fileId)
    .u32(24, 64 + 48)
    .u32(28, 0)
    .u32(32, 64 + 48)
    .u32(36, output.length);
  return output.length ? [w.buf, output] : [w.buf];
}

/** 3.3.5.15.12: the client checks that nothing tampered with its NEGOTIATE (3.0, 3.0.2). */
function validateNegotiate(ctx: Smb2Context, req: SMB2_IOCTL_Request): Buffer {
  const c = ctx.conn;
  if (c.dialect === SMB2_DIALECT_311) throw new DisconnectError('VALIDATE_NEGOTIATE_INFO on 3.1.1');
  const inp = req.inputBuffer;
  if (inp.length < 24) throw new DisconnectError('VALIDATE_NEGOTIATE_INFO input too short');
  const caps = inp.readUInt32LE(0);
  const guid = inp.subarray(4, 20);
  const mode = inp.readUInt16LE(20);
  const count = inp.readUInt16LE(22);
  if (inp.length < 24 + count * 2) throw new DisconnectError('VALIDATE_NEGOTIATE_INFO dialects run past the input');
  const dialects: number[] = [];
  for (let i = 0; i < count; i++) dialects.push(inp.readUInt16LE(24 + i * 2));
  const same = caps === c.clientCapabilities && guid.equals(c.clientGuid) && mode === c.clientSecurityMode && dialects.length === c.clientDialects.length && dialects.every((d, i) => d === c.clientDialects[i]);
  if (!same) throw new DisconnectError('VALIDATE_NEGOTIATE_INFO does not match the NEGOTIATE');
  if (req.maxOutputResponse < 24) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
  const out = new BodyWriter(24);
  out.u32(0, c.serverCapabilities).put(4, ctx.server.serverGuid).u16(20, c.serverSecurityMode).u16(22, c.dialect);
  return out.buf;
}

async function handle(ctx: Smb2Context, req: SMB2_IOCTL_Request): Promise<Smb2Reply> {
  if (!(req.flags & SMB2_0_IOCTL_IS_FSCTL)) throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED, 'IOCTL without IS_FSCTL');
  switch (req.ctlCode) {
    case FSCTL_VALIDATE_NEGOTIATE_INFO:
      return { status: 0, body: ioctlBody(req.ctlCode, req.fileId, validateNegotiate(ctx, req)) };
    case FSCTL_DFS_GET_REFERRALS:
    case FSCTL_DFS_GET_REFERRALS_EX:
      throw new SmbError(NtStatus.STATUS_FS_DRIVER_REQUIRED, 'not a DFS server');
  }
  let open: SmbOpen | undefined;
  if (!req.fileId.equals(RELATED_FILE_ID) || ctx.chain.fileId) open = resolveOpen(ctx, req.fileId);
  const r = await ctx.tree!.share.ioctl(ctx as TreeContext, open, req);
  if (r.output.length > req.maxOutputResponse) throw new SmbError(NtStatus.STATUS_BUFFER_TOO_SMALL);
  return { status: r.status, body: ioctlBody(req.ctlCode, req.fileId, r.output) };
}

export const IOCTL: Smb2CommandSpec<SMB2_IOCTL_Request> = {
  command: Smb2Cmd.IOCTL,
  name: 'IOCTL',
  scope: 'tree',
  decode: (msg) => SMB2_IOCTL_Request.decode(msg),
  payload: (req) => Math.max(req.inputBuffer.length, req.maxOutputResponse),
  handle,
};
