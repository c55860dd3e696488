/**
 * SMB2 packet header (MS-SMB2 2.2.1): 64 bytes, sync or async form, little-endian.
 *
 *   0 ProtocolId 0xFE 'SMB'   4 StructureSize (64)   6 CreditCharge   8 Status (responses) /
 *   ChannelSequence+Reserved (requests)   12 Command   14 CreditRequest/CreditResponse   16 Flags
 *   20 NextCommand   24 MessageId   32 Reserved+TreeId (sync) | AsyncId (async)   40 SessionId
 *   48 Signature (16)
 */
import { SMB2_FLAGS_ASYNC_COMMAND, SMB2_HEADER_SIZE, SMB2_PROTOCOL_ID, SMB2_TRANSFORM_HEADER_SIZE, SMB2_TRANSFORM_PROTOCOL_ID } from './constants';

export class HeaderError extends Error {}

export interface SMB2_Header {
  creditCharge: number;
  /** NTSTATUS in responses; ChannelSequence (low 16 bits) in requests. */
  status: number;
  command: number;
  /** CreditRequest (requests) / CreditResponse (responses). */
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  /** Sync form. */
  treeId: number;
  /** Async form. */
  asyncId: bigint;
  sessionId: bigint;
  signature: Buffer;
}

/** Decodes and validates the header at the start of `b` (one command of a message). */
export function decodeHeader(b: Buffer): SMB2_Header {
  if (b.length < SMB2_HEADER_SIZE) throw new HeaderError(`message of ${b.length} bytes is shorter than an SMB2 header`);
  if (b.readUInt32LE(0) !== SMB2_PROTOCOL_ID) throw new HeaderError('not an SMB2 header');
  if (b.readUInt16LE(4) !== SMB2_HEADER_SIZE) throw new HeaderError(`header StructureSize ${b.readUInt16LE(4)}, not 64`);
  const flags = b.readUInt32LE(16);
  const async = (flags & SMB2_FLAGS_ASYNC_COMMAND) !== 0;
  return {
    creditCharge: b.readUInt16LE(6),
    status: b.readUInt32LE(8),
    command: b.readUInt16LE(12),
    credits: b.readUInt16LE(14),
    flags,
    nextCommand: b.readUInt32LE(20),
    messageId: b.readBigUInt64LE(24),
    treeId: async ? 0 : b.readUInt32LE(36),
    asyncId: async ? b.readBigUInt64LE(32) : 0n,
    sessionId: b.readBigUInt64LE(40),
    signature: b.subarray(48, 64),
  };
}

/** Writes a response header into `b` at 0. Signature is zeroed (signing fills it in later). */
export function encodeHeader(b: Buffer, h: Omit<SMB2_Header, 'signature'>): void {
  b.writeUInt32LE(SMB2_PROTOCOL_ID, 0);
  b.writeUInt16LE(SMB2_HEADER_SIZE, 4);
  b.writeUInt16LE(h.creditCharge, 6);
  b.writeUInt32LE(h.status >>> 0, 8);
  b.writeUInt16LE(h.command, 12);
  b.writeUInt16LE(h.credits, 14);
  b.writeUInt32LE(h.flags >>> 0, 16);
  b.writeUInt32LE(h.nextCommand >>> 0, 20);
  b.writeBigUInt64LE(h.messageId, 24);
  if (h.flags & SMB2_FLAGS_ASYNC_COMMAND) b.writeBigUInt64LE(h.asyncId, 32);
  else {
    b.writeUInt32LE(0, 32);
    b.writeUInt32LE(h.treeId >>> 0, 36);
  }
  b.writeBigUInt64LE(h.sessionId, 40);
  b.fill(0, 48, 64);
}

/**
 * SMB2 TRANSFORM_HEADER (2.2.41): 0 ProtocolId 0xFD 'SMB', 4 Signature (16), 20 Nonce (16),
 * 36 OriginalMessageSize, 40 Reserved, 42 Flags/EncryptionAlgorithm, 44 SessionId.
 */
export interface SMB2_TRANSFORM_HEADER {
  signature: Buffer;
  nonce: Buffer;
  originalMessageSize: number;
  flags: number;
  sessionId: bigint;
}

export function decodeTransformHeader(b: Buffer): SMB2_TRANSFORM_HEADER {
  if (b.length < SMB2_TRANSFORM_HEADER_SIZE) throw new HeaderError('message shorter than a transform header');
  if (b.readUInt32LE(0) !== SMB2_TRANSFORM_PROTOCOL_ID) throw new HeaderError('not a transform header');
  return {
    signature: b.subarray(4, 20),
    nonce: b.subarray(20, 36),
    originalMessageSize: b.readUInt32LE(36),
    flags: b.readUInt16LE(42),
    sessionId: b.readBigUInt64LE(44),
  };
}

export function encodeTransformHeader(h: SMB2_TRANSFORM_HEADER): Buffer {
  const b = Buffer.alloc(SMB2_TRANSFORM_HEADER_SIZE);
  b.writeUInt32LE(SMB2_TRANSFORM_PROTOCOL_ID, 0);
  h.signature.copy(b, 4);
  h.nonce.copy(b, 20);
  b.writeUInt32LE(h.originalMessageSize >>> 0, 36);
  b.writeUInt16LE(h.flags, 42);
  b.writeBigUInt64LE(h.sessionId, 44);
  return b;
}
