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
import { createCipheriv, createDecipheriv, type CipherCCMTypes, type CipherGCMTypes } from 'node:crypto';
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
