/**
 * Duplicate request cache for non-idempotent procedures (CREATE, REMOVE, RENAME, SETATTR, …).
 *
 * A client that does not see a reply retransmits with the same xid, often on a new connection
 * (Linux reconnects from a new source port), so the key is the client *address* (not the port),
 * xid, prog, vers, proc and a cheap fingerprint of the arguments (length plus a hash of the first
 * 256 bytes, like Linux nfsd), which guards against xid reuse by a rebooted client.
 *
 * States: `in-progress` (the original is still executing: a retransmission is dropped, never run a
 * second time) and `done` (the reply, copied into one Buffer, is resent as is). Bounded by entries
 * and bytes with least-recently-used eviction of finished entries, and by age.
 *
 * This cache lives in one gateway's memory: after a floating IP moves, a retransmission that reaches
 * the new owner is executed again (the window Linux knfsd has after a reboot).
 */
import { normaliseAddress } from '../../cluster/vfs/exports';

export interface DrcOptions {
  /** Maximum cached entries (0 disables the cache). Default 4096. */
  maxEntries?: number;
  /** Maximum bytes of cached replies. Default 64 MiB. */
  maxBytes?: number;
  /** Age after which a finished entry is forgotten. Default 120 s. */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export type DrcLookup =
  /** Not seen before: the caller executes it and must call `complete` (or `forget`). */
  | { state: 'miss' }
  /** The original is still running: drop this retransmission. */
  | { state: 'in-progress' }
  /** Finished: send `reply` (a complete RPC reply message) again. */
  | { state: 'done'; reply: Buffer };

type Entry = { state: 'in-progress'; at: number } | { state: 'done'; at: number; reply: Buffer };

export interface DrcStats {
  entries: number;
  bytes: number;
  hits: number;
  inProgressDrops: number;
  evictions: number;
}

const FINGERPRINT_BYTES = 256;

/** FNV-1a over at most the first 256 bytes; cheap, and only meant to tell different args apart. */
function fingerprint(args: Buffer): number {
  let h = 0x811c9dc5;
  const n = Math.min(args.length, FINGERPRINT_BYTES);
  for (let i = 0; i < n; i++) {
    h ^= args[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The cache key of one call. `args` are the undecoded argument bytes. */
export function drcKey(address: string, xid: number, prog: number, vers: number, proc: number, args: Buffer): string {
  return `${normaliseAddress(address)}|${xid}|${prog}|${vers}|${proc}|${args.length}|${fingerprint(args)}`;
}

export class DuplicateRequestCache {
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Insertion order = recency order: a hit moves the entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private hits = 0;
  private inProgressDrops = 0;
  private evictions = 0;

  constructor(opts: DrcOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 4096;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.ttlMs = opts.ttlMs ?? 120_000;
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.maxEntries > 0;
  }

  stats(): DrcStats {
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      hits: this.hits,
      inProgressDrops: this.inProgressDrops,
      evictions: this.evictions,
    };
  }

  /** Looks a call up; on a miss, records it as in progress. */
  begin(key: string): DrcLookup {
    if (!this.enabled) return { state: 'miss' };
    const now = this.now();
    const e = this.entries.get(key);
    if (e) {
      if (e.state === 'in-progress') {
        this.inProgressDrops++;
        return { state: 'in-progress' };
      }
      if (now - e.at <= this.ttlMs) {
        this.hits++;
        this.entries.delete(key);
        this.entries.set(key, e);
        return { state: 'done', reply: e.reply };
      }
      this.remove(key, e);
    }
    this.evict(now, 1, 0);
    // Full of calls that are all still running: execute this one untracked rather than grow.
    if (this.entries.size < this.maxEntries) this.entries.set(key, { state: 'in-progress', at: now });
    return { state: 'miss' };
  }

  /** Stores the reply sent for `key` (copied into one Buffer: the segments may reference file data). */
  complete(key: string, reply: readonly Buffer[]): void {
    const e = this.entries.get(key);
    if (!e) return;
    let size = 0;
    for (const s of reply) size += s.length;
    if (size > this.maxBytes) {
      this.remove(key, e);
      return;
    }
    if (e.state === 'done') this.bytes -= e.reply.length;
    this.entries.delete(key);
    this.evict(this.now(), 1, size);
    this.entries.set(key, { state: 'done', at: this.now(), reply: Buffer.concat(reply, size) });
    this.bytes += size;
  }

  /** The call produced no reply (dropped): let a retransmission execute. */
  forget(key: string): void {
    const e = this.entries.get(key);
    if (e && e.state === 'in-progress') this.remove(key, e);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    if (e.state === 'done') this.bytes -= e.reply.length;
  }

  /**
   * Makes room for `addEntries` more entries and `addBytes` more bytes: drops expired finished entries
   * and then the least recently used finished ones. In-progress entries are never evicted (a
   * retransmission must not run twice); they are bounded by the per-connection in-flight cap.
   */
  private evict(now: number, addEntries: number, addBytes: number): void {
    for (const [key, e] of this.entries) {
      const over = this.entries.size + addEntries > this.maxEntries || this.bytes + addBytes > this.maxBytes;
      const expired = e.state === 'done' && now - e.at > this.ttlMs;
      if (!over && !expired) {
        // Entries are in recency order; once neither pressure nor age applies we can stop,
        // unless the head is an in-progress entry older than the finished ones behind it.
        if (e.state === 'done') break;
        continue;
      }
      if (e.state === 'in-progress') continue;
      this.remove(key, e);
      this.evictions++;
    }
  }
}
