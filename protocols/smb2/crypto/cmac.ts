/**
 * AES-128-CMAC (RFC 4493), the SMB 3.x signing algorithm (MS-SMB2 3.1.4.1). Node has no CMAC, so it is
 * built from AES-ECB (subkeys) and AES-CBC (the MAC chain), fed incrementally so a signed 1 MiB WRITE is
 * not copied into one buffer first.
 */
import { createCipheriv, type Cipher } from 'node:crypto';

const ZERO_IV = Buffer.alloc(16);
const RB = 0x87;

function dbl(b: Buffer): Buffer {
  const out = Buffer.alloc(16);
  let carry = 0;
  for (let i = 15; i >= 0; i--) {
    const v = b[i]!;
    out[i] = ((v << 1) | carry) & 0xff;
    carry = v >>> 7;
  }
  if (b[0]! & 0x80) out[15]! ^= RB;
  return out;
}

/** RFC 4493 2.3: K1 and K2 from L = AES(K, 0^128). */
export function cmacSubkeys(key: Buffer): { k1: Buffer; k2: Buffer } {
  const c = createCipheriv(key.length === 32 ? 'aes-256-ecb' : 'aes-128-ecb', key, null);
  c.setAutoPadding(false);
  const l = c.update(Buffer.alloc(16));
  const k1 = dbl(l);
  return { k1, k2: dbl(k1) };
}

/** Incremental CMAC: update() any number of pieces, digest() once. */
export class AesCmac {
  private readonly cbc: Cipher;
  private readonly k1: Buffer;
  private readonly k2: Buffer;
  /** Bytes not yet given to the CBC chain: at least the last (possibly full) block must wait for digest(). */
  private pending = Buffer.alloc(0);
  private last = ZERO_IV;

  constructor(key: Buffer) {
    if (key.length !== 16) throw new RangeError('AES-128-CMAC needs a 16-byte key');
    ({ k1: this.k1, k2: this.k2 } = cmacSubkeys(key));
    this.cbc = createCipheriv('aes-128-cbc', key, ZERO_IV);
    this.cbc.setAutoPadding(false);
  }

  private feed(b: Buffer): void {
    if (b.length === 0) return;
    const out = this.cbc.update(b);
    if (out.length >= 16) this.last = out.subarray(out.length - 16);
  }

  update(data: Buffer): this {
    if (data.length === 0) return this;
    const all = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    // Keep back 1..16 bytes: the final block is treated specially.
    const keep = all.length % 16 === 0 ? 16 : all.length % 16;
    this.feed(all.subarray(0, all.length - keep));
    this.pending = Buffer.from(all.subarray(all.length - keep));
    return this;
  }

  digest(): Buffer {
    const m = Buffer.alloc(16);
    if (this.pending.length === 16) {
      for (let i = 0; i < 16; i++) m[i] = this.pending[i]! ^ this.k1[i]!;
    } else {
      this.pending.copy(m);
      m[this.pending.length] = 0x80;
      for (let i = 0; i < 16; i++) m[i]! ^= this.k2[i]!;
    }
    const out = this.cbc.update(m);
    this.cbc.final();
    this.last = out.subarray(out.length - 16);
    return Buffer.from(this.last);
  }
}

export function aesCmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const c = new AesCmac(key);
  for (const p of parts) c.update(p);
  return c.digest();
}
