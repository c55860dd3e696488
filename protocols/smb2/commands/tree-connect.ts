/**
 * TREE_CONNECT / TREE_DISCONNECT (MS-SMB2 2.2.9-2.2.12, 3.3.5.7-8): \\server\share → a tree on one of the
 * configured shares, after the share's admission rules.
 */
import { SMB2_SHARE_TYPE_DISK, SMB2_SHARE_TYPE_PIPE, SMB2_SHAREFLAG_ENCRYPT_DATA, SMB2_SHAREFLAG_MANUAL_CACHING, SMB2_SHAREFLAG_NO_CACHING, Smb2Cmd } from '../constants';
import { ok, SmbError, type Smb2CommandSpec, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import type { TreeConnect } from '../state';
import { decodeUtf16, Utf16Error } from '../utf16';
import { BodyWriter, DecodeError, RequestView } from '../wire';
import { closeTree } from './logoff';

export class SMB2_TREE_CONNECT_Request extends RequestView {
  private pathBytes!: Buffer;
  static decode(msg: Buffer): SMB2_TREE_CONNECT_Request {
    const v = new SMB2_TREE_CONNECT_Request(msg);
    v.structure(9);
    v.pathBytes = v.region(v.u16(4), v.u16(6), 8, 2 * 1024);
    return v;
  }
  get path(): string {
    try {
      return decodeUtf16(this.pathBytes);
    } catch (e) {
      if (e instanceof Utf16Error) throw new DecodeError(e.message);
      throw e;
    }
  }
}

/** "\\server\share" → "share". */
export function shareNameOf(path: string): string | undefined {
  const m = /^\\\\[^\\]+\\([^\\]+)\\?$/.exec(path);
  return m ? m[1] : undefined;
}

async function connect(ctx: Smb2Context, req: SMB2_TREE_CONNECT_Request) {
  const s = ctx.session!;
  const name = shareNameOf(req.path);
  if (!name) throw new SmbError(NtStatus.STATUS_BAD_NETWORK_NAME, `bad share path ${req.path}`);
  const share = ctx.server.shares.get(name);
  if (!share) throw new SmbError(NtStatus.STATUS_BAD_NETWORK_NAME, `no share ${name}`);
  if (s.trees.size >= ctx.server.maxTreesPerSession) throw new SmbError(NtStatus.STATUS_INSUFFICIENT_RESOURCES, 'too many tree connects');
  const access = await share.connect(s, ctx.conn.clientAddress);
  if (access.encryptData && !ctx.conn.cipherId) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'share requires encryption the connection cannot do');
  const t: TreeConnect = {
    id: s.nextTreeId++,
    session: s,
    share,
    shareName: share.name,
    readOnly: access.readOnly,
    maximalAccess: access.maximalAccess,
    encryptData: access.encryptData,
    cred: access.cred,
  };
  s.trees.set(t.id, t);
  ctx.reply.treeId = t.id;
  ctx.log.debug({ client: ctx.conn.clientAddress, share: share.name, tree: t.id }, 'smb: tree connect');
  let flags = share.type === 'disk' ? SMB2_SHAREFLAG_MANUAL_CACHING : SMB2_SHAREFLAG_NO_CACHING;
  if (t.encryptData) flags |= SMB2_SHAREFLAG_ENCRYPT_DATA;
  const w = new BodyWriter(16);
  w.u16(0, 16)
    .u8(2, share.type === 'disk' ? SMB2_SHARE_TYPE_DISK : SMB2_SHARE_TYPE_PIPE)
    .u32(4, flags)
    .u32(8, 0)
    .u32(12, t.maximalAccess);
  return ok(w.buf);
}

export const TREE_CONNECT: Smb2CommandSpec<SMB2_TREE_CONNECT_Request> = {
  command: Smb2Cmd.TREE_CONNECT,
  name: 'TREE_CONNECT',
  scope: 'session',
  decode: (msg) => SMB2_TREE_CONNECT_Request.decode(msg),
  handle: connect,
};

class SMB2_TREE_DISCONNECT_Request extends RequestView {
  static decode(msg: Buffer): SMB2_TREE_DISCONNECT_Request {
    const v = new SMB2_TREE_DISCONNECT_Request(msg);
    v.structure(4);
    return v;
  }
}

export const TREE_DISCONNECT: Smb2CommandSpec<SMB2_TREE_DISCONNECT_Request> = {
  command: Smb2Cmd.TREE_DISCONNECT,
  name: 'TREE_DISCONNECT',
  scope: 'tree',
  decode: (msg) => SMB2_TREE_DISCONNECT_Request.decode(msg),
  handle: async (ctx) => {
    await closeTree(ctx.tree!, ctx.log);
    const b = Buffer.alloc(4);
    b.writeUInt16LE(4, 0);
    return ok(b);
  },
};
