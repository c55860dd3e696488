/** FLUSH (MS-SMB2 2.2.17, 2.2.18, 3.3.5.11): makes the open's written data stable. */
import { Smb2Cmd } from '../constants';
import { ok, type Smb2CommandSpec, type Smb2Context } from '../command';
import type { TreeContext } from '../shares';
import { RequestView } from '../wire';
import { resolveOpen } from './files';

class SMB2_FLUSH_Request extends RequestView {
  static decode(msg: Buffer): SMB2_FLUSH_Request {
    const v = new SMB2_FLUSH_Request(msg);
    v.structure(24);
    return v;
  }
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_FLUSH_Request) {
  const o = resolveOpen(ctx, req.fileId);
  await ctx.tree!.share.flush(ctx as TreeContext, o);
  const b = Buffer.alloc(4);
  b.writeUInt16LE(4, 0);
  return ok(b);
}

export const FLUSH: Smb2CommandSpec<SMB2_FLUSH_Request> = {
  command: Smb2Cmd.FLUSH,
  name: 'FLUSH',
  scope: 'tree',
  decode: (msg) => SMB2_FLUSH_Request.decode(msg),
  handle,
};
