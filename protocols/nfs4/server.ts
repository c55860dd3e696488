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
import { StateTable, type OpenStateRec } from './state/stateids';
import type { bitmap4 } from './types';

/** Source ports below this are "reserved" (a `secure` export accepts only those). */
const IPPORT_RESERVED = 1024;

export interface Nfs4Options {
  /** Lease period in seconds (lease_time attribute; default 90, as Linux knfsd). */
  leaseSeconds?: number;
  /** Minor versions served (default [1, 2]: 4.0 needs SETCLIENTID/OPEN_CONFIRM, not implemented yet). */
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
}

export class Nfs4Server {
  readonly limits: Nfs4Limits;
  readonly bootId: number;
  /** Server instance start, ns: the pseudo root's times. */
  readonly bootNs: bigint;
  readonly clients: ClientTable;
  readonly sessions: SessionTable;
  readonly states: StateTable;
  readonly serverOwner: Buffer;
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
      minorVersions: new Set(opts.minorVersions ?? [1, 2]),
      maxRequestBytes: opts.maxRequestBytes ?? (1 << 20) + 64 * 1024,
      maxResponseBytes: opts.maxResponseBytes ?? maxRead + 64 * 1024,
      maxCachedResponseBytes: opts.maxCachedResponseBytes ?? 64 * 1024,
      maxOps: opts.maxOps ?? 128,
      maxSlots: opts.maxSlots ?? 64,
    };
    this.now = opts.now ?? Date.now;
    // A random boot id (not the time): two instances started in the same second must not share one.
    this.bootId = randomBytes(4).readUInt32BE(0) || 1;
    this.bootNs = BigInt(this.now()) * 1_000_000n;
    this.clients = new ClientTable(this.bootId);
    this.sessions = new SessionTable(this.bootId);
    this.states = new StateTable(this.bootId);
    this.serverOwner = Buffer.from(opts.serverOwner ?? `gateway:${hostname()}`);
    let h = 0n;
    for (const e of exports.list()) h = (h * 131n + BigInt(e.id) + BigInt(e.name.length)) & 0xffff_ffffn;
    this.pseudoChange = (h << 16n) | 1n;
  }

  /** Starts lease expiry (the gateway calls this; tests may drive `sweep` themselves). */
  start(): this {
    if (!this.sweepTimer) {
      const every = Math.max(1000, (this.limits.leaseSeconds * 1000) / 4);
      this.sweepTimer = setInterval(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
    return this;
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
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

  /** Forgets a client and everything it holds. */
  expireClient(client: ClientRecord, reason: string): void {
    for (const s of [...client.sessions]) this.sessions.destroy(s);
    const opens = this.states.dropClient(client);
    this.clients.remove(client);
    this.log.info({ clientid: client.clientid.toString(16), reason, opens }, 'NFSv4 client expired');
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
