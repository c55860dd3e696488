/**
 * Program 100000 in its three versions, in spec order. Procedures not listed (PMAPPROC_CALLIT,
 * RPCBPROC_CALLIT/BCAST, INDIRECT, UADDR2TADDR, TADDR2UADDR, GETSTAT) answer PROC_UNAVAIL: indirect
 * calls are an amplification vector and nothing we serve needs them.
 */
import type { RpcProcedure, RpcProgramVersion } from '../rpc/types';
import { nullProc } from './procs/null';
import { pmapprocDump } from './procs/pmapproc-dump';
import { pmapprocGetport } from './procs/pmapproc-getport';
import { pmapprocSet } from './procs/pmapproc-set';
import { pmapprocUnset } from './procs/pmapproc-unset';
import { rpcbprocDump } from './procs/rpcbproc-dump';
import { rpcbprocGetaddr, rpcbprocGetversaddr } from './procs/rpcbproc-getaddr';
import { rpcbprocGetaddrlist } from './procs/rpcbproc-getaddrlist';
import { rpcbprocGettime } from './procs/rpcbproc-gettime';
import { rpcbprocSet } from './procs/rpcbproc-set';
import { rpcbprocUnset } from './procs/rpcbproc-unset';
import type { PortmapRegistry } from './registry';
import { PMAPPROG, PMAPVERS, RPCBVERS, RPCBVERS4 } from './types';

function table(procs: RpcProcedure<any, any>[]): ReadonlyMap<number, RpcProcedure<any, any>> {
  return new Map(procs.map((p) => [p.proc, p]));
}

export function portmapPrograms(registry: PortmapRegistry): RpcProgramVersion[] {
  const v3procs = [
    nullProc('RPCBPROC_NULL'),
    rpcbprocSet(registry),
    rpcbprocUnset(registry),
    rpcbprocGetaddr(registry),
    rpcbprocDump(registry),
    rpcbprocGettime(),
  ];
  return [
    {
      prog: PMAPPROG,
      vers: PMAPVERS,
      procs: table([
        nullProc('PMAPPROC_NULL'),
        pmapprocSet(registry),
        pmapprocUnset(registry),
        pmapprocGetport(registry),
        pmapprocDump(registry),
      ]),
    },
    { prog: PMAPPROG, vers: RPCBVERS, procs: table(v3procs) },
    {
      prog: PMAPPROG,
      vers: RPCBVERS4,
      procs: table([...v3procs, rpcbprocGetversaddr(registry), rpcbprocGetaddrlist(registry)]),
    },
  ];
}
