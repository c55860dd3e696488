/**
 * SMB3 sealing off the event loop: large transform messages (sealed READ replies, sealed WRITE requests)
 * are encrypted or decrypted by one worker thread (seal-worker.ts), so the event loop only frames,
 * dispatches and does the file I/O.
 *
 * Why: with encryption on, the event-loop thread was the limit at about 2 CPU-s per GiB: AES-GCM itself was
 * 0.4-0.5 of that, the rest copies out of Node's Cipher objects (which cannot write into a caller's buffer)
 * and page faults on their fresh outputs. The bench machine has two cores, one of them mostly idle while
 * smbclient and the event loop alternate.
 *
 * Zero copy on the event loop: the sealed message, its plaintext and READ data all live in slabs of
 * SharedArrayBuffer-backed pools (BufferPool with `shared`), and a posted view of shared memory is shared,
 * not copied. Anything that is not (pool exhausted, a small message, a worker that failed) is done inline
 * exactly as before (encryption.ts), so this only ever changes where the work runs.
 *
 * Bounds: every job holds slabs that were taken from bounded pools and are given back when the job
 * settles; the number of jobs is bounded by the connections' in-flight limits (the caller awaits each).
 * An open reports success only after the tag has been verified over the whole message (the worker calls
 * `final()` first); until then the caller does not look at the plaintext.
 */
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { BufferPool } from '../../../cluster/vfs/buffer-pool';
import { SMB2_TRANSFORM_FLAG_ENCRYPTED, SMB2_TRANSFORM_HEADER_SIZE } from '../constants';
import { decodeTransformHeader, encodeTransformHeader } from '../header';
import { cipherName, DecryptError, isCcm, type NonceSource } from './encryption';
import type { OpenJob, SealJob, SealReply } from './seal-worker';

/** Below this many bytes a message is sealed or opened inline: the round trip would cost more than AES. */
export const OFFLOAD_MIN = 256 * 1024;
/** Parts not in shared memory are copied into the job; only this small (headers, not data). */
const COPY_MAX = 4096;

const isShared = (b: Uint8Array): boolean => b.buffer instanceof SharedArrayBuffer;

interface Pending {
  resolve: (r: SealReply) => void;
}

export interface Sealed {
  /** The transform header and the ciphertext, ready for the socket. */
  parts: Buffer[];
  /** Gives the ciphertext slab back: call once the socket is done with `parts`. */
  release: () => void;
}

export class SealOffload {
  private worker: Worker | undefined;
  private broken = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Ciphertext of sealed replies (a READ reply is at most maxIo plus headers). */
  private readonly out: BufferPool;
  /** Messages sealed and opened in the worker (tests and metrics: the inline fallback is silent). */
  readonly done = { seals: 0, opens: 0 };

  constructor(
    slabSize: number,
    slabs: number,
    private readonly workerFile = path.join(__dirname, 'seal-worker.js'),
  ) {
    this.out = new BufferPool(slabSize, slabs, true);
  }

  /** False when worker threads cannot be used here (then every caller goes inline). */
  get usable(): boolean {
    return !this.broken;
  }

  /** Starts the worker ahead of the first large message (a session that seals will send some soon). */
  warm(): void {
    this.start();
  }

  private start(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    try {
      const w = new Worker(this.workerFile);
      w.unref(); // an idle sealer never keeps the process alive
      w.on('message', (r: SealReply) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        p.resolve(r);
      });
      const fail = (why: string): void => {
        // Jobs in flight fail (their connections close); later messages are sealed inline.
        this.broken = true;
        this.worker = undefined;
        for (const [id, p] of this.pending) p.resolve({ id, ok: false, error: why });
        this.pending.clear();
      };
      w.on('error', (e) => fail(`seal worker failed: ${e.message}`));
      w.on('exit', (code) => fail(`seal worker exited (${code})`));
      this.worker = w;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private run(job: Omit<SealJob, 'id'> | Omit<OpenJob, 'id'>): Promise<SealReply> {
    const w = this.start();
    const id = this.nextId++;
    if (!w) return Promise.resolve({ id, ok: false, error: 'no seal worker' });
    return new Promise<SealReply>((resolve) => {
      this.pending.set(id, { resolve });
      w.postMessage({ ...job, id });
    });
  }

  /**
   * Seals `plain` in the worker; undefined when it should be done inline (small, data not in shared
   * memory, no free output slab, no worker). The nonce is taken only when the job is accepted.
   */
  seal(cipherId: number, key: Buffer, sessionId: bigint, plain: readonly Buffer[], nonces: NonceSource): Promise<Sealed> | undefined {
    if (this.broken) return undefined;
    let size = 0;
    for (const p of plain) {
      size += p.length;
      if (p.length > COPY_MAX && !isShared(p)) return undefined;
    }
    if (size < OFFLOAD_MIN || size > this.out.slabSize) return undefined;
    const dst = this.out.take(size);
    if (!isShared(dst)) return undefined; // every slab on loan: inline (the fallback buffer is just dropped)
    const nonce = nonces.next(cipherId);
    const hdr = encodeTransformHeader({ signature: Buffer.alloc(16), nonce, originalMessageSize: size, flags: SMB2_TRANSFORM_FLAG_ENCRYPTED, sessionId });
    const ccm = isCcm(cipherId);
    return this.run({
      op: 'seal',
      alg: cipherName(cipherId),
      ccm,
      key,
      nonce: nonce.subarray(0, ccm ? 11 : 12),
      aad: hdr.subarray(20, SMB2_TRANSFORM_HEADER_SIZE),
      parts: plain as Buffer[],
      dst,
    }).then((r) => {
      if (!r.ok) {
        this.out.give(dst);
        throw new Error(r.error);
      }
      Buffer.from(r.tag!.buffer, r.tag!.byteOffset, 16).copy(hdr, 4);
      this.done.seals++;
      return { parts: [hdr, dst], release: () => this.out.give(dst) };
    });
  }

  /**
   * Opens a transform message (already checked: session, sizes) in the worker into `dst` (shared, exactly
   * the ciphertext's length); undefined when it should be done inline. Rejects with DecryptError when
   * the message does not authenticate: `dst` must then not be used.
   */
  open(cipherId: number, key: Buffer, msg: Buffer, dst: Buffer): Promise<void> | undefined {
    if (this.broken || !isShared(msg) || !isShared(dst)) return undefined;
    const body = msg.subarray(SMB2_TRANSFORM_HEADER_SIZE);
    if (body.length < OFFLOAD_MIN || dst.length !== body.length) return undefined;
    const h = decodeTransformHeader(msg);
    if (h.originalMessageSize !== body.length) throw new DecryptError('OriginalMessageSize does not match the message');
    if (h.flags !== SMB2_TRANSFORM_FLAG_ENCRYPTED) throw new DecryptError(`transform flags ${h.flags}`);
    const ccm = isCcm(cipherId);
    return this.run({
      op: 'open',
      alg: cipherName(cipherId),
      ccm,
      key,
      nonce: Buffer.from(h.nonce.subarray(0, ccm ? 11 : 12)),
      tag: Buffer.from(h.signature),
      aad: Buffer.from(msg.subarray(20, SMB2_TRANSFORM_HEADER_SIZE)),
      src: body,
      dst,
    }).then((r) => {
      if (!r.ok) throw new DecryptError(`decryption failed: ${r.error}`);
      this.done.opens++;
    });
  }

  /** Stops the worker (jobs in flight fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.broken = true;
    if (w) await w.terminate();
  }
}
