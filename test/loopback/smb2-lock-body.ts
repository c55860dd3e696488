/** SMB2 LOCK request bodies for the loopback tests (MS-SMB2 2.2.26). */
export function lockBody(fid: Buffer, elems: Array<{ offset: bigint; length: bigint; flags: number }>, countOverride?: number): Buffer {
  const b = Buffer.alloc(24 + Math.max(1, elems.length) * 24);
  b.writeUInt16LE(48, 0);
  b.writeUInt16LE(countOverride ?? elems.length, 2);
  fid.copy(b, 8);
  elems.forEach((e, i) => {
    b.writeBigUInt64LE(e.offset, 24 + i * 24);
    b.writeBigUInt64LE(e.length, 32 + i * 24);
    b.writeUInt32LE(e.flags, 40 + i * 24);
  });
  return b;
}
