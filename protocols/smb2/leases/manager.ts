/**
 * Oplocks and leases of one SMB server (MS-SMB2 3.3.1.4 Lease Table, 3.3.5.9.8/.11 grants, 3.3.4.6/3.3.4.7
 * breaks, 3.3.5.22 acknowledgments, 3.3.2.1/3.3.2.5 break timers).
 *
 * Both are "caching holders" with the same three bits: a lease holds R/H/W as granted; a classic oplock is
 * mapped onto them (Level II = R, Exclusive = RW, Batch = RWH) so one set of conflict rules serves both:
 *  - an open of the file by anyone else (not an attribute-only open) takes W away (RWH → RH, RW → R,
 *    Batch/Exclusive → Level II); an overwriting open takes everything;
 *  - a share-mode conflict takes H away (the holder may close cached handles), then the open is retried;
 *  - a write by anyone else takes R and W (Level II → none);
 *  - a read by anyone else takes W (the holder may have dirty data).
 * A break from a state holding W or H needs the client's acknowledgment; the conflicting request waits
 * for it (an SMB CREATE asynchronously, with STATUS_PENDING) or for the break timeout, after which the
 * holder is left with nothing (3.3.2.5). Breaks from R alone are applied at once.
 *
 * Leases are per client (ClientGuid + LeaseKey) and shared by that client's opens of one file; oplocks
 * are per open. Other protocols reach in through the volume's caching breaker (cluster/vfs/volume.ts):
 * an NFSv3/v4 WRITE or READ, or an NFSv4 OPEN, of a file with SMB caching waits here for the break.
 *
 * State is in this process's memory, like the opens it belongs to.
 */
import type { Logger } from '../../rpc/log';
import { asyncRefusal, SmbError, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import { SMB2_DIALECT_202, SMB2_OPLOCK_LEVEL_BATCH, SMB2_OPLOCK_LEVEL_EXCLUSIVE, SMB2_OPLOCK_LEVEL_II, SMB2_OPLOCK_LEVEL_LEASE, SMB2_OPLOCK_LEVEL_NONE, isSmb3 } from '../constants';
import type { ConnectionState, Session, SmbOpen } from '../state';
import { fileIdBytes } from '../state';
import type { CreateContext, SMB2_CREATE_Request } from '../commands/create';
import { parseSmbPath } from '../tree/paths';
import type { CachingBreaker } from '../../../cluster/vfs/caching';
import {
  decodeLeaseRequest,
  encodeLeaseResponse,
  leaseAckResponseBody,
  leaseBreakBody,
  oplockBreakBody,
  LEASE_FLAG_BREAK_IN_PROGRESS,
  LEASE_H,
  LEASE_R,
  LEASE_W,
  type LeaseRequest,
} from './wire';

const STATUS_INVALID_OPLOCK_PROTOCOL = 0xc00000e3;
const STATUS_UNSUCCESSFUL = 0xc0000001;
const STATUS_REQUEST_NOT_ACCEPTED = 0xc00000d0;

/** Access bits that do not touch data: opens with only these break nothing (stat opens). */
const FILE_DELETE_ON_CLOSE = 0x1000;
const READ_CONTROL = 0x20000;
const ATTRIBUTE_ONLY = 0x80 /* FILE_READ_ATTRIBUTES */ | 0x100 /* FILE_WRITE_ATTRIBUTES */ | 0x100000 /* SYNCHRONIZE */;

export interface CachingOptions {
  /** Grant classic oplocks (Level II, Exclusive, Batch). */
  oplocks: boolean;
  /** Grant leases (and announce SMB2_GLOBAL_CAP_LEASING). */
  leases: boolean;
  /** How long a break waits for the acknowledgment (Windows: 35 s). */
  breakTimeoutMs: number;
}

/** Sends an unsolicited OPLOCK_BREAK message (connection.ts builds the header). */
export type BreakSender = (sessionId: bigint, encryptWith: Session | undefined, body: Buffer) => void;

interface FileCaching {
  readonly owner: CachingManager;
  readonly fileId: bigint;
  readonly table: Map<bigint, FileCaching>;
  /** Every SMB open of the file (a lease holding W must be alone with its own opens). */
  readonly opens: Set<SmbOpen>;
  readonly holders: Set<Holder>;
}

interface HolderBase {
  file: FileCaching;
  state: number;
  breaking: boolean;
  breakTo: number;
  /** A further break that arrived while one was outstanding. */
  pendingTo: number | undefined;
  waiters: Array<() => void>;
  timer: NodeJS.Timeout | undefined;
  opens: Set<SmbOpen>;
}

interface Lease extends HolderBase {
  kind: 'lease';
  id: string;
  key: Buffer;
  version: 1 | 2;
  epoch: number;
  parentKey: Buffer | undefined;
  conn: ConnectionState;
  /** Path of the first open (a lease key names one file). */
  share: object;
  path: string;
}

interface Oplock extends HolderBase {
  kind: 'oplock';
  open: SmbOpen;
}

type Holder = Lease | Oplock;
export type { Holder as CachingHolder, FileCaching };

export interface CachingGrant {
  oplockLevel: number;
  context?: CreateContext;
}

function oplockBits(level: number): number {
  if (level === SMB2_OPLOCK_LEVEL_BATCH) return LEASE_R | LEASE_W | LEASE_H;
  if (level === SMB2_OPLOCK_LEVEL_EXCLUSIVE) return LEASE_R | LEASE_W;
  if (level === SMB2_OPLOCK_LEVEL_II) return LEASE_R;
  return 0;
}

function oplockLevelOf(bits: number): number {
  if (bits & LEASE_W) return bits & LEASE_H ? SMB2_OPLOCK_LEVEL_BATCH : SMB2_OPLOCK_LEVEL_EXCLUSIVE;
  return bits & LEASE_R ? SMB2_OPLOCK_LEVEL_II : SMB2_OPLOCK_LEVEL_NONE;
}

/** Lease states a server grants: R, RH, RW, RWH (H or W without R is not a caching state). */
function grantable(state: number): number {
  return state & LEASE_R ? state : 0;
}

/** Forgets the oplock or lease of a closed open (any close path: CLOSE, logoff, disconnect). */
export function releaseCaching(o: SmbOpen): void {
  o.cachingFile?.owner.release(o);
}

export class CachingManager {
  private readonly leases = new Map<string, Lease>();
  private readonly files = new WeakMap<object, Map<bigint, FileCaching>>();
  private readonly breakers = new WeakSet<object>();
  /** Connections of each client (ClientGuid hex) that hold or held leases: where lease breaks go. */
  private readonly clientConns = new Map<string, Set<ConnectionState>>();

  constructor(
    readonly opts: CachingOptions,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.opts.leases || this.opts.oplocks;
  }

  /** Leases may be granted on this connection (2.1 and later, NEGOTIATE announced LEASING). */
  leasing(conn: ConnectionState): boolean {
    return this.opts.leases && conn.dialect !== SMB2_DIALECT_202;
  }

  private leaseRequest(ctx: Smb2Context, req: SMB2_CREATE_Request): LeaseRequest | undefined {
    if (req.requestedOplockLevel !== SMB2_OPLOCK_LEVEL_LEASE || !this.leasing(ctx.conn)) return undefined;
    const c = req.context('RqLs');
    if (!c) return undefined;
    return decodeLeaseRequest(c.data, isSmb3(ctx.conn.dialect));
  }

  private leaseId(conn: ConnectionState, key: Buffer): string {
    return conn.clientGuid.toString('hex') + key.toString('hex');
  }

  /**
   * Before anything is created: a lease key this client holds for another file (none of the lease's opens
   * has this name, case aside) is INVALID_PARAMETER (3.3.5.9.8). grant() checks the file itself after.
   */
  checkLeaseKey(ctx: Smb2Context, req: SMB2_CREATE_Request): void {
    let lr: LeaseRequest | undefined;
    let path: string;
    try {
      lr = this.leaseRequest(ctx, req);
      if (!lr) return;
      path = parseSmbPath(req.name).components.join('\\').toLowerCase();
    } catch {
      return;
    }
    const l = this.leases.get(this.leaseId(ctx.conn, lr.key));
    if (!l || l.opens.size === 0) return;
    if (![...l.opens].some((o) => o.tree.share === ctx.tree!.share && o.path.toLowerCase() === path)) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'lease key in use for another file');
  }

  private fileOf(fs: object, fileId: bigint, create: boolean): FileCaching | undefined {
    let t = this.files.get(fs);
    if (!t) {
      if (!create) return undefined;
      this.files.set(fs, (t = new Map()));
      this.installBreaker(fs, t);
    }
    let f = t.get(fileId);
    if (!f && create) t.set(fileId, (f = { owner: this, fileId, table: t, opens: new Set(), holders: new Set() }));
    return f;
  }

  private dropFileIfIdle(f: FileCaching): void {
    if (f.opens.size === 0 && f.holders.size === 0) f.table.delete(f.fileId);
  }

  /** Other protocols' reads, writes and opens break SMB caching through the volume (if it supports it). */
  private installBreaker(fs: object, t: Map<bigint, FileCaching>): void {
    const v = fs as { setCachingBreaker?: (b: CachingBreaker) => void };
    if (typeof v.setCachingBreaker !== 'function' || this.breakers.has(fs)) return;
    this.breakers.add(fs);
    v.setCachingBreaker({
      covers: (fileId) => (t.get(fileId)?.holders.size ?? 0) > 0,
      breakFor: async (fileId, why, cred) => {
        const f = t.get(fileId);
        if (!f) return;
        // The holder's own reads and writes (same tree credential) do not break its caching.
        const others = [...f.holders].filter((h) => !cred || ![...h.opens].some((o) => o.tree.cred === cred));
        const take = why === 'write' ? LEASE_R | LEASE_W | LEASE_H : LEASE_W;
        const waits = this.breakAll(others, (s) => s & ~take, true);
        await Promise.all(waits);
      },
    });
  }

  /**
   * Before an SMB CREATE opens an existing file: break what the new open conflicts with and wait for the
   * acknowledgments (asynchronously when the request can go async).
   */
  async beforeOpen(ctx: Smb2Context, fs: object, fileId: bigint, req: SMB2_CREATE_Request, desired: number, overwrite: boolean): Promise<void> {
    const f = this.fileOf(fs, fileId, false);
    if (!f || f.holders.size === 0) return;
    // Stat opens break nothing: attribute access only (for leases READ_CONTROL too, as Windows).
    const statForOplocks = (desired & ~ATTRIBUTE_ONLY) === 0;
    const statForLeases = (desired & ~(ATTRIBUTE_ONLY | READ_CONTROL)) === 0;
    if (!overwrite && statForOplocks && statForLeases) return;
    const mine = this.requesterLease(ctx, req);
    const others = (): Holder[] =>
      [...f.holders].filter((h) => (h.kind === 'oplock' ? overwrite || !statForOplocks : h.id !== mine && (overwrite || !statForLeases)));
    // A delete-on-close open also takes handle caching (the holder closes its cached handles so the
    // delete can go ahead), and waits for it.
    const forDelete = (req.createOptions & FILE_DELETE_ON_CLOSE) !== 0;
    if (!overwrite) {
      await this.wait(ctx, this.breakAll(others(), (s) => s & ~LEASE_W & (forDelete ? ~LEASE_H : ~0), forDelete));
      return;
    }
    // Overwrite: everything goes. A holder already breaking is first taken to R (its break queues behind
    // the outstanding one, as Windows does), then the truncation takes R without an acknowledgment.
    const waits = this.breakAll(others(), () => 0, false, LEASE_R);
    if (waits.length === 0) return;
    await this.wait(ctx, waits);
    // (The truncation's break continues the series the overwrite started: same lease epoch.)
    await this.wait(ctx, this.breakAll(others().filter((h) => !h.breaking), () => 0, false, undefined, true));
  }

  /**
   * A share-mode conflict on open: break handle caching of the others so they can close cached handles
   * (3.3.5.9, MS-FSA "sharing violation" break). True when something was broken (retry the open).
   */
  async breakHandles(ctx: Smb2Context, fs: object, fileId: bigint, req: SMB2_CREATE_Request): Promise<boolean> {
    const f = this.fileOf(fs, fileId, false);
    if (!f) return false;
    const mine = this.requesterLease(ctx, req);
    const others = [...f.holders].filter((h) => (h.kind === 'oplock' || h.id !== mine) && h.state & LEASE_H);
    if (others.length === 0) return false;
    const waits = this.breakAll(others, (s) => s & ~LEASE_H);
    await this.wait(ctx, waits);
    return true;
  }

  private requesterLease(ctx: Smb2Context, req: SMB2_CREATE_Request): string | undefined {
    try {
      const lr = this.leaseRequest(ctx, req);
      return lr ? this.leaseId(ctx.conn, lr.key) : undefined;
    } catch {
      return undefined;
    }
  }

  private async wait(ctx: Smb2Context, waits: Promise<void>[]): Promise<void> {
    if (waits.length === 0) return;
    const why = ctx.goAsync();
    if (why !== 'async' && why !== 'not-last') throw asyncRefusal(why);
    const signal = ctx.signal;
    if (signal.aborted) throw signal.reason;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        Promise.all(waits),
        new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Breaks each holder to `to(state)` where that is less; returns the waits for acknowledgments. The
   * requester waits (as Windows) for holders giving up W (dirty data), or for all of them with `waitAll`. A holder already breaking gets the new target once its break is
   * acknowledged (`whileBreaking` caps it, default `to`).
   */
  private breakAll(hs: Holder[], to: (state: number) => number, waitAll = false, whileBreaking?: number, chained = false): Promise<void>[] {
    const waits: Promise<void>[] = [];
    for (const h of hs) {
      if (h.breaking) {
        const target = whileBreaking !== undefined ? h.breakTo & whileBreaking : to(h.breakTo);
        if (h.breakTo & ~target) h.pendingTo = (h.pendingTo ?? h.breakTo) & target;
        // An outstanding break from W holds up every conflicting request; one from R/H does not.
        if (!(h.state & LEASE_W || waitAll)) continue;
      } else {
        const target = to(h.state);
        if ((h.state & ~target) === 0) continue;
        const hadW = (h.state & LEASE_W) !== 0;
        this.startBreak(h, target, chained);
        if (!h.breaking || !(hadW || waitAll)) continue;
      }
      waits.push(new Promise<void>((resolve) => h.waiters.push(resolve)));
    }
    return waits;
  }

  private startBreak(h: Holder, target: number, chained = false): void {
    const ack = (h.state & (LEASE_W | LEASE_H)) !== 0;
    const from = h.state;
    if (h.kind === 'lease') {
      // The epoch moves once per series of breaks: one queued behind an outstanding break, or the
      // truncation's break after an overwrite's, keeps it (what Windows does, per smbtorture).
      if (h.version === 2 && !chained) h.epoch = (h.epoch + 1) & 0xffff;
      // A lease state is R, RH, RW or RWH: breaking to H alone leaves nothing worth keeping.
      target = grantable(target);
      this.sendLeaseBreak(h, from, target, ack);
    } else {
      // An oplock breaks to Level II or to none, never to Exclusive.
      target &= LEASE_R;
      this.sendOplockBreak(h, oplockLevelOf(target));
    }
    if (!ack) {
      h.state = target;
      this.afterStateChange(h);
      return;
    }
    h.breaking = true;
    h.breakTo = target;
    h.timer = setTimeout(() => {
      // 3.3.2.1 / 3.3.2.5: no acknowledgment in time, the holder keeps nothing.
      this.log.debug({ kind: h.kind, state: h.state }, 'smb: break acknowledgment timed out');
      this.finishBreak(h, 0);
    }, this.opts.breakTimeoutMs);
    h.timer.unref?.();
  }

  private finishBreak(h: Holder, state: number): void {
    if (h.timer) clearTimeout(h.timer);
    h.timer = undefined;
    h.breaking = false;
    h.state = state;
    const more = h.pendingTo;
    h.pendingTo = undefined;
    if (more !== undefined && h.state & ~more && h.file.holders.has(h)) {
      // The next break goes out after the acknowledgment's response; the waiters wait for it too.
      h.breaking = true;
      h.breakTo = h.state;
      setImmediate(() => {
        h.breaking = false;
        if (!h.file.holders.has(h) || !(h.state & ~more)) return this.finishBreak(h, h.state);
        this.startBreak(h, more, true);
        if (!h.breaking) this.finishBreak(h, h.state);
      });
      return;
    }
    for (const w of h.waiters.splice(0)) w();
    this.afterStateChange(h);
  }

  private afterStateChange(h: Holder): void {
    if (h.kind === 'oplock' && h.state === 0 && !h.breaking) {
      h.file.holders.delete(h);
      if (h.open.caching === h) h.open.caching = undefined;
    }
  }

  private sendLeaseBreak(l: Lease, from: number, to: number, ack: boolean): void {
    const body = leaseBreakBody({ epoch: l.version === 2 ? l.epoch : 0, ackRequired: ack, key: l.key, current: from, next: to });
    const o = [...l.opens][0];
    const s = o?.tree.session;
    const enc = s && (s.encryptData || o!.tree.encryptData) && s.encryptionKey ? s : undefined;
    this.clientConnection(l).sendBreak?.(0n, enc, body);
  }

  /**
   * A lease belongs to the client, not to a connection: its breaks go to the client's oldest connection
   * still up (as Windows, per smbtorture), else to the last one that opened under the key.
   */
  private clientConnection(l: Lease): ConnectionState {
    const guid = l.id.slice(0, 32);
    const set = this.clientConns.get(guid);
    let best: ConnectionState | undefined;
    if (set) {
      for (const c of [...set]) {
        if (c.sessions.size === 0) set.delete(c);
        else if (!best || c.id < best.id) best = c;
      }
      if (set.size === 0) this.clientConns.delete(guid);
    }
    return best ?? l.conn;
  }

  private noteClientConnection(conn: ConnectionState): void {
    const guid = conn.clientGuid.toString('hex');
    let set = this.clientConns.get(guid);
    if (!set) this.clientConns.set(guid, (set = new Set()));
    for (const c of set) if (c.sessions.size === 0) set.delete(c);
    set.add(conn);
  }

  private sendOplockBreak(h: Oplock, level: number): void {
    const o = h.open;
    const s = o.tree.session;
    const enc = (s.encryptData || o.tree.encryptData) && s.encryptionKey ? s : undefined;
    h.open.conn?.sendBreak?.(s.id, enc, oplockBreakBody(level, fileIdBytes(o)));
  }

  /**
   * Before an SMB WRITE: every other holder on the file (other leases of the same client too, and other
   * opens' oplocks) loses its caching; waits for the acknowledgments of those that held W or H.
   */
  async beforeWrite(o: SmbOpen): Promise<void> {
    const f = o.cachingFile;
    if (!f || f.holders.size === 0) return;
    // A Level II oplock is broken even by its own open's write (an oplock, unlike a lease, is per open
    // and Level II promises no writes at all); Exclusive and Batch allow their own.
    const others = [...f.holders].filter((h) => h !== o.caching || (h.kind === 'oplock' && !(h.state & LEASE_W)));
    await Promise.all(this.breakAll(others, () => 0));
  }

  /** After a successful CREATE: the oplock or lease for the new open, and the response's lease context. */
  grant(ctx: Smb2Context, req: SMB2_CREATE_Request, fs: object, o: SmbOpen): CachingGrant {
    if (!this.enabled || !o.core) return { oplockLevel: SMB2_OPLOCK_LEVEL_NONE };
    let lr: LeaseRequest | undefined;
    try {
      lr = this.leaseRequest(ctx, req);
    } catch {
      lr = undefined;
    }
    if (lr) {
      // 3.3.5.9.8: a lease key names one file (directories included).
      const l = this.leases.get(this.leaseId(ctx.conn, lr.key));
      if (l && (l.file.fileId !== o.core.fileId || l.file.table !== this.files.get(fs))) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'lease key in use for another file');
    }
    // No directory leases (SMB2_GLOBAL_CAP_DIRECTORY_LEASING is not offered), no oplocks on directories.
    if (o.kind !== 'file') return { oplockLevel: SMB2_OPLOCK_LEVEL_NONE };
    const f = this.fileOf(fs, o.core.fileId, true)!;
    f.opens.add(o);
    o.conn = ctx.conn;
    o.cachingFile = f;
    if (lr) return this.grantLease(ctx, f, o, lr);
    const level = req.requestedOplockLevel;
    if (!this.opts.oplocks || level === SMB2_OPLOCK_LEVEL_NONE || level === SMB2_OPLOCK_LEVEL_LEASE || !oplockBits(level)) return { oplockLevel: SMB2_OPLOCK_LEVEL_NONE };
    // Exclusive and Batch only for a lone open; otherwise Level II, and none while someone holds W or is breaking.
    // None beside a holder of W (unbroken), one breaking, or a lease caching handles (as Windows).
    const blocked = [...f.holders].some((h) => h.state & LEASE_W || h.breaking || (h.kind === 'lease' && h.state & LEASE_H));
    if (blocked) return { oplockLevel: SMB2_OPLOCK_LEVEL_NONE };
    const alone = f.opens.size === 1;
    const bits = alone ? oplockBits(level) : LEASE_R;
    const h: Oplock = { kind: 'oplock', file: f, state: bits, breaking: false, breakTo: 0, pendingTo: undefined, waiters: [], timer: undefined, opens: new Set([o]), open: o };
    f.holders.add(h);
    o.caching = h;
    return { oplockLevel: oplockLevelOf(bits) };
  }

  private grantLease(ctx: Smb2Context, f: FileCaching, o: SmbOpen, lr: LeaseRequest): CachingGrant {
    this.noteClientConnection(ctx.conn);
    const id = this.leaseId(ctx.conn, lr.key);
    let l = this.leases.get(id);
    let want = grantable(lr.state);
    // W only when every open of the file belongs to this lease.
    const foreign = [...f.opens].some((x) => x !== o && (x.caching === undefined || x.caching !== l) && (x.grantedAccess & ~(ATTRIBUTE_ONLY | READ_CONTROL)) !== 0);
    if (foreign) want &= ~LEASE_W;
    for (const h of f.holders) {
      if (h === l) continue;
      // Nothing while another holder still holds W or is breaking (a stat open did not break it); W only
      // when no one else caches; beside a classic oplock a lease gets R at most (as Windows).
      if (h.state & LEASE_W || h.breaking) want = 0;
      else if (h.kind === 'oplock' && h.state) want &= LEASE_R;
      else if (h.state) want &= ~LEASE_W;
    }
    if (!l) {
      l = {
        kind: 'lease',
        id,
        key: lr.key,
        version: lr.version,
        epoch: lr.version === 2 ? (lr.epoch + 1) & 0xffff : 0,
        parentKey: lr.parentKey,
        conn: ctx.conn,
        share: ctx.tree!.share,
        path: o.path,
        file: f,
        state: want,
        breaking: false,
        breakTo: 0,
        pendingTo: undefined,
        waiters: [],
        timer: undefined,
        opens: new Set(),
      };
      this.leases.set(id, l);
      f.holders.add(l);
    } else {
      l.conn = ctx.conn;
      // Upgrade when not breaking, only to a superset of the current state and only if all of it can be
      // granted; otherwise the state stays (never a downgrade, never a partial upgrade).
      const asked = grantable(lr.state);
      if (!l.breaking && want === asked && (want & l.state) === l.state && want !== l.state) {
        l.state = want;
        if (l.version === 2) l.epoch = (l.epoch + 1) & 0xffff;
      }
    }
    l.opens.add(o);
    o.caching = l;
    const data = encodeLeaseResponse({ version: l.version, key: l.key, state: l.state, flags: l.breaking ? LEASE_FLAG_BREAK_IN_PROGRESS : 0, parentKey: l.parentKey, epoch: l.epoch });
    return { oplockLevel: SMB2_OPLOCK_LEVEL_LEASE, context: { name: 'RqLs', data } };
  }

  /** The open is gone (CLOSE, logoff, disconnect). */
  release(o: SmbOpen): void {
    const f = o.cachingFile;
    if (!f) return;
    o.cachingFile = undefined;
    f.opens.delete(o);
    const h = o.caching;
    o.caching = undefined;
    if (h) {
      h.opens.delete(o);
      if (h.opens.size === 0) {
        f.holders.delete(h);
        if (h.kind === 'lease' && this.leases.get(h.id) === h) this.leases.delete(h.id);
        // Whoever waits for this break no longer needs the acknowledgment.
        if (h.breaking || h.waiters.length) {
          h.pendingTo = undefined;
          this.finishBreak(h, 0);
        }
      }
    }
    this.dropFileIfIdle(f);
  }

  /** 3.3.5.22.2 Lease Break Acknowledgment. */
  ackLease(conn: ConnectionState, key: Buffer, state: number): Buffer {
    const l = this.leases.get(this.leaseId(conn, key));
    if (!l) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, 'unknown lease key');
    if (!l.breaking) throw new SmbError(STATUS_UNSUCCESSFUL, 'lease not breaking');
    // The lease stays breaking: the client may acknowledge again with an acceptable state.
    if (state & ~l.breakTo) throw new SmbError(STATUS_REQUEST_NOT_ACCEPTED, 'acknowledged more than the break leaves');
    this.finishBreak(l, state);
    return leaseAckResponseBody(l.key, state);
  }

  /** 3.3.5.22.1 Oplock Break Acknowledgment. */
  ackOplock(o: SmbOpen, level: number): Buffer {
    const h = o.caching;
    if (!h || h.kind !== 'oplock' || !h.breaking) throw new SmbError(STATUS_INVALID_OPLOCK_PROTOCOL, 'oplock not breaking');
    const bits = oplockBits(level);
    if (level !== SMB2_OPLOCK_LEVEL_NONE && (level !== SMB2_OPLOCK_LEVEL_II || (bits & ~h.breakTo) !== 0)) {
      h.pendingTo = undefined;
      this.finishBreak(h, 0);
      throw new SmbError(STATUS_INVALID_OPLOCK_PROTOCOL, 'acknowledged level above the break');
    }
    this.finishBreak(h, bits);
    return oplockBreakBody(oplockLevelOf(h.state), fileIdBytes(o));
  }
}
