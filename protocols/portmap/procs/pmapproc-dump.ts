/** PMAPPROC_DUMP (v2): pmaplist_ptr PMAPPROC_DUMP(void) — every IPv4 (tcp/udp) mapping. */
import type { RpcProcedure } from '../../rpc/types';
import { parseUaddr, protOf } from '../../rpc/uaddr';
import type { PortmapRegistry } from '../registry';
import { PMAPPROC_DUMP, encodePmaplist, type pmap } from '../types';

export function pmapprocDump(registry: PortmapRegistry): RpcProcedure<void, pmap[]> {
  return {
    proc: PMAPPROC_DUMP,
    name: 'PMAPPROC_DUMP',
    decodeArgs: () => undefined,
    handle: async () => {
      const out: pmap[] = [];
      for (const r of registry.list()) {
        // Version 2 speaks IPv4 only: tcp6/udp6 entries have no pmap form.
        if (r.netid !== 'tcp' && r.netid !== 'udp') continue;
        const port = parseUaddr(r.uaddr)?.port ?? r.port;
        const prot = protOf(r.netid)!;
        if (!out.some((m) => m.prog === r.prog && m.vers === r.vers && m.prot === prot)) {
          out.push({ prog: r.prog, vers: r.vers, prot, port });
        }
      }
      return out;
    },
    encodeRes: encodePmaplist,
  };
}
