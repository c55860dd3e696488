/**
 * PMAPPROC_SET (v2): bool PMAPPROC_SET(mapping) — register (prog, vers, prot) → port.
 * Refused (FALSE) for non-local callers, unknown protocols, or an existing (prog, vers, prot).
 */
import type { RpcProcedure } from '../../rpc/types';
import { toUaddr } from '../../rpc/uaddr';
import { callerOwner, mayChangeMappings } from '../caller';
import type { PortmapRegistry } from '../registry';
import { IPPROTO_TCP, IPPROTO_UDP, PMAPPROC_SET, decodePmap, type pmap } from '../types';

export function pmapprocSet(registry: PortmapRegistry): RpcProcedure<pmap, boolean> {
  return {
    proc: PMAPPROC_SET,
    name: 'PMAPPROC_SET',
    decodeArgs: decodePmap,
    handle: async (ctx, m) => {
      if (!mayChangeMappings(ctx)) return false;
      if ((m.prot !== IPPROTO_TCP && m.prot !== IPPROTO_UDP) || m.port === 0 || m.port > 0xffff) return false;
      return registry.set({
        prog: m.prog,
        vers: m.vers,
        prot: m.prot,
        port: m.port,
        netid: m.prot === IPPROTO_TCP ? 'tcp' : 'udp',
        uaddr: toUaddr('0.0.0.0', m.port),
        owner: callerOwner(ctx),
      });
    },
    encodeRes: (w, ok) => void w.bool(ok),
  };
}
