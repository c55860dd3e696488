/**
 * Drives NFSv3 procedures through program.ts's wrapping exactly as the RPC dispatcher would — args
 * encoded with XdrWriter, decoded by the program's decodeArgs, handled, encoded by its encodeRes — and
 * decodes the reply bytes with XdrReader. Backed by the real memory FileSystem.
 */
import assert from 'node:assert/strict';
import { defaultExport, type ExportConfig } from '../../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../../cluster/vfs/memory';
import type { FileSystem, Handle } from '../../../cluster/vfs/types';
import { createNfsExports, type NfsExports } from '../../../protocols/nfs3/exports';
import type { Nfs3Procedure } from '../../../protocols/nfs3/procedure';
import { createNfs3Program } from '../../../protocols/nfs3/program';
import { CREATE } from '../../../protocols/nfs3/procs/create';
import { LOOKUP } from '../../../protocols/nfs3/procs/lookup';
import { MKDIR } from '../../../protocols/nfs3/procs/mkdir';
import { WRITE } from '../../../protocols/nfs3/procs/write';
import { createmode3, nfsstat3, stable_how, type Nfs3Res, type sattr3 } from '../../../protocols/nfs3/types';
import { emptySattr3, expectEnd } from '../../../protocols/nfs3/xdr';
import type { Logger } from '../../../protocols/rpc/log';
import { AUTH_NONE, AUTH_SYS, type RpcAuth, type RpcCallContext, type RpcProgramVersion } from '../../../protocols/rpc/types';
import { XdrReader } from '../../../protocols/xdr/reader';
import { XdrWriter } from '../../../protocols/xdr/writer';

export interface CallOpts {
  /** AUTH_SYS identity (default uid 1000 gid 1000); `none: true` sends AUTH_NONE. */
  uid?: number;
  gid?: number;
  gids?: number[];
  none?: boolean;
  address?: string;
  port?: number;
}

export interface CallResult<OK, FAIL> {
  res: Nfs3Res<OK, FAIL>;
  /** Encoded reply body length (status + body), what maxcount/count limit. */
  size: number;
}

export interface LogRecord {
  level: string;
  obj: object;
  msg?: string;
}

export class Nfs3Harness {
  readonly fs: FileSystem;
  readonly exports: NfsExports;
  readonly program: RpcProgramVersion;
  readonly logs: LogRecord[] = [];
  private xid = 1;

  constructor(configs: ExportConfig[] = [defaultExport('export', 1)], fs?: FileSystem) {
    this.fs = fs ?? createMemoryFileSystem(configs);
    this.exports = createNfsExports(configs.map((config) => ({ config, fs: this.fs })));
    const rec =
      (level: string) =>
      (obj: object, msg?: string): void => {
        this.logs.push({ level, obj, msg });
      };
    const log: Logger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
    this.program = createNfs3Program(this.exports, log);
  }

  root(exportId = 1): Promise<Handle> {
    return this.fs.rootHandle(exportId);
  }

  ctx(proc: number, o: CallOpts = {}): RpcCallContext {
    const auth: RpcAuth = o.none
      ? { flavor: AUTH_NONE }
      : { flavor: AUTH_SYS, stamp: 0, machineName: 'client', uid: o.uid ?? 1000, gid: o.gid ?? 1000, gids: o.gids ?? [] };
    return {
      xid: this.xid++,
      prog: this.program.prog,
      vers: this.program.vers,
      proc,
      auth,
      remote: { address: o.address ?? '127.0.0.1', port: o.port ?? 700, family: 'IPv4' },
      local: { address: '127.0.0.1', port: 2049 },
      transport: 'tcp',
      signal: new AbortController().signal,
      connId: 1,
      onReplySent: () => undefined, // lent buffers are left to the GC here
    };
  }

  /** Encodes `args`, runs the wrapped procedure, decodes the reply. */
  async call<A, OK, FAIL>(d: Nfs3Procedure<A, OK, FAIL, any>, args: A, o: CallOpts = {}): Promise<CallResult<OK, FAIL>> {
    const p = this.program.procs.get(d.proc);
    assert.ok(p, `procedure ${d.name} registered`);
    const aw = new XdrWriter();
    d.encodeArgs(aw, args);
    const decoded = p.decodeArgs(new XdrReader(aw.toBuffer()));
    const res = await p.handle(this.ctx(d.proc, o), decoded);
    const rw = new XdrWriter();
    p.encodeRes(rw, res);
    const bytes = rw.toBuffer();
    const r = new XdrReader(bytes);
    const out = d.decodeRes(r);
    expectEnd(r);
    return { res: out, size: bytes.length };
  }

  /** Calls and asserts NFS3_OK; returns resok. */
  async ok<A, OK, FAIL>(d: Nfs3Procedure<A, OK, FAIL, any>, args: A, o: CallOpts = {}): Promise<OK> {
    const { res } = await this.call(d, args, o);
    if (res.status !== nfsstat3.NFS3_OK) assert.fail(`${d.name} failed: ${nfsstat3[res.status]}`);
    return res.resok;
  }

  /** Calls and asserts the given failure status; returns resfail. */
  async fails<A, OK, FAIL>(d: Nfs3Procedure<A, OK, FAIL, any>, args: A, status: nfsstat3, o: CallOpts = {}): Promise<FAIL> {
    const { res } = await this.call(d, args, o);
    assert.equal(nfsstat3[res.status], nfsstat3[status], `${d.name} status`);
    if (res.status === nfsstat3.NFS3_OK) assert.fail('unreachable');
    return res.resfail;
  }

  // ---- shortcuts ----

  async create(dir: Handle, name: string | Buffer, o: CallOpts = {}, attrs: sattr3 = emptySattr3()): Promise<Handle> {
    const ok = await this.ok(
      CREATE,
      { where: { dir, name: Buffer.from(name) }, how: { mode: createmode3.UNCHECKED, obj_attributes: attrs } },
      o,
    );
    assert.ok(ok.obj, 'CREATE returned a handle');
    return ok.obj;
  }

  async mkdir(dir: Handle, name: string, o: CallOpts = {}): Promise<Handle> {
    const ok = await this.ok(MKDIR, { where: { dir, name: Buffer.from(name) }, attributes: emptySattr3() }, o);
    assert.ok(ok.obj);
    return ok.obj;
  }

  async lookup(dir: Handle, name: string, o: CallOpts = {}): Promise<Handle> {
    return (await this.ok(LOOKUP, { what: { dir, name: Buffer.from(name) } }, o)).object;
  }

  async write(file: Handle, offset: bigint, data: Buffer, stable = stable_how.FILE_SYNC, o: CallOpts = {}) {
    return this.ok(WRITE, { file, offset, count: data.length, stable, data }, o);
  }
}

/** sattr3 with a mode. */
export function withMode(mode: number): sattr3 {
  return { ...emptySattr3(), mode };
}
