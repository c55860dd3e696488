/** PMAPPROC_NULL / RPCBPROC_NULL: void → void, the ping every version has. */
import type { RpcProcedure } from '../../rpc/types';

export function nullProc(name: string): RpcProcedure<void, void> {
  return {
    proc: 0,
    name,
    decodeArgs: () => undefined,
    handle: async () => undefined,
    encodeRes: () => {},
  };
}
