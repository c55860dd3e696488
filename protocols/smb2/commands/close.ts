/** CLOSE (MS-SMB2 2.2.15, 2.2.16, 3.3.5.10). */
import { SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, Smb2Cmd } from '../constants';
import { ok, type Smb2CommandSpec, type Smb2Context } from '../command';
import type { TreeContext } from '../shares';
import { allocationSize, endOfFile, fileAttributes, smbTimes } from '../fscc/attrs';
import { BodyWriter, RequestView } from '../wire';
import { resolveOpen } from './files';

class SMB2_CLOSE_Request extends RequestView {
  static decode(msg: Buffer): SMB2_CLOSE_Request {
    const v = new SMB2_CLOSE_Request(msg);
    v.structure(24);
    return v;
  }
  get flags(): number {
    return this.u16(2);
  }
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_CLOSE_Request) {
  const o = resolveOpen(ctx, req.fileId);
  o.closed = true;
  ctx.session!.opens.delete(o.volatileId);
  const attr = await ctx.tree!.share.close(ctx as TreeContext, o);
  const w = new BodyWriter(60);
  w.u16(0, 60);
  if (req.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB && attr) {
    const [c, la, lw, ch] = smbTimes(attr);
    w.u16(2, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB).u64(8, c).u64(16, la).u64(24, lw).u64(32, ch).u64(40, allocationSize(attr)).u64(48, endOfFile(attr)).u32(56, fileAttributes(attr));
  }
  return ok(w.buf);
}

export const CLOSE: Smb2CommandSpec<SMB2_CLOSE_Request> = {
  command: Smb2Cmd.CLOSE,
  name: 'CLOSE',
  scope: 'tree',
  decode: (msg) => SMB2_CLOSE_Request.decode(msg),
  handle,
};
