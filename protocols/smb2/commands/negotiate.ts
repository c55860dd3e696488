/**
 * NEGOTIATE (MS-SMB2 2.2.3, 2.2.4, 3.3.5.4): dialect selection, capabilities, and for 3.1.1 the
 * negotiate contexts (preauth integrity with SHA-512, cipher and signing algorithm). Also the answer to
 * an SMB1 NEGOTIATE that offers SMB2 (3.3.5.3).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  AES_128_CCM,
  AES_128_GCM,
  AES_256_CCM,
  AES_256_GCM,
  AES_CMAC,
  AES_GMAC,
  HMAC_SHA256,
  SHA_512,
  SMB2_DIALECT_202,
  SMB2_DIALECT_210,
  SMB2_DIALECT_300,
  SMB2_DIALECT_302,
  SMB2_DIALECT_311,
  SMB2_DIALECT_WILDCARD,
  SMB2_ENCRYPTION_CAPABILITIES,
  SMB2_GLOBAL_CAP_ENCRYPTION,
  SMB2_GLOBAL_CAP_LARGE_MTU,
  SMB2_GLOBAL_CAP_LEASING,
  SMB2_NEGOTIATE_SIGNING_ENABLED,
  SMB2_NEGOTIATE_SIGNING_REQUIRED,
  SMB2_PREAUTH_INTEGRITY_CAPABILITIES,
  SMB2_SIGNING_CAPABILITIES,
  Smb2Cmd,
} from '../constants';
import { DisconnectError, SmbError, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { NtStatus } from '../ntstatus';
import { negTokenInit2 } from '../session/spnego';
import type { SigningAlgorithm } from '../session/signing';
import type { SmbServerContext } from '../server-context';
import type { ConnectionState } from '../state';
import { filetimeFromNs } from '../fscc/attrs';
import { align8, BodyWriter, DecodeError, RequestView } from '../wire';

/** STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP (MS-ERREF). */
const STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP = 0xc05d0000;

const MAX_DIALECTS = 64;
const MAX_CONTEXTS = 32;

export interface NegotiateContext {
  type: number;
  data: Buffer;
}

export class SMB2_NEGOTIATE_Request extends RequestView {
  private dialectList: number[] = [];
  private ctxs: NegotiateContext[] = [];

  static decode(msg: Buffer): SMB2_NEGOTIATE_Request {
    const v = new SMB2_NEGOTIATE_Request(msg);
    v.validate();
    return v;
  }

  private validate(): void {
    this.structure(36);
    const count = this.u16(2);
    if (count === 0) throw new DecodeError('DialectCount is 0');
    if (count > MAX_DIALECTS) throw new DecodeError('too many dialects');
    const d = this.region(64 + 36, count * 2, 36);
    for (let i = 0; i < count; i++) this.dialectList.push(d.readUInt16LE(i * 2));
    if (this.dialectList.includes(SMB2_DIALECT_311)) {
      const off = this.u32(28);
      const n = this.u16(32);
      if (n > MAX_CONTEXTS) throw new DecodeError('too many negotiate contexts');
      if (n > 0) {
        if (off % 8 !== 0 || off < 64 + 36 + count * 2) throw new DecodeError('bad NegotiateContextOffset');
        let pos = off;
        for (let i = 0; i < n; i++) {
          if (pos + 8 > this.msg.length) throw new DecodeError('negotiate context header outside the message');
          const type = this.msg.readUInt16LE(pos);
          const len = this.msg.readUInt16LE(pos + 2);
          if (pos + 8 + len > this.msg.length) throw new DecodeError('negotiate context data outside the message');
          this.ctxs.push({ type, data: this.msg.subarray(pos + 8, pos + 8 + len) });
          pos = align8(pos + 8 + len);
        }
      }
    }
  }

  get dialects(): number[] {
    return this.dialectList;
  }
  get securityMode(): number {
    return this.u16(4);
  }
  get capabilities(): number {
    return this.u32(8);
  }
  get clientGuid(): Buffer {
    return this.bytes(12, 16);
  }
  get contexts(): NegotiateContext[] {
    return this.ctxs;
  }
}

function u16list(data: Buffer, countAt: number, firstAt: number): number[] {
  if (data.length < countAt + 2) throw new DecodeError('negotiate context too short');
  const n = data.readUInt16LE(countAt);
  if (n === 0) throw new DecodeError('empty algorithm list');
  if (data.length < firstAt + n * 2) throw new DecodeError('algorithm list runs past its context');
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(data.readUInt16LE(firstAt + i * 2));
  return out;
}

/** Server preference (Windows and Samba use the same order). */
const CIPHER_PREFERENCE = [AES_128_GCM, AES_128_CCM, AES_256_GCM, AES_256_CCM];
const SIGNING_PREFERENCE: SigningAlgorithm[] = [AES_GMAC, AES_CMAC, HMAC_SHA256];

function encodeContext(type: number, data: Buffer): Buffer {
  const b = Buffer.alloc(align8(8 + data.length));
  b.writeUInt16LE(type, 0);
  b.writeUInt16LE(data.length, 2);
  data.copy(b, 8);
  return b;
}

/** The NEGOTIATE response body for `dialect` (without 3.1.1 contexts unless given). */
export function negotiateResponseBody(server: SmbServerContext, conn: ConnectionState, dialect: number, contexts: Buffer[] = []): Buffer {
  const sec = negTokenInit2();
  const fixed = 64;
  const secOff = 64 + fixed; // from the header
  const ctxStart = contexts.length ? align8(secOff + sec.length) - 64 : 0;
  const size = contexts.length ? ctxStart + contexts.reduce((n, c) => n + c.length, 0) : fixed + sec.length;
  const w = new BodyWriter(size);
  w.u16(0, 65)
    .u16(2, conn.serverSecurityMode)
    .u16(4, dialect)
    .u16(6, contexts.length)
    .put(8, server.serverGuid)
    .u32(24, conn.serverCapabilities)
    .u32(28, conn.maxTransactSize)
    .u32(32, conn.maxReadSize)
    .u32(36, conn.maxWriteSize)
    .u64(40, filetimeFromNs(BigInt(Date.now()) * 1_000_000n))
    .u64(48, 0n)
    .u16(56, secOff)
    .u16(58, sec.length)
    .u32(60, contexts.length ? ctxStart + 64 : 0)
    .put(64, sec);
  let p = ctxStart;
  for (const c of contexts) {
    w.put(p, c);
    p += c.length;
  }
  return w.buf;
}

/** Capabilities, limits and security mode for a dialect (3.3.5.4). */
export function setupConnection(server: SmbServerContext, conn: ConnectionState, dialect: number): void {
  conn.dialect = dialect;
  conn.serverSecurityMode = SMB2_NEGOTIATE_SIGNING_ENABLED | (server.signingRequired ? SMB2_NEGOTIATE_SIGNING_REQUIRED : 0);
  let caps = 0;
  if (dialect !== SMB2_DIALECT_202 && dialect !== SMB2_DIALECT_WILDCARD) caps |= SMB2_GLOBAL_CAP_LARGE_MTU;
  // Leases (2.1 and later) only when they are granted (leases/manager.ts).
  if (dialect !== SMB2_DIALECT_202 && dialect !== SMB2_DIALECT_WILDCARD && server.caching.opts.leases) caps |= SMB2_GLOBAL_CAP_LEASING;
  conn.supportsMultiCredit = dialect !== SMB2_DIALECT_202;
  // 3.0/3.0.2 signal encryption through the capability (AES-128-CCM is their only cipher).
  if ((dialect === SMB2_DIALECT_300 || dialect === SMB2_DIALECT_302) && server.encryption !== 'off' && conn.clientCapabilities & SMB2_GLOBAL_CAP_ENCRYPTION) {
    caps |= SMB2_GLOBAL_CAP_ENCRYPTION;
    conn.cipherId = AES_128_CCM;
  }
  conn.serverCapabilities = caps;
  conn.signingAlgorithm = dialect >= SMB2_DIALECT_300 ? AES_CMAC : HMAC_SHA256;
  // 2.0.2 has no multi-credit requests: one credit carries at most 64 KiB.
  const io = dialect === SMB2_DIALECT_202 ? 65536 : server.maxIo;
  conn.maxTransactSize = io;
  conn.maxReadSize = io;
  conn.maxWriteSize = io;
}

function chooseDialect(server: SmbServerContext, offered: number[]): number | undefined {
  return server.dialects.find((d) => offered.includes(d));
}

async function handle(ctx: Smb2Context, req: SMB2_NEGOTIATE_Request): Promise<Smb2Reply> {
  const { conn, server } = ctx;
  if (conn.dialect !== 0 && conn.dialect !== SMB2_DIALECT_WILDCARD) throw new DisconnectError('second NEGOTIATE on a connection');
  conn.clientCapabilities = req.capabilities;
  conn.clientSecurityMode = req.securityMode;
  conn.clientGuid = Buffer.from(req.clientGuid);
  conn.clientDialects = req.dialects;
  const dialect = chooseDialect(server, req.dialects);
  if (dialect === undefined) {
    ctx.reply.disconnect = true;
    throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED, `no common dialect in ${req.dialects.map((d) => d.toString(16)).join(',')}`);
  }
  setupConnection(server, conn, dialect);
  if (dialect !== SMB2_DIALECT_311) return { status: 0, body: [negotiateResponseBody(server, conn, dialect)] };

  // 3.1.1: exactly one preauth context with SHA-512; optional cipher and signing contexts.
  let preauth: Buffer | undefined;
  let ciphers: number[] | undefined;
  let signing: number[] | undefined;
  for (const c of req.contexts) {
    if (c.type === SMB2_PREAUTH_INTEGRITY_CAPABILITIES) {
      if (preauth) throw new DecodeError('two preauth integrity contexts');
      preauth = c.data;
    } else if (c.type === SMB2_ENCRYPTION_CAPABILITIES) {
      if (ciphers) throw new DecodeError('two encryption contexts');
      ciphers = u16list(c.data, 0, 2);
    } else if (c.type === SMB2_SIGNING_CAPABILITIES) {
      if (signing) throw new DecodeError('two signing contexts');
      signing = u16list(c.data, 0, 2);
    }
    // Compression, netname, transport and RDMA contexts: not supported, not answered.
  }
  if (!preauth) throw new DecodeError('3.1.1 NEGOTIATE without a preauth integrity context');
  const hashes = u16list(preauth, 0, 4);
  if (preauth.length < 4 + hashes.length * 2 + preauth.readUInt16LE(2)) throw new DecodeError('preauth salt runs past its context');
  if (!hashes.includes(SHA_512)) throw new SmbError(STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP, 'no SHA-512 in the preauth context');

  const out: Buffer[] = [];
  const pd = Buffer.alloc(6 + 32);
  pd.writeUInt16LE(1, 0);
  pd.writeUInt16LE(32, 2);
  pd.writeUInt16LE(SHA_512, 4);
  randomBytes(32).copy(pd, 6);
  out.push(encodeContext(SMB2_PREAUTH_INTEGRITY_CAPABILITIES, pd));
  if (ciphers) {
    const chosen = server.encryption === 'off' ? 0 : (CIPHER_PREFERENCE.find((c) => ciphers!.includes(c)) ?? 0);
    conn.cipherId = chosen;
    const d = Buffer.alloc(4);
    d.writeUInt16LE(1, 0);
    d.writeUInt16LE(chosen, 2);
    out.push(encodeContext(SMB2_ENCRYPTION_CAPABILITIES, d));
  }
  if (signing) {
    const chosen = SIGNING_PREFERENCE.find((s) => signing!.includes(s)) ?? AES_CMAC;
    conn.signingAlgorithm = chosen;
    const d = Buffer.alloc(4);
    d.writeUInt16LE(1, 0);
    d.writeUInt16LE(chosen, 2);
    out.push(encodeContext(SMB2_SIGNING_CAPABILITIES, d));
  }
  // Preauth integrity: the hash over this request now, over the response once it is encoded.
  conn.preauthHash = createHash('sha512').update(Buffer.alloc(64)).update(ctx.msg).digest();
  ctx.reply.onEncoded = (resp) => {
    conn.preauthHash = createHash('sha512').update(conn.preauthHash!).update(resp).digest();
  };
  return { status: 0, body: [negotiateResponseBody(server, conn, dialect, out)] };
}

export const NEGOTIATE: Smb2CommandSpec<SMB2_NEGOTIATE_Request> = {
  command: Smb2Cmd.NEGOTIATE,
  name: 'NEGOTIATE',
  scope: 'none',
  decode: (msg) => SMB2_NEGOTIATE_Request.decode(msg),
  handle,
};

/**
 * SMB1 NEGOTIATE (MS-SMB 2.2.4.52 / MS-CIFS 2.2.4.52.1): the dialect strings a client offers. Returns the
 * SMB2 dialect to answer with (0x02FF if "SMB 2.???" is offered, 0x0202 if only "SMB 2.002"), or
 * undefined when the client does not speak SMB2.
 */
export function smb1NegotiateDialect(msg: Buffer, server: SmbServerContext): number | undefined {
  // SMB1 header (32 bytes): Protocol, Command (0x72 = SMB_COM_NEGOTIATE) at 4.
  if (msg.length < 32 + 3 || msg[4] !== 0x72) return undefined;
  const wordCount = msg[32]!;
  const bcOff = 33 + wordCount * 2;
  if (bcOff + 2 > msg.length) return undefined;
  const byteCount = msg.readUInt16LE(bcOff);
  const bytes = msg.subarray(bcOff + 2, Math.min(msg.length, bcOff + 2 + byteCount));
  const dialects: string[] = [];
  let p = 0;
  while (p < bytes.length) {
    if (bytes[p] !== 0x02) break; // BufferFormat: dialect string
    const end = bytes.indexOf(0, p + 1);
    if (end < 0) break;
    dialects.push(bytes.subarray(p + 1, end).toString('latin1'));
    p = end + 1;
  }
  const multi = server.dialects.some((d) => d !== SMB2_DIALECT_202);
  if (dialects.includes('SMB 2.???') && multi) return SMB2_DIALECT_WILDCARD;
  if (dialects.includes('SMB 2.002') && server.dialects.includes(SMB2_DIALECT_202)) return SMB2_DIALECT_202;
  return undefined;
}

export const DIALECT_NAMES: Readonly<Record<number, string>> = {
  [SMB2_DIALECT_202]: '2.0.2',
  [SMB2_DIALECT_210]: '2.1',
  [SMB2_DIALECT_300]: '3.0',
  [SMB2_DIALECT_302]: '3.0.2',
  [SMB2_DIALECT_311]: '3.1.1',
  [SMB2_DIALECT_WILDCARD]: '2.???',
};
