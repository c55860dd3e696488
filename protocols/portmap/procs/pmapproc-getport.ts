/**
 * PMAPPROC_GETPORT (v2): unsigned int PMAPPROC_GETPORT(mapping) — the port of (prog, vers, prot)
 * over IPv4, or 0 when not registered; mapping.port is ignored.
 */
import type { RpcProcedure } from '../../rpc/types';
import { parseUaddr } from '../../rpc/uaddr';
import type { PortmapRegistry } from '../registry';
import { IPPROTO_TCP, IPPROTO_UDP, PMAPPROC_GETPORT, decodePmap, type pmap } from '../types';

export function pmapprocGetport(registry: PortmapRegistry): RpcProcedure<pmap, number> {
  return {
    proc: PMAPPROC_GETPORT,
    name: 'PMAPPROC_GETPORT',
    decodeArgs: decodePmap,
    handle: async (_ctx, m) => {
      if (m.prot !== IPPROTO_TCP && m.prot !== IPPROTO_UDP) return 0;
      const reg = registry.lookup(m.prog, m.vers, m.prot === IPPROTO_TCP ? 'tcp' : 'udp', false);
      return reg ? (parseUaddr(reg.uaddr)?.port ?? reg.port) : 0;
    },
    encodeRes: (w, port) => void w.uint32(port),
  };
}
