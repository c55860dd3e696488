/**
 * Client-side caching granted by a frontend (SMB oplocks and leases) that the core must have broken before
 * another caller reads, writes or opens the file: the volume asks `covers` on its hot paths (a map lookup)
 * and awaits `breakFor` only for files with caching. The frontend decides who conflicts (a caller with the
 * holder's own credential object does not) and resolves once the holders acknowledged or timed out.
 */
import type { Cred } from './types';

export interface CachingBreaker {
  covers(fileId: bigint): boolean;
  /** 'read' takes write caching, 'write' read and write caching, 'open' (another protocol's open) write caching. */
  breakFor(fileId: bigint, why: 'read' | 'write' | 'open', cred: Cred | undefined): Promise<void>;
}
