/**
 * One NFSv4 server instance: the export registry and pseudo root, the client/session/open-state tables,
 * lease expiry, and the limits it offers (channel attributes, lease time, minor versions). COMPOUNDs
 * (compound.ts) run against it; operations reach everything through the compound context.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { exportAccess, squashCred, type ExportConfig } from '../../cluster/vfs/exports';
import { handleExportId } from '../../cluster/vfs/handle';
import { DEFAULT_LIMITS } from '../../cluster/vfs/volume';
import { FileType, type Attr, type Cred, type FsLimits, type StatFs } from '../../cluster/vfs/types';
import type { NfsExports } from '../nfs3/exports';
import { noopLogger, type Logger } from '../rpc/log';
import { AUTH_SYS, type RpcAuth, type RpcCallContext } from '../rpc/types';
import { needsStatfs, type AttrSource } from './attrs';
import { PSEUDO_FSID, PSEUDO_ROOT_FH, PSEUDO_ROOT_FILEID, pseudoLeafFileid, type Fh, type FsFh } from './fh';
import { ClientTable, type ClientRecord } from './state/clients';
import { SessionTable, type Session } from './state/sessions';
import type { RpcBackchannel } from '../rpc/backchannel';
import { StateTable, type LockStateRec, type OpenStateRec } from './state/stateids';
import { Nfs4Error } from './errors';
import { DEFAULT_IDMAP, type Nfs4Idmap } from './idmap';
import type { Nfs4Compound } from './op';
import { nfsstat4 } from './types';
import { OwnerTable, lockOwnerOf, parseLockOwnerKey } from './state/owners';
import { ReplyCache40 } from './state/reply-cache40';
import { encodeCOMPOUND4res } from './compound';
import { toEof } from '../../cluster/locks/byte-range';
import type { ReclaimStore } from '../../cluster/locks/reclaim-store';
import type { StateOwner } from './state/owners';
import type { bitmap4 } from './types';

/** Source ports below this are "reserved" (a `secure` export accepts only those). */
const IPPORT_RESERVED = 1024;

export interface Nfs4Options {
  /** Lease period in seconds (lease_time attribute; default 90, as Linux knfsd). */
  leaseSeconds?: number;
  /** Minor versions served (default [0, 1, 2]). */
  minorVersions?: readonly number[];
  /** Largest RPC record the transport accepts: the fore channel's ca_maxrequestsize cap. */
  maxRequestBytes?: number;
  /** Cap on ca_maxresponsesize (default: maxRead + 64 KiB of headroom for the rest of a COMPOUND). */
  maxResponseBytes?: number;
  /** Cap on ca_maxresponsesize_cached: replies kept for replay (default 64 KiB). */
  maxCachedResponseBytes?: number;
  /** Cap on ca_maxoperations, and the limit for COMPOUNDs outside a session (default 128). */
  maxOps?: number;
  /** Cap on ca_maxrequests, slots per session (default 64: the RPC layer's in-flight cap per connection). */
  maxSlots?: number;
  /** eir_server_owner.so_major_id and eir_server_scope (default: "gateway:" + host name). */
  serverOwner?: string;
  /** Where the owners of clients with state are kept across restarts (cluster/locks/reclaim-store.ts). */
  reclaimStore?: ReclaimStore;
  /** Grace period after a start that found recorded clients, seconds (default: the lease period). */
  graceSeconds?: number;
  /** Cap on client records (DESIGN invariant 11; default 10,000): past it, SETCLIENTID/EXCHANGE_ID answer RESOURCE. */
  maxClients?: number;
  /** Owner strings ⇄ ids (idmap.ts; default: numbers, no domain). */
  idmap?: Nfs4Idmap;
  /** Clock (tests). */
  now?: () => number;
}

export interface Nfs4Limits {
  leaseSeconds: number;
  minorVersions: ReadonlySet<number>;
  maxRequestBytes: number;
  maxResponseBytes: number;
  maxCachedResponseBytes: number;
  maxOps: number;
  maxSlots: number;
  maxClients: number;
}

export class Nfs4Server {
  readonly limits: Nfs4Limits;
  readonly bootId: number;
  /** Server instance start, ns: the pseudo root's times. */
  readonly bootNs: bigint;
  readonly clients: ClientTable;
  readonly sessions: SessionTable;
  readonly states: StateTable;
  readonly owners = new OwnerTable();
  /** NFSv4.0 duplicate-request cache for non-idempotent COMPOUNDs (4.1 has slots). */
  readonly replyCache40 = new ReplyCache40(encodeCOMPOUND4res);
  readonly serverOwner: Buffer;
  readonly idmap: Nfs4Idmap;
  readonly now: () => number;
  private readonly exportRoots = new Map<number, Buffer>();
  private readonly fileSystemIds = new WeakMap<object, number>();
  private nextFsNo = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly pseudoChange: bigint;

  constructor(
    readonly exports: NfsExports,
    readonly log: Logger = noopLogger,
    opts: Nfs4Options = {},
  ) {
    const anyFs = exports.list()[0];
    const maxRead = anyFs ? exports.fsFor(anyFs.id).limits.maxRead : DEFAULT_LIMITS.maxRead;
    this.limits = {
      leaseSeconds: opts.leaseSeconds ?? 90,
      minorVersions: new Set(opts.minorVersions ?? [0, 1, 2]),
      maxRequestBytes: opts.maxRequestBytes ?? (1 << 20) + 64 * 1024,
      maxResponseBytes: opts.maxResponseBytes ?? maxRead + 64 * 1024,
      maxCachedResponseBytes: opts.maxCachedResponseBytes ?? 64 * 1024,
      maxOps: opts.maxOps ?? 128,
      maxSlots: opts.maxSlots ?? 64,
      maxClients: opts.maxClients ?? 10_000,
    };
    this.now = opts.now ?? Date.now;
    this.idmap = opts.idmap ?? DEFAULT_IDMAP;
    this.reclaimStore = opts.reclaimStore;
    this.graceMs = (opts.graceSeconds ?? this.limits.leaseSeconds) * 1000;
    // A random boot id (not the time): two instances started in the same second must not share one.
    this.bootId = randomBytes(4).readUInt32BE(0) || 1;
    this.bootNs = BigInt(this.now()) * 1_000_000n;
    this.clients = new ClientTable(this.bootId);
    this.sessions = new SessionTable(this.bootId);
    this.states = new StateTable(this.bootId, (o) => this.owners.noteIdle(o));
    this.serverOwner = Buffer.from(opts.serverOwner ?? `gateway:${hostname()}`);
    let h = 0n;
    for (const e of exports.list()) h = (h * 131n + BigInt(e.id) + BigInt(e.name.length)) & 0xffff_ffffn;
    this.pseudoChange = (h << 16n) | 1n;
  }

  /** Starts lease expiry and loads the reclaim records (the gateway calls this; tests may drive `sweep`). */
  start(): this {
    if (!this.sweepTimer) {
      const every = Math.max(1000, (this.limits.leaseSeconds * 1000) / 4);
      this.sweepTimer = setInterval(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
    this.loadReclaim();
    return this;
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }

  // ---- grace period and reclaim (RFC 7530 §9.6.2, RFC 8881 §8.4.2) ------------------------------------

  private readonly reclaimStore: ReclaimStore | undefined;
  private readonly graceMs: number;
  /** Owners (hex) of the clients that held state before this start: the ones that may reclaim. */
  private previous = new Set<string>();
  private reclaimedDone = new Set<string>();
  private graceUntil = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Loading the records: until it is done, the server is in grace (nothing new can slip in). */
  private loading: Promise<void> | undefined;
  private storeChain: Promise<void> = Promise.resolve();

  /** Reads the reclaim records and opens a grace period if any client held state before. */
  loadReclaim(): Promise<void> {
    if (!this.reclaimStore || this.loading) return this.loading ?? Promise.resolve();
    const store = this.reclaimStore;
    this.loading = (async () => {
      try {
        const owners = await store.load();
        this.previous = new Set(owners.map((o) => o.toString('hex')));
      } catch (e) {
        this.log.error({ err: String(e) }, 'NFSv4: reading the reclaim records failed; no grace period');
      }
      if (this.previous.size > 0) {
        this.graceUntil = this.now() + this.graceMs;
        this.graceTimer = setTimeout(() => this.endGrace('grace period over'), this.graceMs);
        this.graceTimer.unref();
        this.log.info({ clients: this.previous.size, graceSeconds: this.graceMs / 1000 }, 'NFSv4 grace period: earlier clients may reclaim their opens and locks');
      }
      this.loading = undefined;
    })();
    return this.loading;
  }

  /** Ends the grace period; the records of clients that did not come back are dropped. */
  endGrace(reason: string): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.graceUntil === 0 && this.previous.size === 0) return;
    this.graceUntil = 0;
    const live = new Set<string>();
    for (const c of this.clients.all()) if (c.recorded) live.add(c.ownerId.toString('hex'));
    const gone = [...this.previous].filter((o) => !live.has(o));
    for (const o of gone) this.storeOp((s) => s.remove(Buffer.from(o, 'hex')));
    this.log.info({ reason, reclaimed: this.previous.size - gone.length, lost: gone.length }, 'NFSv4 grace period ended');
    this.previous = new Set();
    this.reclaimedDone.clear();
  }

  private storeOp(fn: (s: ReclaimStore) => Promise<void>): void {
    const store = this.reclaimStore;
    if (!store) return;
    this.storeChain = this.storeChain.then(() => fn(store)).catch((e: unknown) => this.log.warn({ err: String(e) }, 'NFSv4: updating the reclaim records failed'));
  }

  /** Resolves when the reclaim records written so far are stored (tests, shutdown). */
  flushReclaimRecords(): Promise<void> {
    return this.storeChain;
  }

  /** A client took state (an open): it is recorded so that it may reclaim after a restart. */
  noteState(client: ClientRecord): void {
    if (client.recorded) return;
    client.recorded = true;
    const owner = client.ownerId;
    this.storeOp((s) => s.add(owner));
  }

  /** A 4.1 client finished reclaiming; once every earlier client has, the grace period can end early. */
  reclaimComplete(client: ClientRecord): void {
    const k = client.ownerId.toString('hex');
    if (!this.previous.has(k)) return;
    this.reclaimedDone.add(k);
    if (this.reclaimedDone.size === this.previous.size) this.endGrace('every earlier client reclaimed');
  }
  /** Operations run since start, by op number (COMPOUND results, failed ones included). */
  readonly opCounts = new Map<number, number>();

  countOp(opnum: number): void {
    this.opCounts.set(opnum, (this.opCounts.get(opnum) ?? 0) + 1);
  }

  // ---- exports and filehandles ----------------------------------------------------------------------

  credOf(auth: RpcAuth, exp: ExportConfig): Cred {
    if (auth.flavor === AUTH_SYS) return squashCred(exp, { uid: auth.uid, gid: auth.gid, groups: auth.gids });
    return { uid: exp.anonUid, gid: exp.anonGid, groups: [] };
  }

  /** Exports this client may see (and so look up in the pseudo root). */
  visibleExports(rpc: RpcCallContext): ExportConfig[] {
    return this.exports.list().filter((e) => exportAccess(e, rpc.remote.address).allowed);
  }

  /** Admits a core handle to its export: malformed → BADHANDLE, unknown export → STALE, client rules. */
  admit(rpc: RpcCallContext, handle: Buffer, exportIdHint?: number): FsFh {
    const id = exportIdHint ?? handleExportId(handle);
    const exp = this.exports.byId(id);
    if (!exp) throw new CoreError(Errc.STALE, `unknown export id ${id}`);
    const access = exportAccess(exp, rpc.remote.address);
    if (!access.allowed) throw new CoreError(Errc.ACCES, `client ${rpc.remote.address} not allowed on export ${exp.name}`);
    if (exp.secure && rpc.remote.port >= IPPORT_RESERVED) {
      throw new CoreError(Errc.PERM, `insecure source port ${rpc.remote.port} on secure export ${exp.name}`);
    }
    return { kind: 'fs', handle, exportId: id, exp, fs: this.exports.fsFor(id), cred: this.credOf(rpc.auth, exp), readOnly: access.readOnly };
  }

  async exportRootHandle(exportId: number): Promise<Buffer> {
    const hit = this.exportRoots.get(exportId);
    if (hit) return hit;
    const h = await this.exports.fsFor(exportId).rootHandle(exportId);
    this.exportRoots.set(exportId, h);
    return h;
  }

  async isExportRoot(fh: FsFh): Promise<boolean> {
    return (await this.exportRootHandle(fh.exportId)).equals(fh.handle);
  }

  /**
   * I/O with the anonymous or bypass stateid (no open) must respect share reservations: a READ where an
   * open denies reading, a WRITE where one denies writing, is NFS4ERR_LOCKED (RFC 7530 §9.1.4.3, knfsd).
   * It must also respect mandatory (SMB) byte-range locks on its range, as NFSv3 I/O does: the core's
   * checkIo throws LOCKED, NFS4ERR_LOCKED here. POSIX (NFSv4, NLM) locks stay advisory to it. The bypass
   * stateid is not let past SMB locks either: a Windows client relies on them being mandatory.
   */
  async anonymousIoCheck(fh: FsFh, write: boolean, offset: bigint, length: bigint): Promise<void> {
    const attr = await fh.fs.getattr(fh.cred, fh.handle);
    const want = write ? 2 : 1;
    if (this.states.conflicts(this.fileKey(fh, attr.fileId), want, 0).length > 0) {
      throw new Nfs4Error(nfsstat4.NFS4ERR_LOCKED, write ? 'an open denies writing' : 'an open denies reading');
    }
    fh.fs.checkIo(attr.fileId, { offset, length, write });
  }

  /** Volume-wide identity of a file, for share reservations: the same file through two exports is one. */
  fileKey(fh: FsFh, fileId: bigint): string {
    let n = this.fileSystemIds.get(fh.fs);
    if (n === undefined) this.fileSystemIds.set(fh.fs, (n = this.nextFsNo++));
    return `${n}:${fileId}`;
  }

  // ---- attributes -----------------------------------------------------------------------------------

  private pseudoLimits(): FsLimits {
    const first = this.exports.list()[0];
    return first ? this.exports.fsFor(first.id).limits : DEFAULT_LIMITS;
  }

  pseudoAttr(): Attr {
    return {
      type: FileType.DIR,
      mode: 0o555,
      nlink: 2,
      uid: 0,
      gid: 0,
      size: 4096n,
      used: 4096n,
      rdev: { major: 0, minor: 0 },
      fsid: 0n,
      fileId: PSEUDO_ROOT_FILEID,
      atime: this.bootNs,
      mtime: this.bootNs,
      ctime: this.bootNs,
      birthTime: this.bootNs,
      change: this.pseudoChange,
      dosAttrs: 0,
    };
  }

  /** Everything an fattr4 for `fh` may need; statfs only when `requested` asks for space/files. */
  async attrSource(fh: Fh, requested: bitmap4): Promise<AttrSource> {
    if (fh.kind === 'pseudo') {
      const src: AttrSource = {
        attr: this.pseudoAttr(),
        fh: PSEUDO_ROOT_FH,
        fsid: PSEUDO_FSID,
        mountedOnFileid: PSEUDO_ROOT_FILEID,
        limits: this.pseudoLimits(),
        leaseSeconds: this.limits.leaseSeconds,
        pseudo: true,
      };
      if (needsStatfs(requested)) src.statfs = { totalBytes: 0n, freeBytes: 0n, availBytes: 0n, totalFiles: 0n, freeFiles: 0n, availFiles: 0n };
      return src;
    }
    const attr = await fh.fs.getattr(fh.cred, fh.handle);
    return this.fsAttrSource(fh, fh.handle, attr, requested);
  }

  /** AttrSource for an object of `fh`'s export whose Attr is already known (READDIR entries, OPEN results). */
  async fsAttrSource(fh: FsFh, handle: Buffer, attr: Attr, requested: bitmap4): Promise<AttrSource> {
    const root = await this.exportRootHandle(fh.exportId);
    const statfs = needsStatfs(requested) ? (await fh.fs.statfs(fh.cred, handle)).stat : undefined;
    return this.fsAttrSourceWith(fh, handle, attr, root, statfs);
  }

  /** The synchronous part of `fsAttrSource`, for many objects of one export (READDIR). */
  fsAttrSourceWith(fh: FsFh, handle: Buffer, attr: Attr, exportRoot: Buffer, statfs: StatFs | undefined): AttrSource {
    const isRoot = attr.type === FileType.DIR && exportRoot.equals(handle);
    const src: AttrSource = {
      attr,
      fh: handle,
      fsid: { major: attr.fsid, minor: BigInt(fh.exportId >>> 0) },
      mountedOnFileid: isRoot ? pseudoLeafFileid(fh.exportId) : attr.fileId,
      limits: fh.fs.limits,
      leaseSeconds: this.limits.leaseSeconds,
    };
    if (statfs) src.statfs = statfs;
    return src;
  }

  // ---- back channel ----------------------------------------------------------------------------------

  /**
   * Binds `channel` (the client's connection) as the session's back channel and checks it with CB_NULL
   * (NFS4_CALLBACK version 1, procedure 0, RFC 8881 §20). Until the answer the path counts as up; a failed
   * probe or a closed connection marks it down, and SEQUENCE then reports SEQ4_STATUS_CB_PATH_DOWN. No
   * callback other than CB_NULL is sent yet (no delegations, layouts or lock notifications exist).
   */
  bindBackchannel(session: Session, channel: RpcBackchannel): void {
    const cb: NonNullable<Session['cb']> = { channel, state: 'probing' };
    session.cb = cb;
    channel.onClose(() => {
      if (session.cb === cb) cb.state = 'down';
    });
    if (!session.cbCred) {
      cb.state = 'down';
      this.log.info({ session: session.id.toString('hex') }, 'NFSv4.1 back channel: no usable callback credential (AUTH_SYS or AUTH_NONE)');
      return;
    }
    channel.call(session.cbProgram, 1, 0, undefined, { cred: session.cbCred, timeoutMs: 15_000 }).then(
      () => {
        if (session.cb === cb && cb.state === 'probing') cb.state = 'up';
      },
      (e: unknown) => {
        if (session.cb === cb) cb.state = 'down';
        this.log.info({ session: session.id.toString('hex'), conn: channel.connId, err: String(e) }, 'NFSv4.1 back channel: CB_NULL failed');
      },
    );
  }

  /** True while no session of the client has a back channel that is (or may be) working. */
  callbackPathDown(client: ClientRecord): boolean {
    for (const s of client.sessions) if (s.cb && s.cb.state !== 'down') return false;
    return true;
  }

  // ---- grace and lock bookkeeping ---------------------------------------------------------------------

  /** True while clients of the previous server instance may reclaim (and others may not lock). */
  inGrace(): boolean {
    if (this.loading) return true;
    if (this.graceUntil === 0) return false;
    if (this.now() < this.graceUntil) return true;
    this.endGrace('grace period over');
    return false;
  }

  /**
   * The grace rules for OPEN and LOCK (RFC 7530 §9.6.2, RFC 8881 §8.4.2): a reclaim outside the grace
   * period is NFS4ERR_NO_GRACE; a new lock or open inside it NFS4ERR_GRACE; and a 4.1 client's non-reclaim
   * request before its RECLAIM_COMPLETE is NFS4ERR_GRACE (RFC 8881 §18.51.3).
   */
  checkGrace(c: Nfs4Compound, client: ClientRecord, reclaim: boolean): void {
    if (reclaim) {
      if (!this.inGrace()) throw new Nfs4Error(nfsstat4.NFS4ERR_NO_GRACE, 'no grace period');
      if (!this.previous.has(client.ownerId.toString('hex'))) throw new Nfs4Error(nfsstat4.NFS4ERR_RECLAIM_BAD, 'the client held no state before the restart');
      if (c.minor >= 1 && client.reclaimComplete) throw new Nfs4Error(nfsstat4.NFS4ERR_NO_GRACE, 'after RECLAIM_COMPLETE');
      return;
    }
    if (this.inGrace()) throw new Nfs4Error(nfsstat4.NFS4ERR_GRACE, 'in the grace period');
    if (c.minor >= 1 && !client.reclaimComplete) throw new Nfs4Error(nfsstat4.NFS4ERR_GRACE, 'before RECLAIM_COMPLETE');
  }

  /** A lock was granted (the hook persisted state will use). */
  noteLock(_lock: LockStateRec, _range: { offset: bigint; length: bigint }, _write: boolean): void {}

  /** A range was unlocked. */
  noteUnlock(_lock: LockStateRec, _range: { offset: bigint; length: bigint }): void {}

  // ---- leases ---------------------------------------------------------------------------------------

  renew(client: ClientRecord): void {
    client.lastRenew = this.now();
  }

  /** The lease ran out (confirmed: one lease period without renewal; RFC 8881 §8.3). */
  leaseExpired(client: ClientRecord): boolean {
    return this.now() - client.lastRenew > this.limits.leaseSeconds * 1000;
  }

  /**
   * A client by id, unless it is unconfirmed and its lease ran out (RFC 8881 §18.35.4: such a record
   * SHOULD be removed), in which case it is removed now rather than at the next sweep.
   */
  liveClient(clientid: bigint): ClientRecord | undefined {
    const c = this.clients.get(clientid);
    if (c && !c.confirmed && this.leaseExpired(c)) {
      this.expireClient(c, 'never confirmed');
      return undefined;
    }
    return c;
  }

  /**
   * True if opens of other clients conflict with (access, deny). Opens of a client whose lease expired
   * ("courtesy" state, RFC 8881 §8.4.3.1) do not block: that client is expired first.
   */
  shareConflict(fileKey: string, access: number, deny: number, self?: OpenStateRec): boolean {
    const found = this.states.conflicts(fileKey, access, deny, self);
    for (const o of found) if (this.leaseExpired(o.client) && this.clients.get(o.client.clientid) === o.client) this.expireClient(o.client, 'lease expired, its opens conflict');
    return this.states.conflicts(fileKey, access, deny, self).length > 0;
  }

  /** True if `conflict` is an NFSv4 lock of a client whose lease ran out, which is then expired. */
  expireIfLapsed(conflict: { owner: { protocol: string; key: string } } | undefined): boolean {
    if (!conflict || conflict.owner.protocol !== 'nfs4') return false;
    const id = parseLockOwnerKey(conflict.owner.key);
    const client = id ? this.clients.get(id.clientid) : undefined;
    if (!client || !this.leaseExpired(client)) return false;
    this.expireClient(client, 'lease expired, its lock conflicts');
    return true;
  }

  /** Forgets a client and everything it holds: sessions, opens (in the core too), byte-range locks. */
  expireClient(client: ClientRecord, reason: string): void {
    for (const s of [...client.sessions]) this.sessions.destroy(s);
    const lockOwners = new Set<StateOwner>();
    for (const o of this.states.opensOf(client)) for (const l of o.locks) lockOwners.add(l.ownerRec);
    const opens = this.states.dropClient(client);
    for (const o of opens) this.releaseCoreOpen(o);
    const fss = new Set(opens.map((o) => o.fs));
    for (const lo of lockOwners) for (const fs of fss) fs.releaseLocks({ owner: lockOwnerOf(lo) });
    this.owners.dropClient(client);
    this.clients.remove(client);
    this.forgetRecord(client);
    if (client.confirmed && reason.startsWith('lease expired')) {
      this.expiredClients.add(client.clientid);
      if (this.expiredClients.size > 4096) this.expiredClients.delete(this.expiredClients.values().next().value!);
    }
    this.log.info({ clientid: client.clientid.toString(16), reason, opens: opens.length }, 'NFSv4 client expired');
  }

  /** A client gone for good (expired, destroyed, replaced): it may no longer reclaim after a restart. */
  forgetRecord(client: ClientRecord): void {
    if (!client.recorded) return;
    client.recorded = false;
    // Another live record of the same owner (a client that restarted and confirmed anew) keeps it.
    for (const c of this.clients.all()) if (c !== client && c.recorded && c.ownerId.equals(client.ownerId)) return;
    const owner = client.ownerId;
    this.storeOp((s) => s.remove(owner));
  }

  /** Client ids whose lease ran out (or that were purged) lately: NFS4ERR_EXPIRED rather than STALE (bounded). */
  readonly expiredClients = new Set<bigint>();

  /** Ends an open's core open (share modes for SMB); failures are logged, the NFSv4 state is gone anyway. */
  releaseCoreOpen(rec: OpenStateRec): void {
    const core = rec.core;
    rec.core = undefined;
    if (core) rec.fs.release(core).catch((e: unknown) => this.log.warn({ err: String(e), fileId: String(rec.fileId) }, 'NFSv4: releasing a core open failed'));
  }

  /**
   * CLOSE (and lease expiry of one open): the locks its lock-owners hold on the file go with it, as knfsd
   * does (the Linux client unlocks before CLOSE anyway), then the open itself.
   */
  async closeOpen(rec: OpenStateRec, rememberClosed: boolean): Promise<void> {
    const owners = [...rec.locks].map((l) => l.ownerRec);
    this.states.remove(rec, rememberClosed);
    for (const lo of owners) {
      await rec.fs.unlock({ uid: 0, gid: 0, groups: [] }, rec.fh, { owner: lockOwnerOf(lo), offset: 0n, length: toEof(0n) }).catch(() => undefined);
    }
    const core = rec.core;
    rec.core = undefined;
    if (core) await rec.fs.release(core);
  }

  /**
   * Expires clients whose lease ran out: confirmed clients after two lease periods without a renewal
   * (SEQUENCE renews; in between their state is "courtesy" state that a conflicting OPEN reclaims),
   * unconfirmed ones after one.
   */
  sweep(): number {
    const now = this.now();
    const lease = this.limits.leaseSeconds * 1000;
    let n = 0;
    for (const c of [...this.clients.all()]) {
      const limit = c.confirmed ? 2 * lease : lease;
      if (now - c.lastRenew > limit) {
        this.expireClient(c, c.confirmed ? 'lease expired' : 'never confirmed');
        n++;
      }
    }
    return n;
  }
}
