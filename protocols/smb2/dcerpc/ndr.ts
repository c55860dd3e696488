/**
 * NDR (C706 chapter 14, MS-RPCE 2.2.5) as far as srvsvc needs it: little-endian scalars with natural
 * alignment, unique pointers as referent ids, conformant varying UTF-16 strings.
 */
export class NdrError extends Error {}

export class NdrReader {
  private p = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number): void {
    if (this.p + n > this.b.length) throw new NdrError('NDR stub too short');
  }
  align(n: number): void {
    this.p = (this.p + n - 1) & ~(n - 1);
  }
  u16(): number {
    this.align(2);
    this.need(2);
    const v = this.b.readUInt16LE(this.p);
    this.p += 2;
    return v;
  }
  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.b.readUInt32LE(this.p);
    this.p += 4;
    return v;
  }
  /** [string] wchar_t* body: max_count, offset, actual_count, then the characters (with their NUL). */
  wstring(): string {
    const max = this.u32();
    const offset = this.u32();
    const actual = this.u32();
    if (offset !== 0 || actual > max || actual > 4096) throw new NdrError('bad conformant varying string');
    this.need(actual * 2);
    let s = this.b.subarray(this.p, this.p + actual * 2).toString('utf16le');
    this.p += actual * 2;
    if (s.endsWith('\0')) s = s.slice(0, -1);
    return s;
  }
  /** A unique pointer to a string: null → undefined. */
  uniqueWstring(): string | undefined {
    return this.u32() === 0 ? undefined : this.wstring();
  }
}

export class NdrWriter {
  private readonly parts: Buffer[] = [];
  private len = 0;
  private nextRef = 0x00020000;

  private push(b: Buffer): void {
    this.parts.push(b);
    this.len += b.length;
  }
  align(n: number): this {
    const pad = ((this.len + n - 1) & ~(n - 1)) - this.len;
    if (pad) this.push(Buffer.alloc(pad));
    return this;
  }
  u32(v: number): this {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
    return this;
  }
  /** A non-null referent id for a unique/full pointer. */
  ref(): this {
    this.u32(this.nextRef);
    this.nextRef += 4;
    return this;
  }
  wstring(s: string): this {
    const chars = s.length + 1;
    this.u32(chars).u32(0).u32(chars);
    this.push(Buffer.from(s + '\0', 'utf16le'));
    return this.align(4);
  }
  done(): Buffer {
    return Buffer.concat(this.parts, this.len);
  }
}
