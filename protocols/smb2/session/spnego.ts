/**
 * SPNEGO (RFC 4178, MS-SPNG) with NTLMSSP as the one mechanism, over a minimal DER codec. The acceptor
 * takes the client's tokens one SESSION_SETUP at a time and returns the next output token. Raw NTLMSSP
 * tokens (some clients send them without SPNEGO) are accepted too and answered raw.
 */
import { NtlmError, NtlmServer, NTLMSSP_SIGNATURE, type NtlmResult, type NtlmServerOptions } from './ntlmssp';

export class DerError extends Error {}

export interface Tlv {
  tag: number;
  /** Value bytes (a view into the input). */
  value: Buffer;
  /** The whole TLV (tag, length and value). */
  raw: Buffer;
  next: number;
}

/** Reads one TLV at `off` (single-byte tags only, which is all SPNEGO uses). */
export function readTlv(b: Buffer, off: number): Tlv {
  if (off + 2 > b.length) throw new DerError('truncated DER');
  const tag = b[off]!;
  let len = b[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > b.length) throw new DerError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
    p += n;
  }
  if (p + len > b.length) throw new DerError('DER value runs past its buffer');
  return { tag, value: b.subarray(p, p + len), raw: b.subarray(off, p + len), next: p + len };
}

/** All TLVs inside a constructed value. */
export function readAll(b: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < b.length) {
    const t = readTlv(b, off);
    out.push(t);
    off = t.next;
    if (out.length > 64) throw new DerError('too many DER elements');
  }
  return out;
}

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else if (n < 0x100) len = Buffer.from([0x81, n]);
  else if (n < 0x10000) len = Buffer.from([0x82, n >> 8, n & 0xff]);
  else len = Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

/** OID 1.3.6.1.5.5.2 (SPNEGO) and 1.3.6.1.4.1.311.2.2.10 (NTLMSSP), DER-encoded with their tag. */
export const OID_SPNEGO = Buffer.from('06062b0601050502', 'hex');
export const OID_NTLMSSP = Buffer.from('060a2b06010401823702020a', 'hex');

export const NegState = { ACCEPT_COMPLETED: 0, ACCEPT_INCOMPLETE: 1, REJECT: 2, REQUEST_MIC: 3 } as const;

/** The NegTokenInit2 a server puts in its NEGOTIATE response (MS-SPNG 2.2.1): mechTypes = [NTLMSSP]. */
export function negTokenInit2(): Buffer {
  const mechTypes = tlv(0xa0, tlv(0x30, OID_NTLMSSP));
  return tlv(0x60, OID_SPNEGO, tlv(0xa0, tlv(0x30, mechTypes)));
}

export function negTokenResp(o: { state?: number; mech?: boolean; token?: Buffer; mic?: Buffer }): Buffer {
  const parts: Buffer[] = [];
  if (o.state !== undefined) parts.push(tlv(0xa0, tlv(0x0a, Buffer.from([o.state]))));
  if (o.mech) parts.push(tlv(0xa1, OID_NTLMSSP));
  if (o.token) parts.push(tlv(0xa2, tlv(0x04, o.token)));
  if (o.mic) parts.push(tlv(0xa3, tlv(0x04, o.mic)));
  return tlv(0xa1, tlv(0x30, ...parts));
}

export interface ParsedInit {
  kind: 'init';
  /** The mechTypes SEQUENCE as sent (the mechListMIC covers exactly these bytes). */
  mechTypesRaw: Buffer;
  mechs: Buffer[];
  mechToken?: Buffer;
  mechListMIC?: Buffer;
}

export interface ParsedResp {
  kind: 'resp';
  state?: number;
  responseToken?: Buffer;
  mechListMIC?: Buffer;
}

export function parseSpnego(b: Buffer): ParsedInit | ParsedResp {
  const top = readTlv(b, 0);
  if (top.tag === 0x60) {
    // [APPLICATION 0] { thisMech OID, innerContextToken [0] NegTokenInit }
    const inner = readAll(top.value);
    if (inner.length < 2 || !inner[0]!.raw.equals(OID_SPNEGO) || inner[1]!.tag !== 0xa0) throw new DerError('not a SPNEGO NegTokenInit');
    const seq = readTlv(inner[1]!.value, 0);
    if (seq.tag !== 0x30) throw new DerError('NegTokenInit is not a SEQUENCE');
    const out: ParsedInit = { kind: 'init', mechTypesRaw: Buffer.alloc(0), mechs: [] };
    for (const f of readAll(seq.value)) {
      if (f.tag === 0xa0) {
        const list = readTlv(f.value, 0);
        if (list.tag !== 0x30) throw new DerError('mechTypes is not a SEQUENCE');
        out.mechTypesRaw = list.raw;
        out.mechs = readAll(list.value).map((m) => m.raw);
      } else if (f.tag === 0xa2) {
        const t = readTlv(f.value, 0);
        if (t.tag !== 0x04) throw new DerError('mechToken is not an OCTET STRING');
        out.mechToken = t.value;
      } else if (f.tag === 0xa3) {
        const t = readTlv(f.value, 0);
        if (t.tag === 0x04) out.mechListMIC = t.value;
      }
    }
    return out;
  }
  if (top.tag === 0xa1) {
    const seq = readTlv(top.value, 0);
    if (seq.tag !== 0x30) throw new DerError('NegTokenResp is not a SEQUENCE');
    const out: ParsedResp = { kind: 'resp' };
    for (const f of readAll(seq.value)) {
      const t = readTlv(f.value, 0);
      if (f.tag === 0xa0 && t.tag === 0x0a && t.value.length === 1) out.state = t.value[0]!;
      else if (f.tag === 0xa2 && t.tag === 0x04) out.responseToken = t.value;
      else if (f.tag === 0xa3 && t.tag === 0x04) out.mechListMIC = t.value;
    }
    return out;
  }
  throw new DerError(`unexpected SPNEGO token tag 0x${top.tag.toString(16)}`);
}

export type GssStep =
  | { status: 'continue'; token: Buffer }
  | { status: 'done'; token: Buffer; result: Extract<NtlmResult, { ok: true }> }
  | { status: 'fail'; token: Buffer; reason: string; user?: string; malformed?: boolean };

/** One SESSION_SETUP authentication exchange. */
export class GssAcceptor {
  private readonly ntlm: NtlmServer;
  private raw = false;
  private mechTypesRaw: Buffer | undefined;
  /** The client listed NTLMSSP but not first: RFC 4178 then requires the mechListMIC exchange. */
  private micRequired = false;
  private stage: 'start' | 'challenged' | 'done' = 'start';

  constructor(opts: NtlmServerOptions) {
    this.ntlm = new NtlmServer(opts);
  }

  step(token: Buffer): GssStep {
    try {
      return this.stepInner(token);
    } catch (e) {
      if (e instanceof DerError || e instanceof NtlmError) {
        this.stage = 'done';
        return { status: 'fail', token: Buffer.alloc(0), reason: e.message, malformed: true };
      }
      throw e;
    }
  }

  private stepInner(token: Buffer): GssStep {
    if (this.stage === 'done') throw new NtlmError('authentication exchange already finished');
    if (token.length >= 8 && token.subarray(0, 8).equals(NTLMSSP_SIGNATURE)) {
      if (this.stage === 'start') this.raw = true;
      if (!this.raw) throw new NtlmError('raw NTLMSSP inside a SPNEGO exchange');
      return this.ntlmStep(token, undefined);
    }
    if (this.raw) throw new NtlmError('SPNEGO inside a raw NTLMSSP exchange');
    const p = parseSpnego(token);
    if (p.kind === 'init') {
      if (this.stage !== 'start') throw new NtlmError('NegTokenInit in the middle of an exchange');
      const idx = p.mechs.findIndex((m) => m.equals(OID_NTLMSSP));
      if (idx < 0) {
        this.stage = 'done';
        return { status: 'fail', token: negTokenResp({ state: NegState.REJECT }), reason: 'client offers no NTLMSSP' };
      }
      this.mechTypesRaw = p.mechTypesRaw;
      this.micRequired = idx !== 0;
      // An optimistic token for another mechanism is ignored: answer "use NTLMSSP" and wait for its NEGOTIATE.
      if (idx !== 0 || !p.mechToken) return { status: 'continue', token: negTokenResp({ state: NegState.ACCEPT_INCOMPLETE, mech: true }) };
      return this.ntlmStep(p.mechToken, undefined);
    }
    if (this.stage === 'start' && !this.mechTypesRaw) throw new NtlmError('NegTokenResp before NegTokenInit');
    if (!p.responseToken) throw new NtlmError('NegTokenResp without a responseToken');
    return this.ntlmStep(p.responseToken, p.mechListMIC);
  }

  private ntlmStep(t: Buffer, mic: Buffer | undefined): GssStep {
    const wrap = (o: { state: number; token?: Buffer; mic?: Buffer; mech?: boolean }): Buffer => (this.raw ? (o.token ?? Buffer.alloc(0)) : negTokenResp(o));
    if (this.stage === 'start') {
      const challenge = this.ntlm.negotiate(t);
      this.stage = 'challenged';
      return { status: 'continue', token: wrap({ state: NegState.ACCEPT_INCOMPLETE, mech: true, token: challenge }) };
    }
    this.stage = 'done';
    const r = this.ntlm.authenticate(t);
    if (!r.ok) return { status: 'fail', token: wrap({ state: NegState.REJECT }), reason: r.reason, ...(r.user !== undefined ? { user: r.user } : {}) };
    let outMic: Buffer | undefined;
    if (!this.raw && !r.anonymous && this.mechTypesRaw) {
      if (mic) {
        if (!this.ntlm.verify(this.mechTypesRaw, mic)) {
          return { status: 'fail', token: wrap({ state: NegState.REJECT }), reason: 'SPNEGO mechListMIC mismatch', user: r.user };
        }
        outMic = this.ntlm.sign(this.mechTypesRaw);
      } else if (this.micRequired) {
        return { status: 'fail', token: wrap({ state: NegState.REJECT }), reason: 'SPNEGO mechListMIC missing', user: r.user };
      }
    }
    return { status: 'done', token: wrap({ state: NegState.ACCEPT_COMPLETED, ...(outMic ? { mic: outMic } : {}) }), result: r };
  }
}
