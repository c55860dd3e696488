/**
 * RPCBPROC_GETADDR (v3, v4): string RPCBPROC_GETADDR(rpcb) — the universal address of
 * (prog, vers) on r_netid (the netid of the transport the call came on when r_netid is empty), or
 * "" when not registered. Another version of the program is answered when `vers` is not registered.
 * RPCBPROC_GETVERSADDR (v4) is the same with an exact version match.
 *
 * A wildcard registration ("0.0.0.0.8.1") is answered with the address the caller reached us on.
 */
import type { RpcProcedure } from '../../rpc/types';
import { mergeUaddr } from '../../rpc/uaddr';
import { transportNetid } from '../caller';
import type { PortmapRegistry } from '../registry';
import { RPCBPROC_GETADDR, RPCBPROC_GETVERSADDR, decodeRpcb, type rpcb } from '../types';

function getaddr(registry: PortmapRegistry, proc: number, name: string, exactVersion: boolean): RpcProcedure<rpcb, string> {
  return {
    proc,
    name,
    decodeArgs: decodeRpcb,
    handle: async (ctx, b) => {
      const netid = b.r_netid === '' ? transportNetid(ctx) : b.r_netid;
      const reg = registry.lookup(b.r_prog, b.r_vers, netid, exactVersion);
      return reg ? mergeUaddr(reg.uaddr, reg.netid, ctx.local.address) : '';
    },
    encodeRes: (w, uaddr) => void w.string(uaddr),
  };
}

export function rpcbprocGetaddr(registry: PortmapRegistry): RpcProcedure<rpcb, string> {
  return getaddr(registry, RPCBPROC_GETADDR, 'RPCBPROC_GETADDR', false);
}

export function rpcbprocGetversaddr(registry: PortmapRegistry): RpcProcedure<rpcb, string> {
  return getaddr(registry, RPCBPROC_GETVERSADDR, 'RPCBPROC_GETVERSADDR', true);
}
