/** NFSPROC3_NULL (RFC 1813 §3.3.0): void → void. Touches no export. */
import type { Nfs3CallContext, Nfs3Procedure } from '../procedure';
import { NFSPROC3, nfsstat3 } from '../types';

export const NULL: Nfs3Procedure<void, void, void, Nfs3CallContext> = {
  proc: NFSPROC3.NULL,
  name: 'NULL',
  mutating: false,
  handles: () => [],
  decodeArgs: () => undefined,
  handle: async () => undefined,
  // The result is void: no status word.
  encodeRes: () => {},
  failBody: async () => undefined,
  encodeArgs: () => {},
  decodeRes: () => ({ status: nfsstat3.NFS3_OK, resok: undefined }),
};
