/**
 * A deliberately small NFSv3 + MOUNT client for end-to-end tests, encoded by hand from RFC 1813 on top
 * of our RPC client (not from protocols/nfs3's codecs, so it cross-checks the server's wire format).
 * Results are returned with their nfsstat3 so tests can assert on errors.
 */
import { RpcClient } from '../../protocols/rpc/client';
import type { AuthSys } from '../../protocols/rpc/types';
import type { XdrReader } from '../../protocols/xdr/reader';
import type { XdrWriter } from '../../protocols/xdr/writer';

export const NFS = 100003;
export const MOUNT = 100005;
export const ROOT_AUTH: AuthSys = { stamp: 1, machineName: 'e2e', uid: 0, gid: 0, gids: [] };

export interface Fattr {
  type: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  fileid: bigint;
  mtimeSec: number;
  ctimeSec: number;
  ctimeNsec: number;
}

function readFattr(r: XdrReader): Fattr {
  const type = r.uint32();
  const mode = r.uint32();
  const nlink = r.uint32();
  const uid = r.uint32();
  const gid = r.uint32();
  const size = r.uint64();
  r.uint64(); // used
  r.uint32(); r.uint32(); // rdev
  r.uint64(); // fsid
  const fileid = r.uint64();
  r.uint32(); r.uint32(); // atime
  const mtimeSec = r.uint32(); r.uint32();
  const ctimeSec = r.uint32(); const ctimeNsec = r.uint32();
  return { type, mode, nlink, uid, gid, size, fileid, mtimeSec, ctimeSec, ctimeNsec };
}

function postOp(r: XdrReader): Fattr | undefined {
  return r.bool() ? readFattr(r) : undefined;
}

function skipWcc(r: XdrReader): void {
  if (r.bool()) { r.uint64(); r.uint32(); r.uint32(); r.uint32(); r.uint32(); }
  postOp(r);
}

function sattrEmpty(w: XdrWriter, mode?: number, size?: bigint): void {
  if (mode === undefined) w.uint32(0); else w.uint32(1).uint32(mode);
  w.uint32(0).uint32(0); // uid, gid
  if (size === undefined) w.uint32(0); else w.uint32(1).uint64(size);
  w.uint32(0).uint32(0); // atime, mtime: DONT_CHANGE
}

export class Nfs3TestClient {
  private constructor(readonly rpc: RpcClient, readonly mountRpc: RpcClient, public auth: AuthSys) {}

  static async connect(nfsPort: number, mountPort: number, auth: AuthSys = ROOT_AUTH): Promise<Nfs3TestClient> {
    const rpc = await RpcClient.connect({ host: '127.0.0.1', port: nfsPort, timeoutMs: 30000 });
    const mountRpc = await RpcClient.connect({ host: '127.0.0.1', port: mountPort, timeoutMs: 30000 });
    return new Nfs3TestClient(rpc, mountRpc, auth);
  }

  async close(): Promise<void> {
    await this.rpc.close();
    await this.mountRpc.close();
  }

  /** MNT: returns [status, root handle]. */
  async mount(path: string): Promise<{ status: number; fh?: Buffer; flavors?: number[] }> {
    const r = await this.mountRpc.call(MOUNT, 3, 1, (w) => w.string(path), { auth: this.auth });
    const status = r.uint32();
    if (status !== 0) return { status };
    const fh = Buffer.from(r.opaque(64));
    const flavors = r.array(16, (x) => x.uint32());
    return { status, fh, flavors };
  }

  private call(proc: number, enc: (w: XdrWriter) => void, xid?: number): Promise<XdrReader> {
    return this.rpc.call(NFS, 3, proc, enc, { auth: this.auth, ...(xid !== undefined ? { xid } : {}) });
  }

  async getattr(fh: Buffer): Promise<{ status: number; attr?: Fattr }> {
    const r = await this.call(1, (w) => w.opaque(fh));
    const status = r.uint32();
    return status === 0 ? { status, attr: readFattr(r) } : { status };
  }

  async lookup(dir: Buffer, name: string | Buffer): Promise<{ status: number; fh?: Buffer; attr?: Fattr }> {
    const r = await this.call(3, (w) => w.opaque(dir).string(name));
    const status = r.uint32();
    if (status !== 0) return { status };
    const fh = Buffer.from(r.opaque(64));
    return { status, fh, attr: postOp(r) };
  }

  /** CREATE: mode 0 UNCHECKED, 1 GUARDED, 2 EXCLUSIVE (verf required). */
  async create(dir: Buffer, name: string | Buffer, how = 1, verf?: Buffer, xid?: number): Promise<{ status: number; fh?: Buffer; attr?: Fattr }> {
    const r = await this.call(
      8,
      (w) => {
        w.opaque(dir).string(name).uint32(how);
        if (how === 2) w.fixedOpaque(verf ?? Buffer.alloc(8));
        else sattrEmpty(w, 0o644);
      },
      xid,
    );
    const status = r.uint32();
    if (status !== 0) return { status };
    const fh = r.bool() ? Buffer.from(r.opaque(64)) : undefined;
    const attr = postOp(r);
    return { status, ...(fh ? { fh } : {}), ...(attr ? { attr } : {}) };
  }

  async mkdir(dir: Buffer, name: string | Buffer, mode = 0o755, xid?: number): Promise<{ status: number; fh?: Buffer }> {
    const r = await this.call(9, (w) => { w.opaque(dir).string(name); sattrEmpty(w, mode); }, xid);
    const status = r.uint32();
    if (status !== 0) return { status };
    const fh = r.bool() ? Buffer.from(r.opaque(64)) : undefined;
    return { status, ...(fh ? { fh } : {}) };
  }

  async write(fh: Buffer, offset: bigint, data: Buffer, stable: 0 | 1 | 2): Promise<{ status: number; count?: number; committed?: number; verf?: Buffer }> {
    const r = await this.call(7, (w) => w.opaque(fh).uint64(offset).uint32(data.length).uint32(stable).opaque(data));
    const status = r.uint32();
    skipWcc(r);
    if (status !== 0) return { status };
    const count = r.uint32();
    const committed = r.uint32();
    const verf = Buffer.from(r.fixedOpaque(8));
    return { status, count, committed, verf };
  }

  async commit(fh: Buffer): Promise<{ status: number; verf?: Buffer }> {
    const r = await this.call(21, (w) => w.opaque(fh).uint64(0n).uint32(0));
    const status = r.uint32();
    skipWcc(r);
    if (status !== 0) return { status };
    return { status, verf: Buffer.from(r.fixedOpaque(8)) };
  }

  async read(fh: Buffer, offset: bigint, count: number): Promise<{ status: number; data?: Buffer; eof?: boolean }> {
    const r = await this.call(6, (w) => w.opaque(fh).uint64(offset).uint32(count));
    const status = r.uint32();
    postOp(r);
    if (status !== 0) return { status };
    r.uint32(); // count
    const eof = r.bool();
    const data = Buffer.from(r.opaque(64 * 1024 * 1024));
    return { status, data, eof };
  }

  /** Reads [offset, offset+len) honouring short reads (rtmax), as a real client does. */
  async readAll(fh: Buffer, offset: bigint, len: number): Promise<{ status: number; data?: Buffer }> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < len) {
      const r = await this.read(fh, offset + BigInt(got), Math.min(len - got, 1024 * 1024));
      if (r.status !== 0) return { status: r.status };
      parts.push(r.data!);
      got += r.data!.length;
      if (r.eof || r.data!.length === 0) break;
    }
    return { status: 0, data: Buffer.concat(parts) };
  }

  async remove(dir: Buffer, name: string | Buffer, xid?: number): Promise<{ status: number }> {
    const r = await this.call(12, (w) => w.opaque(dir).string(name), xid);
    return { status: r.uint32() };
  }

  /** READDIR from the start to eof; returns every name (including '.' and '..'). */
  async readdirAll(dir: Buffer, count = 8192): Promise<{ status: number; names: string[] }> {
    const names: string[] = [];
    let cookie = 0n;
    let verf = Buffer.alloc(8);
    for (;;) {
      const r = await this.call(16, (w) => w.opaque(dir).uint64(cookie).fixedOpaque(verf).uint32(count));
      const status = r.uint32();
      postOp(r);
      if (status !== 0) return { status, names };
      verf = Buffer.from(r.fixedOpaque(8));
      while (r.bool()) {
        r.uint64();
        names.push(r.string(4096).toString());
        cookie = r.uint64();
      }
      if (r.bool()) return { status, names };
    }
  }
}
