/** WRITE (MS-SMB2 2.2.21, 2.2.22, 3.3.5.13). */
import { SMB2_WRITEFLAG_WRITE_THROUGH, Smb2Cmd } from '../constants';
import { ok, SmbError, type Smb2CommandSpec, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import type { TreeContext } from '../shares';
import { BodyWriter, RequestView } from '../wire';
import { resolveOpen } from './files';

export class SMB2_WRITE_Request extends RequestView {
  private payload!: Buffer;
  static decode(msg: Buffer): SMB2_WRITE_Request {
    const v = new SMB2_WRITE_Request(msg);
    v.structure(49);
    v.payload = v.region(v.u16(2), v.u32(4), 48);
    v.region(v.u16(40), v.u16(42), 48);
    return v;
  }
  get data(): Buffer {
    return this.payload;
  }
  get offset(): bigint {
    return this.u64(8);
  }
  get fileId(): Buffer {
    return this.bytes(16, 16);
  }
  get flags(): number {
    return this.u32(44);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_WRITE_Request) {
  if (req.data.length > ctx.conn.maxWriteSize) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `WRITE of ${req.data.length} bytes exceeds MaxWriteSize`);
  const o = resolveOpen(ctx, req.fileId);
  // A message still arriving (arriving.ts): the payload is read piece by piece as it lands.
  const arrived = ctx.arrived;
  const base = req.data.byteOffset - ctx.msg.byteOffset;
  const ready = arrived ? (end: number) => arrived(base + end) : undefined;
  const n = await ctx.tree!.share.write(ctx as TreeContext, o, req.offset, req.data, (req.flags & SMB2_WRITEFLAG_WRITE_THROUGH) !== 0, ready);
  const w = new BodyWriter(16);
  w.u16(0, 17).u32(4, n);
  return ok(w.buf);
}

export const WRITE: Smb2CommandSpec<SMB2_WRITE_Request> = {
  command: Smb2Cmd.WRITE,
  name: 'WRITE',
  scope: 'tree',
  decode: (msg) => SMB2_WRITE_Request.decode(msg),
  payload: (req) => req.data.length,
  handle,
};
