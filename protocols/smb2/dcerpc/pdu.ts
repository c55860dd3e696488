/**
 * Connection-oriented DCE/RPC PDUs (C706 chapter 12, MS-RPCE 2.2.2) for named pipes: BIND → BIND_ACK,
 * REQUEST → RESPONSE / FAULT. One RPC interface per pipe; NDR 2.0 is the only transfer syntax accepted.
 */
export const PTYPE = { REQUEST: 0, RESPONSE: 2, FAULT: 3, BIND: 11, BIND_ACK: 12, BIND_NAK: 13, ALTER_CONTEXT: 14, ALTER_CONTEXT_RESP: 15 } as const;
export const PFC_FIRST_FRAG = 0x01;
export const PFC_LAST_FRAG = 0x02;
export const PFC_OBJECT_UUID = 0x80;
/** nca_s_op_rng_error, nca_s_proto_error (C706 appendix E). */
export const NCA_S_OP_RNG_ERROR = 0x1c010002;
export const NCA_S_PROTO_ERROR = 0x1c01000b;

export class PduError extends Error {}

/** 8a885d04-1ceb-11c9-9fe8-08002b104860 version 2: NDR. */
export const NDR_SYNTAX = syntax('8a885d04-1ceb-11c9-9fe8-08002b104860', 2);

/** UUID + version as on the wire (first three fields little-endian). */
export function syntax(uuid: string, version: number): Buffer {
  const h = uuid.replace(/-/g, '');
  const b = Buffer.alloc(20);
  b.writeUInt32LE(parseInt(h.slice(0, 8), 16), 0);
  b.writeUInt16LE(parseInt(h.slice(8, 12), 16), 4);
  b.writeUInt16LE(parseInt(h.slice(12, 16), 16), 6);
  Buffer.from(h.slice(16), 'hex').copy(b, 8);
  b.writeUInt32LE(version, 16);
  return b;
}

export interface PduHeader {
  ptype: number;
  flags: number;
  fragLength: number;
  authLength: number;
  callId: number;
}

export function decodePduHeader(b: Buffer): PduHeader {
  if (b.length < 16) throw new PduError('PDU shorter than its header');
  if (b[0] !== 5 || b[1] !== 0) throw new PduError(`RPC version ${b[0]}.${b[1]}`);
  if ((b[4]! & 0xf0) !== 0x10) throw new PduError('only little-endian data representation is supported');
  return { ptype: b[2]!, flags: b[3]!, fragLength: b.readUInt16LE(8), authLength: b.readUInt16LE(10), callId: b.readUInt32LE(12) };
}

export function encodePdu(ptype: number, callId: number, body: Buffer, flags = PFC_FIRST_FRAG | PFC_LAST_FRAG): Buffer {
  const h = Buffer.alloc(16);
  h[0] = 5;
  h[1] = 0;
  h[2] = ptype;
  h[3] = flags;
  h.writeUInt32LE(0x00000010, 4); // little-endian, ASCII, IEEE float
  h.writeUInt16LE(16 + body.length, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt32LE(callId >>> 0, 12);
  return Buffer.concat([h, body]);
}

export interface RpcInterface {
  /** Abstract syntax (UUID + version). */
  syntax: Buffer;
  /** Secondary address for BIND_ACK ("\\PIPE\\srvsvc"). */
  endpoint: string;
  /** Runs one call; returns the NDR stub of the response, or a fault status. */
  call(opnum: number, stub: Buffer): Buffer | { fault: number };
}

/** One pipe's RPC state: which presentation contexts were accepted, input reassembly. */
export class RpcPipe {
  private inbuf: Buffer = Buffer.alloc(0);
  private readonly contexts = new Set<number>();
  private maxXmit = 4280;
  private pendingStub: Buffer[] = [];

  constructor(private readonly iface: RpcInterface) {}

  /** Bytes written to the pipe → bytes to read back (zero or more complete PDUs). */
  input(data: Buffer): Buffer {
    this.inbuf = this.inbuf.length ? Buffer.concat([this.inbuf, data]) : data;
    const out: Buffer[] = [];
    while (this.inbuf.length >= 16) {
      const h = decodePduHeader(this.inbuf);
      if (h.fragLength < 16) throw new PduError('frag_length below the header size');
      if (this.inbuf.length < h.fragLength) break;
      const pdu = this.inbuf.subarray(0, h.fragLength);
      this.inbuf = this.inbuf.subarray(h.fragLength);
      const r = this.pdu(h, pdu);
      if (r) out.push(r);
    }
    return Buffer.concat(out);
  }

  private pdu(h: PduHeader, pdu: Buffer): Buffer | undefined {
    switch (h.ptype) {
      case PTYPE.BIND:
      case PTYPE.ALTER_CONTEXT:
        return this.bind(h, pdu);
      case PTYPE.REQUEST:
        return this.request(h, pdu);
      default:
        return encodePdu(PTYPE.FAULT, h.callId, fault(NCA_S_PROTO_ERROR));
    }
  }

  private bind(h: PduHeader, pdu: Buffer): Buffer {
    if (pdu.length < 28) throw new PduError('BIND too short');
    const maxXmit = pdu.readUInt16LE(16);
    const maxRecv = pdu.readUInt16LE(18);
    const assoc = pdu.readUInt32LE(20);
    const n = pdu[24]!;
    this.maxXmit = Math.max(1024, Math.min(maxRecv, 65535));
    const results: Buffer[] = [];
    let p = 28;
    for (let i = 0; i < n; i++) {
      if (p + 24 > pdu.length) throw new PduError('BIND context list runs past the PDU');
      const ctxId = pdu.readUInt16LE(p);
      const nts = pdu[p + 2]!;
      const abstract = pdu.subarray(p + 4, p + 24);
      p += 24;
      let accepted: Buffer | undefined;
      for (let t = 0; t < nts; t++) {
        if (p + 20 > pdu.length) throw new PduError('BIND transfer syntaxes run past the PDU');
        const ts = pdu.subarray(p, p + 20);
        p += 20;
        if (!accepted && ts.equals(NDR_SYNTAX)) accepted = ts;
      }
      const r = Buffer.alloc(24);
      if (accepted && abstract.equals(this.iface.syntax)) {
        this.contexts.add(ctxId);
        r.writeUInt16LE(0, 0); // acceptance
        accepted.copy(r, 4);
      } else {
        r.writeUInt16LE(2, 0); // provider rejection
        r.writeUInt16LE(abstract.equals(this.iface.syntax) ? 2 : 1, 2); // transfer syntaxes / abstract syntax not supported
      }
      results.push(r);
    }
    const port = Buffer.from(this.iface.endpoint + '\0', 'latin1');
    const head = Buffer.alloc(8);
    head.writeUInt16LE(Math.min(maxXmit, 4280), 0);
    head.writeUInt16LE(Math.min(maxRecv, 4280), 2);
    head.writeUInt32LE(assoc || 0x12345, 4);
    const sec = Buffer.alloc(2 + port.length);
    sec.writeUInt16LE(port.length, 0);
    port.copy(sec, 2);
    const fixed = 16 + 8 + sec.length;
    const pad = Buffer.alloc(((fixed + 3) & ~3) - fixed);
    const rl = Buffer.alloc(4);
    rl[0] = results.length;
    const body = h.ptype === PTYPE.BIND ? Buffer.concat([head, sec, pad, rl, ...results]) : Buffer.concat([head, Buffer.alloc(2), Buffer.alloc(2), rl, ...results]);
    return encodePdu(h.ptype === PTYPE.BIND ? PTYPE.BIND_ACK : PTYPE.ALTER_CONTEXT_RESP, h.callId, body);
  }

  private request(h: PduHeader, pdu: Buffer): Buffer | undefined {
    if (pdu.length < 24) throw new PduError('REQUEST too short');
    const ctxId = pdu.readUInt16LE(20);
    const opnum = pdu.readUInt16LE(22);
    const stubStart = 24 + (h.flags & PFC_OBJECT_UUID ? 16 : 0);
    const stubEnd = pdu.length - (h.authLength ? h.authLength + 8 : 0);
    if (stubEnd < stubStart) throw new PduError('REQUEST stub bounds');
    this.pendingStub.push(pdu.subarray(stubStart, stubEnd));
    if (!(h.flags & PFC_LAST_FRAG)) return undefined;
    const stub = Buffer.concat(this.pendingStub);
    this.pendingStub = [];
    if (!this.contexts.has(ctxId)) return encodePdu(PTYPE.FAULT, h.callId, fault(NCA_S_PROTO_ERROR));
    const r = this.iface.call(opnum, stub);
    if (!Buffer.isBuffer(r)) return encodePdu(PTYPE.FAULT, h.callId, fault(r.fault, ctxId));
    // Fragment the response to the negotiated size.
    const maxStub = this.maxXmit - 24;
    const frags: Buffer[] = [];
    for (let off = 0; off < r.length || off === 0; off += maxStub) {
      const piece = r.subarray(off, off + maxStub);
      let flags = 0;
      if (off === 0) flags |= PFC_FIRST_FRAG;
      if (off + maxStub >= r.length) flags |= PFC_LAST_FRAG;
      const hdr = Buffer.alloc(8);
      hdr.writeUInt32LE(r.length - off, 0); // alloc_hint
      hdr.writeUInt16LE(ctxId, 4);
      frags.push(encodePdu(PTYPE.RESPONSE, h.callId, Buffer.concat([hdr, piece]), flags));
      if (r.length === 0) break;
    }
    return Buffer.concat(frags);
  }
}

function fault(status: number, ctxId = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(0, 0);
  b.writeUInt16LE(ctxId, 4);
  b.writeUInt32LE(status >>> 0, 8);
  return b;
}
