/**
 * RPCBPROC_GETADDRLIST (v4): rpcb_entry_list_ptr RPCBPROC_GETADDRLIST(rpcb) — every address of
 * exactly (prog, vers), on all netids, with the netconfig facts a client needs to pick one.
 */
import type { RpcProcedure } from '../../rpc/types';
import { mergeUaddr } from '../../rpc/uaddr';
import type { PortmapRegistry } from '../registry';
import {
  NC_TPI_CLTS,
  NC_TPI_COTS_ORD,
  RPCBPROC_GETADDRLIST,
  decodeRpcb,
  encodeRpcbEntryList,
  type rpcb,
  type rpcb_entry,
} from '../types';

export function rpcbprocGetaddrlist(registry: PortmapRegistry): RpcProcedure<rpcb, rpcb_entry[]> {
  return {
    proc: RPCBPROC_GETADDRLIST,
    name: 'RPCBPROC_GETADDRLIST',
    decodeArgs: decodeRpcb,
    handle: async (ctx, b) =>
      registry
        .list()
        .filter((r) => r.prog === b.r_prog && r.vers === b.r_vers)
        .map((r) => ({
          r_maddr: mergeUaddr(r.uaddr, r.netid, ctx.local.address),
          r_nc_netid: r.netid,
          r_nc_semantics: r.prot === 6 ? NC_TPI_COTS_ORD : NC_TPI_CLTS,
          r_nc_protofmly: r.netid.endsWith('6') ? 'inet6' : 'inet',
          r_nc_proto: r.prot === 6 ? 'tcp' : 'udp',
        })),
    encodeRes: encodeRpcbEntryList,
  };
}
