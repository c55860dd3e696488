/**
 * A small NFSv4.0 client over TCP built from our own codecs (the op builders of test/proc/nfs4/harness),
 * for e2e tests that need a second client beside the kernel one: it holds opens and locks the guest
 * must respect, and checks state across a gateway restart.
 */
import { decodeCOMPOUND4res, encodeCOMPOUND4args, type ArgOp } from '../../protocols/nfs4/compound';
import type { GETFH4resok } from '../../protocols/nfs4/ops/getfh';
import type { LOCK4resok } from '../../protocols/nfs4/ops/lock';
import type { OPEN4resok } from '../../protocols/nfs4/ops/open';
import type { OPEN_CONFIRM4resok } from '../../protocols/nfs4/ops/open-confirm';
import type { SETCLIENTID4resok } from '../../protocols/nfs4/ops/setclientid';
import { OPEN4_RESULT_CONFIRM, nfsstat4, type COMPOUND4res, type stateid4 } from '../../protocols/nfs4/types';
import { RpcClient } from '../../protocols/rpc/client';
import type { AuthSys } from '../../protocols/rpc/types';
import { op } from '../proc/nfs4/harness';

const auth: AuthSys = { stamp: 1, machineName: 'e2e-host', uid: 0, gid: 0, gids: [] };

export class Nfs40Client {
  private readonly seqids = new Map<string, number>();
  clientid = 0n;

  private constructor(private readonly rpc: RpcClient) {}

  static async connect(port: number, id: string): Promise<Nfs40Client> {
    const c = new Nfs40Client(await RpcClient.connect({ host: '127.0.0.1', port, timeoutMs: 20_000 }));
    const sc = c.ok<SETCLIENTID4resok>(await c.run([op.setclientid(id)]), 0);
    c.clientid = sc.clientid;
    c.check(await c.run([op.setclientidConfirm(sc.clientid, sc.setclientid_confirm)]));
    return c;
  }

  async run(ops: readonly ArgOp[]): Promise<COMPOUND4res> {
    const body = await this.rpc.call(100003, 4, 1, (w) => encodeCOMPOUND4args(w, 'e2e', 0, ops), { auth });
    return decodeCOMPOUND4res(body);
  }

  check(res: COMPOUND4res): COMPOUND4res {
    if (res.status !== nfsstat4.NFS4_OK) throw new Error(`COMPOUND failed: ${nfsstat4[res.status]} (${res.resarray.map((r) => nfsstat4[r.status]).join(',')})`);
    return res;
  }

  ok<T>(res: COMPOUND4res, i: number): T {
    this.check(res);
    return res.resarray[i]!.res as T;
  }

  next(owner: string): number {
    const n = (this.seqids.get(owner) ?? -1) + 1;
    this.seqids.set(owner, n);
    return n;
  }

  async lookupPath(path: string[]): Promise<Buffer> {
    const res = await this.run([op.putrootfh(), ...path.map((p) => op.lookup(p)), op.getfh()]);
    return this.ok<GETFH4resok>(res, path.length + 1).object;
  }

  async exists(dir: string[], name: string): Promise<boolean> {
    const res = await this.run([op.putrootfh(), ...[...dir, name].map((p) => op.lookup(p))]);
    return res.status === nfsstat4.NFS4_OK;
  }

  /** Opens (creating) dir/name read-write and confirms the open-owner when asked. */
  async open(dir: string[], name: string, owner = 'host-owner'): Promise<{ fh: Buffer; stateid: stateid4 }> {
    const dirFh = await this.lookupPath(dir);
    const o = op.createUnchecked(name, undefined, owner);
    (o.args as { seqid: number; owner: { clientid: bigint } }).seqid = this.next(owner);
    (o.args as { owner: { clientid: bigint } }).owner.clientid = this.clientid;
    const res = await this.run([op.putfh(dirFh), o, op.getfh()]);
    const r = this.ok<OPEN4resok>(res, 1);
    const fh = this.ok<GETFH4resok>(res, 2).object;
    if (!(r.rflags & OPEN4_RESULT_CONFIRM)) return { fh, stateid: r.stateid };
    const oc = this.ok<OPEN_CONFIRM4resok>(await this.run([op.putfh(fh), op.openConfirm(r.stateid, this.next(owner))]), 1);
    return { fh, stateid: oc.open_stateid };
  }

  /** A whole-file write lock by a new lock-owner; the COMPOUND result (NFS4_OK or DENIED). */
  async lockWhole(fh: Buffer, open: stateid4, lockOwner = 'host-lock', openOwner = 'host-owner'): Promise<{ res: COMPOUND4res; stateid?: stateid4 }> {
    const res = await this.run([op.putfh(fh), op.lockNew({ clientid: this.clientid, owner: lockOwner, openSeqid: this.next(openOwner), lockSeqid: 0 }, open)]);
    if (res.status !== nfsstat4.NFS4_OK) return { res };
    this.seqids.set(lockOwner, 0);
    return { res, stateid: (res.resarray[1]!.res as LOCK4resok).lock_stateid };
  }

  async unlock(fh: Buffer, lock: stateid4, lockOwner = 'host-lock'): Promise<void> {
    this.check(await this.run([op.putfh(fh), op.locku(lock, { seqid: this.next(lockOwner) })]));
  }

  async renew(): Promise<nfsstat4> {
    return (await this.run([op.renew(this.clientid)])).status;
  }

  async close(): Promise<void> {
    await this.rpc.close();
  }
}
