/**
 * MD4 (RFC 1320), written out because OpenSSL 3 (Node 20) no longer offers it by default. Used only for
 * the NT hash (NTOWFv1 = MD4(UTF-16LE(password)), MS-NLMP 3.3.1); never for anything needing a secure hash.
 */

const rotl = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;

/** RFC 1320 3.4: rounds 2 and 3 visit the words of a block in these orders, with these shifts. */
const R2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const R3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const R1_SHIFT = [3, 7, 11, 19];
const R2_SHIFT = [3, 5, 9, 13];
const R3_SHIFT = [3, 9, 11, 15];

export function md4(data: Buffer): Buffer {
  // 3.1-3.2: append a 1 bit, zeros to 56 mod 64, then the bit length as 64 bits little-endian.
  const padLen = ((data.length + 8) >>> 6) * 64 + 64;
  const m = Buffer.alloc(padLen);
  data.copy(m);
  m[data.length] = 0x80;
  const bits = BigInt(data.length) * 8n;
  m.writeBigUInt64LE(BigInt.asUintN(64, bits), padLen - 8);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Array<number>(16);
  for (let off = 0; off < padLen; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = m.readUInt32LE(off + i * 4);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    // Round 1: F(x,y,z) = xy v (not x)z
    for (let i = 0; i < 16; i++) {
      const f = (b & c) | (~b & d);
      const t = rotl((a + f + x[i]!) >>> 0, R1_SHIFT[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 2: G(x,y,z) = xy v xz v yz, plus 0x5A827999
    for (let i = 0; i < 16; i++) {
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + x[R2_ORDER[i]!]! + 0x5a827999) >>> 0, R2_SHIFT[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 3: H(x,y,z) = x xor y xor z, plus 0x6ED9EBA1
    for (let i = 0; i < 16; i++) {
      const h = b ^ c ^ d;
      const t = rotl((a + h + x[R3_ORDER[i]!]! + 0x6ed9eba1) >>> 0, R3_SHIFT[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a = (a + aa) >>> 0;
    b = (b + bb) >>> 0;
    c = (c + cc) >>> 0;
    d = (d + dd) >>> 0;
  }
  const out = Buffer.alloc(16);
  out.writeUInt32LE(a, 0);
  out.writeUInt32LE(b, 4);
  out.writeUInt32LE(c, 8);
  out.writeUInt32LE(d, 12);
  return out;
}

/** NTOWFv1 (MS-NLMP 3.3.1): MD4 of the UTF-16LE password. The value the user database stores. */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}
