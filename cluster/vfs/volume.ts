/**
 * One volume: the namespace (cluster/meta) + a brick (cluster/bricks) + the exports that reach it,
 * behind the `FileSystem` interface that every protocol calls.
 *
 * What lives here: handle parsing and minting (HandleCodec, secret from the volume record), export
 * roots, name syntax, the data path (chunking, brick I/O, stability), and the ordering between
 * metadata transactions and brick side effects:
 *  - data writes: brick write first, then the (coalesced, non-durable) metadata update; stable writes
 *    fsync the touched chunks and make the metadata durable before returning.
 *  - shrinking or freeing a file: the metadata transaction records a 'G' trim; the bricks are trimmed
 *    after it and the record dropped; records left by a crash are replayed at open. A trim holds the
 *    file's gate exclusively, so no write's data lands between the size change and the trim.
 *    A file created here that never had an object is freed without one (fresh-files.ts).
 *
 * atime is not updated by reads (no durable write per READ); it changes only through SETATTR.
 */
import { randomBytes } from 'node:crypto';
import type { Brick, ReadHint } from '../bricks/brick';
import { WriteBehindBrick } from '../bricks/write-behind';
import { FreshFiles, FreshTrackingBrick } from './fresh-files';
import { chunkTail, splitRange } from '../bricks/chunks';
import type { Kv } from '../meta/kv';
import { derivedOf, MAX_XATTR_NAME, MAX_XATTR_VALUE, Namespace, type CreateOutcome, type GcJob, type NewNode } from '../meta/namespace';
import { buildFoldIndex, foldCandidates, foldName } from '../meta/fold-index';
import { FIRST_COOKIE, type Inode, type VolumeRecord, type XattrList } from '../meta/records';
import { CoreError, Errc, noEntry } from './errors';
import type { ExportConfig } from './exports';
import { FileGate } from './file-gate';
import { TrimBatcher } from './trim-batch';
import { ListingPages } from './listing-pages';
import { ReadAhead, type ReadAheadStats } from './read-ahead';
import type { CachingBreaker } from './caching';
import { EventHub, type FsChanged, type FsEvents } from './events';
import { OpenTable, type OpenEntry } from '../locks/open-table';
import { ByteRangeLocks, type IoProbe, type LockConflict, type LockOwner, type LockRequest, type UnlockRequest, type WaitOptions } from '../locks/byte-range';
import { HandleCodec, type HandleFields } from './handle';
import { checkEntryName, checkName, checkNewName, isDot, isDotDot } from './names';
import { bulkPool } from './buffer-pool';
import { accessBits, permits, requireDataPerm, requirePerm, stickyAllows, R, W, X } from './perm';
import {
  ATTR_MEMO,
  CreateMode,
  FileType,
  ROOT_CRED,
  Stable,
  type Attr,
  type CreateArgs,
  type Cred,
  type DirEntry,
  type DirWcc,
  type FileSystem,
  type FsLimits,
  type Handle,
  type LinkResult,
  type NodeResult,
  type NsTime,
  type OpenArgs,
  type OpenState,
  type ReaddirResult,
  type ReadOptions,
  type ReadResult,
  type RenameResult,
  type SetAttrs,
  type StatFs,
  type WccAttr,
  type WriteOptions,
  type WriteResult,
  type XattrHow,
} from './types';

export const MAX_SYMLINK_BYTES = 4096;

/** Upper bound on entries per READDIR call (DESIGN invariant 11). */
export const MAX_READDIR_ENTRIES = 4096;

export const DEFAULT_LIMITS: FsLimits = Object.freeze({
  maxRead: 1 << 20,
  maxWrite: 1 << 20,
  preferredRead: 1 << 20,
  preferredWrite: 1 << 20,
  preferredReaddir: 64 * 1024,
  maxFileSize: (1n << 63n) - 1n,
  maxNameBytes: 255,
  maxLink: 65000,
  timeDeltaNs: 1n,
  caseInsensitive: false,
  casePreserving: true,
  chownRestricted: true,
  noTrunc: true,
});

export interface VolumeOptions {
  exports: ExportConfig[];
  /** Namespace changes wait for the disk before returning. Default true. */
  durableNamespace?: boolean;
  limits?: Partial<FsLimits>;
  /**
   * Most bytes of UNSTABLE writes answered before the brick has them (cluster/bricks/write-behind.ts);
   * 0 or absent: none.
   */
  writeBehindBytes?: number;
}

interface Resolved {
  f: HandleFields;
  n: Inode;
}

/** What a pending delete removes when the file's last open ends. */
interface PendingDelete {
  dir: Handle;
  name: Buffer;
  cred: Cred;
  isDir: boolean;
}

interface VolumeOpen extends OpenState {
  readonly entry: OpenEntry;
}

/** A volume's memo on a shared inode (see Volume.sharedView). */
interface SharedView {
  attr: Attr;
  exportId: number;
  handle: Handle | undefined;
}

let VIEW_KEYS = 0;

/** Which attributes a SETATTR changed, for change events. */
function changedBy(a: SetAttrs, before: Inode, after: Inode): FsChanged {
  return {
    size: before.size !== after.size,
    mtime: a.mtime !== undefined || before.size !== after.size,
    atime: a.atime !== undefined,
    btime: a.birthTime !== undefined,
    attrs: a.dosAttrs !== undefined && before.dosAttrs !== after.dosAttrs,
    security: a.mode !== undefined || a.uid !== undefined || a.gid !== undefined,
  };
}

/** 1..MAX_XATTR_NAME bytes without NUL (Linux's rule; NFS sends a UTF-8 component4, SMB an ASCII name). */
function checkXattrName(name: Buffer): void {
  if (name.length === 0 || name.includes(0)) throw new CoreError(Errc.INVAL, 'bad extended attribute name');
  if (name.length > MAX_XATTR_NAME) throw new CoreError(Errc.NAMETOOLONG, 'extended attribute name too long');
}

function wcc(n: Inode): WccAttr {
  return { size: n.size, mtime: n.mtime, ctime: n.ctime, change: n.change };
}

/** Read-ahead's brick reads: nobody waits for them yet, so they stay off the event loop. */
const BACKGROUND: ReadHint = Object.freeze({ background: true });

/** Waits for every promise; then rethrows the first failure, if any. */
async function allSettledOrThrow(ps: Promise<unknown>[]): Promise<void> {
  if (ps.length === 1) {
    await ps[0];
    return;
  }
  const rs = await Promise.allSettled(ps);
  for (const r of rs) if (r.status === 'rejected') throw r.reason;
}

export class Volume implements FileSystem {
  readonly limits: FsLimits;
  private readonly codec: HandleCodec;
  private readonly exports = new Map<number, ExportConfig>();
  private readonly exportRoots = new Map<number, bigint>();
  /** Changes on restart and whenever a queued UNSTABLE write failed (see write-behind.ts). */
  private verifier = randomBytes(8);
  /** The brick every data operation goes through (the write-behind queue when enabled). */
  readonly brick: Brick;
  private readonly behind: WriteBehindBrick | undefined;
  /** Regular files created here that never had a brick object (fresh-files.ts); undefined for shared stores. */
  private readonly fresh: FreshFiles | undefined;
  private readonly gate = new FileGate();
  /** Opens of every protocol (share modes, delete pending). */
  private readonly opens = new OpenTable<PendingDelete>();
  /** Byte-range locks of every protocol (in memory; see cluster/locks/byte-range.ts on invariant 10). */
  readonly locks = new ByteRangeLocks();
  /** Change events for watchers (SMB CHANGE_NOTIFY), from every protocol's changes. */
  private readonly hub = new EventHub(
    async (id) => {
      const n = await this.ns.getInode(id);
      return n && n.type === FileType.DIR ? n.parent : undefined;
    },
    async (parent, dirId) => {
      // Bounded: a tree watch names a subdirectory of a huge directory only if it is among the first 16k.
      let after = 0n;
      for (let seen = 0; seen < 16384; ) {
        const rows = await this.ns.listDir(parent, after, 1024);
        for (const r of rows) if (r.fileId === dirId) return Buffer.from(r.name);
        if (rows.length < 1024) return undefined;
        seen += rows.length;
        after = rows[rows.length - 1]!.cookie;
      }
      return undefined;
    },
  );
  /** Chunks written UNSTABLE and not yet fsynced, per file (COMMIT syncs exactly these). */
  private readonly dirty = new Map<bigint, Set<number>>();
  /**
   * Write-behind: a chunk that an UNSTABLE write has just filled to its end (a sequential writer moved
   * past it) is fsynced in the background at once, so the disk works while the client keeps sending and
   * COMMIT finds little left to flush. Per file: chunk → the fsync in flight. Bounded per volume.
   */
  private readonly flushing = new Map<bigint, Map<number, Promise<void>>>();
  private flushesInFlight = 0;
  private static readonly MAX_BACKGROUND_FLUSHES = 4;
  private readonly background = new Set<Promise<void>>();
  /** Background trims of freed files, batched per turn (made on first use). */
  private trims: TrimBatcher | undefined;
  private closing: Promise<void> | undefined;
  /** Finished readdir pages, kept while the store is unchanged (listing-pages.ts). */
  private readonly pages = new ListingPages(() => this.kv.writeEpoch?.());
  /** Sequential readers' next ranges, for one-process stores only (read-ahead.ts). */
  private readonly readAhead: ReadAhead | undefined;
  /** SMB oplocks and leases that reads, writes and other protocols' opens break first (caching.ts). */
  private cachingBreaker: CachingBreaker | undefined;

  setCachingBreaker(b: CachingBreaker | undefined): void {
    this.cachingBreaker = b;
  }

  constructor(
    readonly kv: Kv,
    brick: Brick,
    readonly ns: Namespace,
    opts: VolumeOptions,
  ) {
    if (opts.writeBehindBytes && opts.writeBehindBytes > 0) {
      this.behind = new WriteBehindBrick(brick, {
        maxBytes: opts.writeBehindBytes,
        onError: () => {
          // Clients compare COMMIT's verifier with their WRITEs' and resend everything unstable.
          this.verifier = randomBytes(8);
        },
      });
      this.brick = this.behind;
    } else {
      this.brick = brick;
    }
    if (kv.writeEpoch?.() !== undefined) {
      this.readAhead = new ReadAhead(
        () => kv.writeEpoch?.(),
        (id, at, target) => this.fillRange(id, at, target, BACKGROUND),
      );
      // Removing a file that never had an object skips the trim (fresh-files.ts); one-process stores only.
      const fresh = new FreshFiles();
      this.fresh = fresh;
      this.brick = new FreshTrackingBrick(this.brick, fresh);
      ns.objectless = (id) => fresh.has(id);
    }
    // A brick that may have lost acknowledged UNSTABLE writes (a brick node's machine restarted) changes
    // the verifier before any request runs against it again: a COMMIT then either covered the data or
    // answers a new verifier, and clients resend what they wrote since their last good COMMIT.
    brick.onLostWrites?.(() => {
      this.verifier = randomBytes(8);
    });
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...opts.limits });
    this.codec = new HandleCodec(ns.vol.secret);
    for (const e of opts.exports) {
      if (this.exports.has(e.id)) throw new CoreError(Errc.INVAL, `duplicate export id ${e.id}`);
      this.exports.set(e.id, e);
    }
  }

  get record(): VolumeRecord {
    return this.ns.vol;
  }

  get chunkSize(): number {
    return this.ns.vol.chunkSize;
  }

  /** Ranges read ahead for sequential readers, served from read-ahead, dropped unused; undefined: off. */
  get readAheadStats(): Readonly<ReadAheadStats> | undefined {
    return this.readAhead?.stats;
  }

  /** Replays brick trims that a crash interrupted. Called once by the opener. */
  async recover(): Promise<number> {
    const jobs = await this.ns.pendingGc();
    // A few hundred at a time: their records are then dropped together (Namespace.finishGc batches them).
    for (let i = 0; i < jobs.length; i += 256) await Promise.all(jobs.slice(i, i + 256).map((j) => this.runGc(j)));
    return jobs.length;
  }

  // ---- handles and attributes ------------------------------------------------------------------------

  /** `known`: the handle of a file just created, which comes straight back (HandleCodec.mint). */
  private mint(exportId: number, n: Inode, known = false): Handle {
    const v = this.sharedView(n);
    if (!v) return this.codec.mint({ kind: n.type, exportId, fileId: n.id, gen: n.gen }, known);
    if (v.handle === undefined || v.exportId !== exportId || known) {
      v.handle = this.codec.mint({ kind: n.type, exportId, fileId: n.id, gen: n.gen }, known);
      v.exportId = exportId;
    }
    return v.handle;
  }

  private async resolve(h: Handle): Promise<Resolved> {
    this.checkOpen();
    const f = this.codec.parse(h);
    if (!this.exports.has(f.exportId)) throw new CoreError(Errc.STALE, 'export no longer configured');
    const n = await this.ns.getInode(f.fileId);
    if (!n || n.gen !== f.gen || n.type !== f.kind) throw new CoreError(Errc.STALE);
    return { f, n };
  }

  private async resolveDir(h: Handle): Promise<Resolved> {
    const r = await this.resolve(h);
    if (r.n.type !== FileType.DIR) throw new CoreError(Errc.NOTDIR);
    return r;
  }

  /**
   * What this volume derives from a shared inode (the frozen objects the namespace hands out for reads),
   * kept in the inode's memo slot: its Attr and its last minted handle. A listing of an unchanged
   * directory then converts and mints each entry once. An inode object never changes, so the memo is
   * exact and lives as long as the inode (the namespace's read cache bounds how many do). The shared
   * Attr is frozen. Transactions' private copies have no slot and are converted each time.
   */
  private sharedView(n: Inode): SharedView | undefined {
    const slot = derivedOf(n);
    if (!slot) return undefined;
    let v = slot[this.viewKey] as SharedView | undefined;
    if (!v) {
      const attr = this.makeAttr(n);
      Object.defineProperty(attr, ATTR_MEMO, { value: {}, enumerable: false });
      Object.freeze(attr.rdev);
      Object.freeze(attr);
      v = { attr, exportId: -1, handle: undefined };
      slot[this.viewKey] = v;
    }
    return v;
  }

  /** This volume's key in inode memo slots (volumes may share a namespace's inode objects in tests). */
  private readonly viewKey = `vol:${VIEW_KEYS++}`;

  toAttr(n: Inode): Attr {
    return this.sharedView(n)?.attr ?? this.makeAttr(n);
  }

  private makeAttr(n: Inode): Attr {
    let used = 0n;
    if (n.type === FileType.REG) used = (n.size + 4095n) & ~4095n;
    else if (n.type === FileType.DIR) used = 4096n;
    else if (n.type === FileType.LNK) used = n.size;
    return {
      type: n.type,
      mode: n.mode,
      nlink: n.nlink,
      uid: n.uid,
      gid: n.gid,
      size: n.size,
      used,
      rdev: { major: n.rdevMajor, minor: n.rdevMinor },
      fsid: this.ns.vol.fsid,
      fileId: n.id,
      atime: n.atime,
      mtime: n.mtime,
      ctime: n.ctime,
      birthTime: n.btime,
      change: n.change,
      dosAttrs: n.dosAttrs,
    };
  }

  private dirWcc(before: Inode, after: Inode): DirWcc {
    return { before: wcc(before), after: this.toAttr(after) };
  }

  private checkOpen(): void {
    if (this.closing) throw new CoreError(Errc.IO, 'volume closed');
  }

  // ---- exports ---------------------------------------------------------------------------------------

  /** Resolves the export's path inside the volume (as root, no permission checks). */
  private async exportRoot(exportId: number, fresh: boolean): Promise<Inode> {
    const exp = this.exports.get(exportId);
    if (!exp) throw new CoreError(Errc.NOENT, `no export with id ${exportId}`);
    const cached = fresh ? undefined : this.exportRoots.get(exportId);
    if (cached !== undefined) {
      const n = await this.ns.getInode(cached);
      if (n && n.type === FileType.DIR) return n;
    }
    let n = await this.ns.getInode(this.ns.vol.rootId);
    if (!n) throw new CoreError(Errc.IO, 'volume root missing');
    for (const part of exp.path.split('/')) {
      if (part === '' || part === '.') continue;
      const name = Buffer.from(part, 'utf8');
      if (part === '..') throw new CoreError(Errc.INVAL, `export path ${exp.path} contains '..'`);
      const ent = await this.ns.getDirent(n.id, name);
      if (!ent) throw new CoreError(Errc.NOENT, `export path ${exp.path} does not exist`);
      const c = await this.ns.getInode(ent.fileId);
      if (!c) throw new CoreError(Errc.NOENT, `export path ${exp.path} does not exist`);
      if (c.type !== FileType.DIR) throw new CoreError(Errc.NOTDIR, `export path ${exp.path} is not a directory`);
      n = c;
    }
    this.exportRoots.set(exportId, n.id);
    return n;
  }

  async rootHandle(exportId: number): Promise<Handle> {
    this.checkOpen();
    const n = await this.exportRoot(exportId, true);
    return this.mint(exportId, n);
  }

  // ---- attributes ------------------------------------------------------------------------------------

  async getattr(_cred: Cred, h: Handle): Promise<Attr> {
    return this.toAttr((await this.resolve(h)).n);
  }

  async setattr(cred: Cred, h: Handle, attrs: SetAttrs, guardCtime?: NsTime): Promise<{ before: WccAttr; after: Attr }> {
    const { f, n } = await this.resolve(h);
    return this.doSetattr(cred, f, n, attrs, guardCtime);
  }

  private async doSetattr(cred: Cred, f: HandleFields, n: Inode, attrs: SetAttrs, guardCtime?: NsTime): Promise<{ before: WccAttr; after: Attr }> {
    if (attrs.size !== undefined && attrs.size > this.limits.maxFileSize) throw new CoreError(Errc.FBIG);
    if (attrs.mode !== undefined && (attrs.mode & ~0o7777) !== 0) throw new CoreError(Errc.INVAL, 'mode has bits beyond 07777');
    const run = async () => {
      const out = await this.ns.setattr(cred, n.id, f.gen, attrs, guardCtime);
      if (out.gc) await this.runGcLocked(out.gc);
      if (this.hub.active) this.emitModified(out.after, changedBy(attrs, out.before, out.after));
      return { before: wcc(out.before), after: this.toAttr(out.after) };
    };
    // A size change must not interleave with a data write's brick I/O on this file.
    return attrs.size !== undefined ? this.gate.exclusive(n.id, run) : run();
  }

  async access(cred: Cred, h: Handle, wanted: number): Promise<{ granted: number; attr: Attr }> {
    const { n } = await this.resolve(h);
    return { granted: accessBits(cred, n, wanted), attr: this.toAttr(n) };
  }

  // ---- extended attributes ---------------------------------------------------------------------------

  /** The inode's attribute set, for a caller who may read the object (regular files and directories). */
  private async xattrsOf(cred: Cred, h: Handle): Promise<XattrList> {
    const { n } = await this.resolve(h);
    if (n.type !== FileType.REG && n.type !== FileType.DIR) return [];
    requirePerm(cred, n, R);
    // Read whether or not the inode's flag says there is a record: the flag only spares the delete when
    // the inode is freed (an older gateway may have rewritten the inode without it).
    return this.ns.getXattrs(n.id);
  }

  async getXattr(cred: Cred, h: Handle, name: Buffer): Promise<Buffer> {
    checkXattrName(name);
    const hit = (await this.xattrsOf(cred, h)).find(([k]) => k.equals(name));
    if (!hit) throw new CoreError(Errc.NOXATTR);
    return hit[1];
  }

  async listXattrs(cred: Cred, h: Handle): Promise<Buffer[]> {
    return (await this.xattrsOf(cred, h)).map(([k]) => k);
  }

  async setXattr(cred: Cred, h: Handle, name: Buffer, value: Buffer | undefined, how: XattrHow): Promise<{ before: WccAttr; after: Attr }> {
    checkXattrName(name);
    if (value && value.length > MAX_XATTR_VALUE) throw new CoreError(Errc.XATTR2BIG, `extended attribute value of ${value.length} bytes`);
    const { f, n } = await this.resolve(h);
    const out = await this.ns.setXattr(cred, n.id, f.gen, name, value, how);
    if (this.hub.active) this.emitModified(out.after, { ea: true });
    return { before: wcc(out.before), after: this.toAttr(out.after) };
  }

  async readlink(_cred: Cred, h: Handle): Promise<{ target: Buffer; attr: Attr }> {
    const { n } = await this.resolve(h);
    if (n.type !== FileType.LNK) throw new CoreError(Errc.BADTYPE, 'not a symlink');
    return { target: n.target ?? Buffer.alloc(0), attr: this.toAttr(n) };
  }

  // ---- lookup ----------------------------------------------------------------------------------------

  async lookup(cred: Cred, dir: Handle, name: Buffer): Promise<{ handle: Handle; attr: Attr; dirAttr: Attr }> {
    const { f, n: d } = await this.resolveDir(dir);
    if (name.length === 0) throw new CoreError(Errc.NOENT);
    checkName(name, this.limits.maxNameBytes);
    requirePerm(cred, d, X);
    let child: Inode | undefined;
    if (isDot(name)) child = d;
    else if (isDotDot(name)) {
      const root = await this.exportRoot(f.exportId, false);
      child = d.id === root.id || d.id === this.ns.vol.rootId ? d : await this.ns.getInode(d.parent);
      if (!child) throw new CoreError(Errc.STALE);
    } else {
      const ent = await this.ns.getDirent(d.id, name);
      if (!ent) throw noEntry();
      child = await this.ns.getInode(ent.fileId);
      if (!child) throw noEntry(); // removed between the two reads
      this.hub.noteName(d.id, name, child.id, child.type === FileType.DIR);
    }
    return { handle: this.mint(f.exportId, child), attr: this.toAttr(child), dirAttr: this.toAttr(d) };
  }

  /** See FileSystem.lookupFolded; the index is cluster/meta/fold-index.ts. */
  async lookupFolded(cred: Cred, dir: Handle, name: Buffer): Promise<{ handle: Handle; attr: Attr; dirAttr: Attr; name: Buffer } | undefined> {
    const { f, n: d } = await this.resolveDir(dir);
    checkName(name, this.limits.maxNameBytes);
    requirePerm(cred, d, X);
    if (!d.foldIndexed) {
      this.indexFolds(d);
      return undefined;
    }
    const folded = foldName(name);
    if (folded === undefined || isDot(name) || isDotDot(name)) throw new CoreError(Errc.NOENT);
    let after: Buffer | undefined;
    for (;;) {
      const rows = await foldCandidates(this.kv, d.id, folded, 8, after);
      for (const r of rows) {
        // A row is trusted only if the entry it names is there with the same cookie (fold-index.ts).
        const ent = await this.ns.getDirent(d.id, r.name);
        if (!ent || ent.cookie !== r.cookie) continue;
        const child = await this.ns.getInode(ent.fileId);
        if (!child) continue;
        this.hub.noteName(d.id, r.name, child.id, child.type === FileType.DIR);
        return { handle: this.mint(f.exportId, child), attr: this.toAttr(child), dirAttr: this.toAttr(d), name: Buffer.from(r.name) };
      }
      if (rows.length < 8) throw new CoreError(Errc.NOENT);
      after = rows[rows.length - 1]!.key;
    }
  }

  /** Directories whose folded-name index is being built, so one miss storm starts one build. */
  private readonly foldBuilds = new Set<bigint>();
  /** Where failed builds stopped, so the next one resumes there (bounded: forgotten beyond 1024). */
  private readonly foldProgress = new Map<bigint, { gen: number; after: bigint }>();

  private indexFolds(d: Inode): void {
    if (this.foldBuilds.has(d.id) || this.closing) return;
    this.foldBuilds.add(d.id);
    let at = this.foldProgress.get(d.id);
    if (!at || at.gen !== d.gen) at = { gen: d.gen, after: 0n };
    this.foldProgress.delete(d.id);
    const p = buildFoldIndex(this.kv, d.id, d.gen, () => this.closing !== undefined, at)
      .then(
        () => undefined,
        () => {
          // Tried again at the next miss, from here; meanwhile lookups scan.
          if (this.foldProgress.size >= 1024) this.foldProgress.delete(this.foldProgress.keys().next().value as bigint);
          this.foldProgress.set(d.id, at);
        },
      )
      .finally(() => {
        this.foldBuilds.delete(d.id);
        this.background.delete(p);
      });
    this.background.add(p);
  }

  // ---- data ------------------------------------------------------------------------------------------

  private async regular(h: Handle): Promise<Resolved> {
    const r = await this.resolve(h);
    if (r.n.type === FileType.DIR) throw new CoreError(Errc.ISDIR);
    if (r.n.type !== FileType.REG) throw new CoreError(Errc.INVAL, 'not a regular file');
    return r;
  }

  async read(cred: Cred, h: Handle, offset: bigint, count: number, signal?: AbortSignal, opts?: ReadOptions): Promise<ReadResult> {
    const pool = opts?.pool ?? bulkPool;
    const { n } = await this.regular(h);
    requireDataPerm(cred, n, R);
    if (this.cachingBreaker?.covers(n.id)) await this.cachingBreaker.breakFor(n.id, 'read', cred);
    if (offset < 0n || count < 0) throw new CoreError(Errc.INVAL);
    count = Math.min(count, this.limits.maxRead);
    if (offset >= n.size || count === 0) return { data: Buffer.alloc(0), eof: offset >= n.size, attr: this.toAttr(n) };
    const end = offset + BigInt(count) < n.size ? offset + BigInt(count) : n.size;
    const len = Number(end - offset);
    if (signal?.aborted) throw new CoreError(Errc.IO, 'aborted');
    const readAhead = opts?.readAhead === false ? undefined : this.readAhead;
    const ahead = readAhead?.begin(n.id, offset, len, pool);
    let ok = false;
    try {
      let data = ahead ? await ahead : undefined;
      if (!data) {
        // Pooled memory: READ-sized buffers churned per request would otherwise keep the GC busy. Every
        // byte of it is written (data or zeros), so no stale bytes of another file can leak.
        data = pool.take(len);
        try {
          await this.fillRange(n.id, offset, data);
        } catch (e) {
          pool.give(data);
          throw e;
        }
      }
      ok = true;
      const out = data;
      return { data: out, eof: end >= n.size, attr: this.toAttr(n), release: () => pool.give(out) };
    } finally {
      readAhead?.end(n.id, offset, end, ok, n.size, count, pool);
    }
  }

  /**
   * Reads [offset, offset + target.length) of file `id` into target, holes and object ends as zeros.
   * Settles only after every piece did, so on failure the caller may reuse `target` at once.
   */
  private async fillRange(id: bigint, offset: bigint, target: Buffer, hint?: ReadHint): Promise<void> {
    await allSettledOrThrow(
      splitRange(offset, target.length, this.chunkSize).map(async (p) => {
        const part = target.subarray(p.pos, p.pos + p.length);
        const got = await this.brick.readInto({ fileId: id, chunk: p.chunk }, p.offset, part, hint);
        if (got < p.length) part.fill(0, got); // holes and object ends below the file size
      }),
    );
  }

  async write(cred: Cred, h: Handle, offset: bigint, data: Buffer, stable: Stable, opts?: WriteOptions): Promise<WriteResult> {
    const { f, n } = await this.regular(h);
    requireDataPerm(cred, n, W);
    if (this.cachingBreaker?.covers(n.id)) await this.cachingBreaker.breakFor(n.id, 'write', cred);
    if (offset < 0n) throw new CoreError(Errc.INVAL);
    const count = Math.min(data.length, this.limits.maxWrite);
    const end = offset + BigInt(count);
    if (end > this.limits.maxFileSize) throw new CoreError(Errc.FBIG);
    if (count === 0) return { count, committed: stable, verifier: this.verifier, before: wcc(n), after: this.toAttr(n) };
    const buf = count === data.length ? data : data.subarray(0, count);
    const pieces = splitRange(offset, count, this.chunkSize);
    const behind = stable === Stable.UNSTABLE && opts?.retain ? this.behind : undefined;
    const out = await this.gate.shared(n.id, async () => {
      if (!behind || !this.queueWrite(behind, n.id, pieces, buf, opts!.retain!)) {
        // Every piece finishes (or fails) before returning, even when one fails early: the caller may
        // reuse `buf` as soon as this returns.
        await allSettledOrThrow(pieces.map((p) => this.brick.writeRange({ fileId: n.id, chunk: p.chunk }, p.offset, buf.subarray(p.pos, p.pos + p.length))));
      }
      try {
        return await this.ns.noteWrite(cred, n.id, f.gen, end);
      } catch (e) {
        // The file went away while its data was on the way: drop what we just wrote.
        if (e instanceof CoreError && e.errc === Errc.STALE) await this.brick.dropFrom(n.id, 0).catch(() => undefined);
        throw e;
      }
    });
    if (this.hub.active) this.emitModified(out.after, { mtime: true, size: out.after.size !== out.before.size });
    if (stable === Stable.UNSTABLE) {
      if (pieces.length) {
        let s = this.dirty.get(n.id);
        if (!s) this.dirty.set(n.id, (s = new Set()));
        for (const p of pieces) {
          if (p.offset + p.length === this.chunkSize && opts?.flushBehind !== false && this.flushesInFlight < Volume.MAX_BACKGROUND_FLUSHES) {
            s.delete(p.chunk);
            this.flushBehind(n.id, p.chunk);
          } else s.add(p.chunk);
        }
      }
    } else {
      const s = this.dirty.get(n.id);
      for (const p of pieces) s?.delete(p.chunk);
      await Promise.all([...pieces.map((p) => this.brick.fsync({ fileId: n.id, chunk: p.chunk })), this.kv.sync()]);
    }
    return {
      count,
      committed: stable === Stable.UNSTABLE ? Stable.UNSTABLE : Stable.FILE_SYNC,
      verifier: this.verifier,
      before: wcc(out.before),
      after: this.toAttr(out.after),
    };
  }

  async commit(_cred: Cred, h: Handle, _offset: bigint, _count: number): Promise<{ verifier: Buffer; before: WccAttr; after: Attr }> {
    const { n } = await this.resolve(h);
    // The whole file's unstable chunks (a superset of the range is allowed and cheaper to track).
    // Background flushes first: a failed one puts its chunk back in `dirty`, which is synced (and
    // reports the error) below.
    const inFlight = this.flushing.get(n.id);
    if (inFlight) await Promise.all(inFlight.values());
    // Data and metadata (the size the writes set) are flushed side by side: the reply needs both, and
    // neither has to be on disk before the other (until the reply, the client still holds the data).
    const s = this.dirty.get(n.id);
    if (s) this.dirty.delete(n.id);
    const syncs = s ? [...s].map((chunk) => this.brick.fsync({ fileId: n.id, chunk })) : [];
    try {
      await Promise.all([...syncs, this.kv.sync()]);
    } catch (e) {
      // Nothing is lost: the chunks stay dirty, so a retried COMMIT syncs them again.
      if (s) {
        const d = this.dirty.get(n.id);
        if (d) for (const c of s) d.add(c);
        else this.dirty.set(n.id, s);
      }
      throw e;
    }
    const cur = (await this.ns.getInode(n.id)) ?? n;
    return { verifier: this.verifier, before: wcc(cur), after: this.toAttr(cur) };
  }

  private flushBehind(fileId: bigint, chunk: number): void {
    let m = this.flushing.get(fileId);
    if (!m) this.flushing.set(fileId, (m = new Map()));
    this.flushesInFlight++;
    const p: Promise<void> = this.brick
      .fsync({ fileId, chunk })
      .catch(() => {
        // Not lost: COMMIT will fsync it again and report the failure to the client.
        let d = this.dirty.get(fileId);
        if (!d) this.dirty.set(fileId, (d = new Set()));
        d.add(chunk);
      })
      .finally(() => {
        this.flushesInFlight--;
        if (m!.get(chunk) === p) m!.delete(chunk);
        if (m!.size === 0 && this.flushing.get(fileId) === m) this.flushing.delete(fileId);
      });
    m.set(chunk, p);
  }

  /** Queues every piece of an UNSTABLE write (all or none); false when the queue has no room for it. */
  private queueWrite(behind: WriteBehindBrick, fileId: bigint, pieces: ReturnType<typeof splitRange>, buf: Buffer, retain: () => () => void): boolean {
    if (!behind.hasRoom(buf.length)) return false;
    this.fresh?.touch(fileId);
    const release = retain();
    let left = pieces.length;
    const done = (): void => {
      if (--left === 0) release();
    };
    for (const p of pieces) behind.queue({ fileId, chunk: p.chunk }, p.offset, buf.subarray(p.pos, p.pos + p.length), done);
    return true;
  }

  writeVerifier(): Buffer {
    return this.verifier;
  }

  // ---- trims -----------------------------------------------------------------------------------------

  private async runGcLocked(job: GcJob): Promise<void> {
    const cs = this.chunkSize;
    if (job.rec.freed) {
      await this.brick.dropFrom(job.fileId, 0);
      this.dirty.delete(job.fileId);
    } else {
      const t = chunkTail(job.rec.length, cs);
      if (t.lastLength > 0 && t.lastLength < cs) await this.brick.truncate({ fileId: job.fileId, chunk: t.lastChunk }, t.lastLength);
      await this.brick.dropFrom(job.fileId, t.firstDropped);
      const s = this.dirty.get(job.fileId);
      if (s) for (const c of s) if (c >= t.firstDropped) s.delete(c);
    }
    await this.ns.finishGc(job);
  }

  private runGc(job: GcJob): Promise<void> {
    return this.gate.exclusive(job.fileId, () => this.runGcLocked(job));
  }

  /**
   * Freed files' objects are dropped in the background, batched per turn (trim-batch.ts); the 'G'
   * record makes that crash-safe.
   */
  private gcLater(job: GcJob | undefined): void {
    if (!job) return;
    this.trims ??= new TrimBatcher({
      gate: this.gate,
      brick: this.brick,
      single: (j) => this.runGc(j),
      dropped: (id) => void this.dirty.delete(id),
      finish: (j) => this.ns.finishGc(j),
      track: (p) => {
        const q: Promise<void> = p.catch(() => undefined).finally(() => this.background.delete(q));
        this.background.add(q);
      },
    });
    this.trims.add(job);
  }

  /** Waits for background trims (tests). */
  async settle(): Promise<void> {
    while (this.background.size) await Promise.all([...this.background]);
  }

  // ---- namespace -------------------------------------------------------------------------------------

  private async makeNode(cred: Cred, dir: Handle, name: Buffer, spec: NewNode): Promise<NodeResult> {
    const { f, n: d } = await this.resolveDir(dir);
    checkNewName(name, this.limits.maxNameBytes);
    const id = await this.ns.allocId();
    // Before the create makes the file visible: no request can have written to it yet (fresh-files.ts).
    if (spec.type === FileType.REG) this.fresh?.add(id);
    let out: CreateOutcome;
    try {
      out = await this.ns.create(cred, d.id, f.gen, name, spec, id);
    } catch (e) {
      this.fresh?.take(id);
      throw e;
    }
    if (out.existed) this.fresh?.take(id);
    let node = out.node;
    if (out.existed && spec.createMode === CreateMode.UNCHECKED && spec.attrs?.size !== undefined) {
      // Like Linux nfsd: an UNCHECKED create of an existing file applies only the size (O_TRUNC).
      const fields: HandleFields = { kind: node.type, exportId: f.exportId, fileId: node.id, gen: node.gen };
      await this.doSetattr(cred, fields, node, { size: spec.attrs.size });
      node = (await this.ns.getInode(node.id)) ?? node;
    }
    if (!out.existed) this.hub.emit({ action: 'added', dirId: d.id, name, fileId: node.id, isDir: node.type === FileType.DIR });
    return { handle: this.mint(f.exportId, node, true), attr: this.toAttr(node), dir: this.dirWcc(out.dirBefore, out.dirAfter) };
  }

  async create(cred: Cred, dir: Handle, name: Buffer, args: CreateArgs): Promise<NodeResult> {
    if (args.mode === CreateMode.EXCLUSIVE && (!args.verifier || args.verifier.length !== 8)) {
      throw new CoreError(Errc.INVAL, 'exclusive create needs an 8-byte verifier');
    }
    if (args.attrs?.size !== undefined && args.attrs.size > this.limits.maxFileSize) throw new CoreError(Errc.FBIG);
    const spec: NewNode = { type: FileType.REG, createMode: args.mode };
    if (args.attrs) spec.attrs = args.attrs;
    if (args.mode === CreateMode.EXCLUSIVE) spec.verifier = args.verifier!;
    return this.makeNode(cred, dir, name, spec);
  }

  async mkdir(cred: Cred, dir: Handle, name: Buffer, attrs: SetAttrs): Promise<NodeResult> {
    return this.makeNode(cred, dir, name, { type: FileType.DIR, attrs: { ...attrs, size: undefined } });
  }

  async symlink(cred: Cred, dir: Handle, name: Buffer, target: Buffer, attrs: SetAttrs): Promise<NodeResult> {
    if (target.length === 0) throw new CoreError(Errc.INVAL, 'empty symlink target');
    if (target.length > MAX_SYMLINK_BYTES) throw new CoreError(Errc.NAMETOOLONG);
    if (target.includes(0)) throw new CoreError(Errc.INVAL, 'NUL in symlink target');
    return this.makeNode(cred, dir, name, { type: FileType.LNK, target: Buffer.from(target), attrs: { ...attrs, size: undefined } });
  }

  async mknod(cred: Cred, dir: Handle, name: Buffer, type: FileType, attrs: SetAttrs, rdev?: { major: number; minor: number }): Promise<NodeResult> {
    if (type !== FileType.BLK && type !== FileType.CHR && type !== FileType.SOCK && type !== FileType.FIFO) {
      throw new CoreError(Errc.BADTYPE, 'mknod makes devices, sockets and fifos only');
    }
    const spec: NewNode = { type, attrs: { ...attrs, size: undefined } };
    if ((type === FileType.BLK || type === FileType.CHR) && rdev) spec.rdev = rdev;
    return this.makeNode(cred, dir, name, spec);
  }

  async link(cred: Cred, file: Handle, dir: Handle, name: Buffer): Promise<LinkResult> {
    const fr = await this.resolve(file);
    const dr = await this.resolveDir(dir);
    if (fr.f.exportId !== dr.f.exportId) throw new CoreError(Errc.XDEV);
    checkNewName(name, this.limits.maxNameBytes);
    const out = await this.ns.link(cred, fr.n.id, fr.f.gen, dr.n.id, dr.f.gen, name);
    this.hub.emit({ action: 'added', dirId: dr.n.id, name, fileId: out.node.id, isDir: false });
    return { attr: this.toAttr(out.node), dir: this.dirWcc(out.dirBefore, out.dirAfter) };
  }

  async remove(cred: Cred, dir: Handle, name: Buffer): Promise<DirWcc> {
    return this.unlink(cred, dir, name, false);
  }

  async rmdir(cred: Cred, dir: Handle, name: Buffer): Promise<DirWcc> {
    return this.unlink(cred, dir, name, true);
  }

  private async unlink(cred: Cred, dir: Handle, name: Buffer, rmdir: boolean): Promise<DirWcc> {
    const { f, n: d } = await this.resolveDir(dir);
    if (rmdir && isDotDot(name)) throw new CoreError(Errc.NOTEMPTY);
    checkEntryName(name, this.limits.maxNameBytes);
    const ent = this.hub.interested(d.id) ? await this.ns.getDirent(d.id, name) : undefined;
    const out = await this.ns.unlink(cred, d.id, f.gen, name, rmdir);
    if (out.trimless !== undefined) this.fresh?.take(out.trimless);
    this.gcLater(out.gc);
    if (ent) this.hub.emit({ action: 'removed', dirId: d.id, name, fileId: ent.fileId, isDir: ent.type === FileType.DIR });
    return this.dirWcc(out.dirBefore, out.dirAfter);
  }

  async rename(cred: Cred, fromDir: Handle, fromName: Buffer, toDir: Handle, toName: Buffer): Promise<RenameResult> {
    const a = await this.resolveDir(fromDir);
    const b = await this.resolveDir(toDir);
    if (a.f.exportId !== b.f.exportId) throw new CoreError(Errc.XDEV);
    checkEntryName(fromName, this.limits.maxNameBytes);
    checkEntryName(toName, this.limits.maxNameBytes);
    const out = await this.ns.rename(cred, a.n.id, a.f.gen, fromName, b.n.id, b.f.gen, toName);
    if (out.trimless !== undefined) this.fresh?.take(out.trimless);
    this.gcLater(out.gc);
    if (this.hub.interested(a.n.id) || this.hub.interested(b.n.id)) {
      const ent = await this.ns.getDirent(b.n.id, toName);
      if (ent) {
        const isDir = ent.type === FileType.DIR;
        const same = a.n.id === b.n.id;
        this.hub.emit({ action: same ? 'renamed-old' : 'removed', dirId: a.n.id, name: fromName, fileId: ent.fileId, isDir });
        this.hub.emit({ action: same ? 'renamed-new' : 'added', dirId: b.n.id, name: toName, fileId: ent.fileId, isDir });
      }
    }
    return { fromDir: this.dirWcc(out.fromBefore, out.fromAfter), toDir: this.dirWcc(out.toBefore, out.toAfter) };
  }

  // ---- listing ---------------------------------------------------------------------------------------

  /** Constant per directory (cookies never expire): derived from the directory's generation and id. */
  cookieVerifier(n: Inode): Buffer {
    const v = Buffer.allocUnsafe(8); // pooled; both words written
    v.writeUInt32BE(n.gen >>> 0, 0);
    v.writeUInt32BE(Number(n.id & 0xffff_ffffn), 4);
    return v;
  }

  async readdir(cred: Cred, dir: Handle, cookie: bigint, verifier: Buffer | undefined, maxEntries: number, withAttrs: boolean): Promise<ReaddirResult> {
    const { f, n: d } = await this.resolveDir(dir);
    requirePerm(cred, d, R);
    if (maxEntries < 1) throw new CoreError(Errc.TOOSMALL);
    const verf = this.cookieVerifier(d);
    let after = cookie;
    if (cookie < FIRST_COOKIE) after = 0n; // 0 = start; 1 and 2 are the frontends' '.' and '..'
    else {
      if (!verifier || !verifier.equals(verf)) throw new CoreError(Errc.BAD_COOKIE, 'cookie verifier mismatch');
      if (cookie >= d.nextCookie) throw new CoreError(Errc.BAD_COOKIE, 'cookie never issued');
    }
    const limit = Math.min(maxEntries, MAX_READDIR_ENTRIES);
    const key = ListingPages.key(d.id, f.exportId, after, limit, withAttrs);
    const kept = this.pages.get(key);
    if (kept) return { entries: kept.entries.slice(), verifier: verf, eof: kept.eof, dirAttr: this.toAttr(d) };
    const epoch = this.pages.begin();
    const rows = await this.ns.listDir(d.id, after, limit + 1, d);
    const eof = rows.length <= limit;
    const page = eof ? rows : rows.slice(0, limit);
    const entries: DirEntry[] = [];
    // One batched read for the whole page's inodes.
    const nodes = withAttrs ? await this.ns.getInodes(page.map((r) => r.fileId)) : undefined;
    for (let i = 0; i < page.length; i++) {
      const r = page[i]!;
      const e: DirEntry = { name: r.name, fileId: r.fileId, cookie: r.cookie, type: r.type };
      this.hub.noteName(d.id, r.name, r.fileId, r.type === FileType.DIR);
      if (nodes) {
        const c = nodes[i];
        if (!c) continue; // removed since the range read
        e.attr = this.toAttr(c);
        e.handle = this.mint(f.exportId, c);
      }
      entries.push(e);
    }
    this.pages.put(key, epoch, { entries: entries.slice(), eof });
    return { entries, verifier: verf, eof, dirAttr: this.toAttr(d) };
  }

  async statfs(_cred: Cred, h: Handle): Promise<{ stat: StatFs; attr: Attr }> {
    const { n } = await this.resolve(h);
    const c = await this.brick.capacity();
    // Inodes live in the metadata store (no fixed table); each file's data costs objects on the brick's
    // filesystem, so its free-inode count is the honest limit. Filesystems without one (btrfs) report 0.
    const files = c.totalFiles > 0n ? c.totalFiles : 1n << 40n;
    const free = c.totalFiles > 0n ? c.freeFiles : 1n << 40n;
    return {
      stat: { totalBytes: c.totalBytes, freeBytes: c.freeBytes, availBytes: c.availBytes, totalFiles: files, freeFiles: free, availFiles: free },
      attr: this.toAttr(n),
    };
  }

  // ---- opens -----------------------------------------------------------------------------------------

  async open(cred: Cred, h: Handle, args: OpenArgs): Promise<{ open: OpenState; attr: Attr }> {
    const { n } = await this.resolve(h);
    // SMB breaks oplocks and leases itself before it opens (asynchronously); other protocols wait here.
    if (!args.cachingBroken && this.cachingBreaker?.covers(n.id)) await this.cachingBreaker.breakFor(n.id, 'open', undefined);
    let want = 0;
    if (args.access & 1) want |= R;
    if (args.access & 2) {
      if (n.type === FileType.DIR) want |= W | X;
      else want |= W;
    }
    if (want && !permits(cred, n, want)) throw new CoreError(Errc.ACCES);
    const entry = this.opens.add(n.id, args.access, args.shareAccess, args.owner);
    const open: VolumeOpen = Object.freeze({
      id: entry.id,
      fileId: n.id,
      handle: h,
      access: entry.access,
      shareAccess: entry.shareAccess,
      owner: entry.owner,
      entry,
    });
    return { open, attr: this.toAttr(n) };
  }

  private entryOf(open: OpenState): OpenEntry {
    const e = (open as VolumeOpen).entry;
    if (!e) throw new CoreError(Errc.INVAL, 'not an open of this volume');
    return e;
  }

  async release(open: OpenState): Promise<void> {
    // Locks taken through the open end with it (SMB CLOSE; NFSv4 checks LOCKS_HELD before it gets here).
    if (this.opens.has(this.entryOf(open))) this.locks.releaseOpen(open.id);
    const pending = this.opens.remove(this.entryOf(open))?.target;
    if (!pending) return;
    // The name may have been renamed or replaced since the delete was asked for: remove it only if it
    // still names this file.
    let still = false;
    try {
      const l = await this.lookup(ROOT_CRED, pending.dir, pending.name);
      still = (await this.resolve(l.handle)).n.id === open.fileId;
    } catch (e) {
      if (!(e instanceof CoreError)) throw e;
    }
    if (still) await this.unlink(pending.cred, pending.dir, pending.name, pending.isDir);
  }

  async setDeletePending(cred: Cred, open: OpenState, dir: Handle, name: Buffer, pending: boolean): Promise<void> {
    const entry = this.entryOf(open);
    if (!this.opens.has(entry)) throw new CoreError(Errc.EXPIRED, 'open no longer valid');
    if (!pending) {
      this.opens.setDeletePending(entry, undefined);
      return;
    }
    if (!(entry.access & 4)) throw new CoreError(Errc.ACCES, 'open without delete access');
    const { n } = await this.resolve(open.handle);
    const { n: d } = await this.resolveDir(dir);
    checkEntryName(name, this.limits.maxNameBytes);
    requirePerm(cred, d, W | X);
    if (!stickyAllows(cred, d, n)) throw new CoreError(Errc.ACCES);
    if (n.type === FileType.DIR && (await this.ns.listDir(n.id, 0n, 1)).length > 0) throw new CoreError(Errc.NOTEMPTY);
    this.opens.setDeletePending(entry, { target: { dir, name: Buffer.from(name), cred, isDir: n.type === FileType.DIR } });
    if (n.type === FileType.DIR) this.hub.emitSelf(n.id);
  }

  isDeletePending(fileId: bigint): boolean {
    return this.opens.isDeletePending(fileId);
  }

  // ---- change events ---------------------------------------------------------------------------------

  events(): FsEvents {
    return this.hub;
  }

  /** A file's data or attributes changed: tell the watchers of the directory it was last seen in. */
  private emitModified(n: Inode, changed: FsChanged): void {
    const at = this.hub.whereIs(n.id);
    if (at) this.hub.emit({ action: 'modified', dirId: at.dirId, name: at.name, fileId: n.id, isDir: n.type === FileType.DIR, changed });
  }

  // ---- byte-range locks ------------------------------------------------------------------------------

  private async lockTarget(h: Handle): Promise<bigint> {
    const { n } = await this.resolve(h);
    if (n.type === FileType.DIR) throw new CoreError(Errc.ISDIR);
    if (n.type !== FileType.REG) throw new CoreError(Errc.INVAL, 'locks need a regular file');
    return n.id;
  }

  async lock(_cred: Cred, h: Handle, req: LockRequest, opts?: WaitOptions): Promise<void> {
    return this.locks.lock(await this.lockTarget(h), req, opts);
  }

  async unlock(_cred: Cred, h: Handle, req: UnlockRequest): Promise<boolean> {
    return this.locks.unlock(await this.lockTarget(h), req);
  }

  async testLock(_cred: Cred, h: Handle, req: LockRequest): Promise<LockConflict | undefined> {
    return this.locks.test(await this.lockTarget(h), req);
  }

  releaseLocks(sel: { owner: LockOwner } | { openId: bigint }): number {
    return 'owner' in sel ? this.locks.releaseOwner(sel.owner) : this.locks.releaseOpen(sel.openId);
  }

  checkIo(fileId: bigint, probe: IoProbe): void {
    this.locks.checkIo(fileId, probe);
  }

  /** Opens currently registered (tests, diagnostics). */
  get openCount(): number {
    return this.opens.size;
  }

  // ---- lifecycle -------------------------------------------------------------------------------------

  async close(): Promise<void> {
    this.closing ??= (async () => {
      await this.settle();
      await Promise.all([...this.flushing.values()].flatMap((m) => [...m.values()]));
      this.readAhead?.clear();
      try {
        await this.kv.sync();
      } finally {
        await this.brick.close();
        await this.kv.close();
      }
    })();
    return this.closing;
  }
}
