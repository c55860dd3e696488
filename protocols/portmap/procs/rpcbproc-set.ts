/**
 * RPCBPROC_SET (v3, v4): bool RPCBPROC_SET(rpcb) — register (prog, vers, netid) → uaddr.
 * Refused (FALSE) for non-local callers, netids other than tcp/udp/tcp6/udp6, a bad universal
 * address, or an existing (prog, vers, netid).
 */
import type { RpcProcedure } from '../../rpc/types';
import { parseUaddr, protOf } from '../../rpc/uaddr';
import { callerOwner, mayChangeMappings } from '../caller';
import type { PortmapRegistry } from '../registry';
import { RPCBPROC_SET, decodeRpcb, type rpcb } from '../types';

export function rpcbprocSet(registry: PortmapRegistry): RpcProcedure<rpcb, boolean> {
  return {
    proc: RPCBPROC_SET,
    name: 'RPCBPROC_SET',
    decodeArgs: decodeRpcb,
    handle: async (ctx, b) => {
      if (!mayChangeMappings(ctx)) return false;
      const prot = protOf(b.r_netid);
      const addr = parseUaddr(b.r_addr);
      if (prot === undefined || !addr || addr.port === 0) return false;
      return registry.set({
        prog: b.r_prog,
        vers: b.r_vers,
        prot,
        port: addr.port,
        netid: b.r_netid,
        uaddr: b.r_addr,
        owner: callerOwner(ctx),
      });
    },
    encodeRes: (w, ok) => void w.bool(ok),
  };
}
