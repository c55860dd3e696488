/**
 * Byte-range locks of one volume, shared by every protocol (SMB2 LOCK, NFSv4 LOCK/LOCKT/LOCKU, NLM), so a
 * lock taken over one protocol conflicts with the same range locked over another.
 *
 * API (one `ByteRangeLocks` per volume; the Volume exposes it through FileSystem.lock/unlock/testLock/
 * releaseLocks/checkIo, which resolve the handle to a fileId first):
 *
 *   lock(fileId, req, { wait?, signal? })  → Promise<void>; DENIED (CoreError) on conflict without wait;
 *                                             with wait, resolves when granted, rejects with the signal's
 *                                             reason on abort. DELAY when a limit is reached.
 *   unlock(fileId, req)                    → boolean: false = nothing to unlock (SMB: STATUS_RANGE_NOT_LOCKED;
 *                                             POSIX owners get true even for an unlocked range, as NFS wants)
 *   test(fileId, req)                      → LockConflict | undefined (the lock in the way: NFS4 LOCK4denied, NLM)
 *   checkIo(fileId, probe)                 → throws LOCKED if a read/write by `probe` hits a lock it may not pass
 *   releaseOwner(owner) / releaseOpen(id)  → drop all locks (and fail pending waits) of an owner or an open
 *                                             (SMB CLOSE, NFSv4 CLOSE / lease expiry / RELEASE_LOCKOWNER)
 *
 * Ranges are `offset` + `length` as bigint with `offset + length ≤ 2^64` (INVAL otherwise): "to end of file"
 * is `length = LOCK_RANGE_END - offset` (use `toEof(offset)`). Each protocol normalises its own encoding at
 * its edge (NFSv4 length all-ones → to EOF, length 0 → NFS4ERR_INVAL; SMB lengths as given, where a
 * zero-length lock is legal and conflicts only with a lock that strictly contains its offset).
 *
 * Two flavours of owner, chosen by the protocol:
 *  - POSIX (NFSv4, NLM): an owner holds a set of bytes, each shared or exclusive. A new lock replaces the
 *    owner's own locks on the overlap (upgrade / downgrade in place), touching ranges of the same type
 *    merge, and an unlock may cut any sub-range (splitting a lock). An owner never conflicts with itself.
 *    A request either happens whole or not at all.
 *  - Windows (SMB): locks stack and never merge; an unlock must name exactly the offset and length of a
 *    lock the same owner holds (exclusive ones first, as Windows does). The same owner *does* conflict with
 *    itself, except a shared lock over its own exclusive lock (MS-FSA 2.1.5.10 / Windows behaviour).
 * Across owners: overlapping ranges conflict when either is exclusive.
 *
 * Mandatory checks (`checkIo`): Windows locks are mandatory for everyone's I/O — a read is refused by
 * another open's exclusive lock, a write by any other open's lock and by the same open's shared lock.
 * POSIX locks are advisory to POSIX owners (NFS I/O passes them) but mandatory to Windows I/O (an SMB
 * client honours an NFS lock, as Samba does).
 *
 * Waiting: a blocked request queues per file (bounded) and is retried, in arrival order, whenever a lock of
 * that file goes away or shrinks. Abort through the AbortSignal (SMB2 CANCEL, connection loss).
 *
 * State lives in this process's memory. DESIGN invariant 10 wants reclaimable lock state in the cluster
 * store; that comes with the cluster store's lock records. Until then a gateway restart drops all locks
 * (NFSv4 clients reclaim them in the grace period; SMB handles do not survive a restart anyway).
 */
import { CoreError, Errc } from '../vfs/errors';

/** One past the last byte offset a lock can cover (2^64). */
export const LOCK_RANGE_END = 1n << 64n;

/** Length that reaches from `offset` to the end of the 64-bit file space. */
export function toEof(offset: bigint): bigint {
  return LOCK_RANGE_END - offset;
}

export type LockProtocol = 'smb' | 'nfs4' | 'nlm';

/** Who holds a lock. `key` is opaque and unique within its protocol (e.g. NFSv4 clientid + owner bytes). */
export interface LockOwner {
  readonly protocol: LockProtocol;
  readonly key: string;
}

export type LockFlavor = 'posix' | 'windows';

export function flavorOf(p: LockProtocol): LockFlavor {
  return p === 'smb' ? 'windows' : 'posix';
}

export interface LockRange {
  offset: bigint;
  length: bigint;
}

export interface LockRequest extends LockRange {
  owner: LockOwner;
  exclusive: boolean;
  /**
   * The open the lock is taken through (the core's OpenState.id): releaseOpen drops it, and for
   * Windows owners the mandatory I/O check tells "same open" apart. Optional for NLM.
   */
  openId?: bigint;
}

export interface UnlockRequest extends LockRange {
  owner: LockOwner;
}

/** A held lock, as reported to a conflicting requester. */
export interface LockConflict {
  readonly owner: LockOwner;
  readonly offset: bigint;
  readonly length: bigint;
  readonly exclusive: boolean;
}

/** An I/O to check against mandatory locks. */
export interface IoProbe extends LockRange {
  write: boolean;
  /** The open doing the I/O; none for NFSv3 (anonymous). */
  openId?: bigint;
  /** The owner doing the I/O (NFSv4 stateid's lock owner, or the SMB open's owner). */
  owner?: LockOwner;
}

export interface WaitOptions {
  /** Queue until the lock can be granted instead of failing with DENIED. */
  wait?: boolean;
  signal?: AbortSignal;
}

export interface LockLimits {
  /** Locks held in the whole volume. */
  maxLocks: number;
  /** Locks held on one file (conflict checks are linear in it). */
  maxLocksPerFile: number;
  /** Blocked requests waiting in the whole volume. */
  maxWaiters: number;
}

export const DEFAULT_LOCK_LIMITS: LockLimits = Object.freeze({ maxLocks: 1 << 20, maxLocksPerFile: 1 << 14, maxWaiters: 1 << 14 });

interface Held {
  owner: LockOwner;
  ownerId: string;
  flavor: LockFlavor;
  openId: bigint | undefined;
  start: bigint;
  /** Exclusive end. */
  end: bigint;
  exclusive: boolean;
}

interface Waiter {
  req: LockRequest;
  ownerId: string;
  resolve: () => void;
  reject: (e: unknown) => void;
  done: boolean;
  detach: () => void;
}

interface FileLocks {
  held: Held[];
  waiters: Waiter[];
}

function ownerIdOf(o: LockOwner): string {
  return `${o.protocol}\0${o.key}`;
}

function overlaps(aStart: bigint, aEnd: bigint, bStart: bigint, bEnd: bigint): boolean {
  return aStart < bEnd && bStart < aEnd;
}

function checkRange(r: LockRange, allowZero: boolean): void {
  if (r.offset < 0n || r.length < 0n || r.offset + r.length > LOCK_RANGE_END) throw new CoreError(Errc.INVAL, 'lock range outside 64-bit space');
  if (r.length === 0n && !allowZero) throw new CoreError(Errc.INVAL, 'zero-length lock');
}

function conflictOf(h: Held): LockConflict {
  return { owner: h.owner, offset: h.start, length: h.end - h.start, exclusive: h.exclusive };
}

export class ByteRangeLocks {
  private readonly files = new Map<bigint, FileLocks>();
  private lockCount = 0;
  private waiterCount = 0;
  readonly limits: LockLimits;

  constructor(limits: Partial<LockLimits> = {}) {
    this.limits = { ...DEFAULT_LOCK_LIMITS, ...limits };
  }

  /** Locks held in the volume (tests, metrics). */
  get size(): number {
    return this.lockCount;
  }

  /** Requests waiting in the volume (tests, metrics). */
  get waiting(): number {
    return this.waiterCount;
  }

  /** Locks held on a file, in no particular order (tests, diagnostics). */
  locksOf(fileId: bigint): LockConflict[] {
    return (this.files.get(fileId)?.held ?? []).map(conflictOf);
  }

  /** The first held lock that stops `req`, or undefined if it could be granted now. */
  test(fileId: bigint, req: LockRequest): LockConflict | undefined {
    const flavor = flavorOf(req.owner.protocol);
    checkRange(req, flavor === 'windows');
    const f = this.files.get(fileId);
    if (!f) return undefined;
    const h = this.blocker(f, req, ownerIdOf(req.owner), flavor);
    return h ? conflictOf(h) : undefined;
  }

  private blocker(f: FileLocks, req: LockRequest, ownerId: string, flavor: LockFlavor): Held | undefined {
    const start = req.offset;
    const end = req.offset + req.length;
    for (const h of f.held) {
      if (!h.exclusive && !req.exclusive) continue;
      if (!overlaps(start, end, h.start, h.end)) continue;
      if (h.ownerId === ownerId) {
        // POSIX owners replace their own locks; Windows owners conflict with themselves except for a
        // shared lock stacked on their own exclusive one (same open).
        if (flavor === 'posix') continue;
        if (h.exclusive && !req.exclusive && h.openId === req.openId) continue;
      }
      return h;
    }
    return undefined;
  }

  /**
   * Takes a lock. Without `wait`, a conflict throws DENIED at once. With `wait`, the promise settles when
   * the lock is granted (or the signal aborts: rejected with the signal's reason, nothing held).
   */
  lock(fileId: bigint, req: LockRequest, opts: WaitOptions = {}): Promise<void> {
    try {
      return this.lockOrWait(fileId, req, opts);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private lockOrWait(fileId: bigint, req: LockRequest, opts: WaitOptions): Promise<void> {
    const flavor = flavorOf(req.owner.protocol);
    checkRange(req, flavor === 'windows');
    const ownerId = ownerIdOf(req.owner);
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
    let f = this.files.get(fileId);
    const blocked = f ? this.blocker(f, req, ownerId, flavor) : undefined;
    // A request that arrives while others wait is not let past them if it would conflict with what they
    // want: it is checked against held locks only (simple FIFO fairness is left to the protocols' retries).
    if (!blocked) {
      this.grant(fileId, req, ownerId, flavor);
      return Promise.resolve();
    }
    if (!opts.wait) return Promise.reject(new CoreError(Errc.DENIED, 'range locked'));
    if (this.waiterCount >= this.limits.maxWaiters) return Promise.reject(new CoreError(Errc.DELAY, 'too many blocked lock requests'));
    if (!f) this.files.set(fileId, (f = { held: [], waiters: [] }));
    const file = f;
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        req,
        ownerId,
        resolve,
        reject,
        done: false,
        detach: () => undefined,
      };
      const signal = opts.signal;
      if (signal) {
        const onAbort = (): void => {
          if (w.done) return;
          this.dropWaiter(fileId, file, w);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        w.detach = () => signal.removeEventListener('abort', onAbort);
      }
      file.waiters.push(w);
      this.waiterCount++;
    });
  }

  private dropWaiter(fileId: bigint, f: FileLocks, w: Waiter): void {
    if (w.done) return;
    w.done = true;
    w.detach();
    const i = f.waiters.indexOf(w);
    if (i >= 0) f.waiters.splice(i, 1);
    this.waiterCount--;
    this.gc(fileId, f);
  }

  private gc(fileId: bigint, f: FileLocks): void {
    if (f.held.length === 0 && f.waiters.length === 0) this.files.delete(fileId);
  }

  /** Adds the lock (no conflict check: the caller did it). */
  private grant(fileId: bigint, req: LockRequest, ownerId: string, flavor: LockFlavor): void {
    let f = this.files.get(fileId);
    if (!f) this.files.set(fileId, (f = { held: [], waiters: [] }));
    const start = req.offset;
    const end = req.offset + req.length;
    if (flavor === 'windows') {
      this.checkRoom(f, 1);
      f.held.push({ owner: req.owner, ownerId, flavor, openId: req.openId, start, end, exclusive: req.exclusive });
      this.lockCount++;
      return;
    }
    // POSIX: cut the owner's own locks out of [start, end), then merge with touching same-type pieces.
    const mine: Held[] = [];
    const rest: Held[] = [];
    for (const h of f.held) (h.ownerId === ownerId ? mine : rest).push(h);
    const kept = cut(mine, start, end);
    let nStart = start;
    let nEnd = end;
    const out: Held[] = [];
    for (const h of kept) {
      if (h.exclusive === req.exclusive && h.start <= nEnd && nStart <= h.end) {
        if (h.start < nStart) nStart = h.start;
        if (h.end > nEnd) nEnd = h.end;
      } else out.push(h);
    }
    out.push({ owner: req.owner, ownerId, flavor, openId: req.openId ?? mine[0]?.openId, start: nStart, end: nEnd, exclusive: req.exclusive });
    this.checkRoom(f, out.length - mine.length);
    this.lockCount += out.length - mine.length;
    f.held = rest.concat(out);
    // A downgrade (exclusive → shared) may let waiters in.
    if (mine.some((h) => h.exclusive && overlaps(h.start, h.end, start, end)) && !req.exclusive) this.wake(fileId, f);
  }

  private checkRoom(f: FileLocks, more: number): void {
    if (more <= 0) return;
    if (f.held.length + more > this.limits.maxLocksPerFile || this.lockCount + more > this.limits.maxLocks) {
      throw new CoreError(Errc.DELAY, 'too many byte-range locks');
    }
  }

  /**
   * Removes a lock. Windows owners: the exact range of one held lock (exclusive first), else false.
   * POSIX owners: every byte of the owner's locks in the range (splitting as needed); always true.
   */
  unlock(fileId: bigint, req: UnlockRequest): boolean {
    const flavor = flavorOf(req.owner.protocol);
    checkRange(req, flavor === 'windows');
    const ownerId = ownerIdOf(req.owner);
    const f = this.files.get(fileId);
    if (!f) return flavor === 'posix';
    const start = req.offset;
    const end = req.offset + req.length;
    if (flavor === 'windows') {
      const match = (excl: boolean): number =>
        f.held.findIndex((h) => h.ownerId === ownerId && h.start === start && h.end === end && h.exclusive === excl);
      let i = match(true);
      if (i < 0) i = match(false);
      if (i < 0) return false;
      f.held.splice(i, 1);
      this.lockCount--;
    } else {
      const mine: Held[] = [];
      const rest: Held[] = [];
      for (const h of f.held) (h.ownerId === ownerId ? mine : rest).push(h);
      const kept = cut(mine, start, end);
      this.lockCount += kept.length - mine.length;
      f.held = rest.concat(kept);
    }
    this.wake(fileId, f);
    this.gc(fileId, f);
    return true;
  }

  /** Drops every lock of an owner in the volume (and fails its pending waits with EXPIRED). */
  releaseOwner(owner: LockOwner): number {
    const id = ownerIdOf(owner);
    return this.releaseWhere((h) => h.ownerId === id, (w) => w.ownerId === id);
  }

  /** Drops every lock taken through an open (and fails its pending waits with EXPIRED). */
  releaseOpen(openId: bigint): number {
    return this.releaseWhere((h) => h.openId === openId, (w) => w.req.openId === openId);
  }

  private releaseWhere(held: (h: Held) => boolean, waiting: (w: Waiter) => boolean): number {
    let n = 0;
    for (const [fileId, f] of [...this.files]) {
      for (const w of f.waiters.filter(waiting)) {
        this.dropWaiter(fileId, f, w);
        w.reject(new CoreError(Errc.EXPIRED, 'lock owner or open went away'));
      }
      const before = f.held.length;
      f.held = f.held.filter((h) => !held(h));
      const gone = before - f.held.length;
      if (gone > 0) {
        n += gone;
        this.lockCount -= gone;
        this.wake(fileId, f);
      }
      this.gc(fileId, f);
    }
    return n;
  }

  /** Grants whatever waiting requests of the file can now be granted, in arrival order. */
  private wake(fileId: bigint, f: FileLocks): void {
    for (const w of [...f.waiters]) {
      if (w.done) continue;
      const flavor = flavorOf(w.req.owner.protocol);
      if (this.blocker(f, w.req, w.ownerId, flavor)) continue;
      try {
        this.grant(fileId, w.req, w.ownerId, flavor);
      } catch (e) {
        this.dropWaiter(fileId, f, w);
        w.reject(e);
        continue;
      }
      this.dropWaiter(fileId, f, w);
      w.resolve();
    }
  }

  /**
   * Mandatory lock check for an I/O (see the file comment). Throws LOCKED with the range in the detail.
   * A zero-length I/O never conflicts.
   */
  checkIo(fileId: bigint, probe: IoProbe): void {
    const f = this.files.get(fileId);
    if (!f || f.held.length === 0 || probe.length <= 0n) return;
    const start = probe.offset;
    const end = probe.offset + probe.length;
    const probeWindows = probe.owner ? flavorOf(probe.owner.protocol) === 'windows' : false;
    const probeOwner = probe.owner ? ownerIdOf(probe.owner) : undefined;
    for (const h of f.held) {
      if (!overlaps(start, end, h.start, h.end)) continue;
      if (!h.exclusive && !probe.write) continue;
      if (h.flavor === 'posix') {
        // Advisory to non-Windows I/O; never against its own owner.
        if (!probeWindows) continue;
        if (probeOwner !== undefined && h.ownerId === probeOwner) continue;
      } else {
        // The same open passes its own locks, except a write over its own shared lock.
        const same = probe.openId !== undefined && h.openId === probe.openId && (probeOwner === undefined || probeOwner === h.ownerId);
        if (same && (h.exclusive || !probe.write)) continue;
      }
      throw new CoreError(Errc.LOCKED, `bytes ${h.start}-${h.end - 1n} locked`);
    }
  }
}

/** `locks` minus the bytes [start, end): pieces outside the range survive, pieces that span it split. */
function cut(locks: Held[], start: bigint, end: bigint): Held[] {
  const out: Held[] = [];
  for (const h of locks) {
    if (!overlaps(h.start, h.end, start, end)) {
      out.push(h);
      continue;
    }
    if (h.start < start) out.push({ ...h, end: start });
    if (h.end > end) out.push({ ...h, start: end });
  }
  return out;
}
