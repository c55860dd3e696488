/**
 * NTLMSSP acceptor (MS-NLMP): NEGOTIATE_MESSAGE → CHALLENGE_MESSAGE, then AUTHENTICATE_MESSAGE verified
 * as NTLMv2 (3.3.2) against the user database, with the MIC (3.1.5.1.2), key exchange (3.4.5) and the
 * session security the SPNEGO mechListMIC needs (3.4.4.2, extended session security). NTLMv1 and LM
 * responses are refused.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Rc4 } from '../crypto/rc4';
import type { SmbAccount, SmbUserDb } from '../users';

export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** MS-NLMP 2.2.2.5 NEGOTIATE flags. */
export const NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
export const NTLM_NEGOTIATE_OEM = 0x00000002;
export const NTLMSSP_REQUEST_TARGET = 0x00000004;
export const NTLMSSP_NEGOTIATE_SIGN = 0x00000010;
export const NTLMSSP_NEGOTIATE_SEAL = 0x00000020;
export const NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080;
export const NTLMSSP_NEGOTIATE_NTLM = 0x00000200;
export const NTLMSSP_ANONYMOUS = 0x00000800;
export const NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000;
export const NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000;
export const NTLMSSP_TARGET_TYPE_SERVER = 0x00020000;
export const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
export const NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000;
export const NTLMSSP_NEGOTIATE_VERSION = 0x02000000;
export const NTLMSSP_NEGOTIATE_128 = 0x20000000;
export const NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000;
export const NTLMSSP_NEGOTIATE_56 = 0x80000000;

export const NtlmMessageType = { NEGOTIATE: 1, CHALLENGE: 2, AUTHENTICATE: 3 } as const;

/** MS-NLMP 2.2.2.1 AV_PAIR ids. */
export const MsvAv = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;
/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
export const MSV_AV_FLAG_MIC_PRESENT = 0x2;

export class NtlmError extends Error {}

/** 100 ns intervals since 1601-01-01 (FILETIME) for the current time. */
export function nowFiletime(): bigint {
  return BigInt(Date.now()) * 10000n + 116444736000000000n;
}

const VERSION = Buffer.from([10, 0, 0x61, 0x4a, 0, 0, 0, 0x0f]); // 10.0 build 19041, NTLMSSP_REVISION_W2K3

function hmacMd5(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

function md5(...data: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const d of data) h.update(d);
  return h.digest();
}

export function encodeAvPairs(pairs: ReadonlyArray<[number, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [id, v] of pairs) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(v.length, 2);
    parts.push(h, v);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

/** Decodes AV pairs up to MsvAvEOL; malformed → NtlmError. */
export function decodeAvPairs(b: Buffer): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  let off = 0;
  for (;;) {
    if (off + 4 > b.length) throw new NtlmError('AV pairs run past their buffer');
    const id = b.readUInt16LE(off);
    const len = b.readUInt16LE(off + 2);
    off += 4;
    if (id === MsvAv.EOL) return m;
    if (off + len > b.length) throw new NtlmError('AV pair runs past its buffer');
    if (!m.has(id)) m.set(id, b.subarray(off, off + len));
    off += len;
  }
}

/** NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(NT hash, UNICODE(Uppercase(User) + UserDom)). */
export function ntowfv2(ntHash: Buffer, user: string, domain: string): Buffer {
  return hmacMd5(ntHash, Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

export interface Ntlmv2Check {
  ok: boolean;
  /** SessionBaseKey (= KeyExchangeKey for NTLMv2) when ok. */
  sessionBaseKey?: Buffer;
}

/** Verifies an NTLMv2 NtChallengeResponse: NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp). */
export function verifyNtlmv2(responseKeyNT: Buffer, serverChallenge: Buffer, ntResponse: Buffer): Ntlmv2Check {
  if (ntResponse.length < 16 + 28) return { ok: false };
  const proof = ntResponse.subarray(0, 16);
  const temp = ntResponse.subarray(16);
  const want = hmacMd5(responseKeyNT, serverChallenge, temp);
  if (!timingSafeEqual(want, proof)) return { ok: false };
  return { ok: true, sessionBaseKey: hmacMd5(responseKeyNT, proof) };
}

interface Field {
  len: number;
  off: number;
}

function readField(msg: Buffer, at: number): Field {
  if (at + 8 > msg.length) throw new NtlmError('message too short');
  const len = msg.readUInt16LE(at);
  const off = msg.readUInt32LE(at + 4);
  if (len > 0 && (off > msg.length || off + len > msg.length)) throw new NtlmError('field points outside the message');
  return { len, off };
}

function fieldBytes(msg: Buffer, f: Field): Buffer {
  return f.len === 0 ? Buffer.alloc(0) : msg.subarray(f.off, f.off + f.len);
}

function checkHeader(msg: Buffer, type: number): void {
  if (msg.length < 12 || !msg.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) throw new NtlmError('not an NTLMSSP message');
  if (msg.readUInt32LE(8) !== type) throw new NtlmError(`expected NTLMSSP message type ${type}, got ${msg.readUInt32LE(8)}`);
}

export interface NtlmServerOptions {
  users: SmbUserDb;
  /** NetBIOS domain (workgroup) name, upper case. */
  domain: string;
  /** NetBIOS computer name, upper case. */
  computer: string;
  /** DNS names (default: lower-case NetBIOS names). */
  dnsDomain?: string;
  dnsComputer?: string;
  /** Allow the anonymous (null) logon: empty user, empty NT response. */
  allowAnonymous?: boolean;
  /** Clock, for MsvAvTimestamp (tests). */
  now?: () => bigint;
  /** Server challenge source (tests). */
  challenge?: () => Buffer;
}

export type NtlmResult =
  | { ok: true; anonymous: false; account: SmbAccount; user: string; domain: string; workstation: string; sessionKey: Buffer }
  | { ok: true; anonymous: true; user: string; domain: string; workstation: string; sessionKey: Buffer }
  | { ok: false; reason: string; user?: string };

/** One authentication exchange (one SESSION_SETUP sequence). */
export class NtlmServer {
  private negotiateMsg: Buffer | undefined;
  private challengeMsg: Buffer | undefined;
  private serverChallenge: Buffer | undefined;
  private flags = 0;
  private exportedKey: Buffer | undefined;
  private security: { serverSign: Buffer; clientSign: Buffer; serverSeal: Rc4; clientSeal: Rc4; seqOut: number; seqIn: number } | undefined;

  constructor(private readonly opts: NtlmServerOptions) {}

  get negotiatedFlags(): number {
    return this.flags;
  }

  /** NEGOTIATE_MESSAGE (2.2.1.1) → CHALLENGE_MESSAGE (2.2.1.2). */
  negotiate(msg: Buffer): Buffer {
    checkHeader(msg, NtlmMessageType.NEGOTIATE);
    if (msg.length < 16) throw new NtlmError('NEGOTIATE too short');
    if (this.negotiateMsg) throw new NtlmError('NEGOTIATE received twice');
    const cf = msg.readUInt32LE(12);
    let f = NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_TARGET_INFO | NTLMSSP_TARGET_TYPE_SERVER;
    f |= cf & NTLMSSP_NEGOTIATE_UNICODE ? NTLMSSP_NEGOTIATE_UNICODE : NTLM_NEGOTIATE_OEM;
    if (cf & NTLMSSP_REQUEST_TARGET) f |= NTLMSSP_REQUEST_TARGET;
    f |=
      cf &
      (NTLMSSP_NEGOTIATE_SIGN |
        NTLMSSP_NEGOTIATE_SEAL |
        NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
        NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
        NTLMSSP_NEGOTIATE_VERSION |
        NTLMSSP_NEGOTIATE_128 |
        NTLMSSP_NEGOTIATE_56 |
        NTLMSSP_NEGOTIATE_KEY_EXCH);
    this.flags = f >>> 0;
    this.negotiateMsg = Buffer.from(msg);
    this.serverChallenge = this.opts.challenge?.() ?? randomBytes(8);

    const o = this.opts;
    const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64LE(o.now?.() ?? nowFiletime());
    const targetInfo = encodeAvPairs([
      [MsvAv.NbDomainName, u16(o.domain)],
      [MsvAv.NbComputerName, u16(o.computer)],
      [MsvAv.DnsDomainName, u16(o.dnsDomain ?? o.domain.toLowerCase())],
      [MsvAv.DnsComputerName, u16(o.dnsComputer ?? o.computer.toLowerCase())],
      [MsvAv.Timestamp, ts],
    ]);
    const targetName = this.flags & NTLMSSP_NEGOTIATE_UNICODE ? u16(o.domain) : Buffer.from(o.domain, 'latin1');
    const head = Buffer.alloc(56);
    NTLMSSP_SIGNATURE.copy(head, 0);
    head.writeUInt32LE(NtlmMessageType.CHALLENGE, 8);
    head.writeUInt16LE(targetName.length, 12);
    head.writeUInt16LE(targetName.length, 14);
    head.writeUInt32LE(56, 16);
    head.writeUInt32LE(this.flags, 20);
    this.serverChallenge.copy(head, 24);
    head.writeUInt16LE(targetInfo.length, 40);
    head.writeUInt16LE(targetInfo.length, 42);
    head.writeUInt32LE(56 + targetName.length, 44);
    VERSION.copy(head, 48);
    this.challengeMsg = Buffer.concat([head, targetName, targetInfo]);
    return this.challengeMsg;
  }

  /** AUTHENTICATE_MESSAGE (2.2.1.3): verifies it; on success the exported session key is known. */
  authenticate(msg: Buffer): NtlmResult {
    checkHeader(msg, NtlmMessageType.AUTHENTICATE);
    if (!this.challengeMsg || !this.serverChallenge || !this.negotiateMsg) throw new NtlmError('AUTHENTICATE before CHALLENGE');
    if (msg.length < 64) throw new NtlmError('AUTHENTICATE too short');
    const lmF = readField(msg, 12);
    const ntF = readField(msg, 20);
    const domF = readField(msg, 28);
    const userF = readField(msg, 36);
    const wsF = readField(msg, 44);
    const keyF = readField(msg, 52);
    const cflags = msg.readUInt32LE(60);
    const unicode = (cflags & NTLMSSP_NEGOTIATE_UNICODE) !== 0;
    const str = (f: Field): string => {
      const b = fieldBytes(msg, f);
      if (unicode && b.length % 2) throw new NtlmError('odd-length UTF-16 string');
      return unicode ? b.toString('utf16le') : b.toString('latin1');
    };
    const domain = str(domF);
    const user = str(userF);
    const workstation = str(wsF);
    const nt = fieldBytes(msg, ntF);
    const lm = fieldBytes(msg, lmF);
    // Key exchange is used only if both sides asked for it (the CHALLENGE flags are the agreed set).
    const flags = (this.flags & cflags) >>> 0;
    this.flags = flags | (this.flags & (NTLMSSP_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_OEM | NTLMSSP_NEGOTIATE_TARGET_INFO | NTLMSSP_TARGET_TYPE_SERVER));

    // Where the payload starts tells whether the 16-byte MIC field (offset 72) is there at all.
    const payloadStart = Math.min(...[lmF, ntF, domF, userF, wsF, keyF].filter((f) => f.len > 0).map((f) => f.off), msg.length);

    if (nt.length === 0 && user === '' && (lm.length === 0 || (lm.length === 1 && lm[0] === 0))) {
      if (!this.opts.allowAnonymous) return { ok: false, reason: 'anonymous logon refused', user };
      // Anonymous: no session key (MS-NLMP 3.2.5.1.2: all zeros, MS-SMB2 treats it as none).
      return { ok: true, anonymous: true, user, domain, workstation, sessionKey: Buffer.alloc(16) };
    }
    if (nt.length <= 24) return { ok: false, reason: 'NTLMv1/LM responses are not accepted', user };
    // The NTLMv2 client challenge's AV pairs are checked before the password: a malformed message is
    // INVALID_PARAMETER (NtlmError), not a logon failure, whoever sent it (as Samba since its bug 14932).
    // The pairs also say whether a MIC is present (MsvAvFlags).
    const av = decodeAvPairs(nt.subarray(16 + 28));
    const fl = av.get(MsvAv.Flags);
    const micPresent = !!fl && fl.length >= 4 && (fl.readUInt32LE(0) & MSV_AV_FLAG_MIC_PRESENT) !== 0;
    const account = this.lookup(user, domain);
    if (!account) return { ok: false, reason: 'unknown user', user };

    // The domain the client hashed with: as sent (the spec), then the forms older clients used.
    let check: Ntlmv2Check = { ok: false };
    for (const d of new Set([domain, domain.toUpperCase(), ''])) {
      check = verifyNtlmv2(ntowfv2(account.ntHash, user, d), this.serverChallenge, nt);
      if (check.ok) break;
    }
    if (!check.ok || !check.sessionBaseKey) return { ok: false, reason: 'wrong password', user };

    let exported = check.sessionBaseKey; // KeyExchangeKey = SessionBaseKey for NTLMv2
    if (flags & NTLMSSP_NEGOTIATE_KEY_EXCH) {
      const enc = fieldBytes(msg, keyF);
      if (enc.length !== 16) return { ok: false, reason: 'key exchange without a 16-byte session key', user };
      exported = new Rc4(check.sessionBaseKey).update(enc);
    }
    if (micPresent) {
      if (payloadStart < 88) return { ok: false, reason: 'MIC flagged but no room for it', user };
      const mic = msg.subarray(72, 88);
      const zeroed = Buffer.from(msg);
      zeroed.fill(0, 72, 88);
      const want = hmacMd5(exported, this.negotiateMsg, this.challengeMsg, zeroed);
      if (!timingSafeEqual(want, mic)) return { ok: false, reason: 'MIC mismatch', user };
    }
    this.exportedKey = exported;
    this.initSecurity(exported, flags);
    return { ok: true, anonymous: false, account, user, domain, workstation, sessionKey: exported };
  }

  private lookup(user: string, domain: string): SmbAccount | undefined {
    let a = this.opts.users.lookup(user);
    if (!a && domain === '' && user.includes('@')) a = this.opts.users.lookup(user.slice(0, user.indexOf('@')));
    return a;
  }

  /** MS-NLMP 3.4.5.2-3 (extended session security): signing and sealing keys both ways. */
  private initSecurity(key: Buffer, flags: number): void {
    const c = (s: string): Buffer => Buffer.from(s + '\0', 'latin1');
    let sealBase = key;
    if (!(flags & NTLMSSP_NEGOTIATE_128)) sealBase = key.subarray(0, flags & NTLMSSP_NEGOTIATE_56 ? 7 : 5);
    this.security = {
      clientSign: md5(key, c('session key to client-to-server signing key magic constant')),
      serverSign: md5(key, c('session key to server-to-client signing key magic constant')),
      clientSeal: new Rc4(md5(sealBase, c('session key to client-to-server sealing key magic constant'))),
      serverSeal: new Rc4(md5(sealBase, c('session key to server-to-client sealing key magic constant'))),
      seqOut: 0,
      seqIn: 0,
    };
  }

  get sessionKey(): Buffer | undefined {
    return this.exportedKey;
  }

  private mac(signKey: Buffer, seal: Rc4, seq: number, data: Buffer): Buffer {
    const s = Buffer.alloc(4);
    s.writeUInt32LE(seq >>> 0);
    let checksum = hmacMd5(signKey, s, data).subarray(0, 8);
    if (this.flags & NTLMSSP_NEGOTIATE_KEY_EXCH) checksum = seal.update(checksum);
    const out = Buffer.alloc(16);
    out.writeUInt32LE(1, 0);
    checksum.copy(out, 4);
    s.copy(out, 12);
    return out;
  }

  /** GSS_GetMIC for a message the server sends (3.4.4.2). */
  sign(data: Buffer): Buffer {
    const s = this.security;
    if (!s) throw new NtlmError('no session security before authentication');
    return this.mac(s.serverSign, s.serverSeal, s.seqOut++, data);
  }

  /** GSS_VerifyMIC for a message from the client. */
  verify(data: Buffer, signature: Buffer): boolean {
    const s = this.security;
    if (!s) throw new NtlmError('no session security before authentication');
    if (signature.length !== 16) return false;
    const want = this.mac(s.clientSign, s.clientSeal, s.seqIn++, data);
    return timingSafeEqual(want, signature);
  }
}
