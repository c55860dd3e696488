/**
 * PMAPPROC_UNSET (v2): bool PMAPPROC_UNSET(mapping) — drop every mapping of (prog, vers) made over
 * IPv4; prot and port are ignored. Only for local callers.
 */
import type { RpcProcedure } from '../../rpc/types';
import { mayChangeMappings } from '../caller';
import type { PortmapRegistry } from '../registry';
import { PMAPPROC_UNSET, decodePmap, type pmap } from '../types';

export function pmapprocUnset(registry: PortmapRegistry): RpcProcedure<pmap, boolean> {
  return {
    proc: PMAPPROC_UNSET,
    name: 'PMAPPROC_UNSET',
    decodeArgs: decodePmap,
    handle: async (ctx, m) => {
      if (!mayChangeMappings(ctx)) return false;
      const tcp = registry.unset(m.prog, m.vers, 'tcp');
      const udp = registry.unset(m.prog, m.vers, 'udp');
      return tcp || udp;
    },
    encodeRes: (w, ok) => void w.bool(ok),
  };
}
