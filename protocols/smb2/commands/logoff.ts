/**
 * LOGOFF (MS-SMB2 2.2.7, 3.3.5.6): closes the session's opens and trees and forgets it.
 */
import { Smb2Cmd } from '../constants';
import { ok, type Smb2CommandSpec, type Smb2Context } from '../command';
import type { ConnectionState, Session, TreeConnect } from '../state';
import type { Logger } from '../../rpc/log';
import type { SmbServerContext } from '../server-context';
import { RequestView } from '../wire';

class SMB2_LOGOFF_Request extends RequestView {
  static decode(msg: Buffer): SMB2_LOGOFF_Request {
    const v = new SMB2_LOGOFF_Request(msg);
    v.structure(4);
    return v;
  }
}

/** Closes every open of a tree (errors are logged: a close cannot fail the caller). */
export async function closeTree(t: TreeConnect, log: Logger): Promise<void> {
  for (const o of [...t.session.opens.values()]) {
    if (o.tree !== t) continue;
    t.session.opens.delete(o.volatileId);
    if (o.closed) continue;
    o.closed = true;
    try {
      await t.share.close(undefined, o);
    } catch (e) {
      log.warn({ err: String(e), path: o.path }, 'smb: close on tree teardown failed');
    }
  }
  t.session.trees.delete(t.id);
}

/** Ends a session (LOGOFF, connection loss, failed re-authentication, a client's PreviousSessionId). */
export async function closeSession(server: SmbServerContext, conn: ConnectionState, s: Session, log: Logger): Promise<void> {
  s.state = 'expired';
  conn.sessions.delete(s.id);
  if (server.sessionsById.get(s.id)?.session === s) server.sessionsById.delete(s.id);
  for (const t of [...s.trees.values()]) await closeTree(t, log);
}

export const LOGOFF: Smb2CommandSpec<SMB2_LOGOFF_Request> = {
  command: Smb2Cmd.LOGOFF,
  name: 'LOGOFF',
  scope: 'session',
  decode: (msg) => SMB2_LOGOFF_Request.decode(msg),
  handle: async (ctx: Smb2Context) => {
    await closeSession(ctx.server, ctx.conn, ctx.session!, ctx.log);
    const b = Buffer.alloc(4);
    b.writeUInt16LE(4, 0);
    return ok(b);
  },
};
