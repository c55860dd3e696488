/**
 * The brick wire protocol: compact binary frames over TCP between a gateway (RemoteBrick) and a brick node
 * (BrickServer). All integers big-endian.
 *
 *   frame   = length u32 (bytes after this field; 5 ≤ length ≤ maxFrame) | xid u32 | code u8 | body
 *   request : code = op (below), body = the op's fixed arguments (WRITE: then the data, to the frame end)
 *   reply   : code = status, body = the op's result (OK) or an error body
 *
 * Ops and bodies (obj = fileId u64 | chunk u32):
 *   PING      -                                      → version u16 | maxPayload u32 | idLen u8 | brickId |
 *                                                      instLen u8 | instance (version 2 on)
 *   READ      obj | offset u32 | length u32          → data (short at the object's end; empty if missing)
 *   WRITE     obj | offset u32 | data…               → -
 *   WRITE_COLD (code 12, version 3 on) the same as WRITE, sent for a copy the sender will not read back
 *             soon (WriteHint.cold): the brick may keep it out of its page cache. Decoded as a WRITE
 *             with `cold` set; sent only to bricks whose PING says version 3 or later.
 *   TRUNCATE  obj | length u32                       → -
 *   DELETE    obj                                    → -
 *   DROP_FROM fileId u64 | firstChunk u32            → -
 *   FSYNC     obj                                    → -
 *   STAT      obj                                    → exists u8 | size u32
 *   LIST      hasAfter u8 | obj | limit u32          → count u32 | count × (obj | size u32)
 *   CHECKSUM  obj                                    → exists u8 | digest (32 bytes, if exists)
 *   CAPACITY  -                                      → totalBytes, freeBytes, availBytes, totalFiles, freeFiles: u64 each
 *
 * Statuses: OK; ERROR (errcLen u8 | errc ascii | msgLen u16 | msg utf8: a CoreError on the brick, e.g.
 * NOSPC); CORRUPT and REFUSED (msgLen u16 | msg): BrickFault kinds the client re-raises as such.
 *
 * Many requests are in flight per connection; replies leave in completion order, matched by xid. A frame
 * that breaks these rules (length out of bounds, unknown op, body of the wrong size) closes the connection:
 * the peer is not speaking this protocol and nothing after it can be trusted.
 *
 * Version 2 added the PING reply's `instance`: an id that changes whenever the brick may have lost writes
 * it acknowledged but had not fsynced (its machine restarted: the kernel's boot id). It is not repeated
 * on every reply: a TCP connection never outlives the brick process, so every reply on a connection comes
 * from the instance that answered that connection's PING, and the client learns of a new instance at its
 * handshake, before any request runs on the new connection (remote-brick.ts, replica-set.ts). A v1 brick's
 * PING reply still decodes (without instance), so the gateway can refuse it with a clear message.
 * Version 3 added WRITE_COLD. A version-3 gateway still serves version-2 bricks (it sends them plain
 * WRITEs); a version-2 gateway refuses a version-3 brick, as it refuses any version but its own.
 */
import type { BrickCapacity, ObjectId, ObjectInfo } from '../brick';

export const PROTOCOL_VERSION = 3;
/** The oldest brick protocol version this gateway talks to. */
export const MIN_PROTOCOL_VERSION = 2;
/** Wire code of a WRITE marked cold (see above); not an Op of its own, so every op table stays as it is. */
export const WRITE_COLD_CODE = 12;
/** Bytes of the frame header after the length field: xid + code. */
export const HEADER_BYTES = 5;
/** Data bytes per READ/WRITE frame unless configured otherwise; larger requests are split by the client. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room for the fixed part of any frame beside its payload. */
export const FRAME_OVERHEAD = 64;
export const MAX_LIST_LIMIT = 10_000;
export const MAX_MESSAGE_BYTES = 1024;

export enum Op {
  PING = 1,
  READ = 2,
  WRITE = 3,
  TRUNCATE = 4,
  DELETE = 5,
  DROP_FROM = 6,
  FSYNC = 7,
  STAT = 8,
  LIST = 9,
  CHECKSUM = 10,
  CAPACITY = 11,
}

export enum Status {
  OK = 0,
  ERROR = 1,
  CORRUPT = 2,
  REFUSED = 3,
}

export type BrickRequest =
  | { op: Op.PING }
  | { op: Op.READ; obj: ObjectId; offset: number; length: number }
  | { op: Op.WRITE; obj: ObjectId; offset: number; data: Buffer; cold?: boolean }
  | { op: Op.TRUNCATE; obj: ObjectId; length: number }
  | { op: Op.DELETE; obj: ObjectId }
  | { op: Op.DROP_FROM; fileId: bigint; firstChunk: number }
  | { op: Op.FSYNC; obj: ObjectId }
  | { op: Op.STAT; obj: ObjectId }
  | { op: Op.LIST; after: ObjectId | undefined; limit: number }
  | { op: Op.CHECKSUM; obj: ObjectId }
  | { op: Op.CAPACITY };

export interface PingResult {
  version: number;
  maxPayload: number;
  brickId: string;
  /** Changes when the brick may have lost un-fsynced writes (its boot id); '' from a version-1 brick. */
  instance: string;
}

/** What a successful reply carries, per op. */
export interface ReplyValues {
  [Op.PING]: PingResult;
  [Op.READ]: Buffer;
  [Op.WRITE]: void;
  [Op.TRUNCATE]: void;
  [Op.DELETE]: void;
  [Op.DROP_FROM]: void;
  [Op.FSYNC]: void;
  [Op.STAT]: { size: number } | undefined;
  [Op.LIST]: ObjectInfo[];
  [Op.CHECKSUM]: Buffer | undefined;
  [Op.CAPACITY]: BrickCapacity;
}

export type ReplyError =
  | { status: Status.ERROR; errc: string; message: string }
  | { status: Status.CORRUPT | Status.REFUSED; message: string };

/** A frame that breaks the protocol. The connection it came on is closed. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

export const OP_NAMES: Readonly<Record<Op, string>> = {
  [Op.PING]: 'ping',
  [Op.READ]: 'read',
  [Op.WRITE]: 'write',
  [Op.TRUNCATE]: 'truncate',
  [Op.DELETE]: 'delete',
  [Op.DROP_FROM]: 'dropFrom',
  [Op.FSYNC]: 'fsync',
  [Op.STAT]: 'stat',
  [Op.LIST]: 'list',
  [Op.CHECKSUM]: 'checksum',
  [Op.CAPACITY]: 'capacity',
};
