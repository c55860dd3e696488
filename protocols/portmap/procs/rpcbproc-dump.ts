/** RPCBPROC_DUMP (v3, v4): rpcblist_ptr RPCBPROC_DUMP(void) — every mapping, all netids. */
import type { RpcProcedure } from '../../rpc/types';
import type { PortmapRegistry } from '../registry';
import { RPCBPROC_DUMP, encodeRpcblist, type rpcb } from '../types';

export function rpcbprocDump(registry: PortmapRegistry): RpcProcedure<void, rpcb[]> {
  return {
    proc: RPCBPROC_DUMP,
    name: 'RPCBPROC_DUMP',
    decodeArgs: () => undefined,
    handle: async () =>
      registry.list().map((r) => ({ r_prog: r.prog, r_vers: r.vers, r_netid: r.netid, r_addr: r.uaddr, r_owner: r.owner })),
    encodeRes: encodeRpcblist,
  };
}
