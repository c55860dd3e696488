/**
 * What the port mapper answers from: the gateway's own services (added from its RpcServers'
 * `registrations()`), plus mappings that other local processes SET over the wire. Remote callers
 * can neither replace nor UNSET the gateway's own entries.
 */
import type { PortRegistration } from '../rpc/types';
import { parseUaddr } from '../rpc/uaddr';

const sameKey = (a: PortRegistration, prog: number, vers: number, netid: string): boolean =>
  a.prog === prog && a.vers === vers && a.netid === netid;

export class PortmapRegistry {
  private local: PortRegistration[] = [];
  private remote: PortRegistration[] = [];

  /** Publishes the gateway's own services; an entry with the same (prog, vers, netid, uaddr) is replaced. */
  add(regs: PortRegistration | readonly PortRegistration[]): void {
    for (const reg of Array.isArray(regs) ? regs : [regs as PortRegistration]) {
      this.local = this.local.filter((r) => !(sameKey(r, reg.prog, reg.vers, reg.netid) && r.uaddr === reg.uaddr));
      this.local.push({ ...reg });
    }
  }

  /** Withdraws the gateway's own entries matching `pred`; returns how many. */
  remove(pred: (r: PortRegistration) => boolean): number {
    const before = this.local.length;
    this.local = this.local.filter((r) => !pred(r));
    return before - this.local.length;
  }

  /** Everything, the gateway's own entries first. */
  list(): PortRegistration[] {
    return [...this.local, ...this.remote];
  }

  /** Remote SET: refused (false) when (prog, vers, netid) is already mapped (RFC 1833). */
  set(reg: PortRegistration): boolean {
    if (this.list().some((r) => sameKey(r, reg.prog, reg.vers, reg.netid))) return false;
    if (!parseUaddr(reg.uaddr)) return false;
    this.remote.push({ ...reg });
    return true;
  }

  /** Remote UNSET of (prog, vers, netid), or of every netid when `netid` is undefined. */
  unset(prog: number, vers: number, netid?: string): boolean {
    const before = this.remote.length;
    this.remote = this.remote.filter((r) => !(r.prog === prog && r.vers === vers && (netid === undefined || r.netid === netid)));
    return this.remote.length !== before;
  }

  /**
   * The entry for (prog, vers) on `netid`. Unless `exactVersion`, another version of the program on
   * that netid is returned when `vers` is not registered, as rpcbind does for GETPORT/GETADDR: the
   * client then learns the supported range from the service's PROG_MISMATCH.
   */
  lookup(prog: number, vers: number, netid: string, exactVersion: boolean): PortRegistration | undefined {
    let other: PortRegistration | undefined;
    for (const r of this.list()) {
      if (r.prog !== prog || r.netid !== netid) continue;
      if (r.vers === vers) return r;
      other ??= r;
    }
    return exactVersion ? undefined : other;
  }
}
