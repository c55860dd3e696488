/**
 * SESSION_SETUP (MS-SMB2 2.2.5, 2.2.6, 3.3.5.5): SPNEGO/NTLMSSP over one or more round trips, then the
 * session's keys (3.3.5.5.3): the session key is the first 16 bytes of the GSS key; 3.x derives signing,
 * application and cipher keys with the KDF (3.0/3.0.2 with constant contexts, 3.1.1 with the preauth
 * integrity hash of the exchange).
 */
import { createHash } from 'node:crypto';
import { ROOT_CRED } from '../../../cluster/vfs/types';
import { SMB2_DIALECT_311, SMB2_NEGOTIATE_SIGNING_REQUIRED, SMB2_SESSION_FLAG_BINDING, SMB2_SESSION_FLAG_ENCRYPT_DATA, SMB2_SESSION_FLAG_IS_NULL, Smb2Cmd, isSmb3 } from '../constants';
import { SmbError, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { KDF_LABELS, smb3Kdf } from '../crypto/kdf';
import { NtStatus } from '../ntstatus';
import { keyBits } from '../session/encryption';
import { GssAcceptor } from '../session/spnego';
import type { Session } from '../state';
import type { SmbAccount } from '../users';
import { closeSession } from './logoff';
import { BodyWriter, RequestView } from '../wire';

/** Security blobs larger than this are refused (NTLM messages are a few hundred bytes). */
const MAX_SECURITY_BUFFER = 64 * 1024;
/** The identity anonymous (null) sessions act as. */
const ANONYMOUS_CRED = Object.freeze({ uid: 65534, gid: 65534, groups: [] as number[] });

export class SMB2_SESSION_SETUP_Request extends RequestView {
  private token!: Buffer;
  static decode(msg: Buffer): SMB2_SESSION_SETUP_Request {
    const v = new SMB2_SESSION_SETUP_Request(msg);
    v.structure(25);
    v.token = v.region(v.u16(12), v.u16(14), 24, MAX_SECURITY_BUFFER);
    return v;
  }
  get flags(): number {
    return this.u8(2);
  }
  get securityMode(): number {
    return this.u8(3);
  }
  get capabilities(): number {
    return this.u32(4);
  }
  get previousSessionId(): bigint {
    return this.u64(16);
  }
  get securityBuffer(): Buffer {
    return this.token;
  }
}

function responseBody(flags: number, token: Buffer): Buffer {
  const w = new BodyWriter(8 + token.length);
  w.u16(0, 9).u16(2, flags).u16(4, token.length ? 64 + 8 : 0).u16(6, token.length).put(8, token);
  return w.buf;
}

function newSession(ctx: Smb2Context): Session {
  const { conn, server } = ctx;
  if (conn.sessions.size >= server.maxSessionsPerConnection) throw new SmbError(NtStatus.STATUS_INSUFFICIENT_RESOURCES, 'too many sessions');
  const s: Session = {
    id: server.nextSessionId(),
    state: 'in-progress',
    gss: undefined,
    preauthHash: conn.dialect === SMB2_DIALECT_311 ? conn.preauthHash : undefined,
    account: undefined,
    cred: ANONYMOUS_CRED,
    userName: '',
    isAnonymous: false,
    isGuest: false,
    sessionKey: undefined,
    signingKey: undefined,
    encryptionKey: undefined,
    decryptionKey: undefined,
    applicationKey: undefined,
    signingRequired: false,
    encryptData: false,
    trees: new Map(),
    nextTreeId: 1,
    opens: new Map(),
  };
  conn.sessions.set(s.id, s);
  return s;
}

/** 3.3.5.5.3: keys from the GSS session key. */
export function deriveKeys(s: Session, dialect: number, cipherId: number, gssKey: Buffer): void {
  const key = Buffer.alloc(16);
  gssKey.copy(key, 0, 0, Math.min(16, gssKey.length));
  s.sessionKey = key;
  if (!isSmb3(dialect)) {
    s.signingKey = key;
    return;
  }
  const bits = cipherId ? keyBits(cipherId) : 128;
  if (dialect === SMB2_DIALECT_311) {
    const ctx = s.preauthHash!;
    const L = KDF_LABELS.smb311;
    s.signingKey = smb3Kdf(key, L.signing, ctx);
    s.applicationKey = smb3Kdf(key, L.application, ctx);
    s.encryptionKey = smb3Kdf(key, L.serverOut, ctx, bits);
    s.decryptionKey = smb3Kdf(key, L.serverIn, ctx, bits);
  } else {
    const L = KDF_LABELS.smb30;
    s.signingKey = smb3Kdf(key, L.signing[0], L.signing[1]);
    s.applicationKey = smb3Kdf(key, L.application[0], L.application[1]);
    s.encryptionKey = smb3Kdf(key, L.serverOut[0], L.serverOut[1]);
    s.decryptionKey = smb3Kdf(key, L.serverIn[0], L.serverIn[1]);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_SESSION_SETUP_Request): Promise<Smb2Reply> {
  const { conn, server, hdr } = ctx;
  // No multichannel (SMB2_GLOBAL_CAP_MULTI_CHANNEL is not announced), so a binding request is refused
  // as 3.3.5.5 says a server that is not multichannel-capable should.
  if (req.flags & SMB2_SESSION_FLAG_BINDING) throw new SmbError(NtStatus.STATUS_REQUEST_NOT_ACCEPTED, 'multichannel session binding is not supported');
  if (server.encryption === 'required' && !isSmb3(conn.dialect)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'encryption required, dialect cannot encrypt');
  if (server.encryption === 'required' && !conn.cipherId) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'encryption required, client offered no cipher');

  let s: Session;
  // Re-authentication (3.3.5.5.2): a SESSION_SETUP for a session that is already valid. The session stays
  // usable meanwhile and keeps its keys; only who it acts as may change.
  let reauth = false;
  if (hdr.sessionId === 0n) s = newSession(ctx);
  else {
    const found = conn.sessions.get(hdr.sessionId);
    if (!found) throw new SmbError(NtStatus.STATUS_USER_SESSION_DELETED);
    if (found.state === 'expired') throw new SmbError(NtStatus.STATUS_NETWORK_SESSION_EXPIRED);
    s = found;
    reauth = found.state === 'valid';
  }
  ctx.reply.sessionId = s.id;
  // The 3.1.1 preauth hash only feeds the key derivation of a new session.
  if (conn.dialect === SMB2_DIALECT_311 && !reauth) s.preauthHash = createHash('sha512').update(s.preauthHash!).update(ctx.msg).digest();

  s.gss ??= new GssAcceptor({ users: server.users, domain: server.domain, computer: server.serverName, allowAnonymous: server.allowAnonymous });
  const step = s.gss.step(req.securityBuffer);
  if (step.status === 'continue') {
    if (conn.dialect === SMB2_DIALECT_311 && !reauth) {
      ctx.reply.onEncoded = (resp) => {
        s.preauthHash = createHash('sha512').update(s.preauthHash!).update(resp).digest();
      };
    }
    return { status: NtStatus.STATUS_MORE_PROCESSING_REQUIRED, body: [responseBody(0, step.token)] };
  }
  s.gss = undefined;
  if (step.status === 'fail') {
    // 3.3.5.5.3: a failed authentication removes the session, and with a re-authentication that means
    // its trees and opens too.
    if (reauth) await closeSession(server, conn, s, ctx.log);
    else conn.sessions.delete(s.id);
    ctx.log.warn({ client: conn.clientAddress, user: step.user, reason: step.reason, reauth }, 'smb: authentication failed');
    throw new SmbError(step.malformed ? NtStatus.STATUS_INVALID_PARAMETER : NtStatus.STATUS_LOGON_FAILURE, step.reason);
  }
  const r = step.result;
  let flags = 0;
  if (reauth) {
    const before = s.isAnonymous ? '' : s.userName;
    setIdentity(s, r);
    if (s.isAnonymous) flags |= SMB2_SESSION_FLAG_IS_NULL;
    if (s.encryptData) flags |= SMB2_SESSION_FLAG_ENCRYPT_DATA;
    if (before !== (s.isAnonymous ? '' : s.userName)) await reconnectTrees(ctx, s);
    if (s.signingKey) ctx.reply.signWith = s;
    ctx.log.info({ client: conn.clientAddress, user: s.userName || '(anonymous)', session: s.id.toString(16) }, 'smb: session re-authenticated');
    return { status: 0, body: [responseBody(flags, step.token)] };
  }
  setIdentity(s, r);
  if (r.anonymous) flags |= SMB2_SESSION_FLAG_IS_NULL;
  else {
    deriveKeys(s, conn.dialect, conn.cipherId, r.sessionKey);
    s.signingRequired = server.signingRequired || (req.securityMode & SMB2_NEGOTIATE_SIGNING_REQUIRED) !== 0;
    if (server.encryption === 'required') {
      s.encryptData = true;
      flags |= SMB2_SESSION_FLAG_ENCRYPT_DATA;
    }
    // The final response is signed (3.1.1 requires it; earlier dialects let clients check it).
    ctx.reply.signWith = s;
  }
  s.state = 'valid';
  server.sessionsById.set(s.id, { session: s, conn });
  ctx.log.info({ client: conn.clientAddress, user: s.userName || '(anonymous)', session: s.id.toString(16) }, 'smb: session established');
  await endPreviousSession(ctx, s, req.previousSessionId);
  return { status: 0, body: [responseBody(flags, step.token)] };
}

/** Who the session acts as, from a successful authentication. */
function setIdentity(s: Session, r: { anonymous: boolean; account?: SmbAccount }): void {
  if (r.anonymous || !r.account) {
    s.isAnonymous = true;
    s.account = undefined;
    s.cred = ANONYMOUS_CRED;
    s.userName = '';
    return;
  }
  s.isAnonymous = false;
  s.account = r.account;
  s.userName = r.account.name;
  s.cred = r.account.uid === 0 ? ROOT_CRED : { uid: r.account.uid, gid: r.account.gid, groups: [...r.account.groups] };
}

/**
 * A re-authentication as somebody else: the session's tree connects stay (as on Windows, a client's
 * handles survive it), but from now on act as the new user: with the share's rules for that user
 * (squash, read-only), or, where the share would not admit the new user at all (anonymous on a disk
 * share), as that user's own identity with no squash rule to lift it. Never as the old user.
 */
async function reconnectTrees(ctx: Smb2Context, s: Session): Promise<void> {
  for (const t of s.trees.values()) {
    try {
      const access = await t.share.connect(s, ctx.conn.clientAddress);
      t.cred = access.cred;
      t.readOnly = access.readOnly;
      t.maximalAccess = access.maximalAccess;
    } catch {
      t.cred = s.cred;
    }
  }
}

/**
 * PreviousSessionId (3.3.5.5.3): a client that lost its connection names the session it had there; if
 * the same user owned it, that session ends now (its opens closed, their share modes and locks
 * released) instead of lingering until the old connection times out and blocking the reconnected
 * client's own opens. Anonymous sessions are nobody's to end.
 */
async function endPreviousSession(ctx: Smb2Context, s: Session, previous: bigint): Promise<void> {
  if (previous === 0n || previous === s.id || s.isAnonymous) return;
  const old = ctx.server.sessionsById.get(previous);
  if (!old || old.session.isAnonymous || old.session.state !== 'valid') return;
  if (old.session.userName.toLowerCase() !== s.userName.toLowerCase()) return;
  ctx.log.info({ client: ctx.conn.clientAddress, user: s.userName, previous: previous.toString(16), session: s.id.toString(16) }, 'smb: previous session of a reconnecting client ended');
  await closeSession(ctx.server, old.conn, old.session, ctx.log);
}

export const SESSION_SETUP: Smb2CommandSpec<SMB2_SESSION_SETUP_Request> = {
  command: Smb2Cmd.SESSION_SETUP,
  name: 'SESSION_SETUP',
  scope: 'none',
  decode: (msg) => SMB2_SESSION_SETUP_Request.decode(msg),
  handle,
};

