/**
 * Drives NFSv4 COMPOUNDs through the program exactly as the RPC dispatcher would — arguments encoded with
 * the ops' client-side codecs, decoded by the program, run, the reply encoded — and decodes the reply bytes
 * again. Backed by the real memory FileSystem. `op.*` builds operations; `Nfs4TestSession` adds SEQUENCE.
 */
import assert from 'node:assert/strict';
import { defaultExport, type ExportConfig } from '../../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../../cluster/vfs/memory';
import type { FileSystem } from '../../../cluster/vfs/types';
import { createNfsExports, type NfsExports } from '../../../protocols/nfs3/exports';
import { decodeFattr4Values, encodeSetAttrs, type AttrValue } from '../../../protocols/nfs4/attrs';
import { decodeCOMPOUND4res, encodeCOMPOUND4args, type ArgOp } from '../../../protocols/nfs4/compound';
import type { Nfs4Op } from '../../../protocols/nfs4/op';
import { ACCESS } from '../../../protocols/nfs4/ops/access';
import { BIND_CONN_TO_SESSION } from '../../../protocols/nfs4/ops/bind-conn-to-session';
import { CLOSE } from '../../../protocols/nfs4/ops/close';
import { COMMIT } from '../../../protocols/nfs4/ops/commit';
import { CREATE, type createtype4 } from '../../../protocols/nfs4/ops/create';
import { CREATE_SESSION, type CREATE_SESSION4resok } from '../../../protocols/nfs4/ops/create-session';
import { DESTROY_CLIENTID } from '../../../protocols/nfs4/ops/destroy-clientid';
import { DESTROY_SESSION } from '../../../protocols/nfs4/ops/destroy-session';
import { EXCHANGE_ID, type EXCHANGE_ID4resok } from '../../../protocols/nfs4/ops/exchange-id';
import { FREE_STATEID } from '../../../protocols/nfs4/ops/free-stateid';
import { GETATTR, type GETATTR4resok } from '../../../protocols/nfs4/ops/getattr';
import { GETFH, type GETFH4resok } from '../../../protocols/nfs4/ops/getfh';
import { LINK } from '../../../protocols/nfs4/ops/link';
import { LOCK, type LOCK4resok } from '../../../protocols/nfs4/ops/lock';
import { LOCKT } from '../../../protocols/nfs4/ops/lockt';
import { LOCKU } from '../../../protocols/nfs4/ops/locku';
import { OPEN_CONFIRM, type OPEN_CONFIRM4resok } from '../../../protocols/nfs4/ops/open-confirm';
import { RELEASE_LOCKOWNER } from '../../../protocols/nfs4/ops/release-lockowner';
import { RENEW } from '../../../protocols/nfs4/ops/renew';
import { SETCLIENTID, type SETCLIENTID4resok } from '../../../protocols/nfs4/ops/setclientid';
import { SETCLIENTID_CONFIRM } from '../../../protocols/nfs4/ops/setclientid-confirm';
import { NFS4_LENGTH_ALL, nfs_lock_type4 } from '../../../protocols/nfs4/ops/lock-common';
import { LOOKUP } from '../../../protocols/nfs4/ops/lookup';
import { LOOKUPP } from '../../../protocols/nfs4/ops/lookupp';
import { OPEN, type OPEN4args, type OPEN4resok, type createhow4 } from '../../../protocols/nfs4/ops/open';
import { OPEN_DOWNGRADE } from '../../../protocols/nfs4/ops/open-downgrade';
import { PUTFH } from '../../../protocols/nfs4/ops/putfh';
import { PUTROOTFH } from '../../../protocols/nfs4/ops/putrootfh';
import { READ } from '../../../protocols/nfs4/ops/read';
import { READDIR } from '../../../protocols/nfs4/ops/readdir';
import { READLINK } from '../../../protocols/nfs4/ops/readlink';
import { RECLAIM_COMPLETE } from '../../../protocols/nfs4/ops/reclaim-complete';
import { REMOVE } from '../../../protocols/nfs4/ops/remove';
import { RENAME } from '../../../protocols/nfs4/ops/rename';
import { RESTOREFH } from '../../../protocols/nfs4/ops/restorefh';
import { SAVEFH } from '../../../protocols/nfs4/ops/savefh';
import { SECINFO_NO_NAME } from '../../../protocols/nfs4/ops/secinfo-no-name';
import { SEQUENCE, type SEQUENCE4resok } from '../../../protocols/nfs4/ops/sequence';
import { SETATTR } from '../../../protocols/nfs4/ops/setattr';
import { TEST_STATEID } from '../../../protocols/nfs4/ops/test-stateid';
import { WRITE } from '../../../protocols/nfs4/ops/write';
import { createNfs4Program, type Nfs4Program } from '../../../protocols/nfs4/program';
import type { Nfs4Options, Nfs4Server } from '../../../protocols/nfs4/server';
import { ANONYMOUS_STATEID } from '../../../protocols/nfs4/stateid';
import {
  CREATE_SESSION4_FLAG_CONN_BACK_CHAN,
  channel_dir_from_client4,
  createmode4,
  nfs_ftype4,
  nfsstat4,
  open_claim_type4,
  opentype4,
  secinfo_style4,
  stable_how4,
  state_protect_how4,
  type COMPOUND4res,
  type channel_attrs4,
  type stateid4,
} from '../../../protocols/nfs4/types';
import { bitmapOf } from '../../../protocols/nfs4/xdr';
import type { RpcBackchannel } from '../../../protocols/rpc/backchannel';
import type { Logger } from '../../../protocols/rpc/log';
import { AUTH_SYS, type RpcAuth, type RpcCallContext } from '../../../protocols/rpc/types';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

const arg = <A>(o: Nfs4Op<A, any>, args: A): ArgOp => ({ op: o, args });

export const DEFAULT_FORE: channel_attrs4 = {
  ca_headerpadsize: 0,
  ca_maxrequestsize: 1 << 20,
  ca_maxresponsesize: 1 << 20,
  ca_maxresponsesize_cached: 16 * 1024,
  ca_maxoperations: 16,
  ca_maxrequests: 8,
  ca_rdma_ird: [],
};

/** Operation builders (client side). */
export const op = {
  putrootfh: () => arg(PUTROOTFH, undefined),
  putfh: (object: Buffer) => arg(PUTFH, { object }),
  getfh: () => arg(GETFH, undefined),
  savefh: () => arg(SAVEFH, undefined),
  restorefh: () => arg(RESTOREFH, undefined),
  lookup: (name: string | Buffer) => arg(LOOKUP, { objname: Buffer.from(name) }),
  lookupp: () => arg(LOOKUPP, undefined),
  getattr: (...ids: number[]) => arg(GETATTR, { attr_request: bitmapOf(ids) }),
  access: (access: number) => arg(ACCESS, { access }),
  secinfoNoName: (style = secinfo_style4.SECINFO_STYLE4_CURRENT_FH) => arg(SECINFO_NO_NAME, style),
  read: (stateid: stateid4, offset: bigint, count: number) => arg(READ, { stateid, offset, count }),
  write: (stateid: stateid4, offset: bigint, data: Buffer, stable = stable_how4.FILE_SYNC4) => arg(WRITE, { stateid, offset, stable, data }),
  commit: (offset = 0n, count = 0) => arg(COMMIT, { offset, count }),
  mkdir: (name: string) => arg(CREATE, { objtype: { type: nfs_ftype4.NF4DIR }, objname: Buffer.from(name), createattrs: encodeSetAttrs({}) }),
  create: (objtype: createtype4, name: string, attrs = encodeSetAttrs({})) => arg(CREATE, { objtype, objname: Buffer.from(name), createattrs: attrs }),
  symlink: (name: string, target: string) =>
    arg(CREATE, { objtype: { type: nfs_ftype4.NF4LNK, linkdata: Buffer.from(target) }, objname: Buffer.from(name), createattrs: encodeSetAttrs({}) }),
  readlink: () => arg(READLINK, undefined),
  remove: (name: string) => arg(REMOVE, { target: Buffer.from(name) }),
  rename: (from: string, to: string) => arg(RENAME, { oldname: Buffer.from(from), newname: Buffer.from(to) }),
  link: (name: string) => arg(LINK, { newname: Buffer.from(name) }),
  readdir: (cookie = 0n, cookieverf: Buffer = Buffer.alloc(8), maxcount = 32768, ids: number[] = []) =>
    arg(READDIR, { cookie, cookieverf, dircount: maxcount, maxcount, attr_request: bitmapOf(ids) }),
  setattr: (attrs: Parameters<typeof encodeSetAttrs>[0], stateid: stateid4 = ANONYMOUS_STATEID) => arg(SETATTR, { stateid, obj_attributes: encodeSetAttrs(attrs) }),
  setattrRaw: (obj_attributes: { attrmask: number[]; attr_vals: Buffer }, stateid: stateid4 = ANONYMOUS_STATEID) => arg(SETATTR, { stateid, obj_attributes }),
  open: (a: Partial<OPEN4args> & { name?: string; how?: createhow4 }) => {
    const openhow: OPEN4args['openhow'] = a.openhow ?? (a.how ? { opentype: opentype4.OPEN4_CREATE, how: a.how } : { opentype: opentype4.OPEN4_NOCREATE });
    return arg(OPEN, {
      seqid: a.seqid ?? 0,
      share_access: a.share_access ?? 3,
      share_deny: a.share_deny ?? 0,
      owner: a.owner ?? { clientid: 0n, owner: Buffer.from('owner1') },
      openhow,
      claim: a.claim ?? { claim: open_claim_type4.CLAIM_NULL, file: Buffer.from(a.name ?? 'f') },
    });
  },
  createUnchecked: (name: string, attrs = encodeSetAttrs({ mode: 0o644 }), owner = 'owner1') =>
    op.open({ name, how: { mode: createmode4.UNCHECKED4, createattrs: attrs }, owner: { clientid: 0n, owner: Buffer.from(owner) } }),
  close: (open_stateid: stateid4) => arg(CLOSE, { seqid: 0, open_stateid }),
  openDowngrade: (open_stateid: stateid4, share_access: number, share_deny = 0) => arg(OPEN_DOWNGRADE, { open_stateid, seqid: 0, share_access, share_deny }),
  testStateid: (...ts_stateids: stateid4[]) => arg(TEST_STATEID, { ts_stateids }),
  freeStateid: (fsa_stateid: stateid4) => arg(FREE_STATEID, { fsa_stateid }),
  reclaimComplete: (rca_one_fs = false) => arg(RECLAIM_COMPLETE, { rca_one_fs }),
  destroySession: (dsa_sessionid: Buffer) => arg(DESTROY_SESSION, { dsa_sessionid }),
  bindConnToSession: (bctsa_sessid: Buffer, bctsa_dir: channel_dir_from_client4) => arg(BIND_CONN_TO_SESSION, { bctsa_sessid, bctsa_dir, bctsa_use_conn_in_rdma_mode: false }),
  destroyClientid: (dca_clientid: bigint) => arg(DESTROY_CLIENTID, { dca_clientid }),
  exchangeId: (owner: string, verifier = Buffer.from('verifier'), eia_flags = 0) =>
    arg(EXCHANGE_ID, {
      eia_clientowner: { co_verifier: verifier, co_ownerid: Buffer.from(owner) },
      eia_flags,
      eia_state_protect: { spa_how: state_protect_how4.SP4_NONE },
      eia_client_impl_id: [],
    }),
  createSession: (clientid: bigint, sequence: number, fore: channel_attrs4 = DEFAULT_FORE, csa_flags = 0) =>
    arg(CREATE_SESSION, {
      csa_clientid: clientid,
      csa_sequence: sequence,
      csa_flags,
      csa_fore_chan_attrs: fore,
      csa_back_chan_attrs: { ...DEFAULT_FORE, ca_maxrequests: 1, ca_maxoperations: 2 },
      csa_cb_program: 0x40000000,
      csa_sec_parms: [{ cb_secflavor: AUTH_SYS, stamp: 1, machinename: Buffer.from('client'), uid: 0, gid: 0, gids: [] }],
    }),
  sequence: (sa_sessionid: Buffer, sa_sequenceid: number, sa_slotid = 0, sa_cachethis = false) =>
    arg(SEQUENCE, { sa_sessionid, sa_sequenceid, sa_slotid, sa_highest_slotid: sa_slotid, sa_cachethis }),
  setclientid: (id: string, verifier = Buffer.from('verifier')) =>
    arg(SETCLIENTID, {
      client: { verifier, id: Buffer.from(id) },
      callback: { cb_program: 0x40000000, cb_location: { na_r_netid: Buffer.from('tcp'), na_r_addr: Buffer.from('10.0.2.15.3.200') } },
      callback_ident: 1,
    }),
  setclientidConfirm: (clientid: bigint, setclientid_confirm: Buffer) => arg(SETCLIENTID_CONFIRM, { clientid, setclientid_confirm }),
  renew: (clientid: bigint) => arg(RENEW, { clientid }),
  openConfirm: (open_stateid: stateid4, seqid: number) => arg(OPEN_CONFIRM, { open_stateid, seqid }),
  close40: (seqid: number, open_stateid: stateid4) => arg(CLOSE, { seqid, open_stateid }),
  lockNew: (
    o: { write?: boolean; offset?: bigint; length?: bigint; openSeqid?: number; lockSeqid?: number; clientid: bigint; owner?: string; reclaim?: boolean },
    open_stateid: stateid4,
  ) =>
    arg(LOCK, {
      locktype: o.write === false ? nfs_lock_type4.READ_LT : nfs_lock_type4.WRITE_LT,
      reclaim: o.reclaim ?? false,
      offset: o.offset ?? 0n,
      length: o.length ?? NFS4_LENGTH_ALL,
      locker: { new_lock_owner: true, open_seqid: o.openSeqid ?? 0, open_stateid, lock_seqid: o.lockSeqid ?? 0, lock_owner: { clientid: o.clientid, owner: Buffer.from(o.owner ?? 'lockowner1') } },
    }),
  lockExisting: (o: { write?: boolean; offset?: bigint; length?: bigint; lockSeqid?: number }, lock_stateid: stateid4) =>
    arg(LOCK, {
      locktype: o.write === false ? nfs_lock_type4.READ_LT : nfs_lock_type4.WRITE_LT,
      reclaim: false,
      offset: o.offset ?? 0n,
      length: o.length ?? NFS4_LENGTH_ALL,
      locker: { new_lock_owner: false, lock_stateid, lock_seqid: o.lockSeqid ?? 0 },
    }),
  lockt: (o: { write?: boolean; offset?: bigint; length?: bigint; clientid: bigint; owner?: string }) =>
    arg(LOCKT, {
      locktype: o.write === false ? nfs_lock_type4.READ_LT : nfs_lock_type4.WRITE_LT,
      offset: o.offset ?? 0n,
      length: o.length ?? NFS4_LENGTH_ALL,
      owner: { clientid: o.clientid, owner: Buffer.from(o.owner ?? 'tester') },
    }),
  locku: (lock_stateid: stateid4, o: { seqid?: number; offset?: bigint; length?: bigint } = {}) =>
    arg(LOCKU, { locktype: nfs_lock_type4.WRITE_LT, seqid: o.seqid ?? 0, lock_stateid, offset: o.offset ?? 0n, length: o.length ?? NFS4_LENGTH_ALL }),
  releaseLockowner: (clientid: bigint, owner = 'lockowner1') => arg(RELEASE_LOCKOWNER, { lock_owner: { clientid, owner: Buffer.from(owner) } }),
};

/**
 * An NFSv4.0 client of the harness: SETCLIENTID + SETCLIENTID_CONFIRM, and per-owner seqids the way a
 * 4.0 client keeps them (each seqid-ordered op of an owner takes the next one).
 */
export class Nfs40TestClient {
  readonly seqids = new Map<string, number>();
  constructor(
    readonly h: Nfs4Harness,
    readonly clientid: bigint,
    readonly opts: CallOpts = {},
  ) {}

  static async connect(h: Nfs4Harness, id = 'client40', o: CallOpts = {}): Promise<Nfs40TestClient> {
    const sc = expectOk<SETCLIENTID4resok>(await h.compound([op.setclientid(id)], { ...o, minor: 0 }), 0);
    expectStatus(await h.compound([op.setclientidConfirm(sc.clientid, sc.setclientid_confirm)], { ...o, minor: 0 }), nfsstat4.NFS4_OK);
    return new Nfs40TestClient(h, sc.clientid, o);
  }

  /** The next seqid of an owner (0 first), advanced. */
  next(owner: string): number {
    const n = this.seqids.get(owner) ?? -1;
    this.seqids.set(owner, n + 1);
    return n + 1;
  }

  run(ops: readonly ArgOp[], o: CallOpts = {}): Promise<COMPOUND4res> {
    return this.h.compound(ops, { ...this.opts, ...o, minor: 0 });
  }

  async ok(ops: readonly ArgOp[]): Promise<unknown[]> {
    const res = await this.run(ops);
    expectStatus(res, nfsstat4.NFS4_OK);
    return res.resarray.map((r) => r.res);
  }

  async exportRoot(name = 'export'): Promise<Buffer> {
    const [, , fh] = await this.ok([op.putrootfh(), op.lookup(name), op.getfh()]);
    return (fh as GETFH4resok).object;
  }

  /** OPEN (create) + OPEN_CONFIRM when asked for: a usable open stateid. */
  async open(dir: Buffer, name: string, o: { owner?: string; access?: number; deny?: number } = {}): Promise<{ stateid: stateid4; fh: Buffer; confirmed: boolean }> {
    const owner = o.owner ?? 'owner1';
    const open = op.open({
      seqid: this.next(owner),
      name,
      how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({ mode: 0o644 }) },
      owner: { clientid: this.clientid, owner: Buffer.from(owner) },
      share_access: o.access ?? 3,
      share_deny: o.deny ?? 0,
    });
    const [, res, fh] = await this.ok([op.putfh(dir), open, op.getfh()]);
    const r = res as OPEN4resok;
    const handle = (fh as GETFH4resok).object;
    if (!(r.rflags & 2)) return { stateid: r.stateid, fh: handle, confirmed: false };
    const [, oc] = await this.ok([op.putfh(handle), op.openConfirm(r.stateid, this.next(owner))]);
    return { stateid: (oc as OPEN_CONFIRM4resok).open_stateid, fh: handle, confirmed: true };
  }

  /** A new lock-owner's first LOCK through `open`. */
  async lock(fh: Buffer, open: stateid4, o: { owner?: string; openOwner?: string; write?: boolean; offset?: bigint; length?: bigint } = {}): Promise<COMPOUND4res> {
    const lockOwner = o.owner ?? 'lockowner1';
    const openSeqid = this.next(o.openOwner ?? 'owner1');
    const res = await this.run([op.putfh(fh), op.lockNew({ ...o, clientid: this.clientid, owner: lockOwner, openSeqid, lockSeqid: 0 }, open)]);
    if (res.status === nfsstat4.NFS4_OK) this.seqids.set(lockOwner, 0);
    return res;
  }

  lockStateid(res: COMPOUND4res): stateid4 {
    return expectOk<LOCK4resok>(res, 1).lock_stateid;
  }
}

export interface CallOpts {
  uid?: number;
  gid?: number;
  address?: string;
  port?: number;
  tag?: string | Buffer;
  minor?: number;
  /** RPC xid (default: a new one per call); a retransmission reuses one. */
  xid?: number;
  /** The connection's back channel (a fake), as the TCP transport offers one. */
  backchannel?: RpcBackchannel;
}

export interface LogRecord {
  level: string;
  obj: object;
  msg?: string;
}

export interface CompoundOut {
  res: COMPOUND4res;
  bytes: Buffer;
}

export class Nfs4Harness {
  readonly fs: FileSystem;
  readonly exports: NfsExports;
  readonly program: Nfs4Program;
  readonly server: Nfs4Server;
  readonly logs: LogRecord[] = [];
  private xid = 1;
  private owners = 0;

  constructor(configs: ExportConfig[] = [defaultExport('export', 1)], opts: Nfs4Options = {}, fs?: FileSystem) {
    this.fs = fs ?? createMemoryFileSystem(configs);
    this.exports = createNfsExports(configs.map((config) => ({ config, fs: this.fs })));
    const rec =
      (level: string) =>
      (obj: object, msg?: string): void => {
        this.logs.push({ level, obj, msg });
      };
    const log: Logger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
    this.program = createNfs4Program(this.exports, log, opts);
    this.server = this.program.nfs4;
  }

  ctx(o: CallOpts = {}): RpcCallContext {
    const auth: RpcAuth = { flavor: AUTH_SYS, stamp: 0, machineName: 'client', uid: o.uid ?? 0, gid: o.gid ?? 0, gids: [] };
    return {
      xid: o.xid ?? this.xid++,
      prog: 100003,
      vers: 4,
      proc: 1,
      auth,
      remote: { address: o.address ?? '127.0.0.1', port: o.port ?? 700, family: 'IPv4' },
      local: { address: '127.0.0.1', port: 2049 },
      transport: 'tcp',
      signal: new AbortController().signal,
      connId: 1,
      onReplySent: () => undefined,
      ...(o.backchannel ? { backchannel: () => o.backchannel! } : {}),
    };
  }

  /** Encodes a COMPOUND, runs it through the program, returns the reply bytes and their decoding. */
  async call(ops: readonly (ArgOp | { raw: Buffer; count?: number })[], o: CallOpts = {}): Promise<CompoundOut> {
    const p = this.program.procs.get(1)!;
    const aw = new XdrWriter();
    encodeCOMPOUND4args(aw, o.tag ?? '', o.minor ?? 1, ops);
    const decoded = p.decodeArgs(new XdrReader(aw.toBuffer()));
    const out = await p.handle(this.ctx(o), decoded);
    const rw = new XdrWriter();
    p.encodeRes(rw, out);
    const bytes = rw.toBuffer();
    const r = new XdrReader(bytes);
    const res = decodeCOMPOUND4res(r);
    assert.equal(r.remaining(), 0, 'reply fully decoded');
    return { res, bytes };
  }

  async compound(ops: readonly ArgOp[], o: CallOpts = {}): Promise<COMPOUND4res> {
    return (await this.call(ops, o)).res;
  }

  /** EXCHANGE_ID + CREATE_SESSION (+ RECLAIM_COMPLETE): a ready 4.1 session. */
  async session(o: { owner?: string; fore?: channel_attrs4; minor?: number } & CallOpts = {}): Promise<Nfs4TestSession> {
    const owner = o.owner ?? `client-${++this.owners}`;
    const eid = expectOk<EXCHANGE_ID4resok>(await this.compound([op.exchangeId(owner)], o), 0);
    const flags = o.backchannel ? CREATE_SESSION4_FLAG_CONN_BACK_CHAN : 0;
    const cs = expectOk<CREATE_SESSION4resok>(await this.compound([op.createSession(eid.eir_clientid, eid.eir_sequenceid, o.fore, flags)], o), 0);
    const s = new Nfs4TestSession(this, eid.eir_clientid, cs, o);
    expectStatus(await s.run([op.reclaimComplete()]), nfsstat4.NFS4_OK);
    return s;
  }
}

export class Nfs4TestSession {
  readonly id: Buffer;
  readonly seqids: number[];

  constructor(
    readonly h: Nfs4Harness,
    readonly clientid: bigint,
    readonly created: CREATE_SESSION4resok,
    readonly opts: CallOpts = {},
  ) {
    this.id = created.csr_sessionid;
    this.seqids = new Array(created.csr_fore_chan_attrs.ca_maxrequests).fill(0);
  }

  /** SEQUENCE (slot 0 unless told, next seqid) + `ops`. */
  async call(ops: readonly ArgOp[], o: { slot?: number; seqid?: number; cachethis?: boolean } & CallOpts = {}): Promise<CompoundOut> {
    const slot = o.slot ?? 0;
    const seqid = o.seqid ?? (this.seqids[slot] = (this.seqids[slot]! + 1) >>> 0);
    return this.h.call([op.sequence(this.id, seqid, slot, o.cachethis ?? false), ...ops], { ...this.opts, ...o });
  }

  async run(ops: readonly ArgOp[], o: { slot?: number; seqid?: number; cachethis?: boolean } & CallOpts = {}): Promise<COMPOUND4res> {
    return (await this.call(ops, o)).res;
  }

  /** Runs and asserts NFS4_OK; returns the results after SEQUENCE. */
  async ok(ops: readonly ArgOp[], o: CallOpts = {}): Promise<unknown[]> {
    const res = await this.run(ops, o);
    expectStatus(res, nfsstat4.NFS4_OK);
    return res.resarray.slice(1).map((r) => r.res);
  }

  /** The export root's handle. */
  async exportRoot(name = 'export'): Promise<Buffer> {
    const [, , fh] = await this.ok([op.putrootfh(), op.lookup(name), op.getfh()]);
    return (fh as GETFH4resok).object;
  }

  /** OPEN (UNCHECKED create) of dir/name; returns the stateid and the file handle. */
  async createFile(dir: Buffer, name: string, o: { mode?: number; owner?: string; access?: number; deny?: number } = {}): Promise<{ stateid: stateid4; fh: Buffer; res: OPEN4resok }> {
    const open = op.open({
      name,
      how: { mode: createmode4.UNCHECKED4, createattrs: encodeSetAttrs({ mode: o.mode ?? 0o644 }) },
      owner: { clientid: this.clientid, owner: Buffer.from(o.owner ?? 'owner1') },
      share_access: o.access ?? 3,
      share_deny: o.deny ?? 0,
    });
    const [, res, fh] = await this.ok([op.putfh(dir), open, op.getfh()]);
    return { stateid: (res as OPEN4resok).stateid, fh: (fh as GETFH4resok).object, res: res as OPEN4resok };
  }

  async attrs(fh: Buffer, ...ids: number[]): Promise<Map<number, AttrValue>> {
    const [, ga] = await this.ok([op.putfh(fh), op.getattr(...ids)]);
    return decodeFattr4Values((ga as GETATTR4resok).obj_attributes);
  }

  sequenceResult(res: COMPOUND4res): SEQUENCE4resok {
    return expectOk<SEQUENCE4resok>(res, 0);
  }
}

export function expectStatus(res: COMPOUND4res, status: nfsstat4, msg?: string): void {
  const last = res.resarray[res.resarray.length - 1];
  const ops = res.resarray.map((r) => `${r.resop}:${nfsstat4[r.status]}`).join(' ');
  assert.equal(nfsstat4[res.status], nfsstat4[status], `${msg ?? 'COMPOUND status'} (ops ${ops})`);
  if (last) assert.equal(last.status, res.status, 'COMPOUND status is the last op status');
}

export function expectOk<T>(res: COMPOUND4res, index: number): T {
  const r = res.resarray[index];
  assert.ok(r, `result ${index} present (status ${nfsstat4[res.status]})`);
  assert.equal(nfsstat4[r.status], 'NFS4_OK', `op ${r.resop} status`);
  return r.res as T;
}

/** A back channel that records its calls and answers as told (tests of CB_NULL probing). */
export class FakeBackchannel implements RpcBackchannel {
  readonly connId = 99;
  closed = false;
  readonly calls: { prog: number; vers: number; proc: number; credFlavor: number }[] = [];
  private handlers: (() => void)[] = [];
  constructor(public answer: 'ok' | 'fail' = 'ok') {}
  async call(prog: number, vers: number, proc: number, _enc: unknown, opts: { cred?: { flavor: number } } = {}): Promise<XdrReader> {
    this.calls.push({ prog, vers, proc, credFlavor: opts.cred?.flavor ?? -1 });
    if (this.answer === 'fail') throw new Error('no answer');
    return new XdrReader(Buffer.alloc(0));
  }
  onClose(fn: () => void): void {
    this.handlers.push(fn);
  }
  close(): void {
    this.closed = true;
    for (const fn of this.handlers.splice(0)) fn();
  }
}
