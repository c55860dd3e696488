/** RPCBPROC_GETTIME (v3, v4): unsigned int RPCBPROC_GETTIME(void) — seconds since the Unix epoch. */
import type { RpcProcedure } from '../../rpc/types';
import { RPCBPROC_GETTIME } from '../types';

export function rpcbprocGettime(now: () => number = Date.now): RpcProcedure<void, number> {
  return {
    proc: RPCBPROC_GETTIME,
    name: 'RPCBPROC_GETTIME',
    decodeArgs: () => undefined,
    handle: async () => Math.floor(now() / 1000) >>> 0,
    encodeRes: (w, t) => void w.uint32(t),
  };
}
