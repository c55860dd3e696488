/**
 * Encoders and decoders of brick protocol frames (protocol.ts). Pure and synchronous. Decoders take one
 * frame without its length field (FrameDecoder's output), check every size before reading, and throw
 * WireError on anything malformed. Payload data is never copied: a decoded WRITE's data and a decoded
 * READ reply are subarrays of the frame, and encoders return [header, data] for the caller to write
 * with one writev (socket cork/uncork).
 */
import type { BrickCapacity, ObjectId, ObjectInfo } from '../brick';
import { HEADER_BYTES, MAX_LIST_LIMIT, MAX_MESSAGE_BYTES, Op, Status, WireError, WRITE_COLD_CODE, type BrickRequest, type PingResult, type ReplyError, type ReplyValues } from './protocol';

const OBJ = 12;
const U32_MAX = 0xffff_ffff;

/** Fixed body size of each request (WRITE: the part before its data). */
const REQUEST_FIXED: Readonly<Record<Op, number>> = {
  [Op.PING]: 0,
  [Op.READ]: OBJ + 8,
  [Op.WRITE]: OBJ + 4,
  [Op.TRUNCATE]: OBJ + 4,
  [Op.DELETE]: OBJ,
  [Op.DROP_FROM]: 12,
  [Op.FSYNC]: OBJ,
  [Op.STAT]: OBJ,
  [Op.LIST]: 1 + OBJ + 4,
  [Op.CHECKSUM]: OBJ,
  [Op.CAPACITY]: 0,
};

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) throw new RangeError(`${what} ${v} is not a u32`);
  return v;
}

/** A frame's first bytes: its length field says `len`, the buffer holds `alloc` bytes (default: all). */
function header(len: number, xid: number, code: number, alloc = 4 + len): Buffer {
  const b = Buffer.allocUnsafe(alloc);
  b.writeUInt32BE(len, 0);
  b.writeUInt32BE(xid >>> 0, 4);
  b.writeUInt8(code, 8);
  return b;
}

function putObj(b: Buffer, off: number, obj: ObjectId): number {
  b.writeBigUInt64BE(BigInt.asUintN(64, obj.fileId), off);
  b.writeUInt32BE(u32(obj.chunk, 'chunk'), off + 8);
  return off + OBJ;
}

function getObj(b: Buffer, off: number): ObjectId {
  return { fileId: b.readBigUInt64BE(off), chunk: b.readUInt32BE(off + 8) };
}

// ---- requests -------------------------------------------------------------------------------------------

/** A request as buffers to write in order (WRITE: [header + args, data]). */
export function encodeRequest(xid: number, req: BrickRequest): Buffer[] {
  const fixed = REQUEST_FIXED[req.op];
  const dataLen = req.op === Op.WRITE ? req.data.length : 0;
  const code = req.op === Op.WRITE && req.cold ? WRITE_COLD_CODE : req.op;
  const b = header(HEADER_BYTES + fixed + dataLen, xid, code, 9 + fixed);
  b.fill(0, 9);
  const o = 9;
  switch (req.op) {
    case Op.PING:
    case Op.CAPACITY:
      break;
    case Op.READ:
      putObj(b, o, req.obj);
      b.writeUInt32BE(u32(req.offset, 'offset'), o + OBJ);
      b.writeUInt32BE(u32(req.length, 'length'), o + OBJ + 4);
      break;
    case Op.WRITE:
      putObj(b, o, req.obj);
      b.writeUInt32BE(u32(req.offset, 'offset'), o + OBJ);
      return req.data.length > 0 ? [b, req.data] : [b];
    case Op.TRUNCATE:
      putObj(b, o, req.obj);
      b.writeUInt32BE(u32(req.length, 'length'), o + OBJ);
      break;
    case Op.DELETE:
    case Op.FSYNC:
    case Op.STAT:
    case Op.CHECKSUM:
      putObj(b, o, req.obj);
      break;
    case Op.DROP_FROM:
      b.writeBigUInt64BE(BigInt.asUintN(64, req.fileId), o);
      b.writeUInt32BE(u32(req.firstChunk, 'firstChunk'), o + 8);
      break;
    case Op.LIST:
      b.writeUInt8(req.after ? 1 : 0, o);
      if (req.after) putObj(b, o + 1, req.after);
      b.writeUInt32BE(u32(Math.min(req.limit, MAX_LIST_LIMIT), 'limit'), o + 1 + OBJ);
      break;
  }
  return [b];
}

/** Decodes a request frame; `maxPayload` bounds READ lengths (WRITE data is bounded by the frame size). */
export function decodeRequest(frame: Buffer, maxPayload: number): { xid: number; req: BrickRequest } {
  if (frame.length < HEADER_BYTES) throw new WireError(`frame of ${frame.length} bytes`);
  const xid = frame.readUInt32BE(0);
  const cold = frame[4] === WRITE_COLD_CODE;
  const op = (cold ? Op.WRITE : frame[4]!) as Op;
  const fixed = REQUEST_FIXED[op];
  if (fixed === undefined) throw new WireError(`unknown op ${op}`);
  const bodyLen = frame.length - HEADER_BYTES;
  if (op === Op.WRITE ? bodyLen < fixed : bodyLen !== fixed) throw new WireError(`op ${op}: body of ${bodyLen} bytes, expected ${fixed}${op === Op.WRITE ? '+' : ''}`);
  const o = HEADER_BYTES;
  switch (op) {
    case Op.PING:
      return { xid, req: { op } };
    case Op.CAPACITY:
      return { xid, req: { op } };
    case Op.READ: {
      const length = frame.readUInt32BE(o + OBJ + 4);
      if (length > maxPayload) throw new WireError(`read of ${length} bytes > ${maxPayload}`);
      return { xid, req: { op, obj: getObj(frame, o), offset: frame.readUInt32BE(o + OBJ), length } };
    }
    case Op.WRITE:
      return { xid, req: { op, obj: getObj(frame, o), offset: frame.readUInt32BE(o + OBJ), data: frame.subarray(o + fixed), ...(cold ? { cold } : {}) } };
    case Op.TRUNCATE:
      return { xid, req: { op, obj: getObj(frame, o), length: frame.readUInt32BE(o + OBJ) } };
    case Op.DELETE:
    case Op.FSYNC:
    case Op.STAT:
    case Op.CHECKSUM:
      return { xid, req: { op, obj: getObj(frame, o) } };
    case Op.DROP_FROM:
      return { xid, req: { op, fileId: frame.readBigUInt64BE(o), firstChunk: frame.readUInt32BE(o + 8) } };
    case Op.LIST: {
      const flag = frame[o]!;
      if (flag > 1) throw new WireError(`list: hasAfter ${flag}`);
      const limit = frame.readUInt32BE(o + 1 + OBJ);
      if (limit > MAX_LIST_LIMIT) throw new WireError(`list limit ${limit} > ${MAX_LIST_LIMIT}`);
      return { xid, req: { op, after: flag ? getObj(frame, o + 1) : undefined, limit } };
    }
  }
}

// ---- replies --------------------------------------------------------------------------------------------

/** A successful reply as buffers to write in order (READ: [header, data]). */
export function encodeReply<O extends Op>(xid: number, op: O, value: ReplyValues[O]): Buffer[] {
  switch (op) {
    case Op.READ: {
      const data = value as Buffer;
      const h = header(HEADER_BYTES + data.length, xid, Status.OK, 9);
      return data.length > 0 ? [h, data] : [h];
    }
    case Op.WRITE:
    case Op.TRUNCATE:
    case Op.DELETE:
    case Op.DROP_FROM:
    case Op.FSYNC:
      return [header(HEADER_BYTES, xid, Status.OK)];
    case Op.PING: {
      const p = value as PingResult;
      const id = Buffer.from(p.brickId, 'utf8').subarray(0, 255);
      // Version 1 had no instance field (kept encodable for the tests of the version check).
      const inst = p.version >= 2 ? Buffer.from(p.instance, 'utf8').subarray(0, 255) : undefined;
      const b = header(HEADER_BYTES + 7 + id.length + (inst ? 1 + inst.length : 0), xid, Status.OK);
      b.writeUInt16BE(p.version, 9);
      b.writeUInt32BE(p.maxPayload, 11);
      b.writeUInt8(id.length, 15);
      id.copy(b, 16);
      if (inst) {
        b.writeUInt8(inst.length, 16 + id.length);
        inst.copy(b, 17 + id.length);
      }
      return [b];
    }
    case Op.STAT: {
      const st = value as { size: number } | undefined;
      const b = header(HEADER_BYTES + 5, xid, Status.OK);
      b.writeUInt8(st ? 1 : 0, 9);
      b.writeUInt32BE(st ? u32(st.size, 'size') : 0, 10);
      return [b];
    }
    case Op.LIST: {
      const list = value as ObjectInfo[];
      const b = header(HEADER_BYTES + 4 + list.length * (OBJ + 4), xid, Status.OK);
      b.writeUInt32BE(list.length, 9);
      let o = 13;
      for (const it of list) {
        o = putObj(b, o, it.id);
        b.writeUInt32BE(u32(it.size, 'size'), o);
        o += 4;
      }
      return [b];
    }
    case Op.CHECKSUM: {
      const d = value as Buffer | undefined;
      if (d && d.length !== 32) throw new RangeError(`digest of ${d.length} bytes`);
      const b = header(HEADER_BYTES + 1 + (d ? 32 : 0), xid, Status.OK);
      b.writeUInt8(d ? 1 : 0, 9);
      if (d) d.copy(b, 10);
      return [b];
    }
    case Op.CAPACITY: {
      const c = value as BrickCapacity;
      const b = header(HEADER_BYTES + 40, xid, Status.OK);
      [c.totalBytes, c.freeBytes, c.availBytes, c.totalFiles, c.freeFiles].forEach((v, i) => b.writeBigUInt64BE(BigInt.asUintN(64, v), 9 + i * 8));
      return [b];
    }
  }
  throw new RangeError(`op ${op}`);
}

export function encodeErrorReply(xid: number, err: ReplyError): Buffer {
  const msg = Buffer.from(err.message, 'utf8').subarray(0, MAX_MESSAGE_BYTES);
  if (err.status === Status.ERROR) {
    const errc = Buffer.from(err.errc, 'latin1').subarray(0, 64);
    const b = header(HEADER_BYTES + 1 + errc.length + 2 + msg.length, xid, err.status);
    b.writeUInt8(errc.length, 9);
    errc.copy(b, 10);
    b.writeUInt16BE(msg.length, 10 + errc.length);
    msg.copy(b, 12 + errc.length);
    return b;
  }
  const b = header(HEADER_BYTES + 2 + msg.length, xid, err.status);
  b.writeUInt16BE(msg.length, 9);
  msg.copy(b, 11);
  return b;
}

/** The xid and status of a reply frame (the client looks up which op it was by xid). */
export function replyHead(frame: Buffer): { xid: number; status: number } {
  if (frame.length < HEADER_BYTES) throw new WireError(`frame of ${frame.length} bytes`);
  return { xid: frame.readUInt32BE(0), status: frame[4]! };
}

function need(frame: Buffer, n: number, what: string): void {
  if (frame.length !== n) throw new WireError(`${what} reply of ${frame.length} bytes, expected ${n}`);
}

/** Decodes a reply frame to op `op`: the value, or the error the brick reported. */
export function decodeReply<O extends Op>(op: O, frame: Buffer): { ok: true; value: ReplyValues[O] } | { ok: false; error: ReplyError } {
  const { status } = replyHead(frame);
  const o = HEADER_BYTES;
  if (status === Status.ERROR) {
    if (frame.length < o + 3) throw new WireError('short error reply');
    const el = frame[o]!;
    if (frame.length < o + 1 + el + 2) throw new WireError('short error reply');
    const errc = frame.toString('latin1', o + 1, o + 1 + el);
    const ml = frame.readUInt16BE(o + 1 + el);
    need(frame, o + 3 + el + ml, 'error');
    return { ok: false, error: { status, errc, message: frame.toString('utf8', o + 3 + el) } };
  }
  if (status === Status.CORRUPT || status === Status.REFUSED) {
    if (frame.length < o + 2) throw new WireError('short error reply');
    need(frame, o + 2 + frame.readUInt16BE(o), 'error');
    return { ok: false, error: { status, message: frame.toString('utf8', o + 2) } };
  }
  if (status !== Status.OK) throw new WireError(`unknown status ${status}`);
  const ok = <V>(value: V) => ({ ok: true as const, value: value as unknown as ReplyValues[O] });
  switch (op as Op) {
    case Op.READ:
      return ok(frame.subarray(o));
    case Op.WRITE:
    case Op.TRUNCATE:
    case Op.DELETE:
    case Op.DROP_FROM:
    case Op.FSYNC:
      need(frame, o, 'empty');
      return ok(undefined);
    case Op.PING: {
      if (frame.length < o + 7) throw new WireError('short ping reply');
      const version = frame.readUInt16BE(o);
      const idLen = frame[o + 6]!;
      const maxPayload = frame.readUInt32BE(o + 2);
      // Version 1 ended after the brick id; decoded so that the caller can refuse it by its version.
      if (version < 2) {
        need(frame, o + 7 + idLen, 'ping');
        return ok({ version, maxPayload, brickId: frame.toString('utf8', o + 7), instance: '' });
      }
      if (frame.length < o + 8 + idLen) throw new WireError('short ping reply');
      const instLen = frame[o + 7 + idLen]!;
      need(frame, o + 8 + idLen + instLen, 'ping');
      return ok({ version, maxPayload, brickId: frame.toString('utf8', o + 7, o + 7 + idLen), instance: frame.toString('utf8', o + 8 + idLen) });
    }
    case Op.STAT:
      need(frame, o + 5, 'stat');
      if (frame[o]! > 1) throw new WireError('stat: bad exists flag');
      return ok(frame[o] ? { size: frame.readUInt32BE(o + 1) } : undefined);
    case Op.LIST: {
      if (frame.length < o + 4) throw new WireError('short list reply');
      const n = frame.readUInt32BE(o);
      if (n > MAX_LIST_LIMIT) throw new WireError(`list of ${n}`);
      need(frame, o + 4 + n * (OBJ + 4), 'list');
      const out: ObjectInfo[] = [];
      for (let i = 0, p = o + 4; i < n; i++, p += OBJ + 4) out.push({ id: getObj(frame, p), size: frame.readUInt32BE(p + OBJ) });
      return ok(out);
    }
    case Op.CHECKSUM: {
      if (frame.length < o + 1 || frame[o]! > 1) throw new WireError('bad checksum reply');
      need(frame, o + 1 + (frame[o] ? 32 : 0), 'checksum');
      return ok(frame[o] ? Buffer.from(frame.subarray(o + 1)) : undefined);
    }
    case Op.CAPACITY: {
      need(frame, o + 40, 'capacity');
      const v = (i: number): bigint => frame.readBigUInt64BE(o + i * 8);
      return ok({ totalBytes: v(0), freeBytes: v(1), availBytes: v(2), totalFiles: v(3), freeFiles: v(4) });
    }
  }
  throw new WireError(`op ${op}`);
}
