/**
 * The worker thread behind seal-offload.ts: seals and opens large SMB3 transform messages so that the
 * AES work, and the copies out of Node's Cipher objects (which cannot write into a caller's buffer), run
 * on the second core instead of the event loop.
 *
 * Inputs and outputs are views of SharedArrayBuffer-backed pools (posting such a view shares the memory,
 * it copies nothing); small pieces (headers) arrive copied. The main thread lends every buffer named in
 * a job until the job's reply: nothing else reads or writes them meanwhile.
 *
 * An open reports success only after `final()` has verified the tag over the whole message; the main
 * thread looks at the plaintext only after that reply. A failed open may leave partial plaintext in the
 * output buffer, which the main thread then gives back unused.
 */
import { createCipheriv, createDecipheriv, createHash, type CipherCCMTypes, type CipherGCMTypes } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export interface SealJob {
  id: number;
  op: 'seal';
  alg: string;
  ccm: boolean;
  key: Uint8Array;
  nonce: Uint8Array;
  aad: Uint8Array;
  parts: Uint8Array[];
  dst: Uint8Array;
}

export interface OpenJob {
  id: number;
  op: 'open';
  alg: string;
  ccm: boolean;
  key: Uint8Array;
  nonce: Uint8Array;
  tag: Uint8Array;
  aad: Uint8Array;
  src: Uint8Array;
  dst: Uint8Array;
}

export type SealReply = { id: number; ok: true; tag?: Uint8Array } | { id: number; ok: false; error: string };

/**
 * Cipher input per update(): each call returns a fresh buffer that is copied into `dst` and dropped; small
 * slices stay in cache between the two and keep the worker's external memory (and so its GC) low.
 */
const PIECE = 256 * 1024;

function seal(j: SealJob): Uint8Array {
  const size = j.parts.reduce((n, p) => n + p.length, 0);
  if (j.dst.length !== size) throw new Error('output size differs from the plaintext size');
  let at = 0;
  const put = (b: Buffer): void => {
    j.dst.set(b, at);
    at += b.length;
  };
  if (j.ccm) {
    const c = createCipheriv(j.alg as CipherCCMTypes, j.key, j.nonce, { authTagLength: 16 });
    c.setAAD(j.aad, { plaintextLength: size });
    // CCM takes the whole plaintext in one update (its length is part of the first block).
    put(c.update(j.parts.length === 1 ? j.parts[0]! : Buffer.concat(j.parts, size)));
    put(c.final());
    if (at !== size) throw new Error('ciphertext length differs');
    return c.getAuthTag();
  }
  const c = createCipheriv(j.alg as CipherGCMTypes, j.key, j.nonce);
  c.setAAD(j.aad);
  for (const p of j.parts) for (let o = 0; o < p.length; o += PIECE) put(c.update(p.subarray(o, o + PIECE)));
  put(c.final());
  if (at !== size) throw new Error('ciphertext length differs');
  return c.getAuthTag();
}

function open(j: OpenJob): void {
  if (j.dst.length !== j.src.length) throw new Error('output size differs from the ciphertext size');
  let at = 0;
  const put = (b: Buffer): void => {
    j.dst.set(b, at);
    at += b.length;
  };
  if (j.ccm) {
    const d = createDecipheriv(j.alg as CipherCCMTypes, j.key, j.nonce, { authTagLength: 16 });
    d.setAuthTag(j.tag);
    d.setAAD(j.aad, { plaintextLength: j.src.length });
    const out = d.update(j.src);
    d.final(); // throws unless the tag verifies
    put(out);
  } else {
    const d = createDecipheriv(j.alg as CipherGCMTypes, j.key, j.nonce);
    d.setAuthTag(j.tag);
    d.setAAD(j.aad);
    for (let o = 0; o < j.src.length; o += PIECE) put(d.update(j.src.subarray(o, o + PIECE)));
    put(d.final()); // throws unless the tag verifies
  }
  if (at !== j.src.length) throw new Error('plaintext length differs');
}

/**
 * Makes glibc keep the heap memory this worker frees instead of handing it back to the kernel at once.
 *
 * Why: every `update()` returns a fresh output buffer, and V8 frees those only when it collects them, so
 * the worker's heap grows by tens of MiB between collections and shrinks back after each. glibc gives a
 * heap's free top back (MADV_DONTNEED) once it exceeds M_TRIM_THRESHOLD, 128 KiB by default, so every
 * 4 KiB of cipher output was a fresh page: a minor fault and a zeroing, one per 4 KiB of a sealed
 * transfer (131,952 faults for a 512 MiB put), about half of this thread's CPU. With
 * GLIBC_TUNABLES=glibc.malloc.trim_threshold=... the faults went away (1,844), but a library cannot set
 * that. glibc raises the thresholds itself when a block above the current mmap threshold and at most
 * 32 MiB is freed (mallopt(3): the dynamic mmap threshold becomes that block's size, the trim threshold
 * twice it). Hashing a 31 MiB string makes Node decode it into such a temporary block and free it, so
 * from then on up to 62 MiB of free top per heap stays mapped and is reused: measured 366 faults, and
 * 0.37 instead of 0.70-0.75 CPU-s in this thread for a 512 MiB sealed put.
 *
 * Process-wide, once per worker start (tens of ms on this thread, not the event loop). Memory stays
 * bounded: a heap keeps at most what it already held at its peak, capped by the 62 MiB trim threshold.
 * Elsewhere than glibc it is only a hash.
 */
function keepFreedHeapMemory(): void {
  createHash('sha1').update('x'.repeat(31 * 1024 * 1024), 'latin1');
}

if (parentPort) keepFreedHeapMemory();

parentPort?.on('message', (j: SealJob | OpenJob) => {
  let reply: SealReply;
  try {
    if (j.op === 'seal') reply = { id: j.id, ok: true, tag: seal(j) };
    else {
      open(j);
      reply = { id: j.id, ok: true };
    }
  } catch (e) {
    reply = { id: j.id, ok: false, error: (e as Error).message };
  }
  parentPort!.postMessage(reply);
});
