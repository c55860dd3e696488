/**
 * The namespace over the transactional KV (records.ts has the key layout): inodes, directory entries,
 * the per-directory cookie index, inode numbers, and the pending-trim records that tie metadata to
 * brick data.
 *
 * Every namespace change is one KV transaction (DESIGN invariant 3): the entry, the cookie index, the
 * link counts, both parents' entry counts and times, and any freed inode change together or not at all.
 * Permission checks run inside the transaction on the state the transaction read, so a decision is
 * never made on a view that a concurrent change has invalidated.
 *
 * Callers (cluster/vfs/volume.ts) parse handles, check name syntax, and run the brick side effects
 * (data trims) that a transaction hands back.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { CoreError, Errc } from '../vfs/errors';
import { isOwnerOrRoot, inGroup, isRoot, permits, privBitsKilledByWrite, requireDataPerm, requirePerm, stickyAllows, S_ISGID, S_ISUID, S_ISVTX, W, X } from '../vfs/perm';
import { CreateMode, FileType, type Cred, type SetAttrs, type XattrHow } from '../vfs/types';
import { nowNs } from './clock';
import type { Kv, KvReader, KvTx } from './kv';
import { deleteFoldRow, putFoldRow } from './fold-index';
import {
  allocKey,
  COOKIE_ROW_VALUE,
  cookieKey,
  cookiePrefix,
  cookieRowKey,
  decodeCookieRow,
  decodeDirent,
  decodeGc,
  decodeInode,
  decodeU64,
  decodeVolume,
  direntKey,
  encodeDirent,
  encodeGc,
  encodeInode,
  encodeU64,
  encodeVolume,
  FIRST_COOKIE,
  gcKey,
  gcPrefix,
  idFromKey,
  inodeKey,
  volumeKey,
  xattrKey,
  encodeXattrs,
  decodeXattrs,
  type XattrList,
  type CookieEntry,
  type Dirent,
  type GcRecord,
  type Inode,
  type VolumeRecord,
} from './records';

export interface NamespaceOptions {
  /** Namespace transactions wait for the disk (NFSv3 wants CREATE/REMOVE/RENAME stable before reply). */
  durable: boolean;
  maxLink: number;
  /** Inode numbers reserved per allocator transaction. */
  idBlock?: number;
}

export interface InitOptions {
  chunkSize: number;
  /** Used only when the volume is created. */
  root?: { mode?: number; uid?: number; gid?: number };
}

export interface NewNode {
  type: FileType;
  attrs?: SetAttrs;
  target?: Buffer;
  rdev?: { major: number; minor: number };
  /** Regular files only. */
  createMode?: CreateMode;
  verifier?: Buffer;
}

export interface CreateOutcome {
  node: Inode;
  dirBefore: Inode;
  dirAfter: Inode;
  /** The name existed and the create mode accepted it (UNCHECKED, EXCLUSIVE retransmission). */
  existed: boolean;
}

/** A brick-side job the transaction recorded ('G' record): run it, then `finishGc`. */
export interface GcJob {
  fileId: bigint;
  rec: GcRecord;
}

export interface UnlinkOutcome {
  dirBefore: Inode;
  dirAfter: Inode;
  gc?: GcJob;
  /** A regular file freed without a trim (`Namespace.objectless` said it never had an object). */
  trimless?: bigint;
}

export interface RenameOutcome {
  fromBefore: Inode;
  fromAfter: Inode;
  toBefore: Inode;
  toAfter: Inode;
  gc?: GcJob;
  /** As in UnlinkOutcome. */
  trimless?: bigint;
}

export interface SetattrOutcome {
  before: Inode;
  after: Inode;
  gc?: GcJob;
}

export interface WriteOutcome {
  before: Inode;
  after: Inode;
}

interface GcWaiter {
  job: GcJob;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface WriteItem {
  cred: Cred;
  gen: number;
  end: bigint;
  resolve: (r: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

const DEFAULT_FILE_MODE = 0o644;
const DEFAULT_DIR_MODE = 0o755;
/** 'G' records dropped per transaction at most (bounds the transaction's size). */
const MAX_GC_BATCH = 1024;
/** Freed files' 'G' records one namespace change carries at most (see `change`). */
const MAX_GC_RIDE = 64;
/**
 * How long a freed file's finished trim waits for a namespace change to carry its record's deletion
 * before the records are dropped in a transaction of their own. Harmless for crash safety: a record
 * that outlives its trim only replays an idempotent drop.
 */
const GC_RIDE_MS = 10;

function randomU32(): number {
  return randomInt(0, 0x1_0000_0000);
}

/** The id of `n` if unlinkNode freed it, a regular file, without recording a trim. */
function trimless(n: Inode, gc: GcJob | undefined): bigint | undefined {
  return !gc && n.nlink === 0 && n.type === FileType.REG ? n.id : undefined;
}

/**
 * A private copy, property by property: several times faster than `{ ...n }`, which takes a slow path for
 * the frozen shared inodes (about 0.7 us against 0.05-0.1 us a copy; three copies per REMOVE). Optional
 * fields are copied only when present, as the spread did.
 */
function clone(n: Readonly<Inode>): Inode {
  const c: Inode = {
    id: n.id,
    type: n.type,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    nlink: n.nlink,
    size: n.size,
    atime: n.atime,
    mtime: n.mtime,
    ctime: n.ctime,
    btime: n.btime,
    change: n.change,
    gen: n.gen,
    dosAttrs: n.dosAttrs,
    rdevMajor: n.rdevMajor,
    rdevMinor: n.rdevMinor,
    parent: n.parent,
    entries: n.entries,
    nextCookie: n.nextCookie,
  };
  if (n.verifier !== undefined) c.verifier = n.verifier;
  if (n.target !== undefined) c.target = n.target;
  if (n.foldIndexed !== undefined) c.foldIndexed = n.foldIndexed;
  if (n.xattrs !== undefined) c.xattrs = n.xattrs;
  return c;
}

export function newInode(id: bigint, type: FileType, now: bigint): Inode {
  return {
    id,
    type,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 1,
    size: 0n,
    atime: now,
    mtime: now,
    ctime: now,
    btime: now,
    change: 1n,
    gen: randomU32(),
    dosAttrs: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    parent: 0n,
    entries: 0n,
    nextCookie: type === FileType.DIR ? FIRST_COOKIE : 0n,
    // A new directory is empty, so its folded-name index is complete from the start.
    ...(type === FileType.DIR ? { foldIndexed: true } : {}),
  };
}

function touch(n: Inode, now: bigint, data: boolean): void {
  if (data) n.mtime = now;
  n.ctime = now;
  n.change++;
}

/**
 * The decoded inode of a record's Buffer, kept on the Buffer itself (a non-enumerable property). Reads hand
 * out the same Buffer object again only for the same stored bytes (read buffers are never modified,
 * kv.ts; the lmdb engine's read cache returns one object until the key is written), so a hit is exactly
 * the decode of the current value. An engine that returns fresh Buffers (Redis) never hits and cannot be
 * served a stale inode. The shared objects are frozen; transactions work on copies.
 *
 * Not a WeakMap keyed by the Buffer (as before): every REMOVE decodes a directory and a file record seen
 * for the first time, and a WeakMap entry cost several microseconds each (ephemeron bookkeeping in the
 * garbage collector), five times the decode itself.
 */
const DECODED: unique symbol = Symbol('decoded inode');

type DecodedSlot = { [DECODED]?: Readonly<Inode> };

/**
 * A shared inode's memo slot (non-enumerable, so copies do not carry it): layers above may keep here what
 * they derive purely from this inode (cluster/vfs keeps its Attr and handle), valid for the object's life.
 */
export const DERIVED: unique symbol = Symbol('derived from this inode');

/** The memo slot of a shared inode; undefined for a transaction's private copy. */
export function derivedOf(n: Readonly<Inode>): Record<string, unknown> | undefined {
  return (n as { [DERIVED]?: Record<string, unknown> })[DERIVED];
}

function sharedInode(id: bigint, b: Buffer): Readonly<Inode> {
  const hit = (b as DecodedSlot)[DECODED];
  if (hit && hit.id === id) return hit;
  const n = decodeInode(id, b);
  Object.defineProperty(n, DERIVED, { value: {}, enumerable: false });
  Object.freeze(n);
  Object.defineProperty(b, DECODED, { value: n, enumerable: false, configurable: true, writable: true });
  return n;
}

/**
 * A directory's cookie rows from its first entry on, kept in the memo slot of one version of its shared
 * inode. Exact for that version: every change to a directory's entries rewrites its inode record in the
 * same transaction (addEntry/dropEntry callers put the directory), which makes a new inode object with
 * an empty slot. Bounded per directory and, through `dead` (rows handed back to the GC), per namespace.
 */
interface RowsMemo {
  rows: CookieEntry[];
  /** The rows reach the end of the directory. */
  complete: boolean;
  /** Dropped to keep the namespace's total bounded: read plainly from now on. */
  dead: boolean;
  box: RowMemoBox;
}

/** A memo's accounting, apart from the memo so that it outlives it (FinalizationRegistry). */
interface RowMemoBox {
  n: number;
  ref: WeakRef<RowsMemo>;
}

const ROWS_MEMO = 'ns:rows';
/** Rows one directory's memo may hold (a bigger directory is memoized only for its first rows). */
const MAX_MEMO_ROWS_PER_DIR = 65536;
/** Rows all memos of one namespace may hold. */
const MAX_MEMO_ROWS = 262144;

/** A private, mutable copy (transactions change the inodes they read). */
async function readInode(r: KvReader, id: bigint): Promise<Inode | undefined> {
  const b = await r.get(inodeKey(id));
  if (!b) return undefined;
  // A copy of the shared inode if this record was decoded before; else a plain decode, left unshared
  // (sharing costs a freeze and two property definitions, and a transaction's records are mostly new:
  // the directory it changes was rewritten by the previous change).
  const hit = (b as DecodedSlot)[DECODED];
  return hit && hit.id === id ? clone(hit) : decodeInode(id, b);
}

async function readDirent(r: KvReader, dirId: bigint, name: Buffer): Promise<Dirent | undefined> {
  const b = await r.get(direntKey(dirId, name));
  return b ? decodeDirent(b) : undefined;
}

function putInode(tx: KvTx, n: Inode): void {
  tx.put(inodeKey(n.id), encodeInode(n));
}

/** Longest extended-attribute name (bytes; Linux's XATTR_NAME_MAX) and value (XATTR_SIZE_MAX). */
export const MAX_XATTR_NAME = 255;
export const MAX_XATTR_VALUE = 65536;
/**
 * Bound on one inode's names and values together: the whole set is one record, rewritten by each change
 * (records.ts), so it must stay small for the store and its log. Room for one value of the largest size.
 */
export const MAX_XATTR_SET_BYTES = 128 * 1024;

function xattrSetBytes(list: XattrList): number {
  let n = 0;
  for (const [k, v] of list) n += k.length + v.length;
  return n;
}

export class Namespace {
  private idNext = 0n;
  private idEnd = 0n;
  private idReserve: Promise<void> | undefined;
  private readonly writeQueues = new Map<bigint, WriteItem[]>();
  /** Trims done on the bricks whose 'G' records are still to be dropped (see finishGc). */
  private readonly gcDone: GcWaiter[] = [];
  private gcDraining = false;
  /**
   * Finished trims of freed files whose 'G' records the next namespace change deletes in its own
   * transaction (`change`), instead of a transaction of their own: under a stream of REMOVEs, one commit
   * fewer per batch of trims, and no read of the record (see finishGc). Whatever no change carried within
   * GC_RIDE_MS goes to gcDone.
   */
  private gcRide: GcWaiter[] = [];
  private gcRideTimer: NodeJS.Timeout | undefined;
  private readonly idBlock: bigint;
  /**
   * Set by the volume: true when a regular file being freed never had a brick object
   * (cluster/vfs/fresh-files.ts), so its removal records no trim. Read-only (a transaction may retry).
   */
  objectless: ((id: bigint) => boolean) | undefined;
  /**
   * Directory row memos (see listDir), least recently extended first, held weakly (a memo lives as long as
   * its directory version's inode object), and the rows they hold in total.
   */
  private readonly rowMemos = new Set<WeakRef<RowsMemo>>();
  private rowMemoCount = 0;
  private readonly rowMemoGone = new FinalizationRegistry<RowMemoBox>((box) => {
    this.rowMemoCount -= box.n;
    this.rowMemos.delete(box.ref);
  });

  constructor(
    readonly kv: Kv,
    readonly vol: VolumeRecord,
    private readonly opts: NamespaceOptions,
  ) {
    this.idBlock = BigInt(opts.idBlock ?? 1024);
  }

  // ---- volume creation -------------------------------------------------------------------------------

  /** The records of a brand-new volume (volume, allocator, root directory). */
  static initialRecords(init: InitOptions): { vol: VolumeRecord; records: Array<[Buffer, Buffer]> } {
    const now = nowNs();
    const vol: VolumeRecord = {
      fsid: randomBytes(8).readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn,
      secret: randomBytes(32),
      chunkSize: init.chunkSize,
      rootId: 1n,
      createdNs: now,
    };
    const root = newInode(1n, FileType.DIR, now);
    root.mode = (init.root?.mode ?? DEFAULT_DIR_MODE) & 0o7777;
    root.uid = init.root?.uid ?? 0;
    root.gid = init.root?.gid ?? 0;
    root.nlink = 2;
    root.parent = 1n;
    return {
      vol,
      records: [
        [volumeKey(), encodeVolume(vol)],
        [allocKey(), encodeU64(2n)],
        [inodeKey(1n), encodeInode(root)],
      ],
    };
  }

  /** Reads the volume record, creating the volume on first use. */
  static async init(kv: Kv, init: InitOptions): Promise<VolumeRecord> {
    return kv.txn(
      async (tx) => {
        const b = await tx.get(volumeKey());
        if (b) return decodeVolume(b);
        const { vol, records } = Namespace.initialRecords(init);
        for (const [k, v] of records) tx.put(k, v);
        return vol;
      },
      { durable: true },
    );
  }

  // ---- reads -----------------------------------------------------------------------------------------

  /** The current inode, shared and frozen: read it, do not change it. */
  async getInode(id: bigint): Promise<Readonly<Inode> | undefined> {
    const b = await this.kv.get(inodeKey(id));
    return b ? sharedInode(id, b) : undefined;
  }

  /** Several inodes in one read (a READDIRPLUS page); missing ones are undefined. Shared and frozen. */
  async getInodes(ids: readonly bigint[]): Promise<Array<Readonly<Inode> | undefined>> {
    const vals = await this.kv.getMany(ids.map(inodeKey));
    return vals.map((b, i) => (b ? sharedInode(ids[i]!, b) : undefined));
  }

  getDirent(dirId: bigint, name: Buffer): Promise<Dirent | undefined> {
    return readDirent(this.kv, dirId, name);
  }

  /**
   * Up to `limit` entries with cookies > `after`, in cookie order. One range read; never the whole dir.
   *
   * With `dir`, the directory's current shared inode (getInode), the rows read are also kept in its memo
   * slot (see RowsMemo), so the next pages of a listing of an unchanged directory, and later listings of
   * it, are slices of memory instead of store range reads.
   */
  async listDir(dirId: bigint, after: bigint, limit: number, dir?: Readonly<Inode>): Promise<CookieEntry[]> {
    const slot = dir && dir.id === dirId ? derivedOf(dir) : undefined;
    if (!slot || limit <= 0) return this.readRows(dirId, after, limit);
    let m = slot[ROWS_MEMO] as RowsMemo | undefined;
    if (!m) {
      // A memo starts at the beginning of the directory, so that it is always one contiguous run.
      if (after !== 0n) return this.readRows(dirId, after, limit);
      m = this.newRowMemo();
      slot[ROWS_MEMO] = m;
    }
    if (m.dead) return this.readRows(dirId, after, limit);
    const rows = m.rows;
    const last = rows.length ? rows[rows.length - 1]!.cookie : 0n;
    let i = rows.length;
    if (after < last) {
      // First row with a cookie above `after` (rows are in cookie order).
      let lo = 0;
      let hi = rows.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (rows[mid]!.cookie <= after) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    } else if (after > last && !m.complete) {
      // Beyond the memo, with rows not read yet in between: read it plainly.
      return this.readRows(dirId, after, limit);
    }
    if (i + limit > rows.length && !m.complete) {
      const want = i + limit - rows.length;
      if (rows.length + want > MAX_MEMO_ROWS_PER_DIR) return this.readRows(dirId, after, limit);
      const had = rows.length;
      const more = await this.readRows(dirId, last, want);
      // Another call may have extended or dropped the memo meanwhile: extend it only if it still ends at `last`.
      if (m.dead || m.complete || rows.length !== had) return this.readRows(dirId, after, limit);
      for (const r of more) rows.push(r);
      if (more.length < want) m.complete = true;
      this.rowMemoCount += more.length;
      m.box.n += more.length;
      this.rowMemos.delete(m.box.ref);
      this.rowMemos.add(m.box.ref);
      this.trimRowMemos();
    }
    return rows.slice(i, i + limit);
  }

  private newRowMemo(): RowsMemo {
    const box = { n: 0 } as RowMemoBox;
    const m: RowsMemo = { rows: [], complete: false, dead: false, box };
    box.ref = new WeakRef(m);
    this.rowMemos.add(box.ref);
    this.rowMemoGone.register(m, box);
    return m;
  }

  /** Drops the least recently extended row memos until this namespace's memos hold at most MAX_MEMO_ROWS rows. */
  private trimRowMemos(): void {
    for (const ref of this.rowMemos) {
      if (this.rowMemoCount <= MAX_MEMO_ROWS) break;
      this.rowMemos.delete(ref);
      const old = ref.deref();
      if (!old) continue;
      this.rowMemoCount -= old.box.n;
      old.box.n = 0;
      old.dead = true;
      old.rows = [];
    }
  }

  private async readRows(dirId: bigint, after: bigint, limit: number): Promise<CookieEntry[]> {
    const rows = await this.kv.rangeKeys({ prefix: cookiePrefix(dirId), start: cookieKey(dirId, after + 1n), limit });
    return rows.map(decodeCookieRow);
  }

  async pendingGc(): Promise<GcJob[]> {
    const rows = await this.kv.range({ prefix: gcPrefix() });
    return rows.map((r) => ({ fileId: idFromKey(r.key), rec: decodeGc(r.value) }));
  }

  /**
   * Drops the 'G' record once the bricks have done the trim (unless a newer trim replaced it). Resolves
   * once it is gone. Finished trims are collected until the next turn of the event loop and dropped in
   * one transaction: a burst of REMOVEs then costs one extra commit, not one per file. (A record that
   * outlives its trim a little is harmless: replaying a trim is idempotent.)
   */
  finishGc(job: GcJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (job.rec.freed) {
        // A freed file's record is the last one its file ever gets (the inode is gone and inode numbers
        // are never reused), so it can be deleted without reading it: by the next namespace change.
        this.gcRide.push({ job, resolve, reject });
        if (this.gcRide.length >= MAX_GC_BATCH) this.unride();
        else this.gcRideTimer ??= setTimeout(() => this.unride(), GC_RIDE_MS);
        return;
      }
      this.gcDone.push({ job, resolve, reject });
      if (this.gcDone.length === 1 && !this.gcDraining) setImmediate(() => void this.drainGcDone());
    });
  }

  /** Hands the records no namespace change carried to a transaction of their own (drainGcDone). */
  private unride(): void {
    if (this.gcRideTimer) clearTimeout(this.gcRideTimer);
    this.gcRideTimer = undefined;
    if (this.gcRide.length === 0) return;
    const was = this.gcDone.length;
    for (const w of this.gcRide) this.gcDone.push(w);
    this.gcRide = [];
    if (was === 0 && !this.gcDraining) setImmediate(() => void this.drainGcDone());
  }

  /**
   * A namespace change's transaction, also deleting the 'G' records of up to MAX_GC_RIDE freed files
   * whose trims are done (finishGc). If the change fails, the records wait for the next one.
   */
  private change<T>(body: (tx: KvTx) => Promise<T>): Promise<T> {
    if (this.gcRide.length === 0) return this.kv.txn(body, this.durable());
    const rides = this.gcRide.length <= MAX_GC_RIDE ? this.gcRide : this.gcRide.slice(0, MAX_GC_RIDE);
    this.gcRide = rides === this.gcRide ? [] : this.gcRide.slice(MAX_GC_RIDE);
    if (this.gcRide.length === 0 && this.gcRideTimer) {
      clearTimeout(this.gcRideTimer);
      this.gcRideTimer = undefined;
    }
    return this.kv
      .txn(async (tx) => {
        const out = await body(tx);
        for (const w of rides) tx.delete(gcKey(w.job.fileId));
        return out;
      }, this.durable())
      .then(
        (out) => {
          for (const w of rides) w.resolve();
          return out;
        },
        (e: unknown) => {
          this.gcRide = rides.concat(this.gcRide);
          this.gcRideTimer ??= setTimeout(() => this.unride(), GC_RIDE_MS);
          throw e;
        },
      );
  }

  private async drainGcDone(): Promise<void> {
    if (this.gcDraining) return;
    this.gcDraining = true;
    try {
      while (this.gcDone.length) {
        const batch = this.gcDone.splice(0, MAX_GC_BATCH);
        try {
          await this.kv.txn(async (tx) => {
            // A freed file's record is deleted unread (see finishGc); a trim of a file still there keeps a
            // newer trim's record.
            const kept = batch.filter((it) => !it.job.rec.freed);
            const keys = kept.map((it) => gcKey(it.job.fileId));
            const cur = keys.length ? await tx.getMany(keys) : [];
            kept.forEach((it, i) => {
              const b = cur[i];
              if (b && decodeGc(b).nonce === it.job.rec.nonce) tx.delete(keys[i]!);
            });
            for (const it of batch) if (it.job.rec.freed) tx.delete(gcKey(it.job.fileId));
          });
          for (const it of batch) it.resolve();
        } catch (e) {
          for (const it of batch) it.reject(e);
        }
      }
    } finally {
      this.gcDraining = false;
    }
  }

  // ---- inode numbers ---------------------------------------------------------------------------------

  /**
   * A fresh inode number. Numbers are reserved from the 'A' counter in blocks (one durable transaction
   * per block), so creates in different directories do not all contend on one key. Numbers of a block
   * that a restart abandons are skipped, never reused.
   */
  async allocId(): Promise<bigint> {
    while (this.idNext >= this.idEnd) {
      this.idReserve ??= this.reserveIds().finally(() => (this.idReserve = undefined));
      await this.idReserve;
    }
    return this.idNext++;
  }

  private async reserveIds(): Promise<void> {
    const block = this.idBlock;
    const start = await this.kv.txn(
      async (tx) => {
        const b = await tx.get(allocKey());
        if (!b) throw new CoreError(Errc.IO, 'inode allocator record missing');
        const cur = decodeU64(b);
        tx.put(allocKey(), encodeU64(cur + block));
        return cur;
      },
      { durable: true },
    );
    this.idNext = start;
    this.idEnd = start + block;
  }

  // ---- helpers inside transactions -------------------------------------------------------------------

  private async loadChecked(tx: KvTx, id: bigint, gen: number): Promise<Inode> {
    const n = await readInode(tx, id);
    if (!n || n.gen !== gen) throw new CoreError(Errc.STALE);
    return n;
  }

  private async loadDir(tx: KvTx, id: bigint, gen: number): Promise<Inode> {
    const n = await this.loadChecked(tx, id, gen);
    if (n.type !== FileType.DIR) throw new CoreError(Errc.NOTDIR);
    return n;
  }

  private async loadEntryNode(tx: KvTx, ent: Dirent): Promise<Inode> {
    const n = await readInode(tx, ent.fileId);
    if (!n) throw new CoreError(Errc.IO, `directory entry points to missing inode ${ent.fileId}`);
    return n;
  }

  private addEntry(tx: KvTx, dir: Inode, name: Buffer, child: Inode): void {
    const cookie = dir.nextCookie++;
    tx.put(direntKey(dir.id, name), encodeDirent({ fileId: child.id, cookie, type: child.type }));
    tx.put(cookieRowKey(dir.id, cookie, child.id, child.type, name), COOKIE_ROW_VALUE);
    // Written whether or not the directory is marked indexed yet (fold-index.ts: a build relies on it).
    putFoldRow(tx, dir.id, cookie, name);
    dir.entries++;
  }

  private dropEntry(tx: KvTx, dir: Inode, name: Buffer, ent: Dirent, keepDirent = false): void {
    if (!keepDirent) tx.delete(direntKey(dir.id, name));
    tx.delete(cookieRowKey(dir.id, ent.cookie, ent.fileId, ent.type, name));
    deleteFoldRow(tx, dir.id, ent.cookie, name);
    dir.entries--;
  }

  /**
   * Drops one link of `n` (a directory loses its only one). At zero links the inode is deleted and, for
   * regular files, a 'G' record asks for its brick objects to be dropped.
   */
  private unlinkNode(tx: KvTx, n: Inode, now: bigint): GcJob | undefined {
    n.nlink = n.type === FileType.DIR ? 0 : n.nlink - 1;
    if (n.nlink > 0) {
      touch(n, now, false);
      putInode(tx, n);
      return undefined;
    }
    tx.delete(inodeKey(n.id));
    if (n.xattrs) tx.delete(xattrKey(n.id));
    if (n.type !== FileType.REG || this.objectless?.(n.id)) return undefined;
    const rec: GcRecord = { length: 0n, freed: true, nonce: randomU32() };
    tx.put(gcKey(n.id), encodeGc(rec));
    return { fileId: n.id, rec };
  }

  private durable(): { durable: boolean } {
    return { durable: this.opts.durable };
  }

  // ---- namespace changes -----------------------------------------------------------------------------

  /**
   * Creates `name` in the directory, or (regular files) accepts an existing one as the create mode
   * says. `id` is a number from allocId (unused if the name existed).
   */
  create(cred: Cred, dirId: bigint, dirGen: number, name: Buffer, spec: NewNode, id: bigint): Promise<CreateOutcome> {
    return this.change(async (tx) => {
      const dir = await this.loadDir(tx, dirId, dirGen);
      requirePerm(cred, dir, X);
      const existing = await readDirent(tx, dirId, name);
      if (existing) {
        if (spec.type !== FileType.REG || spec.createMode === undefined || spec.createMode === CreateMode.GUARDED) throw new CoreError(Errc.EXIST);
        const node = await this.loadEntryNode(tx, existing);
        if (node.type !== FileType.REG) throw new CoreError(Errc.EXIST);
        if (spec.createMode === CreateMode.EXCLUSIVE && !(node.verifier && spec.verifier && node.verifier.equals(spec.verifier))) {
          throw new CoreError(Errc.EXIST);
        }
        return { node, dirBefore: dir, dirAfter: dir, existed: true };
      }
      requirePerm(cred, dir, W | X);
      if (spec.type === FileType.DIR && dir.nlink >= this.opts.maxLink) throw new CoreError(Errc.MLINK);
      const now = nowNs();
      const dirBefore = clone(dir);
      const n = newInode(id, spec.type, now);
      const a = spec.attrs ?? {};
      n.uid = cred.uid;
      n.gid = dir.mode & S_ISGID ? dir.gid : cred.gid;
      const defMode = spec.type === FileType.DIR ? DEFAULT_DIR_MODE : spec.type === FileType.LNK ? 0o777 : DEFAULT_FILE_MODE;
      n.mode = (a.mode ?? defMode) & 0o7777;
      if (spec.type === FileType.DIR && dir.mode & S_ISGID) n.mode |= S_ISGID;
      if (a.uid !== undefined && a.uid !== n.uid) {
        if (!isRoot(cred)) throw new CoreError(Errc.PERM, 'only root may give a file away');
        n.uid = a.uid;
      }
      if (a.gid !== undefined && a.gid !== n.gid) {
        if (!isRoot(cred) && !inGroup(cred, a.gid)) throw new CoreError(Errc.PERM, 'not a member of that group');
        n.gid = a.gid;
      }
      if (spec.type !== FileType.DIR && n.mode & S_ISGID && !isRoot(cred) && !inGroup(cred, n.gid)) n.mode &= ~S_ISGID;
      if (spec.type === FileType.REG && a.size !== undefined) n.size = a.size;
      if (a.atime !== undefined) n.atime = a.atime === 'server' ? now : a.atime;
      if (a.mtime !== undefined) n.mtime = a.mtime === 'server' ? now : a.mtime;
      if (a.birthTime !== undefined) n.btime = a.birthTime;
      if (a.dosAttrs !== undefined) n.dosAttrs = a.dosAttrs;
      if (spec.type === FileType.DIR) {
        n.nlink = 2;
        n.parent = dir.id;
        dir.nlink++;
      }
      if (spec.type === FileType.LNK) {
        n.target = spec.target ?? Buffer.alloc(0);
        n.size = BigInt(n.target.length);
      }
      if (spec.rdev) {
        n.rdevMajor = spec.rdev.major;
        n.rdevMinor = spec.rdev.minor;
      }
      if (spec.createMode === CreateMode.EXCLUSIVE && spec.verifier) n.verifier = Buffer.from(spec.verifier);
      this.addEntry(tx, dir, name, n);
      touch(dir, now, true);
      putInode(tx, n);
      putInode(tx, dir);
      return { node: n, dirBefore, dirAfter: dir, existed: false };
    });
  }

  link(cred: Cred, fileId: bigint, fileGen: number, dirId: bigint, dirGen: number, name: Buffer): Promise<{ node: Inode; dirBefore: Inode; dirAfter: Inode }> {
    return this.change(async (tx) => {
      const n = await this.loadChecked(tx, fileId, fileGen);
      const dir = await this.loadDir(tx, dirId, dirGen);
      if (n.type === FileType.DIR) throw new CoreError(Errc.PERM, 'hard link to a directory');
      requirePerm(cred, dir, X);
      if (await readDirent(tx, dirId, name)) throw new CoreError(Errc.EXIST);
      requirePerm(cred, dir, W | X);
      if (n.nlink >= this.opts.maxLink) throw new CoreError(Errc.MLINK);
      const now = nowNs();
      const dirBefore = clone(dir);
      this.addEntry(tx, dir, name, n);
      n.nlink++;
      touch(n, now, false);
      touch(dir, now, true);
      putInode(tx, n);
      putInode(tx, dir);
      return { node: n, dirBefore, dirAfter: dir };
    });
  }

  /** REMOVE (`rmdir` false) or RMDIR (`rmdir` true). */
  unlink(cred: Cred, dirId: bigint, dirGen: number, name: Buffer, rmdir: boolean): Promise<UnlinkOutcome> {
    return this.change(async (tx) => {
      const dir = await this.loadDir(tx, dirId, dirGen);
      requirePerm(cred, dir, X);
      const ent = await readDirent(tx, dirId, name);
      if (!ent) throw new CoreError(Errc.NOENT);
      const child = await this.loadEntryNode(tx, ent);
      if (rmdir) {
        if (child.type !== FileType.DIR) throw new CoreError(Errc.NOTDIR);
      } else if (child.type === FileType.DIR) throw new CoreError(Errc.ISDIR);
      requirePerm(cred, dir, W | X);
      if (!stickyAllows(cred, dir, child)) throw new CoreError(Errc.PERM, 'sticky directory');
      if (child.type === FileType.DIR && child.entries > 0n) throw new CoreError(Errc.NOTEMPTY);
      const now = nowNs();
      const dirBefore = clone(dir);
      this.dropEntry(tx, dir, name, ent);
      if (child.type === FileType.DIR) dir.nlink--;
      touch(dir, now, true);
      putInode(tx, dir);
      const gc = this.unlinkNode(tx, child, now);
      return { dirBefore, dirAfter: dir, gc, trimless: trimless(child, gc) };
    });
  }

  rename(cred: Cred, fromId: bigint, fromGen: number, fromName: Buffer, toId: bigint, toGen: number, toName: Buffer): Promise<RenameOutcome> {
    return this.change(async (tx) => {
      const from = await this.loadDir(tx, fromId, fromGen);
      const same = fromId === toId;
      const to = same ? from : await this.loadDir(tx, toId, toGen);
      if (same && to.gen !== toGen) throw new CoreError(Errc.STALE);
      requirePerm(cred, from, X);
      requirePerm(cred, to, X);
      const srcEnt = await readDirent(tx, fromId, fromName);
      if (!srcEnt) throw new CoreError(Errc.NOENT);
      const fromBefore = clone(from);
      const toBefore = same ? fromBefore : clone(to);
      const unchanged = { fromBefore, fromAfter: from, toBefore, toAfter: to };
      if (same && fromName.equals(toName)) return unchanged;
      const dstEnt = await readDirent(tx, toId, toName);
      // Two names of one inode: POSIX says rename does nothing and succeeds.
      if (dstEnt && dstEnt.fileId === srcEnt.fileId) return unchanged;
      requirePerm(cred, from, W | X);
      requirePerm(cred, to, W | X);
      const src = await this.loadEntryNode(tx, srcEnt);
      if (!stickyAllows(cred, from, src)) throw new CoreError(Errc.PERM, 'sticky directory');
      const isDir = src.type === FileType.DIR;
      if (isDir && !same) {
        // Its '..' changes: that is a write to the directory being moved.
        requirePerm(cred, src, W);
        // Not into itself or its own subtree.
        let cur: Inode = to;
        for (;;) {
          if (cur.id === src.id) throw new CoreError(Errc.INVAL, 'directory moved into its own subtree');
          if (cur.id === this.vol.rootId || cur.parent === cur.id || cur.parent === 0n) break;
          const p = await readInode(tx, cur.parent);
          if (!p) break;
          cur = p;
        }
      }
      const now = nowNs();
      let gc: GcJob | undefined;
      let replacedDir = false;
      let dst: Inode | undefined;
      if (dstEnt) {
        dst = await this.loadEntryNode(tx, dstEnt);
        if (!stickyAllows(cred, to, dst)) throw new CoreError(Errc.PERM, 'sticky directory');
        if (isDir) {
          if (dst.type !== FileType.DIR) throw new CoreError(Errc.NOTDIR);
          if (dst.entries > 0n) throw new CoreError(Errc.NOTEMPTY);
          replacedDir = true;
        } else if (dst.type === FileType.DIR) throw new CoreError(Errc.ISDIR);
        this.dropEntry(tx, to, toName, dstEnt, true);
        if (replacedDir) to.nlink--;
        gc = this.unlinkNode(tx, dst, now);
      }
      if (isDir && !same && !replacedDir && to.nlink >= this.opts.maxLink) throw new CoreError(Errc.MLINK);
      this.dropEntry(tx, from, fromName, srcEnt);
      this.addEntry(tx, to, toName, src);
      if (isDir && !same) {
        src.parent = to.id;
        from.nlink--;
        to.nlink++;
      }
      touch(src, now, false);
      touch(from, now, true);
      if (!same) touch(to, now, true);
      putInode(tx, src);
      putInode(tx, from);
      if (!same) putInode(tx, to);
      return { fromBefore, fromAfter: from, toBefore, toAfter: to, gc, trimless: dst && trimless(dst, gc) };
    });
  }

  /**
   * SETATTR with the POSIX rules: chmod owner/root; chown uid root only; chgrp owner to a group of
   * theirs (or root); explicit times owner/root, "now" also anyone who may write; size needs write
   * permission. Clears the EXCLUSIVE-create verifier. A shrink records a 'G' trim in the same
   * transaction; the caller runs it before replying.
   */
  setattr(cred: Cred, id: bigint, gen: number, a: SetAttrs, guardCtime?: bigint): Promise<SetattrOutcome> {
    return this.kv.txn(async (tx) => {
      const n = await this.loadChecked(tx, id, gen);
      if (guardCtime !== undefined && n.ctime !== guardCtime) throw new CoreError(Errc.NOT_SYNC);
      const before = clone(n);
      const owner = isOwnerOrRoot(cred, n);
      const root = isRoot(cred);
      if (a.mode !== undefined && !owner) throw new CoreError(Errc.PERM, 'only the owner may chmod');
      if (a.uid !== undefined && a.uid !== n.uid && !root) throw new CoreError(Errc.PERM, 'only root may chown');
      if (a.gid !== undefined && a.gid !== n.gid && !root && !(cred.uid === n.uid && inGroup(cred, a.gid))) {
        throw new CoreError(Errc.PERM, 'chgrp to a group the caller is not in');
      }
      if (a.size !== undefined) {
        if (n.type === FileType.DIR) throw new CoreError(Errc.ISDIR);
        if (n.type !== FileType.REG) throw new CoreError(Errc.INVAL, 'size of a special file');
        requireDataPerm(cred, n, W);
      }
      for (const t of [a.atime, a.mtime]) {
        if (t === undefined) continue;
        if (t === 'server') {
          if (!owner && !permits(cred, n, W)) throw new CoreError(Errc.ACCES);
        } else if (!owner) throw new CoreError(Errc.PERM, 'only the owner may set explicit times');
      }
      if ((a.birthTime !== undefined || a.changeTime !== undefined || a.dosAttrs !== undefined) && !owner) throw new CoreError(Errc.PERM);
      const now = nowNs();
      let gc: GcJob | undefined;
      const chown = (a.uid !== undefined && a.uid !== n.uid) || (a.gid !== undefined && a.gid !== n.gid);
      if (a.uid !== undefined) n.uid = a.uid;
      if (a.gid !== undefined) n.gid = a.gid;
      if (a.mode !== undefined) {
        n.mode = a.mode & 0o7777;
        if (n.mode & S_ISGID && !root && !inGroup(cred, n.gid)) n.mode &= ~S_ISGID;
      } else if (chown && n.type === FileType.REG) {
        n.mode &= ~(S_ISUID | (n.mode & 0o010 ? S_ISGID : 0));
      }
      if (a.size !== undefined) {
        if (a.size < n.size) {
          const rec: GcRecord = { length: a.size, freed: false, nonce: randomU32() };
          tx.put(gcKey(n.id), encodeGc(rec));
          gc = { fileId: n.id, rec };
        }
        n.size = a.size;
        n.mtime = now;
        if (a.mode === undefined) n.mode &= ~privBitsKilledByWrite(cred, n);
      }
      if (a.atime !== undefined) n.atime = a.atime === 'server' ? now : a.atime;
      if (a.mtime !== undefined) n.mtime = a.mtime === 'server' ? now : a.mtime;
      if (a.birthTime !== undefined) n.btime = a.birthTime;
      if (a.dosAttrs !== undefined) n.dosAttrs = a.dosAttrs;
      delete n.verifier;
      touch(n, now, false);
      if (a.changeTime !== undefined) n.ctime = a.changeTime;
      putInode(tx, n);
      return { before, after: n, gc };
    }, this.durable());
  }

  // ---- extended attributes ---------------------------------------------------------------------------

  /** The inode's extended attributes in name order (empty if it has none). */
  async getXattrs(id: bigint): Promise<XattrList> {
    const b = await this.kv.get(xattrKey(id));
    return b ? decodeXattrs(id, b) : [];
  }

  /**
   * Sets (value) or removes (undefined) one extended attribute, as one durable change that also moves
   * the inode's ctime and change attribute (as Linux does for any xattr change). `how`: 'create' fails
   * EXIST if the name is set, 'replace' (and every removal) NOXATTR if it is not. User attributes exist
   * on regular files and directories only (PERM elsewhere, as Linux answers for user.* on a symlink),
   * need write permission, and in a sticky directory belong to its owner.
   */
  setXattr(cred: Cred, id: bigint, gen: number, name: Buffer, value: Buffer | undefined, how: XattrHow): Promise<SetattrOutcome> {
    return this.change(async (tx) => {
      const n = await this.loadChecked(tx, id, gen);
      if (n.type !== FileType.REG && n.type !== FileType.DIR) throw new CoreError(Errc.PERM, 'extended attributes on regular files and directories only');
      if (n.type === FileType.DIR && n.mode & S_ISVTX && !isOwnerOrRoot(cred, n)) throw new CoreError(Errc.PERM, 'sticky directory');
      requirePerm(cred, n, W);
      const before = clone(n);
      const b = await tx.get(xattrKey(id));
      const list = b ? decodeXattrs(id, b) : [];
      const at = list.findIndex(([k]) => k.equals(name));
      if (value === undefined || how === 'replace') {
        if (at < 0) throw new CoreError(Errc.NOXATTR);
      } else if (how === 'create' && at >= 0) throw new CoreError(Errc.EXIST, 'extended attribute exists');
      if (value === undefined) list.splice(at, 1);
      else if (at >= 0) list[at] = [list[at]![0], Buffer.from(value)];
      else {
        list.push([Buffer.from(name), Buffer.from(value)]);
        list.sort((x, y) => Buffer.compare(x[0], y[0]));
      }
      if (xattrSetBytes(list) > MAX_XATTR_SET_BYTES) throw new CoreError(Errc.XATTR2BIG, 'extended attributes of the file exceed the limit');
      if (list.length) {
        tx.put(xattrKey(id), encodeXattrs(list));
        n.xattrs = true;
      } else {
        tx.delete(xattrKey(id));
        delete n.xattrs;
      }
      touch(n, nowNs(), false);
      putInode(tx, n);
      return { before, after: n };
    });
  }

  /**
   * Metadata side of a data write: size = max(size, end), mtime/ctime now, change + 1, set-id bits
   * dropped for non-root writers. Not durable (the caller syncs for stable writes). Concurrent writes to
   * one file are coalesced into one transaction, applied in arrival order, each with its own
   * before/after, so parallel WRITEs neither conflict nor cost a commit each.
   */
  noteWrite(cred: Cred, id: bigint, gen: number, end: bigint): Promise<WriteOutcome> {
    return new Promise<WriteOutcome>((resolve, reject) => {
      let q = this.writeQueues.get(id);
      const start = !q;
      if (!q) {
        q = [];
        this.writeQueues.set(id, q);
      }
      q.push({ cred, gen, end, resolve, reject });
      if (start) void this.drainWrites(id, q);
    });
  }

  private async drainWrites(id: bigint, q: WriteItem[]): Promise<void> {
    try {
      while (q.length) {
        const batch = q.splice(0);
        try {
          const results = await this.kv.txn(async (tx) => {
            const b = await tx.get(inodeKey(id));
            const cur = b ? decodeInode(id, b) : undefined;
            const out: Array<WriteOutcome | CoreError> = [];
            if (!cur) return batch.map(() => new CoreError(Errc.STALE));
            let n = cur;
            for (const it of batch) {
              if (it.gen !== n.gen) {
                out.push(new CoreError(Errc.STALE));
                continue;
              }
              const before = n;
              n = clone(n);
              if (it.end > n.size) n.size = it.end;
              n.mode &= ~privBitsKilledByWrite(it.cred, n);
              touch(n, nowNs(), true);
              out.push({ before, after: n });
            }
            if (n !== cur) putInode(tx, n);
            return out;
          });
          batch.forEach((it, i) => {
            const r = results[i]!;
            if (r instanceof CoreError) it.reject(r);
            else it.resolve(r);
          });
        } catch (e) {
          for (const it of batch) it.reject(e);
        }
      }
    } finally {
      this.writeQueues.delete(id);
    }
  }
}
