/**
 * Fuzzing every NFSv3 and MOUNT argument decoder: random bytes, valid encodings with random byte flips,
 * truncations and length-word corruptions. A decoder either returns a value or throws XdrError
 * (→ GARBAGE_ARGS); anything else (RangeError, TypeError, a hang, a huge allocation) is a bug.
 * Seeded, so a failure reproduces.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MOUNT3_PROCEDURES } from '../../../protocols/mount/table';
import { NFS3_PROCEDURES } from '../../../protocols/nfs3/table';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';
import { rng } from '../fuzz-rng';

/** Plausible argument prefixes: a handle, a dirop, sattr words, big counts, long names. */
function seeds(): Buffer[] {
  const fh = Buffer.alloc(28, 7);
  const out: Buffer[] = [];
  const w1 = new XdrWriter();
  w1.opaque(fh).uint64(0n).uint32(4096).uint32(2).opaque(Buffer.alloc(4096, 1)); // WRITE-shaped
  out.push(w1.toBuffer());
  const w2 = new XdrWriter();
  w2.opaque(fh).string('name').uint32(1).uint32(1).uint32(0o644).uint32(0).uint32(0).uint32(1).uint64(5n).uint32(2).uint32(2); // CREATE-shaped
  out.push(w2.toBuffer());
  const w3 = new XdrWriter();
  w3.opaque(fh).uint64(3n).fixedOpaque(Buffer.alloc(8)).uint32(8192).uint32(32768); // READDIRPLUS-shaped
  out.push(w3.toBuffer());
  const w4 = new XdrWriter();
  w4.opaque(fh).string('a').opaque(fh).string('b'); // RENAME/LINK-shaped
  out.push(w4.toBuffer());
  const w5 = new XdrWriter();
  w5.string('/data'); // MNT
  out.push(w5.toBuffer());
  return out;
}

function mutate(r: () => number, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = Math.floor(r() * 4);
  if (kind === 0) {
    for (let i = 0, n = 1 + Math.floor(r() * 4); i < n && b.length; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return b;
  }
  if (kind === 1) return b.subarray(0, Math.floor(r() * b.length));
  if (kind === 2 && b.length >= 4) {
    // Corrupt an aligned word with an extreme value (lengths, counts, discriminants).
    const at = Math.floor(r() * (b.length / 4)) * 4;
    b.writeUInt32BE([0xffffffff, 0x7fffffff, 0x80000000, 65, 4097, 1 << 20][Math.floor(r() * 6)]!, at);
    return b;
  }
  const n = Math.floor(r() * 200);
  const rnd = Buffer.alloc(n);
  for (let i = 0; i < n; i++) rnd[i] = Math.floor(r() * 256);
  return rnd;
}

function fuzz(name: string, decode: (r: XdrReader) => unknown, seed: number): void {
  const r = rng(seed);
  const bases = seeds();
  const t0 = Date.now();
  for (let i = 0; i < 1500; i++) {
    const input = mutate(r, bases[i % bases.length]!);
    try {
      decode(new XdrReader(input));
    } catch (e) {
      if (!(e instanceof XdrError)) {
        assert.fail(`${name}: input ${input.toString('hex')} threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      }
    }
  }
  assert.ok(Date.now() - t0 < 5000, `${name}: decoding 1500 inputs took too long`);
}

describe('fuzz: NFSv3 argument decoders', () => {
  for (const d of NFS3_PROCEDURES) {
    it(`${d.name} decodes or throws XdrError`, () => fuzz(`NFS3 ${d.name}`, (r) => d.decodeArgs(r), 1000 + d.proc));
  }
});

describe('fuzz: MOUNT v3 argument decoders', () => {
  for (const d of MOUNT3_PROCEDURES) {
    it(`${d.name} decodes or throws XdrError`, () => fuzz(`MOUNT3 ${d.name}`, (r) => d.decodeArgs(r), 2000 + d.proc));
  }
});
