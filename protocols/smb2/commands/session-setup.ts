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
  if (req.flags & SMB2_SESSION_FLAG_BINDING) throw new SmbError(NtStatus.STATUS_REQUEST_NOT_ACCEPTED, 'multichannel session binding is not supported');
  if (server.encryption === 'required' && !isSmb3(conn.dialect)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'encryption required, dialect cannot encrypt');
  if (server.encryption === 'required' && !conn.cipherId) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'encryption required, client offered no cipher');

  let s: Session;
  if (hdr.sessionId === 0n) s = newSession(ctx);
  else {
    const found = conn.sessions.get(hdr.sessionId);
    if (!found) throw new SmbError(NtStatus.STATUS_USER_SESSION_DELETED);
    if (found.state === 'expired') throw new SmbError(NtStatus.STATUS_NETWORK_SESSION_EXPIRED);
    if (found.state === 'valid') throw new SmbError(NtStatus.STATUS_REQUEST_NOT_ACCEPTED, 're-authentication is not supported');
    s = found;
  }
  ctx.reply.sessionId = s.id;
  if (conn.dialect === SMB2_DIALECT_311) s.preauthHash = createHash('sha512').update(s.preauthHash!).update(ctx.msg).digest();

  s.gss ??= new GssAcceptor({ users: server.users, domain: server.domain, computer: server.serverName, allowAnonymous: server.allowAnonymous });
  const step = s.gss.step(req.securityBuffer);
  if (step.status === 'continue') {
    if (conn.dialect === SMB2_DIALECT_311) {
      ctx.reply.onEncoded = (resp) => {
        s.preauthHash = createHash('sha512').update(s.preauthHash!).update(resp).digest();
      };
    }
    return { status: NtStatus.STATUS_MORE_PROCESSING_REQUIRED, body: [responseBody(0, step.token)] };
  }
  s.gss = undefined;
  if (step.status === 'fail') {
    conn.sessions.delete(s.id);
    ctx.log.warn({ client: conn.clientAddress, user: step.user, reason: step.reason }, 'smb: authentication failed');
    throw new SmbError(step.malformed ? NtStatus.STATUS_INVALID_PARAMETER : NtStatus.STATUS_LOGON_FAILURE, step.reason);
  }
  const r = step.result;
  let flags = 0;
  if (r.anonymous) {
    s.isAnonymous = true;
    s.cred = ANONYMOUS_CRED;
    s.userName = '';
    flags |= SMB2_SESSION_FLAG_IS_NULL;
  } else {
    s.account = r.account;
    s.userName = r.account.name;
    s.cred = r.account.uid === 0 ? ROOT_CRED : { uid: r.account.uid, gid: r.account.gid, groups: [...r.account.groups] };
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
  ctx.log.info({ client: conn.clientAddress, user: s.userName || '(anonymous)', session: s.id.toString(16) }, 'smb: session established');
  return { status: 0, body: [responseBody(flags, step.token)] };
}

export const SESSION_SETUP: Smb2CommandSpec<SMB2_SESSION_SETUP_Request> = {
  command: Smb2Cmd.SESSION_SETUP,
  name: 'SESSION_SETUP',
  scope: 'none',
  decode: (msg) => SMB2_SESSION_SETUP_Request.decode(msg),
  handle,
};

