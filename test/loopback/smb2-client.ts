/**
 * A small SMB2 client for loopback tests, built from the server's own codecs and an NTLMv2 client
 * (MS-NLMP 3.1.5) written for the test: negotiate, authenticate, sign, compound. Not a general client:
 * one request at a time unless the test sends raw bytes.
 */
import { createHash, createHmac } from 'node:crypto';
import * as net from 'node:net';
import { ntHash } from '../../protocols/smb2/crypto/md4';
import { rc4 } from '../../protocols/smb2/crypto/rc4';
import { AES_CMAC, HMAC_SHA256, SMB2_DIALECT_311, SMB2_FLAGS_RELATED_OPERATIONS, SMB2_FLAGS_SIGNED, Smb2Cmd } from '../../protocols/smb2/constants';
import { deriveKeys } from '../../protocols/smb2/commands/session-setup';
import { directTcpHeader, SmbFrameDecoder } from '../../protocols/smb2/framing';
import { decodeHeader, encodeHeader, type SMB2_Header } from '../../protocols/smb2/header';
import { decodeAvPairs, encodeAvPairs, MsvAv, ntowfv2 } from '../../protocols/smb2/session/ntlmssp';
import { signMessage, verifySignature, type SigningAlgorithm } from '../../protocols/smb2/session/signing';
import { OID_NTLMSSP, parseSpnego, tlv } from '../../protocols/smb2/session/spnego';
import type { Session } from '../../protocols/smb2/state';

export interface Reply {
  hdr: SMB2_Header;
  /** The response message (header + body). */
  msg: Buffer;
  body: Buffer;
}

export interface Req {
  command: number;
  body: Buffer;
  flags?: number;
  creditCharge?: number;
  /** CreditRequest (default 64). */
  credits?: number;
  treeId?: number;
  sessionId?: bigint;
  messageId?: bigint;
}

export class TestSmbClient {
  private readonly decoder = new SmbFrameDecoder(0xffffff);
  private readonly queue: Buffer[] = [];
  private waiters: Array<(b: Buffer | undefined) => void> = [];
  closed = false;
  nextId = 0n;
  sessionId = 0n;
  treeId = 0;
  dialect = 0;
  signingKey: Buffer | undefined;
  /** SMB 3.x keys after login (128-bit ciphers): the client seals with `sealKey`, opens replies with `openKey`. */
  sealKey: Buffer | undefined;
  openKey: Buffer | undefined;
  signingAlgo: SigningAlgorithm = HMAC_SHA256;
  sign = false;
  preauth: Buffer = Buffer.alloc(64);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      for (const m of this.decoder.push(d)) this.deliver(m);
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<TestSmbClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new TestSmbClient(s)));
      s.once('error', reject);
    });
  }

  private deliver(m: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.queue.push(m);
  }

  /** Next whole message from the server, or undefined when the connection closed. */
  next(timeoutMs = 3000): Promise<Buffer | undefined> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no reply from the server')), timeoutMs);
      this.waiters.push((b) => {
        clearTimeout(t);
        resolve(b);
      });
    });
  }

  /** Resolves true once the server closed the connection. */
  async closedByServer(timeoutMs = 3000): Promise<boolean> {
    const start = Date.now();
    while (!this.closed && Date.now() - start < timeoutMs) {
      const m = await this.next(timeoutMs).catch(() => undefined);
      if (m === undefined) break;
    }
    return this.closed;
  }

  writeRaw(b: Buffer): void {
    this.socket.write(b);
  }

  frame(msg: Buffer): Buffer {
    return Buffer.concat([directTcpHeader(msg.length), msg]);
  }

  build(r: Req): Buffer {
    const h = Buffer.alloc(64);
    const id = r.messageId ?? this.nextId;
    if (r.messageId === undefined) this.nextId += BigInt(Math.max(1, r.creditCharge ?? 1));
    encodeHeader(h, {
      creditCharge: r.creditCharge ?? 1,
      status: 0,
      command: r.command,
      credits: r.credits ?? 64,
      flags: r.flags ?? 0,
      nextCommand: 0,
      messageId: id,
      treeId: r.treeId ?? this.treeId,
      asyncId: 0n,
      sessionId: r.sessionId ?? this.sessionId,
    });
    const m = Buffer.concat([h, r.body]);
    if (this.sign && this.signingKey && r.command !== Smb2Cmd.NEGOTIATE) {
      m.writeUInt32LE(m.readUInt32LE(16) | SMB2_FLAGS_SIGNED, 16);
      signMessage(this.signingAlgo, this.signingKey, [m]);
    }
    return m;
  }

  async request(r: Req): Promise<Reply> {
    this.writeRaw(this.frame(this.build(r)));
    const m = await this.next();
    if (!m) throw new Error('connection closed');
    return { hdr: decodeHeader(m), msg: m, body: m.subarray(64) };
  }

  /** Sends several requests as one compound (each padded to 8, NextCommand set, related if asked). */
  async compound(reqs: Req[], related: boolean): Promise<Reply[]> {
    const msgs = reqs.map((r, i) => {
      const m = this.build({ ...r, flags: (r.flags ?? 0) | (related && i > 0 ? SMB2_FLAGS_RELATED_OPERATIONS : 0) });
      return m;
    });
    const parts: Buffer[] = [];
    msgs.forEach((m, i) => {
      let mm = m;
      if (i < msgs.length - 1) {
        const pad = ((m.length + 7) & ~7) - m.length;
        mm = Buffer.concat([m, Buffer.alloc(pad)]);
        mm.writeUInt32LE(mm.length, 20);
        if (this.sign && this.signingKey) signMessage(this.signingAlgo, this.signingKey, [mm]);
      }
      parts.push(mm);
    });
    this.writeRaw(this.frame(Buffer.concat(parts)));
    const m = await this.next();
    if (!m) throw new Error('connection closed');
    const out: Reply[] = [];
    let off = 0;
    for (;;) {
      const hdr = decodeHeader(m.subarray(off));
      const end = hdr.nextCommand ? off + hdr.nextCommand : m.length;
      out.push({ hdr, msg: m.subarray(off, end), body: m.subarray(off + 64, end) });
      if (!hdr.nextCommand) break;
      off = end;
    }
    return out;
  }

  async negotiate(dialects: number[], opts: { securityMode?: number; signingAlgos?: number[]; ciphers?: number[]; clientGuid?: Buffer } = {}): Promise<Reply> {
    const body: Buffer[] = [];
    const fixed = Buffer.alloc(36 + dialects.length * 2);
    fixed.writeUInt16LE(36, 0);
    fixed.writeUInt16LE(dialects.length, 2);
    fixed.writeUInt16LE(opts.securityMode ?? 1, 4);
    fixed.writeUInt32LE(0x7f, 8);
    if (opts.clientGuid) opts.clientGuid.copy(fixed, 12, 0, 16);
    else fixed.fill(0x11, 12, 28);
    dialects.forEach((d, i) => fixed.writeUInt16LE(d, 36 + i * 2));
    body.push(fixed);
    if (dialects.includes(SMB2_DIALECT_311)) {
      const ctxs: Buffer[] = [];
      const ctx = (type: number, data: Buffer): Buffer => {
        const b = Buffer.alloc((8 + data.length + 7) & ~7);
        b.writeUInt16LE(type, 0);
        b.writeUInt16LE(data.length, 2);
        data.copy(b, 8);
        return b;
      };
      const pre = Buffer.alloc(6 + 32, 0x33);
      pre.writeUInt16LE(1, 0);
      pre.writeUInt16LE(32, 2);
      pre.writeUInt16LE(1, 4);
      ctxs.push(ctx(1, pre));
      if (opts.ciphers) {
        const c = Buffer.alloc(2 + 2 * opts.ciphers.length);
        c.writeUInt16LE(opts.ciphers.length, 0);
        opts.ciphers.forEach((x, i) => c.writeUInt16LE(x, 2 + 2 * i));
        ctxs.push(ctx(2, c));
      }
      if (opts.signingAlgos) {
        const c = Buffer.alloc(2 + 2 * opts.signingAlgos.length);
        c.writeUInt16LE(opts.signingAlgos.length, 0);
        opts.signingAlgos.forEach((x, i) => c.writeUInt16LE(x, 2 + 2 * i));
        ctxs.push(ctx(8, c));
      }
      const start = 64 + fixed.length;
      const pad = ((start + 7) & ~7) - start;
      fixed.writeUInt32LE(start + pad, 28);
      fixed.writeUInt16LE(ctxs.length, 32);
      body.push(Buffer.alloc(pad));
      // Contexts are each padded to 8; the last one need not be, but padding is harmless.
      body.push(...ctxs);
    }
    const req = this.build({ command: Smb2Cmd.NEGOTIATE, body: Buffer.concat(body), creditCharge: 0 });
    this.preauth = createHash('sha512').update(Buffer.alloc(64)).update(req).digest();
    this.writeRaw(this.frame(req));
    const m = (await this.next())!;
    const r = { hdr: decodeHeader(m), msg: m, body: m.subarray(64) };
    this.dialect = r.body.readUInt16LE(4);
    this.preauth = createHash('sha512').update(this.preauth).update(m).digest();
    this.signingAlgo = this.dialect >= 0x300 ? AES_CMAC : HMAC_SHA256;
    // A signing context answer overrides.
    const nctx = r.body.readUInt16LE(6);
    if (this.dialect === SMB2_DIALECT_311 && nctx) {
      let p = r.body.readUInt32LE(60);
      for (let i = 0; i < nctx; i++) {
        const t = m.readUInt16LE(p);
        const len = m.readUInt16LE(p + 2);
        if (t === 8) this.signingAlgo = m.readUInt16LE(p + 10) as SigningAlgorithm;
        p = (p + 8 + len + 7) & ~7;
      }
    }
    return r;
  }

  private setupBody(token: Buffer, securityMode: number): Buffer {
    const b = Buffer.alloc(24);
    b.writeUInt16LE(25, 0);
    b.writeUInt8(securityMode, 3);
    b.writeUInt16LE(64 + 24, 12);
    b.writeUInt16LE(token.length, 14);
    return Buffer.concat([b, token]);
  }

  /** SPNEGO/NTLMv2 logon; returns the final SESSION_SETUP reply (its status tells success). */
  async login(user: string, password: string, opts: { securityMode?: number; domain?: string } = {}): Promise<Reply> {
    const domain = opts.domain ?? 'WORKGROUP';
    const mode = opts.securityMode ?? 1;
    const flags = 0xe2898235;
    const neg = Buffer.alloc(32);
    neg.write('NTLMSSP\0', 0, 'latin1');
    neg.writeUInt32LE(1, 8);
    neg.writeUInt32LE(flags, 12);
    const mechTypes = tlv(0x30, OID_NTLMSSP);
    const init = tlv(0x60, Buffer.from('06062b0601050502', 'hex'), tlv(0xa0, tlv(0x30, tlv(0xa0, mechTypes), tlv(0xa2, tlv(0x04, neg)))));
    const req1 = this.build({ command: Smb2Cmd.SESSION_SETUP, body: this.setupBody(init, mode), sessionId: 0n });
    let ph = createHash('sha512').update(this.preauth).update(req1).digest();
    this.writeRaw(this.frame(req1));
    const m1 = (await this.next())!;
    const r1 = decodeHeader(m1);
    if (r1.status !== 0xc0000016) return { hdr: r1, msg: m1, body: m1.subarray(64) };
    ph = createHash('sha512').update(ph).update(m1).digest();
    this.sessionId = r1.sessionId;
    const body1 = m1.subarray(64);
    const tok = m1.subarray(body1.readUInt16LE(4), body1.readUInt16LE(4) + body1.readUInt16LE(6));
    const challenge = (parseSpnego(tok) as { responseToken?: Buffer }).responseToken!;
    const sc = challenge.subarray(24, 32);
    const ti = challenge.subarray(challenge.readUInt32LE(44), challenge.readUInt32LE(44) + challenge.readUInt16LE(40));
    const avs = decodeAvPairs(ti);
    const blob = Buffer.concat([Buffer.from('0101000000000000', 'hex'), avs.get(MsvAv.Timestamp)!, Buffer.alloc(8, 0x5a), Buffer.alloc(4), encodeAvPairs([...avs.entries()]), Buffer.alloc(4)]);
    const key = ntowfv2(ntHash(password), user, domain);
    const proof = createHmac('md5', key).update(sc).update(blob).digest();
    const base = createHmac('md5', key).update(proof).digest();
    const exported = Buffer.alloc(16, 0x42);
    const fields = [Buffer.alloc(24), Buffer.concat([proof, blob]), Buffer.from(domain, 'utf16le'), Buffer.from(user, 'utf16le'), Buffer.from('TEST', 'utf16le'), rc4(base, exported)];
    const auth = Buffer.alloc(88);
    auth.write('NTLMSSP\0', 0, 'latin1');
    auth.writeUInt32LE(3, 8);
    let off = 88;
    fields.forEach((f, i) => {
      auth.writeUInt16LE(f.length, 12 + i * 8);
      auth.writeUInt16LE(f.length, 14 + i * 8);
      auth.writeUInt32LE(off, 16 + i * 8);
      off += f.length;
    });
    auth.writeUInt32LE(flags, 60);
    const authMsg = Buffer.concat([auth, ...fields]);
    const resp = tlv(0xa1, tlv(0x30, tlv(0xa2, tlv(0x04, authMsg))));
    const req2 = this.build({ command: Smb2Cmd.SESSION_SETUP, body: this.setupBody(resp, mode) });
    ph = createHash('sha512').update(ph).update(req2).digest();
    this.writeRaw(this.frame(req2));
    const m2 = (await this.next())!;
    const r2 = { hdr: decodeHeader(m2), msg: m2, body: m2.subarray(64) };
    if (r2.hdr.status === 0) {
      const s = { preauthHash: ph } as unknown as Session;
      deriveKeys(s, this.dialect, 0, exported);
      this.signingKey = s.signingKey;
      this.sealKey = s.decryptionKey;
      this.openKey = s.encryptionKey;
    }
    return r2;
  }

  verify(r: Reply): boolean {
    return !!this.signingKey && verifySignature(this.signingAlgo, this.signingKey, [r.msg]);
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- request bodies ---------------------------------------------------------------------------------

export function treeConnectBody(path: string): Buffer {
  const p = Buffer.from(path, 'utf16le');
  const b = Buffer.alloc(8);
  b.writeUInt16LE(9, 0);
  b.writeUInt16LE(64 + 8, 4);
  b.writeUInt16LE(p.length, 6);
  return Buffer.concat([b, p]);
}

export function createBody(name: string, o: { access?: number; disposition?: number; options?: number; share?: number; attrs?: number } = {}): Buffer {
  const n = Buffer.from(name, 'utf16le');
  const b = Buffer.alloc(56);
  b.writeUInt16LE(57, 0);
  b.writeUInt32LE(2, 4); // impersonation
  b.writeUInt32LE(o.access ?? 0x0012019f, 24);
  b.writeUInt32LE(o.attrs ?? 0, 28);
  b.writeUInt32LE(o.share ?? 7, 32);
  b.writeUInt32LE(o.disposition ?? 3, 36);
  b.writeUInt32LE(o.options ?? 0x40, 40);
  b.writeUInt16LE(64 + 56, 44);
  b.writeUInt16LE(n.length, 46);
  return Buffer.concat([b, n.length ? n : Buffer.alloc(1)]);
}

export function fileIdOf(createReply: Reply): Buffer {
  return Buffer.from(createReply.body.subarray(64, 80));
}

export const RELATED_FID = Buffer.alloc(16, 0xff);

export function writeBody(fid: Buffer, offset: bigint, data: Buffer): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt16LE(49, 0);
  b.writeUInt16LE(64 + 48, 2);
  b.writeUInt32LE(data.length, 4);
  b.writeBigUInt64LE(offset, 8);
  fid.copy(b, 16);
  return Buffer.concat([b, data]);
}

export function readBody(fid: Buffer, offset: bigint, length: number): Buffer {
  const b = Buffer.alloc(49);
  b.writeUInt16LE(49, 0);
  b.writeUInt32LE(length, 4);
  b.writeBigUInt64LE(offset, 8);
  fid.copy(b, 16);
  return b;
}

export function closeBody(fid: Buffer): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  fid.copy(b, 8);
  return b;
}

export function queryDirBody(fid: Buffer, pattern: string, infoClass = 0x25, flags = 0): Buffer {
  const p = Buffer.from(pattern, 'utf16le');
  const b = Buffer.alloc(32);
  b.writeUInt16LE(33, 0);
  b[2] = infoClass;
  b[3] = flags;
  fid.copy(b, 8);
  b.writeUInt16LE(64 + 32, 24);
  b.writeUInt16LE(p.length, 26);
  b.writeUInt32LE(65536, 28);
  return Buffer.concat([b, p]);
}

/** Names in a FileIdBothDirectoryInformation buffer. */
export function dirNames(buf: Buffer): string[] {
  const out: string[] = [];
  let p = 0;
  for (;;) {
    const next = buf.readUInt32LE(p);
    const len = buf.readUInt32LE(p + 60);
    out.push(buf.subarray(p + 104, p + 104 + len).toString('utf16le'));
    if (!next) break;
    p += next;
  }
  return out;
}
