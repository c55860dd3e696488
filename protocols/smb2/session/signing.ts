/**
 * Message signing (MS-SMB2 3.1.4.1): HMAC-SHA256 with the session key (2.0.2, 2.1), AES-128-CMAC with the
 * derived signing key (3.x), AES-128-GMAC (3.1.1 with SMB2_SIGNING_CAPABILITIES). The signature covers
 * the message with its Signature field zeroed; the message is fed in pieces so large WRITEs and READs
 * are not copied.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { AES_CMAC, AES_GMAC, HMAC_SHA256, SMB2_FLAGS_SERVER_TO_REDIR, Smb2Cmd } from '../constants';
import { AesCmac } from '../crypto/cmac';

export type SigningAlgorithm = typeof HMAC_SHA256 | typeof AES_CMAC | typeof AES_GMAC;

const ZERO16 = Buffer.alloc(16);

/**
 * Signature of the message made of `parts` (header first; bytes 48..63 of the header are taken as zero
 * whatever they hold).
 */
export function smb2Signature(algo: SigningAlgorithm, key: Buffer, parts: readonly Buffer[]): Buffer {
  const head = parts[0]!;
  if (head.length < 64) throw new RangeError('first part must hold the whole header');
  const pieces: Buffer[] = [head.subarray(0, 48), ZERO16, head.subarray(64), ...parts.slice(1)];
  switch (algo) {
    case HMAC_SHA256: {
      const h = createHmac('sha256', key);
      for (const p of pieces) h.update(p);
      return h.digest().subarray(0, 16);
    }
    case AES_CMAC: {
      const c = new AesCmac(key);
      for (const p of pieces) c.update(p);
      return c.digest();
    }
    case AES_GMAC: {
      // 3.1.4.1: nonce = MessageId (8 bytes) || 4 bytes whose bit 0 is "sent by the server" and bit 1
      // "is a CANCEL request".
      const nonce = Buffer.alloc(12);
      head.copy(nonce, 0, 24, 32);
      const flags = head.readUInt32LE(16);
      let b = 0;
      if (flags & SMB2_FLAGS_SERVER_TO_REDIR) b |= 1;
      if (head.readUInt16LE(12) === Smb2Cmd.CANCEL) b |= 2;
      nonce.writeUInt32LE(b, 8);
      const g = createCipheriv('aes-128-gcm', key, nonce);
      for (const p of pieces) if (p.length) g.setAAD(p);
      g.final();
      return g.getAuthTag();
    }
    default:
      throw new RangeError(`unknown signing algorithm ${String(algo)}`);
  }
}

/** Writes the signature into the header (bytes 48..63). */
export function signMessage(algo: SigningAlgorithm, key: Buffer, parts: readonly Buffer[]): void {
  smb2Signature(algo, key, parts).copy(parts[0]!, 48);
}

export function verifySignature(algo: SigningAlgorithm, key: Buffer, parts: readonly Buffer[]): boolean {
  const got = parts[0]!.subarray(48, 64);
  return timingSafeEqual(smb2Signature(algo, key, parts), got);
}
