/**
 * SMB 3.x key derivation (MS-SMB2 3.1.4.2): SP800-108 KDF in counter mode with HMAC-SHA256, r = 32,
 * L = 128 or 256 bits: K(i) = PRF(Ki, [i]_32 || Label || 0x00 || Context || [L]_32). Label and context
 * are passed with their terminating NUL where the spec's strings have one (the 0x00 separator is added
 * here).
 */
import { createHmac } from 'node:crypto';

export function smb3Kdf(ki: Buffer, label: Buffer, context: Buffer, lengthBits: 128 | 256 = 128): Buffer {
  const out: Buffer[] = [];
  const n = Math.ceil(lengthBits / 256);
  const lbuf = Buffer.alloc(4);
  lbuf.writeUInt32BE(lengthBits);
  for (let i = 1; i <= n; i++) {
    const ibuf = Buffer.alloc(4);
    ibuf.writeUInt32BE(i);
    out.push(createHmac('sha256', ki).update(ibuf).update(label).update(Buffer.from([0])).update(context).update(lbuf).digest());
  }
  return Buffer.concat(out).subarray(0, lengthBits / 8);
}

/** The labels and contexts of MS-SMB2 3.2.5.3.1 / 3.3.5.5.3, NULs included. */
export const KDF_LABELS = {
  smb30: {
    signing: [Buffer.from('SMB2AESCMAC\0', 'latin1'), Buffer.from('SmbSign\0', 'latin1')],
    application: [Buffer.from('SMB2APP\0', 'latin1'), Buffer.from('SmbRpc\0', 'latin1')],
    /** Server encrypts with this (the client decrypts with it). */
    serverOut: [Buffer.from('SMB2AESCCM\0', 'latin1'), Buffer.from('ServerOut\0', 'latin1')],
    /** Server decrypts with this. Note the space. */
    serverIn: [Buffer.from('SMB2AESCCM\0', 'latin1'), Buffer.from('ServerIn \0', 'latin1')],
  },
  smb311: {
    signing: Buffer.from('SMBSigningKey\0', 'latin1'),
    application: Buffer.from('SMBAppKey\0', 'latin1'),
    serverOut: Buffer.from('SMBS2CCipherKey\0', 'latin1'),
    serverIn: Buffer.from('SMBC2SCipherKey\0', 'latin1'),
  },
} as const;
