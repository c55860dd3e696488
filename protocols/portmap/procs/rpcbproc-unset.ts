/**
 * RPCBPROC_UNSET (v3, v4): bool RPCBPROC_UNSET(rpcb) — drop (prog, vers, netid), or (prog, vers)
 * on every netid when r_netid is empty; r_addr is ignored. Only for local callers.
 */
import type { RpcProcedure } from '../../rpc/types';
import { mayChangeMappings } from '../caller';
import type { PortmapRegistry } from '../registry';
import { RPCBPROC_UNSET, decodeRpcb, type rpcb } from '../types';

export function rpcbprocUnset(registry: PortmapRegistry): RpcProcedure<rpcb, boolean> {
  return {
    proc: RPCBPROC_UNSET,
    name: 'RPCBPROC_UNSET',
    decodeArgs: decodeRpcb,
    handle: async (ctx, b) => {
      if (!mayChangeMappings(ctx)) return false;
      return registry.unset(b.r_prog, b.r_vers, b.r_netid === '' ? undefined : b.r_netid);
    },
    encodeRes: (w, ok) => void w.bool(ok),
  };
}
