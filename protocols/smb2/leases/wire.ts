/**
 * Wire forms of oplocks and leases (MS-SMB2 2.2.13.2.8, 2.2.13.2.10, 2.2.14.2.10, 2.2.14.2.11, 2.2.23,
 * 2.2.24, 2.2.25): the lease create contexts, break notifications, acknowledgments and their responses.
 */
import { DecodeError } from '../wire';

export const LEASE_NONE = 0;
export const LEASE_R = 0x1;
export const LEASE_H = 0x2;
export const LEASE_W = 0x4;

/** SMB2_LEASE_FLAG_BREAK_IN_PROGRESS (response), SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET (v2). */
export const LEASE_FLAG_BREAK_IN_PROGRESS = 0x2;
export const LEASE_FLAG_PARENT_LEASE_KEY_SET = 0x4;
/** SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED. */
export const BREAK_FLAG_ACK_REQUIRED = 0x1;

export const LEASE_V1_SIZE = 32;
export const LEASE_V2_SIZE = 52;

export interface LeaseRequest {
  version: 1 | 2;
  key: Buffer;
  state: number;
  flags: number;
  parentKey: Buffer | undefined;
  epoch: number;
}

/** SMB2_CREATE_REQUEST_LEASE / _V2 ("RqLs"); v2 only when the dialect is 3.x. */
export function decodeLeaseRequest(d: Buffer, allowV2: boolean): LeaseRequest {
  if (d.length < LEASE_V1_SIZE) throw new DecodeError('lease context too short');
  const v2 = allowV2 && d.length >= LEASE_V2_SIZE;
  const flags = d.readUInt32LE(20);
  return {
    version: v2 ? 2 : 1,
    key: Buffer.from(d.subarray(0, 16)),
    state: d.readUInt32LE(16) & (LEASE_R | LEASE_H | LEASE_W),
    flags: v2 ? flags & LEASE_FLAG_PARENT_LEASE_KEY_SET : 0,
    parentKey: v2 && flags & LEASE_FLAG_PARENT_LEASE_KEY_SET ? Buffer.from(d.subarray(32, 48)) : undefined,
    epoch: v2 ? d.readUInt16LE(48) : 0,
  };
}

export function encodeLeaseResponse(o: { version: 1 | 2; key: Buffer; state: number; flags: number; parentKey: Buffer | undefined; epoch: number }): Buffer {
  const d = Buffer.alloc(o.version === 2 ? LEASE_V2_SIZE : LEASE_V1_SIZE);
  o.key.copy(d, 0);
  d.writeUInt32LE(o.state, 16);
  d.writeUInt32LE(o.flags | (o.version === 2 && o.parentKey ? LEASE_FLAG_PARENT_LEASE_KEY_SET : 0), 20);
  if (o.version === 2) {
    if (o.parentKey) o.parentKey.copy(d, 32);
    d.writeUInt16LE(o.epoch & 0xffff, 48);
  }
  return d;
}

/** 2.2.23.1 Oplock Break Notification (and 2.2.25.1 its acknowledgment response: same layout). */
export function oplockBreakBody(level: number, fileId: Buffer): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  b.writeUInt8(level, 2);
  fileId.copy(b, 8);
  return b;
}

/** 2.2.23.2 Lease Break Notification. */
export function leaseBreakBody(o: { epoch: number; ackRequired: boolean; key: Buffer; current: number; next: number }): Buffer {
  const b = Buffer.alloc(44);
  b.writeUInt16LE(44, 0);
  b.writeUInt16LE(o.epoch & 0xffff, 2);
  b.writeUInt32LE(o.ackRequired ? BREAK_FLAG_ACK_REQUIRED : 0, 4);
  o.key.copy(b, 8);
  b.writeUInt32LE(o.current, 24);
  b.writeUInt32LE(o.next, 28);
  return b;
}

/** 2.2.25.2 Lease Break Response. */
export function leaseAckResponseBody(key: Buffer, state: number): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt16LE(36, 0);
  key.copy(b, 8);
  b.writeUInt32LE(state, 24);
  return b;
}
