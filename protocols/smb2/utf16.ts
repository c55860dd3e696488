/**
 * The one UTF-16LE helper of the SMB layer. Names on the wire are UTF-16LE; the core keeps names as
 * UTF-8 bytes (DESIGN invariant 8). Unpaired surrogates cannot be represented in UTF-8, so they are
 * refused (OBJECT_NAME_INVALID) instead of being replaced.
 */
export class Utf16Error extends Error {}

export function decodeUtf16(b: Buffer): string {
  if (b.length % 2) throw new Utf16Error('odd UTF-16 length');
  const s = b.toString('utf16le');
  if (!isWellFormed(s)) throw new Utf16Error('unpaired surrogate');
  return s;
}

export function encodeUtf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
