/**
 * NFSv4.0 has no sessions, so nothing makes a retransmitted COMPOUND exactly-once. The open/lock
 * operations are covered by their owner's seqid replay cache (state/owners.ts); the other non-idempotent
 * operations (CREATE, REMOVE, RENAME, LINK, SETATTR) go through the same duplicate-request cache as NFSv3
 * (protocols/rpc/drc.ts: client address, xid and an argument fingerprint as the key, bounded, aged),
 * kept here because the RPC dispatcher cannot tell a 4.0 COMPOUND with a REMOVE from a 4.1 one or a READ.
 *
 * A COMPOUND is registered when it reaches its first such operation, before that operation runs (the
 * COMPOUND runner calls the `guard` it is given): a retransmission that reaches the same point meanwhile
 * waits for the original and gets the same reply, and one that comes later gets the kept reply. The
 * operations before that point are idempotent (PUTFH, LOOKUP, GETATTR...), so running them again changes
 * nothing. A COMPOUND without such an operation (GETATTR, READ, READDIR, LOOKUP: most of a client's
 * traffic) never touches the cache: no key, no entry, no bookkeeping (a key fingerprints the arguments;
 * begin and forget cost 3-6% of the gateway's CPU under a 4.0 stat load). READ replies carry pooled data
 * and are idempotent anyway. 4.1+ uses the slot cache (SEQUENCE) instead.
 *
 * Like the NFSv3 DRC, this lives in one gateway's memory (see drc.ts for the failover window).
 */
import { DuplicateRequestCache, drcKey, type DrcOptions, type DrcStats } from '../../rpc/drc';
import type { RpcCallContext } from '../../rpc/types';
import { XdrWriter } from '../../xdr/writer';
import { SlotReplay } from '../op';
import { nfs_opnum4, type COMPOUND4res } from '../types';

/** The 4.0 operations that change something and have no seqid of their own to detect a retransmission. */
export const NON_IDEMPOTENT_40: ReadonlySet<number> = new Set([nfs_opnum4.OP_CREATE, nfs_opnum4.OP_REMOVE, nfs_opnum4.OP_RENAME, nfs_opnum4.OP_LINK, nfs_opnum4.OP_SETATTR]);

export type V40Reply = { kind: 'res'; res: COMPOUND4res } | { kind: 'raw'; bytes: Buffer };

export class ReplyCache40 {
  private readonly drc: DuplicateRequestCache;
  private readonly running = new Map<string, Promise<V40Reply>>();
  hits = 0;

  constructor(
    private readonly encode: (w: XdrWriter, res: COMPOUND4res) => void,
    opts: DrcOptions = {},
  ) {
    this.drc = new DuplicateRequestCache({ maxEntries: 1024, maxBytes: 8 << 20, ...opts });
  }

  /** Entries kept or running, bytes, hits (tests, status). */
  stats(): DrcStats {
    return this.drc.stats();
  }

  /**
   * Runs a 4.0 COMPOUND. `exec` runs it and calls `guard` before each operation that changes something:
   * the first call registers the COMPOUND, or throws SlotReplay with the reply of the request it
   * retransmits (waiting for that one when it is still running).
   */
  async run(rpc: RpcCallContext, ops: Buffer, exec: (guard: () => Promise<void>) => Promise<V40Reply>): Promise<V40Reply> {
    let key: string | undefined;
    let settle: { resolve(r: V40Reply): void; reject(e: unknown): void } | undefined;
    const guard = async (): Promise<void> => {
      if (key !== undefined) return;
      const k = drcKey(rpc.remote.address, rpc.xid, rpc.prog, rpc.vers, rpc.proc, ops);
      const hit = this.drc.begin(k);
      if (hit.state === 'done') {
        this.hits++;
        throw new SlotReplay(hit.reply);
      }
      const inFlight = this.running.get(k);
      if (hit.state === 'in-progress' && inFlight) {
        this.hits++;
        const out = await inFlight;
        if (out.kind === 'raw') throw new SlotReplay(out.bytes);
        // Not reached: a registered COMPOUND always answers with its kept bytes.
        return;
      }
      key = k;
      const p = new Promise<V40Reply>((resolve, reject) => (settle = { resolve, reject }));
      p.catch(() => undefined); // a retransmission may never come to wait on it
      this.running.set(k, p);
    };
    let out: V40Reply;
    try {
      out = await exec(guard);
    } catch (e) {
      if (key !== undefined) {
        this.drc.forget(key);
        this.running.delete(key);
        settle!.reject(e);
      }
      throw e;
    }
    if (key === undefined) return out;
    let reply: V40Reply = out;
    if (out.kind === 'res') {
      const w = new XdrWriter();
      this.encode(w, out.res);
      const bytes = Buffer.from(w.toBuffer());
      this.drc.complete(key, [bytes]);
      reply = { kind: 'raw', bytes };
    } else {
      this.drc.forget(key);
    }
    this.running.delete(key);
    settle!.resolve(reply);
    return reply;
  }
}
