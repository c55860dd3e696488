/**
 * The heal journal (DESIGN invariant 6): which replicas missed a change, kept in the metadata store so
 * that it is as durable and as shared as the namespace. A replica is recorded here, in a durable
 * transaction, BEFORE the write that it missed is acknowledged; an entry is removed only once the
 * rebuilt copy is fsynced (heal.ts). A replica with an entry is never read and takes no writes.
 *
 * Keys (tag 'H', beside the namespace's tags in records.ts; integers big-endian):
 *
 *   'H' fileId:u64 kind:u8 chunk:u32 brickId   → nonce:u32 timeMs:u64
 *     kind 1 (OBJECT): object (fileId, chunk) on brickId is stale or missing
 *     kind 2 (DROP):   brickId still holds objects of fileId with index >= chunk that were dropped
 *                      (a trim or unlink it missed); every such object on it is stale until replayed
 *
 * The nonce tells an entry from a later one with the same key, so a heal that finishes never erases a
 * newer "missed" mark (the remove is a compare-and-delete). On a shared store a change to an object also
 * gives its existing entries a new nonce (`renew`), so a heal on another gateway whose copy may have
 * missed that change cannot clear them (heal.ts).
 *
 * Reads of the data path consult an in-memory mirror of the journal (loaded at open, updated by every
 * change this process commits, refreshed from the store periodically for other gateways' entries).
 *
 * Several gateways on one store (Redis): another gateway's marks must reach this mirror before a read
 * here could return the copy they condemn, not seconds later. Every mark bumps a journal version in the
 * same transaction ('h', u64), and the mirror knows the version it is complete up to (`loaded`). Before
 * a read picks a replica (refreshFor), a gateway on a shared store reads the version: a point read,
 * which the Redis engine answers from memory while this gateway holds the volume's read lease (no other
 * gateway can commit then, so nothing can have been marked) and from Redis otherwise, after any commit
 * another gateway has acknowledged. Equal to `loaded`: the mirror has every mark and is used as is.
 * Higher: the object's own entries are read from the store (after the version, so they include every
 * mark it counts) and merged into the mirror, and the mirror is reloaded in the background. So a mark
 * committed before a read starts is always seen by it, on any gateway. Why this and not the other
 * options: a per-object version on the bricks needs the expected version from somewhere shared (the
 * store again) or a read from a quorum of replicas on every READ; a store lookup of the object's marks
 * on every READ costs a Redis round trip even when nothing changed, where this costs one only without
 * the lease and a lookup only while marks are being made. Clears do not bump the version: a mirror that
 * still lists a healed replica only avoids it until the next reload, which is safe. Engines that see
 * every write of their store themselves (lmdb, memory: `writeEpoch`) skip the check: the mirror is
 * always complete there.
 *
 * Shared stores also keep, per entry, the journal version that made it (`ver`) and a heal claim
 * (`claimBy`, `claimUntil`), and leave a trace when a heal clears an OBJECT entry:
 *
 *   'h' 't' fileId:u64 chunk:u32 brickId   → markVer:u64 clearedAt:u64      (OBJECT: the last clear)
 *   'h' 'd' fileId:u64 brickId             → markVer:u64 clearedAt:u64 chunk:u32
 *                                            (DROP clears of the file on the brick: newest version,
 *                                             lowest first chunk: conservative when merged)
 *   'h' 'i' clearedAt:u64 kind:u8 tail     → 1   (time index for pruning; tail as in the key above)
 *
 * Traces close the window of a write through a gateway whose mirror had not heard of a mark: such a
 * write may put its bytes on the stale replica directly, and a heal may copy over them and clear the
 * entry before the write's after-write check (`afterChange`) looks. The writer remembers the mirror's
 * version when it chose its replicas (`since`); a replica it wrote whose trace names a mark newer than
 * that was healed while the write was in flight, and its entry is made again (ReplicaSet.renewStale). A
 * trace is kept TRACE_KEEP_MS; a write that needs one later than TRACE_KEEP_MS / 2 after it chose its
 * replicas fails (EIO) instead of trusting a pruned trace. The claim makes one healer at a time copy an
 * entry (heal.ts): readers keep avoiding the replica until the copy that clears it has ended.
 */
import { randomInt } from 'node:crypto';
import type { Kv, KvTx } from '../meta/kv';
import { CoreError, Errc } from '../vfs/errors';
import type { ObjectId } from './brick';

export const TAG_HEAL = 0x48; // 'H'
/** The journal version: one key, u64, bumped by every transaction that adds a mark. */
export const TAG_HEAL_VERSION = 0x68; // 'h'
const VERSION_KEY = Buffer.from([TAG_HEAL_VERSION]);
const VERSION_STR = VERSION_KEY.toString('latin1');
/** Least time between two background catch-up reloads (a gateway marking a lot makes the version run). */
const CATCH_UP_GAP_MS = 200;
/** Heal traces (header): kept this long after their clear, then pruned. */
export const TRACE_KEEP_MS = 10 * 60_000;
/** A heal claim lasts this long unless its healer extends it (heal.ts; it never writes past it). */
export const CLAIM_MS = 5 * 60_000;
const TRACE_PREFIX = Buffer.from('ht', 'latin1');
const DROP_TRACE_PREFIX = Buffer.from('hd', 'latin1');
const TRACE_INDEX_PREFIX = Buffer.from('hi', 'latin1');

function objectTail(fileId: bigint, chunk: number, brick: string): Buffer {
  const id = Buffer.from(brick, 'utf8');
  const b = Buffer.allocUnsafe(12 + id.length);
  b.writeBigUInt64BE(fileId, 0);
  b.writeUInt32BE(chunk >>> 0, 8);
  id.copy(b, 12);
  return b;
}

export function traceKey(fileId: bigint, chunk: number, brick: string): Buffer {
  return Buffer.concat([TRACE_PREFIX, objectTail(fileId, chunk, brick)]);
}

export function dropTraceKey(fileId: bigint, brick: string): Buffer {
  const id = Buffer.from(brick, 'utf8');
  const b = Buffer.allocUnsafe(10 + id.length);
  DROP_TRACE_PREFIX.copy(b, 0);
  b.writeBigUInt64BE(fileId, 2);
  id.copy(b, 10);
  return b;
}

/** Time index of a trace: kind (OBJECT, DROP) and the trace key's tail after its 2-byte prefix. */
function traceIndexKey(clearedAt: number, kind: number, tail: Buffer): Buffer {
  const t = Buffer.allocUnsafe(9);
  t.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(clearedAt))), 0);
  t[8] = kind;
  return Buffer.concat([TRACE_INDEX_PREFIX, t, tail]);
}

function encodeTrace(markVer: bigint, clearedAt: number): Buffer {
  const v = Buffer.allocUnsafe(16);
  v.writeBigUInt64BE(markVer, 0);
  v.writeBigUInt64BE(BigInt(clearedAt), 8);
  return v;
}

function decodeVersion(v: Buffer | undefined): bigint {
  return v && v.length === 8 ? v.readBigUInt64BE(0) : 0n;
}

/** Bumps the journal version inside a marking transaction; returns the version it read. */
async function bumpVersion(tx: KvTx): Promise<bigint> {
  const cur = decodeVersion(await tx.get(VERSION_KEY));
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(cur + 1n, 0);
  tx.put(VERSION_KEY, b);
  return cur;
}
export const KIND_OBJECT = 1;
export const KIND_DROP = 2;

export interface JournalEntry {
  brick: string;
  fileId: bigint;
  /** OBJECT: the chunk; DROP: the first dropped chunk. */
  chunk: number;
  kind: typeof KIND_OBJECT | typeof KIND_DROP;
  nonce: number;
  timeMs: number;
  /** Shared stores: the journal version of the transaction that made this entry (0 if unknown). */
  ver?: bigint;
}

/** The stored value of an entry: what the key does not hold. Claims exist on shared stores only. */
interface EntryValue {
  nonce: number;
  timeMs: number;
  ver: bigint;
  claimUntil: number;
  claimBy: number;
}

function decodeValue(v: Buffer): EntryValue {
  return {
    nonce: v.readUInt32BE(0),
    timeMs: Number(v.readBigUInt64BE(4)),
    ver: v.length >= 20 ? v.readBigUInt64BE(12) : 0n,
    claimUntil: v.length >= 28 ? Number(v.readBigUInt64BE(20)) : 0,
    claimBy: v.length >= 32 ? v.readUInt32BE(28) : 0,
  };
}

export const healPrefix = (): Buffer => Buffer.from([TAG_HEAL]);

export function healKey(fileId: bigint, kind: number, chunk: number, brick: string): Buffer {
  const id = Buffer.from(brick, 'utf8');
  const b = Buffer.allocUnsafe(14 + id.length);
  b[0] = TAG_HEAL;
  b.writeBigUInt64BE(fileId, 1);
  b[9] = kind;
  b.writeUInt32BE(chunk >>> 0, 10);
  id.copy(b, 14);
  return b;
}

function decodeEntry(key: Buffer, value: Buffer): JournalEntry | undefined {
  if (key.length < 15 || key[0] !== TAG_HEAL || value.length < 12) return undefined;
  const kind = key[9];
  if (kind !== KIND_OBJECT && kind !== KIND_DROP) return undefined;
  return {
    fileId: key.readBigUInt64BE(1),
    kind,
    chunk: key.readUInt32BE(10),
    brick: key.subarray(14).toString('utf8'),
    nonce: value.readUInt32BE(0),
    timeMs: Number(value.readBigUInt64BE(4)),
    ...(value.length >= 20 ? { ver: value.readBigUInt64BE(12) } : {}),
  };
}

/** 12 bytes (nonce, time) on one-process stores, as before; 32 with the version and claim on shared ones. */
function encodeValue(nonce: number, timeMs: number, ver = 0n, claimUntil = 0, claimBy = 0): Buffer {
  const long = ver !== 0n || claimBy !== 0;
  const v = Buffer.allocUnsafe(long ? 32 : 12);
  v.writeUInt32BE(nonce >>> 0, 0);
  v.writeBigUInt64BE(BigInt(timeMs), 4);
  if (long) {
    v.writeBigUInt64BE(ver, 12);
    v.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(claimUntil))), 20);
    v.writeUInt32BE(claimBy >>> 0, 28);
  }
  return v;
}

const encodeEntryValue = (d: EntryValue): Buffer => encodeValue(d.nonce, d.timeMs, d.ver, d.claimUntil, d.claimBy);

const objKey = (brick: string, fileId: bigint, chunk: number): string => `${brick}\u0000${fileId}\u0000${chunk}`;
const fileKey = (brick: string, fileId: bigint): string => `${brick}\u0000${fileId}`;

export interface Replica {
  brick: string;
  id: ObjectId;
}

export class HealJournal {
  private readonly objects = new Map<string, JournalEntry>();
  /** brick+file → DROP entries of that file on that brick (usually one). */
  private readonly drops = new Map<string, JournalEntry[]>();
  /** Objects being marked right now: concurrent writers that miss the same replica share one txn. */
  private readonly marking = new Map<string, Promise<void>>();

  /** The store may be changed by other processes (other gateways' marks): reads check the version. */
  readonly shared: boolean;
  /** Journal version the mirror holds every mark of. */
  private loaded = 0n;
  /** Every mark counted in (ownFrom, loaded] is one this process made (`advanced`; a reload resets it). */
  private ownFrom = 0n;
  private catchUp: Promise<void> | undefined;
  private lastCatchUp = 0;
  /** Reads that found the mirror behind and asked the store about their object (status, tests). */
  storeChecks = 0;
  /** Reads that knew the mirror current with no wait at all (`currentNow`; status, tests). */
  currentHits = 0;
  /** Entries re-stamped by writes of this process (`renew`; status, tests). */
  renewals = 0;
  /** After-write checks that read the object's entries and traces (`afterChange`; status, tests). */
  traceChecks = 0;
  /** Replicas a write of this process found healed over while it was in flight (made stale again). */
  healedOver = 0;
  /** markLost entries in the mirror whose durable write is still under way (a reload must keep them). */
  private readonly pinned = new Set<JournalEntry>();

  constructor(private readonly kv: Kv) {
    this.shared = kv.writeEpoch?.() === undefined;
  }

  /** Changes this process made while a load() was reading the store (replayed over what it read). */
  private recording: Array<{ add: boolean; e: JournalEntry }> | undefined;

  /**
   * (Re)loads the mirror from the store (other gateways' marks). Marks and clears made by this process
   * while the scan runs are replayed over its result, so a mark committed during a reload is never lost
   * from the mirror (a stale replica must never look good, not even until the next reload).
   */
  async load(): Promise<void> {
    const ops: Array<{ add: boolean; e: JournalEntry }> = [];
    if (this.recording) return; // one reload at a time
    this.recording = ops;
    try {
      // The version first: every mark it counts was committed before the scan below starts, so the scan
      // sees it (marks are only ever removed by heals, which may make the mirror keep one too long: safe).
      const version = decodeVersion(await this.kv.get(VERSION_KEY));
      const all: JournalEntry[] = [];
      let after: Buffer | undefined;
      for (;;) {
        const page = await this.kv.range({ prefix: healPrefix(), ...(after ? { after } : {}), limit: 4096 });
        for (const { key, value } of page) {
          const e = decodeEntry(key, value);
          if (e) all.push(e);
        }
        if (page.length < 4096) break;
        after = page[page.length - 1]!.key;
      }
      this.recording = undefined; // the rebuild below is synchronous: nothing else runs meanwhile
      this.objects.clear();
      this.drops.clear();
      for (const e of all) this.remember(e);
      for (const op of ops) (op.add ? this.remember(op.e) : this.forget(op.e));
      for (const e of this.pinned) if (!this.hasObject(e.brick, e)) this.remember(e);
      if (version > this.loaded) this.loaded = this.ownFrom = version;
    } finally {
      if (this.recording === ops) this.recording = undefined;
    }
  }

  private remember(e: JournalEntry): void {
    this.recording?.push({ add: true, e });
    if (e.kind === KIND_OBJECT) this.objects.set(objKey(e.brick, e.fileId, e.chunk), e);
    else {
      const k = fileKey(e.brick, e.fileId);
      const l = (this.drops.get(k) ?? []).filter((d) => d.chunk !== e.chunk);
      l.push(e);
      this.drops.set(k, l);
    }
  }

  private forget(e: JournalEntry): void {
    this.recording?.push({ add: false, e });
    if (e.kind === KIND_OBJECT) {
      const k = objKey(e.brick, e.fileId, e.chunk);
      if (this.objects.get(k)?.nonce === e.nonce) this.objects.delete(k);
    } else {
      const k = fileKey(e.brick, e.fileId);
      const l = (this.drops.get(k) ?? []).filter((d) => !(d.chunk === e.chunk && d.nonce === e.nonce));
      if (l.length) this.drops.set(k, l);
      else this.drops.delete(k);
    }
  }

  /**
   * The synchronous fast path of refreshFor: true when the store's read cache answers the journal version
   * at once (Redis, while this gateway holds the read lease: no other gateway can commit meanwhile, the
   * same rule as the cache's answer to a get) and the mirror holds every mark it counts. The read then
   * chooses its replica without awaiting anything. Otherwise the caller awaits refreshFor.
   */
  currentNow(): boolean {
    if (!this.shared) return true;
    const c = (this.kv as Partial<{ cached(s: string): { v: Buffer | undefined } | undefined }>).cached?.(VERSION_STR);
    if (!c || decodeVersion(c.v) > this.loaded) return false;
    this.currentHits++;
    return true;
  }

  /**
   * Makes the mirror current for one object before its replicas are chosen for a read (or a heal or move
   * copies from them): see the header. No-op on engines that see every write themselves.
   */
  async refreshFor(id: ObjectId, bricks: readonly string[]): Promise<void> {
    if (!this.shared) return;
    const v = decodeVersion(await this.kv.get(VERSION_KEY));
    if (v <= this.loaded) return;
    this.storeChecks++;
    const [objs, drops] = await Promise.all([
      this.kv.getMany(bricks.map((b) => healKey(id.fileId, KIND_OBJECT, id.chunk, b))),
      this.kv.range({ prefix: healKey(id.fileId, KIND_DROP, 0, '').subarray(0, 10) }),
    ]);
    bricks.forEach((b, i) => {
      const raw = objs[i];
      if (!raw) return;
      const e = decodeEntry(healKey(id.fileId, KIND_OBJECT, id.chunk, b), raw);
      if (e && this.objects.get(objKey(e.brick, e.fileId, e.chunk))?.nonce !== e.nonce) this.remember(e);
    });
    for (const { key, value } of drops) {
      const e = decodeEntry(key, value);
      if (e && !(this.drops.get(fileKey(e.brick, e.fileId)) ?? []).some((d) => d.chunk === e.chunk && d.nonce === e.nonce)) this.remember(e);
    }
    this.catchUpLater();
  }

  /** The journal version the mirror is complete up to: a writer takes it when it chooses its replicas. */
  get mirrorVersion(): bigint {
    return this.loaded;
  }

  /**
   * Shared stores, after a change to `id` reached its replicas: makes the mirror current for the object
   * (like refreshFor) and returns the replicas among `wrote` whose entry was made after `since` (the
   * mirror's version when the change chose its replicas) and has been cleared since: a heal that may have
   * copied over this change's bytes (header, "traces"). When the journal version has not moved past
   * `since`, or moved only by this process's own marks, nothing was marked elsewhere meanwhile and the
   * store is not read again: no round trip under the read lease, one version read otherwise (the one
   * this check always cost). A check that needs traces later than TRACE_KEEP_MS / 2 after `startedMs`
   * fails with EIO: a trace it needs may have been pruned.
   */
  async afterChange(id: ObjectId, bricks: readonly string[], wrote: readonly string[], since: bigint, startedMs: number): Promise<string[]> {
    if (!this.shared) return [];
    const c = (this.kv as Partial<{ cached(s: string): { v: Buffer | undefined } | undefined }>).cached?.(VERSION_STR);
    const v = c ? decodeVersion(c.v) : decodeVersion(await this.kv.get(VERSION_KEY));
    if (v <= since || (v <= this.loaded && since >= this.ownFrom)) return [];
    this.traceChecks++;
    if (Date.now() - startedMs > TRACE_KEEP_MS / 2) throw new CoreError(Errc.IO, `object ${id.fileId}/${id.chunk}: the change took too long to check against heals on other gateways`);
    const n = bricks.length;
    const keys = bricks.map((b) => healKey(id.fileId, KIND_OBJECT, id.chunk, b));
    for (const b of bricks) keys.push(traceKey(id.fileId, id.chunk, b));
    for (const b of bricks) keys.push(dropTraceKey(id.fileId, b));
    const [got, drops] = await Promise.all([this.kv.getMany(keys), this.kv.range({ prefix: healKey(id.fileId, KIND_DROP, 0, '').subarray(0, 10) })]);
    const over: string[] = [];
    bricks.forEach((b, i) => {
      const raw = got[i];
      if (raw) {
        const e = decodeEntry(keys[i]!, raw);
        if (e && this.objects.get(objKey(e.brick, e.fileId, e.chunk))?.nonce !== e.nonce) this.remember(e);
        return;
      }
      if (!wrote.includes(b)) return;
      const tr = got[n + i];
      const dr = got[2 * n + i]; // a missed drop replayed over this change (the object then deleted there)
      if ((tr && tr.length >= 8 && tr.readBigUInt64BE(0) > since) || (dr && dr.length >= 20 && dr.readBigUInt64BE(0) > since && id.chunk >= dr.readUInt32BE(16))) over.push(b);
    });
    for (const { key, value } of drops) {
      const e = decodeEntry(key, value);
      if (e && !(this.drops.get(fileKey(e.brick, e.fileId)) ?? []).some((d) => d.chunk === e.chunk && d.nonce === e.nonce)) this.remember(e);
    }
    if (v > this.loaded) this.catchUpLater();
    this.healedOver += over.length;
    return over;
  }

  /** One background reload at a time, spaced out, so the mirror catches up with other gateways' marks. */
  private catchUpLater(): void {
    if (this.catchUp) return;
    const wait = Math.max(0, this.lastCatchUp + CATCH_UP_GAP_MS - Date.now());
    this.catchUp = new Promise<void>((r) => setTimeout(r, wait).unref())
      .then(() => this.load())
      .catch(() => undefined)
      .finally(() => {
        this.lastCatchUp = Date.now();
        this.catchUp = undefined;
      });
  }

  /** The replica missed something: it must not be read or written until healed. */
  isStale(brick: string, id: ObjectId): boolean {
    if (this.objects.size && this.objects.has(objKey(brick, id.fileId, id.chunk))) return true;
    if (this.drops.size) {
      const l = this.drops.get(fileKey(brick, id.fileId));
      if (l) for (const d of l) if (id.chunk >= d.chunk) return true;
    }
    return false;
  }

  /** An OBJECT entry exists (a DROP alone does not say the object must be rebuilt afterwards). */
  hasObject(brick: string, id: ObjectId): boolean {
    return this.objects.has(objKey(brick, id.fileId, id.chunk));
  }

  /** A DROP entry covers the object on this brick. */
  hasDrop(brick: string, id: ObjectId): boolean {
    const l = this.drops.size ? this.drops.get(fileKey(brick, id.fileId)) : undefined;
    return !!l && l.some((d) => id.chunk >= d.chunk);
  }

  get size(): number {
    let n = this.objects.size;
    for (const l of this.drops.values()) n += l.length;
    return n;
  }

  /** Every entry, DROPs first (a brick replays its missed drops before objects are rebuilt on it). */
  entries(brick?: string): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const l of this.drops.values()) for (const d of l) if (!brick || d.brick === brick) out.push(d);
    for (const e of this.objects.values()) if (!brick || e.brick === brick) out.push(e);
    return out;
  }

  countByBrick(): Map<string, number> {
    const m = new Map<string, number>();
    for (const e of this.entries()) m.set(e.brick, (m.get(e.brick) ?? 0) + 1);
    return m;
  }

  /**
   * Records that `missed` replicas of one object missed a change that `good` replicas took, in one
   * durable transaction. The metadata store is the arbiter against split brain: the transaction fails
   * (EIO) if any of `good` is itself recorded stale, so two writers that each reached a different half
   * of the replicas can never both be acknowledged — the second finds the first one's mark.
   */
  async markStale(missed: Replica[], good: Replica[]): Promise<void> {
    const fresh = missed.filter((m) => !this.hasObject(m.brick, m.id));
    if (!fresh.length) {
      if (good.some((g) => this.isStale(g.brick, g.id))) throw new CoreError(Errc.IO, 'every replica that took the write is stale');
      return;
    }
    // One txn per object at a time: a second writer missing the same replica waits for the first mark.
    const key = fresh.map((m) => objKey(m.brick, m.id.fileId, m.id.chunk)).join('|');
    const running = this.marking.get(key);
    if (running) {
      await running;
      return this.markStale(missed, good);
    }
    const now = Date.now();
    const made: JournalEntry[] = fresh.map((m) => ({ brick: m.brick, fileId: m.id.fileId, chunk: m.id.chunk, kind: KIND_OBJECT, nonce: randomInt(0x7fffffff), timeMs: now }));
    const p = this.kv
      .txn(
        async (tx) => {
          for (const g of good) if (await this.staleIn(tx, g)) throw new CoreError(Errc.IO, `replica ${g.brick} of ${g.id.fileId}/${g.id.chunk} is stale: refusing to acknowledge a write only it holds`);
          const was = await this.bump(tx);
          for (const e of made) {
            const k = healKey(e.fileId, KIND_OBJECT, e.chunk, e.brick);
            if (this.shared) e.ver = was + 1n;
            if (!(await tx.get(k))) tx.put(k, encodeValue(e.nonce, e.timeMs, e.ver));
          }
          return was;
        },
        { durable: true },
      )
      .then((was) => {
        for (const e of made) if (!this.hasObject(e.brick, e)) this.remember(e);
        this.advanced(was);
      })
      .finally(() => this.marking.delete(key));
    this.marking.set(key, p);
    await p;
  }

  private async staleIn(tx: KvTx, r: Replica): Promise<boolean> {
    if (await tx.get(healKey(r.id.fileId, KIND_OBJECT, r.id.chunk, r.brick))) return true;
    const lo = healKey(r.id.fileId, KIND_DROP, 0, r.brick).subarray(0, 10);
    for (const { key, value } of await tx.range({ prefix: lo })) {
      const e = decodeEntry(key, value);
      if (e && e.brick === r.brick && r.id.chunk >= e.chunk) return true;
    }
    return false;
  }

  /** Records that `brick` missed a drop of fileId's objects from `firstChunk` on (durable). */
  async markDrop(brick: string, fileId: bigint, firstChunk: number): Promise<void> {
    const e: JournalEntry = { brick, fileId, chunk: firstChunk, kind: KIND_DROP, nonce: randomInt(0x7fffffff), timeMs: Date.now() };
    const was = await this.kv.txn(
      async (tx) => {
        const was = await this.bump(tx);
        if (this.shared) e.ver = was + 1n;
        tx.put(healKey(fileId, KIND_DROP, firstChunk, brick), encodeValue(e.nonce, e.timeMs, e.ver));
        return was;
      },
      { durable: true },
    );
    this.remember(e);
    this.advanced(was);
  }

  /**
   * Records replicas that may have lost writes (their brick came back as a new instance): in the mirror at
   * once, so that no read or write uses them from now on, then durably (a batch per transaction). An
   * entry already in the store is kept (with its nonce) rather than replaced.
   */
  async markLost(missed: Replica[]): Promise<void> {
    const now = Date.now();
    const made: JournalEntry[] = missed.map((m) => ({ brick: m.brick, fileId: m.id.fileId, chunk: m.id.chunk, kind: KIND_OBJECT, nonce: randomInt(0x7fffffff), timeMs: now }));
    for (const e of made) {
      if (this.hasObject(e.brick, e)) continue;
      this.remember(e);
      this.pinned.add(e);
    }
    for (let i = 0; i < made.length; i += 256) {
      const batch = made.slice(i, i + 256);
      const was = await this.kv.txn(
        async (tx) => {
          const kept: JournalEntry[] = [];
          const keys = batch.map((e) => healKey(e.fileId, KIND_OBJECT, e.chunk, e.brick));
          const curs = await tx.getMany(keys);
          const version = await this.bump(tx);
          batch.forEach((e, i) => {
            const cur = curs[i];
            const old = cur ? decodeEntry(keys[i]!, cur) : undefined;
            if (old) kept.push(old);
            else {
              if (this.shared) e.ver = version + 1n;
              tx.put(keys[i]!, encodeValue(e.nonce, e.timeMs, e.ver));
            }
          });
          return { version, kept };
        },
        { durable: true },
      );
      for (const e of was.kept) this.remember(e);
      for (const e of batch) this.pinned.delete(e);
      this.advanced(was.version);
    }
  }

  /** Bumps the version in a marking transaction, on a shared store only (a local one needs no version, and its marks then never contend on one key). */
  private bump(tx: KvTx): Promise<bigint> {
    return this.shared ? bumpVersion(tx) : Promise.resolve(0n);
  }

  /** A marking transaction that read version `was` committed: the mirror is complete up to was + 1 if it was up to was. */
  private advanced(was: bigint): void {
    if (this.loaded === was) this.loaded = was + 1n;
  }

  /**
   * Removes an entry once it is healed, unless a newer mark replaced it meanwhile (durable). `seen` is
   * the mirror's entry when the healer took its nonce from the store (`current`): forgotten too on success.
   * When the store holds another nonce (re-stamped by a writer: `renew`), the mirror takes that one, so
   * this gateway keeps avoiding the replica.
   *
   * Shared stores: `holder` is the healer's claim (see `claim`): an entry claimed now by another healer
   * is not cleared (that healer may be rewriting the replica), and the clear leaves
   * its trace (header) in the same transaction.
   */
  async clear(e: JournalEntry, seen?: JournalEntry, holder?: number): Promise<boolean> {
    const k = healKey(e.fileId, e.kind, e.chunk, e.brick);
    const res = await this.kv.txn(
      async (tx) => {
        const v = await tx.get(k);
        if (!v || v.readUInt32BE(0) !== e.nonce) return { done: false, now: v };
        const d = decodeValue(v);
        const now = Date.now();
        if (holder !== undefined && d.claimBy !== 0 && d.claimBy !== holder && d.claimUntil > now) return { done: false, now: v };
        tx.delete(k);
        if (this.shared && e.kind === KIND_OBJECT) {
          const tail = objectTail(e.fileId, e.chunk, e.brick);
          tx.put(Buffer.concat([TRACE_PREFIX, tail]), encodeTrace(d.ver, now));
          tx.put(traceIndexKey(now, KIND_OBJECT, tail), Buffer.from([1]));
        } else if (this.shared) {
          const dk = dropTraceKey(e.fileId, e.brick);
          const old = await tx.get(dk);
          let ver = d.ver;
          let chunk = e.chunk;
          if (old && old.length >= 20) {
            if (old.readBigUInt64BE(0) > ver) ver = old.readBigUInt64BE(0);
            chunk = Math.min(chunk, old.readUInt32BE(16));
          }
          const v = Buffer.allocUnsafe(20);
          encodeTrace(ver, now).copy(v, 0);
          v.writeUInt32BE(chunk >>> 0, 16);
          tx.put(dk, v);
          tx.put(traceIndexKey(now, KIND_DROP, dk.subarray(2)), Buffer.from([1]));
        }
        return { done: true, now: undefined };
      },
      { durable: true },
    );
    const now = res.now ? decodeEntry(k, res.now) : undefined;
    if (now) this.remember(now);
    else {
      this.forget(e);
      if (seen) this.forget(seen);
    }
    this.pinned.delete(e); // healed: a lost-write mark whose durable write failed is done with too
    if (seen) this.pinned.delete(seen);
    return res.done;
  }

  /**
   * The entry as the store holds it now (shared stores: another gateway's writer may have re-stamped it,
   * see `renew`); undefined once it is gone. A healer reads this BEFORE its copy and clears with it, so
   * any re-stamp made after this read makes the clear fail. On a one-process store the mirror is exact.
   */
  async current(e: JournalEntry): Promise<JournalEntry | undefined> {
    if (!this.shared) return this.isCurrent(e) ? e : undefined;
    const k = healKey(e.fileId, e.kind, e.chunk, e.brick);
    const v = await this.kv.get(k);
    const now = v ? decodeEntry(k, v) : undefined;
    if (now) this.remember(now);
    else this.forget(e);
    return now;
  }

  /**
   * A healer's claim on an entry before it rewrites the replica (shared stores; elsewhere the object lock
   * excludes every other healer and this is `current`). One durable transaction: the entry as the store
   * holds it now (so, like `current`, any later re-stamp makes the clear fail), or undefined once gone, or
   * 'busy' while another healer's claim runs. The claim lasts CLAIM_MS; `renew` keeps it, `clear` by
   * another healer respects it. Calling it again as the holder extends it.
   */
  async claim(e: JournalEntry, holder: number): Promise<JournalEntry | 'busy' | undefined> {
    if (!this.shared) return this.isCurrent(e) ? e : undefined;
    const k = healKey(e.fileId, e.kind, e.chunk, e.brick);
    const now = Date.now();
    const res = await this.kv.txn(
      async (tx) => {
        const v = await tx.get(k);
        if (!v) return undefined;
        const d = decodeValue(v);
        if (d.claimBy !== 0 && d.claimBy !== holder && d.claimUntil > now) return { busy: true, v };
        tx.put(k, encodeEntryValue({ ...d, claimBy: holder, claimUntil: now + CLAIM_MS }));
        return { busy: false, v };
      },
      { durable: true },
    );
    const cur = res ? decodeEntry(k, res.v) : undefined;
    if (!cur) {
      this.forget(e);
      return undefined;
    }
    this.remember(cur);
    return res!.busy ? 'busy' : cur;
  }

  /** Gives a claim up once its healer has no write to the replica outstanding and leaves the entry. */
  async unclaim(e: JournalEntry, holder: number): Promise<void> {
    if (!this.shared) return;
    const k = healKey(e.fileId, e.kind, e.chunk, e.brick);
    await this.kv.txn(async (tx) => {
      const v = await tx.get(k);
      if (!v) return;
      const d = decodeValue(v);
      if (d.claimBy === holder) tx.put(k, encodeEntryValue({ ...d, claimBy: 0, claimUntil: 0 }));
    });
  }

  /**
   * Removes heal traces (header) older than TRACE_KEEP_MS, a batch at a time, oldest first (shared
   * stores). A trace replaced by a later clear of the same replica keeps its newer time and stays.
   */
  async pruneTraces(nowMs = Date.now()): Promise<number> {
    if (!this.shared) return 0;
    const end = traceIndexKey(nowMs - TRACE_KEEP_MS, 0, Buffer.alloc(0));
    const old = await this.kv.rangeKeys({ prefix: TRACE_INDEX_PREFIX, end, limit: 512 });
    if (!old.length) return 0;
    await this.kv.txn(async (tx) => {
      const lookups = old.map((k) => Buffer.concat([k[10] === KIND_DROP ? DROP_TRACE_PREFIX : TRACE_PREFIX, k.subarray(11)]));
      const vals = await tx.getMany(lookups);
      old.forEach((k, i) => {
        tx.delete(k);
        const v = vals[i];
        if (v && v.length >= 16 && v.readBigUInt64BE(8) === k.readBigUInt64BE(2)) tx.delete(lookups[i]!);
      });
    });
    return old.length;
  }

  /**
   * Shared stores, after a write (truncate, delete) to an object some of whose replicas have an OBJECT
   * entry here: those replicas either missed the write (skipped as stale) or took it while a heal on
   * another gateway may be rebuilding them from a copy read before the write landed. Each such entry gets
   * a new nonce, so a heal whose copy began before this (it read the old nonce first: `current`) cannot
   * clear it and copies again. An entry that is gone from the store (healed meanwhile) is made again:
   * that heal's copy may lack this write. Same arbiter check as markStale on the replicas that took it.
   * Durable, like a mark: the write is acknowledged after it. True when an entry was made again.
   */
  async renew(stale: Replica[], good: Replica[]): Promise<boolean> {
    if (!this.shared || !stale.length) return false;
    const now = Date.now();
    const made: JournalEntry[] = stale.map((m) => ({ brick: m.brick, fileId: m.id.fileId, chunk: m.id.chunk, kind: KIND_OBJECT, nonce: randomInt(0x7fffffff), timeMs: now }));
    const was = await this.kv.txn(
      async (tx) => {
        const keys = made.map((e) => healKey(e.fileId, KIND_OBJECT, e.chunk, e.brick));
        const curs = await tx.getMany(keys);
        let ver: bigint | undefined;
        if (curs.some((c) => !c)) {
          // A new mark: the arbiter check (on the replicas that took the change and are not re-marked here),
          // and the version so other gateways' reads see it.
          if (!good.length) throw new CoreError(Errc.IO, `object ${made[0]!.fileId}/${made[0]!.chunk}: no replica that took the change is known good`);
          for (const g of good) if (await this.staleIn(tx, g)) throw new CoreError(Errc.IO, `replica ${g.brick} of ${g.id.fileId}/${g.id.chunk} is stale: refusing to acknowledge a write only it holds`);
          ver = await this.bump(tx);
        }
        made.forEach((e, i) => {
          const cur = curs[i];
          // A re-stamp keeps the entry's version and its heal claim (the claiming healer copies again).
          const d: EntryValue = cur ? { ...decodeValue(cur), nonce: e.nonce, timeMs: e.timeMs } : { nonce: e.nonce, timeMs: e.timeMs, ver: ver! + 1n, claimUntil: 0, claimBy: 0 };
          e.ver = d.ver;
          tx.put(keys[i]!, encodeEntryValue(d));
        });
        return ver;
      },
      { durable: true },
    );
    for (const e of made) this.remember(e);
    this.renewals++;
    if (was !== undefined) this.advanced(was);
    return was !== undefined;
  }

  /** Whether the entry is still the current one (healers skip entries cleared or replaced meanwhile). */
  isCurrent(e: JournalEntry): boolean {
    if (e.kind === KIND_OBJECT) return this.objects.get(objKey(e.brick, e.fileId, e.chunk))?.nonce === e.nonce;
    return (this.drops.get(fileKey(e.brick, e.fileId)) ?? []).some((d) => d.chunk === e.chunk && d.nonce === e.nonce);
  }
}
