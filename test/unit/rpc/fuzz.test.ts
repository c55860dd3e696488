/**
 * Seeded random and mutated input into the message decoders, the dispatcher and the record decoder.
 * The only acceptable failures are the layer's own error types; nothing may hang. A failing case
 * prints its seed and iteration so it can be replayed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticate } from '../../../protocols/rpc/auth/authenticate';
import { authSysCred } from '../../../protocols/rpc/auth/sys';
import { RpcDispatcher } from '../../../protocols/rpc/dispatcher';
import { FramingError, RecordDecoder, frameRecord } from '../../../protocols/rpc/framing';
import {
  NULL_AUTH,
  decodeCallHeader,
  decodeReplyHeader,
  encodeAcceptedReply,
  encodeCallHeader,
  encodeRejectedReply,
  type OpaqueAuth,
} from '../../../protocols/rpc/message';
import type { RpcProcedure } from '../../../protocols/rpc/types';
import { XdrError } from '../../../protocols/xdr/errors';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

const SEED = 0x5eed1234;
const ITERATIONS = 3000;
const BUDGET_MS = 5000;

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** A 32-bit value biased towards the ones that break length checks. */
  word(): number {
    const interesting = [0, 1, 2, 3, 4, 16, 17, 255, 256, 400, 401, 1024, 0x7ffffffc, 0x7fffffff, 0x80000000, 0xfffffffc, 0xffffffff];
    return this.int(3) === 0 ? this.int(0x100000000) : interesting[this.int(interesting.length)]!;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

function randomCred(g: Gen): OpaqueAuth {
  switch (g.int(4)) {
    case 0:
      return NULL_AUTH;
    case 1:
      return authSysCred({
        stamp: g.int(0x100000000),
        machineName: 'h'.repeat(g.int(40)),
        uid: g.int(70000),
        gid: g.int(70000),
        gids: Array.from({ length: g.int(17) }, () => g.int(1000)),
      });
    case 2:
      return { flavor: 1, body: g.bytes(g.int(80)) }; // AUTH_SYS with garbage
    default:
      return { flavor: g.word(), body: g.bytes(g.int(64)) };
  }
}

function validCall(g: Gen, prog: number): Buffer {
  const w = new XdrWriter();
  encodeCallHeader(w, {
    xid: g.int(0x100000000),
    rpcvers: g.int(10) === 0 ? g.word() : 2,
    prog: g.int(4) === 0 ? g.word() : prog,
    vers: g.int(4) === 0 ? g.word() : 1 + g.int(2),
    proc: g.int(6),
    cred: randomCred(g),
    verf: g.int(8) === 0 ? { flavor: g.word(), body: g.bytes(g.int(16)) } : NULL_AUTH,
  });
  const words = g.int(12);
  for (let i = 0; i < words; i++) w.uint32(g.word());
  return w.toBuffer();
}

function validReply(g: Gen): Buffer {
  const w = new XdrWriter();
  if (g.int(2) === 0) {
    const stat = g.int(6);
    encodeAcceptedReply(w, g.int(0x100000000), NULL_AUTH, stat === 2 ? { stat, low: 1, high: 4 } : ({ stat } as { stat: 0 }));
  } else {
    encodeRejectedReply(w, g.int(0x100000000), g.int(2) === 0 ? { stat: 0, low: 2, high: 2 } : { stat: 1, authStat: g.int(15) });
  }
  return w.toBuffer();
}

/** One of several mutations: bit flips, truncation, a hostile word, an insertion, or pure noise. */
function mutate(g: Gen, b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (g.int(5)) {
    case 0: {
      const flips = 1 + g.int(4);
      for (let i = 0; i < flips && out.length; i++) out[g.int(out.length)]! ^= 1 << g.int(8);
      return out;
    }
    case 1:
      return out.subarray(0, g.int(out.length + 1));
    case 2:
      if (out.length >= 4) out.writeUInt32BE(g.word(), g.int(Math.floor(out.length / 4)) * 4);
      return out;
    case 3: {
      const at = g.int(out.length + 1);
      return Buffer.concat([out.subarray(0, at), g.bytes(1 + g.int(8)), out.subarray(at)]);
    }
    default:
      return g.bytes(g.int(64));
  }
}

function expectOnly(what: string, fn: () => void, ...allowed: (new (...a: any[]) => Error)[]): void {
  try {
    fn();
  } catch (e) {
    if (!allowed.some((t) => e instanceof t)) {
      throw new Error(`${what}: unexpected ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
}

const FUZZ_PROG = 0x20000777;

/** A program whose decoders exercise every XDR shape, so args fuzzing reaches them. */
function fuzzProcs(): RpcProcedure<any, any>[] {
  return [
    { proc: 0, name: 'NULL', decodeArgs: () => undefined, handle: async () => undefined, encodeRes: () => {} },
    {
      proc: 1,
      name: 'SHAPES',
      decodeArgs: (r: XdrReader) => ({
        n: r.uint64(),
        names: r.array(8, (x) => x.string(32), 4),
        opt: r.optional((x) => x.opaque(100)),
        flag: r.bool(),
      }),
      handle: async (_c, a) => a.names.length,
      encodeRes: (w, n: number) => void w.uint32(n),
    },
    {
      proc: 2,
      name: 'THROWS',
      decodeArgs: (r: XdrReader) => r.uint32(),
      handle: async (_c, n: number) => {
        if (n & 1) throw new Error('odd');
        return n;
      },
      encodeRes: (w, n: number) => void w.uint32(n),
    },
    {
      proc: 3,
      name: 'BAD_ENCODE',
      decodeArgs: () => undefined,
      handle: async () => undefined,
      encodeRes: () => {
        throw new TypeError('encoder bug');
      },
      nonIdempotent: true,
    },
  ];
}

// The timeout turns a hang into a failure instead of a stuck run.
describe('fuzz', { timeout: 20_000 }, () => {
  it(`message decoders accept or reject ${ITERATIONS} mutated calls and replies with XdrError only`, () => {
    const started = Date.now();
    const g = new Gen(rng(SEED));
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(g, g.int(2) === 0 ? validCall(g, FUZZ_PROG) : validReply(g));
      const where = `seed ${SEED} iteration ${i}`;
      expectOnly(where, () => {
        const d = decodeCallHeader(new XdrReader(input));
        if (d.kind === 'call') authenticate(d.call.cred);
      }, XdrError);
      expectOnly(where, () => void decodeReplyHeader(new XdrReader(input)), XdrError);
    }
    assert.ok(Date.now() - started < BUDGET_MS);
  });

  it(`the dispatcher answers or drops ${ITERATIONS} mutated calls and never rejects`, async () => {
    const started = Date.now();
    const g = new Gen(rng(SEED + 1));
    const d = new RpcDispatcher();
    d.addProgram({ prog: FUZZ_PROG, vers: 1, procs: new Map(fuzzProcs().map((p) => [p.proc, p])) });
    const signal = new AbortController().signal;
    let replies = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const record = g.int(5) === 0 ? validCall(g, FUZZ_PROG) : mutate(g, validCall(g, FUZZ_PROG));
      const reply = await d.dispatch({
        record,
        remote: { address: '192.0.2.1', port: 1000 + g.int(1000), family: 'IPv4' },
        local: { address: '192.0.2.2', port: 2049 },
        transport: g.int(2) === 0 ? 'tcp' : 'udp',
        connId: 1,
        signal,
      });
      if (reply) {
        replies++;
        // Whatever we send must itself be a well-formed reply.
        expectOnly(`seed ${SEED + 1} iteration ${i} reply`, () => void decodeReplyHeader(new XdrReader(Buffer.concat(reply))));
      }
    }
    assert.ok(replies > ITERATIONS / 4, `most inputs get an answer (${replies})`);
    assert.ok(Date.now() - started < BUDGET_MS);
  });

  it('the record decoder throws FramingError only, on random streams in random chunks', () => {
    const started = Date.now();
    const g = new Gen(rng(SEED + 2));
    for (let i = 0; i < ITERATIONS; i++) {
      const parts: Buffer[] = [];
      const n = 1 + g.int(6);
      for (let k = 0; k < n; k++) {
        const hdr = Buffer.alloc(4);
        hdr.writeUInt32BE(g.int(3) === 0 ? g.word() : ((g.int(2) << 31) | g.int(300)) >>> 0);
        parts.push(hdr, g.bytes(g.int(300)));
      }
      const stream = mutate(g, Buffer.concat(parts));
      const d = new RecordDecoder({ maxRecordBytes: 4096, maxFragments: 8 });
      expectOnly(`seed ${SEED + 2} iteration ${i}`, () => {
        let off = 0;
        while (off < stream.length) {
          const len = 1 + g.int(64);
          for (const rec of d.push(stream.subarray(off, off + len))) assert.ok(rec.length <= 4096);
          off += len;
        }
      }, FramingError);
    }
    assert.ok(Date.now() - started < BUDGET_MS);
  });

  it('valid multi-fragment streams survive random chunking intact', () => {
    const g = new Gen(rng(SEED + 3));
    for (let i = 0; i < 500; i++) {
      const msgs = Array.from({ length: 1 + g.int(5) }, () => g.bytes(g.int(200)));
      const stream = Buffer.concat(msgs.flatMap((m) => frameRecord([m], 1 + g.int(64))));
      const d = new RecordDecoder({ maxFragments: 1000 });
      const got: Buffer[] = [];
      let off = 0;
      while (off < stream.length) {
        const len = 1 + g.int(40);
        got.push(...d.push(stream.subarray(off, off + len)));
        off += len;
      }
      assert.deepEqual(got, msgs, `iteration ${i}`);
    }
  });
});
