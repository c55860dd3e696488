/**
 * Fuzzing every SMB2 request decoder (the command table), the header decoder, the path parser and the
 * security-descriptor decoder: random bodies, well-formed bodies with byte flips, truncations and
 * offset/length fields pointed anywhere. A decoder (and every field getter of what it returns) either
 * works or throws DecodeError / SmbError (→ an NTSTATUS for the client); anything else (RangeError,
 * TypeError, a huge allocation) is a bug. Seeded, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SmbError } from '../../../protocols/smb2/command';
import { COMMANDS } from '../../../protocols/smb2/dispatch';
import { decodeSecurityDescriptor, encodeSecurityDescriptor, SecurityDescriptorError } from '../../../protocols/smb2/fscc/security';
import { decodeHeader, encodeHeader, HeaderError } from '../../../protocols/smb2/header';
import { parseSmbPath } from '../../../protocols/smb2/tree/paths';
import { DecodeError } from '../../../protocols/smb2/wire';
import { FileType, type Attr } from '../../../cluster/vfs/types';
import { rng } from '../fuzz-rng';

/** StructureSize of each request (MS-SMB2 2.2.x). */
const STRUCTURE: Record<number, number> = { 0: 36, 1: 25, 2: 4, 3: 9, 4: 4, 5: 57, 6: 24, 7: 24, 8: 49, 9: 49, 10: 48, 11: 57, 13: 4, 14: 33, 15: 32, 16: 41, 17: 33, 18: 24 };

function header(command: number): Buffer {
  const h = Buffer.alloc(64);
  encodeHeader(h, { creditCharge: 1, status: 0, command, credits: 1, flags: 0, nextCommand: 0, messageId: 1n, treeId: 1, asyncId: 0n, sessionId: 1n });
  return h;
}

/** A body with the right StructureSize and plausible offset/length pairs into a random tail. */
function plausibleBody(command: number, r: () => number): Buffer {
  const fixed = Math.max(8, (STRUCTURE[command] ?? 8) & ~1);
  const tail = Math.floor(r() * 300);
  const b = Buffer.alloc(fixed + tail);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  b.writeUInt16LE(STRUCTURE[command] ?? 8, 0);
  // Offsets are counted from the header: point some 16-bit / 32-bit words at the tail.
  for (let k = 0; k < 4; k++) {
    const at = 2 + 2 * Math.floor(r() * ((fixed - 4) / 2));
    const v = r() < 0.5 ? 64 + fixed + Math.floor(r() * tail) : Math.floor(r() * 0x10000);
    if (at + 2 <= fixed) b.writeUInt16LE(v & 0xffff, at);
  }
  return b;
}

function mutate(b: Buffer, r: () => number): Buffer {
  const out = Buffer.from(b);
  const kind = r();
  if (kind < 0.3) {
    for (let i = 0, n = 1 + Math.floor(r() * 4); i < n && out.length; i++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
    return out;
  }
  if (kind < 0.5) return out.subarray(0, Math.floor(r() * out.length));
  if (kind < 0.7 && out.length >= 8) {
    const at = Math.floor(r() * (out.length - 4));
    out.writeUInt32LE([0, 0xffffffff, 0x7fffffff, 0x10000, out.length, out.length + 1][Math.floor(r() * 6)]!, at);
    return out;
  }
  return Buffer.concat([out, Buffer.alloc(Math.floor(r() * 64), Math.floor(r() * 256))]);
}

function allowed(e: unknown): boolean {
  return e instanceof DecodeError || e instanceof SmbError;
}

/** Reads every getter a decoded request has, as handlers would. */
function touchAll(req: object): void {
  let proto = Object.getPrototypeOf(req) as object | null;
  while (proto && proto !== Object.prototype) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (!d.get) continue;
      try {
        void (req as Record<string, unknown>)[k];
      } catch (e) {
        if (!allowed(e)) throw new Error(`getter ${k}: ${(e as Error).stack}`);
      }
    }
    for (const k of ['context', 'contexts']) {
      const f = (req as Record<string, unknown>)[k];
      if (typeof f === 'function') {
        try {
          (f as (n: string) => unknown).call(req, 'MxAc');
        } catch (e) {
          if (!allowed(e)) throw e;
        }
      }
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
}

describe('SMB2 decoders under fuzzing', () => {
  it('every command decoder returns or throws DecodeError/SmbError (seeded, 400 cases each)', () => {
    const r = rng(0x5eed5);
    let decoded = 0;
    for (const [command, spec] of COMMANDS) {
      for (let i = 0; i < 400; i++) {
        const base = Buffer.concat([header(command), plausibleBody(command, r)]);
        const msg = i % 4 === 0 ? base : mutate(base, r);
        let req: unknown;
        try {
          req = spec.decode(msg, undefined as never);
        } catch (e) {
          if (!allowed(e)) assert.fail(`${spec.name} case ${i}: ${(e as Error).stack}\n${msg.toString('hex')}`);
          continue;
        }
        decoded++;
        try {
          touchAll(req as object);
          if (spec.payload) spec.payload(req as never);
        } catch (e) {
          if (!allowed(e)) assert.fail(`${spec.name} case ${i}: ${(e as Error).message}\n${msg.toString('hex')}`);
        }
      }
    }
    assert.ok(decoded > 500, `some inputs must decode (${decoded})`);
  });

  it('the header decoder returns or throws HeaderError', () => {
    const r = rng(77);
    for (let i = 0; i < 3000; i++) {
      const msg = mutate(Buffer.concat([header(Math.floor(r() * 20)), Buffer.alloc(Math.floor(r() * 40))]), r);
      try {
        decodeHeader(msg);
      } catch (e) {
        if (!(e instanceof HeaderError || allowed(e))) assert.fail(`case ${i}: ${(e as Error).stack}`);
      }
    }
  });

  it('paths: random UTF-16 names parse or are refused with an NTSTATUS, never escape the share', () => {
    const r = rng(4242);
    const alphabet = ['a', 'B', '.', '..', '\\', '/', ':', '$DATA', '*', '?', '\u0000', 'é', '\ud800', ' ', 'x'.repeat(300)];
    for (let i = 0; i < 5000; i++) {
      let s = '';
      for (let j = 0, n = Math.floor(r() * 8); j < n; j++) s += alphabet[Math.floor(r() * alphabet.length)];
      try {
        const p = parseSmbPath(s, r() < 0.5);
        for (const c of p.components) {
          assert.ok(c !== '' && c !== '.' && c !== '..' && !c.includes('/') && !c.includes('\\') && !c.includes(':'), `component ${JSON.stringify(c)} from ${JSON.stringify(s)}`);
        }
      } catch (e) {
        if (!allowed(e)) throw e;
      }
    }
  });

  it('security descriptors: mutated descriptors decode or throw SecurityDescriptorError', () => {
    const r = rng(99);
    const a: Attr = {
      type: FileType.REG, mode: 0o4755, nlink: 1, uid: 1000, gid: 100, size: 0n, used: 0n, rdev: { major: 0, minor: 0 }, fsid: 1n, fileId: 5n,
      atime: 0n, mtime: 0n, ctime: 0n, birthTime: 0n, change: 1n, dosAttrs: 0,
    };
    const good = encodeSecurityDescriptor(a, 0x7);
    for (let i = 0; i < 5000; i++) {
      const sd = mutate(good, r);
      try {
        decodeSecurityDescriptor(sd);
      } catch (e) {
        if (!(e instanceof SecurityDescriptorError)) assert.fail(`case ${i}: ${(e as Error).stack}\n${sd.toString('hex')}`);
      }
    }
  });
});
