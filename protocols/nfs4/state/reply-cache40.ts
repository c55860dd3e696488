/**
 * NFSv4.0 has no sessions, so nothing makes a retransmitted COMPOUND exactly-once. The open/lock
 * operations are covered by their owner's seqid replay cache (state/owners.ts); the other non-idempotent
 * operations (CREATE, REMOVE, RENAME, LINK, SETATTR) go through the same duplicate-request cache as NFSv3
 * (protocols/rpc/drc.ts: client address, xid and an argument fingerprint as the key, bounded, aged),
 * kept here because the RPC dispatcher cannot tell a 4.0 COMPOUND with a REMOVE from a 4.1 one or a READ.
 *
 * A COMPOUND is registered as running before it runs; a retransmission that arrives meanwhile waits for
 * the original and gets the same reply. Only COMPOUNDs that ran one of those operations are kept (READ
 * replies carry pooled data and are idempotent anyway). 4.1+ uses the slot cache (SEQUENCE) instead.
 *
 * Like the NFSv3 DRC, this lives in one gateway's memory (see drc.ts for the failover window).
 */
import { DuplicateRequestCache, drcKey, type DrcOptions } from '../../rpc/drc';
import type { RpcCallContext } from '../../rpc/types';
import { XdrWriter } from '../../xdr/writer';
import { nfs_opnum4, type COMPOUND4res } from '../types';

const NON_IDEMPOTENT: ReadonlySet<number> = new Set([nfs_opnum4.OP_CREATE, nfs_opnum4.OP_REMOVE, nfs_opnum4.OP_RENAME, nfs_opnum4.OP_LINK, nfs_opnum4.OP_SETATTR]);

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

  async run(rpc: RpcCallContext, ops: Buffer, exec: () => Promise<V40Reply>): Promise<V40Reply> {
    const key = drcKey(rpc.remote.address, rpc.xid, rpc.prog, rpc.vers, rpc.proc, ops);
    const hit = this.drc.begin(key);
    if (hit.state === 'done') {
      this.hits++;
      return { kind: 'raw', bytes: hit.reply };
    }
    const inFlight = this.running.get(key);
    if (hit.state === 'in-progress' && inFlight) {
      this.hits++;
      return inFlight;
    }
    const p = exec();
    this.running.set(key, p);
    try {
      const out = await p;
      if (out.kind === 'res' && out.res.resarray.some((r) => NON_IDEMPOTENT.has(r.resop))) {
        const w = new XdrWriter();
        this.encode(w, out.res);
        const bytes = Buffer.from(w.toBuffer());
        this.drc.complete(key, [bytes]);
        return { kind: 'raw', bytes };
      }
      this.drc.forget(key);
      return out;
    } catch (e) {
      this.drc.forget(key);
      throw e;
    } finally {
      this.running.delete(key);
    }
  }
}
