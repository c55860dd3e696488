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

/**
 * One cached call, linked into the recency list (oldest first). A list of our own rather than the Map's
 * insertion order: evicting and re-inserting at the front of a Map leaves deleted slots that every
 * iteration from the start walks over again (V8 compacts them only on rehash), which made a full
 * cache cost several microseconds per call.
 */
interface Entry {
  readonly key: string;
  state: 'in-progress' | 'done';
  at: number;
  /** Set when done. */
  reply: Buffer | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

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

/** normaliseAddress of the last address seen: calls come in runs from the same client. */
let lastAddress = '';
let lastNormalised = '';

/** The cache key of one call. `args` are the undecoded argument bytes. */
export function drcKey(address: string, xid: number, prog: number, vers: number, proc: number, args: Buffer): string {
  if (address !== lastAddress) {
    lastNormalised = normaliseAddress(address);
    lastAddress = address;
  }
  return `${lastNormalised}|${xid}|${prog}|${vers}|${proc}|${args.length}|${fingerprint(args)}`;
}

export class DuplicateRequestCache {
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  /** Recency order: `head` is the least recently used; a hit moves the entry to `tail`. */
  private head: Entry | undefined;
  private tail: Entry | undefined;
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
    if (!this.enabled) return MISS;
    const now = this.now();
    const e = this.entries.get(key);
    if (e) {
      if (e.state === 'in-progress') {
        this.inProgressDrops++;
        return IN_PROGRESS;
      }
      if (now - e.at <= this.ttlMs) {
        this.hits++;
        this.unlink(e);
        this.append(e);
        return { state: 'done', reply: e.reply! };
      }
      this.remove(e);
    }
    this.evict(now, 1, 0);
    // Full of calls that are all still running: execute this one untracked rather than grow.
    if (this.entries.size < this.maxEntries) this.insert(key, 'in-progress', now, undefined);
    return MISS;
  }

  /** Stores the reply sent for `key` (copied into one Buffer: the segments may reference file data). */
  complete(key: string, reply: readonly Buffer[]): void {
    const e = this.entries.get(key);
    if (!e) return;
    let size = 0;
    for (const s of reply) size += s.length;
    if (size > this.maxBytes) {
      this.remove(e);
      return;
    }
    // Taken out of the recency list (so eviction cannot pick it) but left in the map: it counts as the
    // one entry being added.
    this.unlink(e);
    if (e.state === 'done') this.bytes -= e.reply!.length;
    const now = this.now();
    this.evict(now, 0, size);
    e.state = 'done';
    e.at = now;
    e.reply = Buffer.concat(reply, size);
    this.append(e);
    this.bytes += size;
  }

  /** The call produced no reply (dropped): let a retransmission execute. */
  forget(key: string): void {
    const e = this.entries.get(key);
    if (e && e.state === 'in-progress') this.remove(e);
  }

  clear(): void {
    this.entries.clear();
    this.head = this.tail = undefined;
    this.bytes = 0;
  }

  private insert(key: string, state: Entry['state'], at: number, reply: Buffer | undefined): void {
    const e: Entry = { key, state, at, reply, prev: undefined, next: undefined };
    this.entries.set(key, e);
    this.append(e);
  }

  private append(e: Entry): void {
    e.prev = this.tail;
    e.next = undefined;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = undefined;
  }

  private remove(e: Entry): void {
    this.entries.delete(e.key);
    this.unlink(e);
    if (e.state === 'done') this.bytes -= e.reply!.length;
  }

  /**
   * Makes room for `addEntries` more entries and `addBytes` more bytes: drops expired finished entries
   * and then the least recently used finished ones. In-progress entries are never evicted (a
   * retransmission must not run twice); they are bounded by the per-connection in-flight cap.
   */
  private evict(now: number, addEntries: number, addBytes: number): void {
    let e = this.head;
    while (e) {
      const next = e.next;
      const over = this.entries.size + addEntries > this.maxEntries || this.bytes + addBytes > this.maxBytes;
      const expired = e.state === 'done' && now - e.at > this.ttlMs;
      if (!over && !expired) {
        // Entries are in recency order; once neither pressure nor age applies we can stop,
        // unless the head is an in-progress entry older than the finished ones behind it.
        if (e.state === 'done') break;
        e = next;
        continue;
      }
      if (e.state !== 'in-progress') {
        this.remove(e);
        this.evictions++;
      }
      e = next;
    }
  }
}

const MISS: DrcLookup = Object.freeze({ state: 'miss' });
const IN_PROGRESS: DrcLookup = Object.freeze({ state: 'in-progress' });
