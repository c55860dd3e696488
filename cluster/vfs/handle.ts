/**
 * File handle layout (DESIGN invariant 1). Fixed 28 bytes, fits NFSv3 (64) and NFSv4 (128):
 *
 *   0  version   u8   = 1
 *   1  kind      u8   FileType of the inode (lets a frontend answer NOTDIR/ISDIR early; not trusted)
 *   2  reserved  u16  = 0
 *   4  exportId  u32  which export (and so which volume and which policy) the handle was minted for
 *   8  fileId    u64  inode number, unique in the volume, never reused
 *  16  gen       u32  inode generation (random per inode), so a reused slot can never alias
 *  20  mac       8B   HMAC-SHA256(volume secret, bytes 0..19) truncated: a handle cannot be forged or
 *                     moved to another export, so a client cannot reach outside its export by editing bytes
 *
 * The secret lives in the metadata store, so handles survive restarts and are valid on every gateway.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BoundedMap } from './bounded-map';
import { CoreError, Errc } from './errors';
import type { FileType, Handle } from './types';

export const HANDLE_VERSION = 1;
export const HANDLE_SIZE = 28;
const MAC_OFF = 20;

export interface HandleFields {
  kind: FileType;
  exportId: number;
  fileId: bigint;
  gen: number;
}

/** Reads only the export id (frontends need it to pick policy before calling the core). */
export function handleExportId(h: Handle): number {
  if (h.length !== HANDLE_SIZE || h[0] !== HANDLE_VERSION) throw new CoreError(Errc.BADHANDLE, 'malformed handle');
  return h.readUInt32BE(4);
}

/**
 * Reads only the inode number, without verifying the MAC: for the mandatory byte-range lock probe an
 * anonymous (NFSv3) READ/WRITE makes before calling the core, which verifies the handle itself.
 */
export function handleFileId(h: Handle): bigint {
  if (h.length !== HANDLE_SIZE || h[0] !== HANDLE_VERSION) throw new CoreError(Errc.BADHANDLE, 'malformed handle');
  return h.readBigUInt64BE(8);
}

/** Handles remembered each way; a directory listing mints one per entry and every call verifies one. */
const CACHE_ENTRIES = 65536;

export class HandleCodec {
  // The MAC is a pure function of (secret, bytes 0..19), so a handle once minted or verified can be
  // remembered instead of recomputed. Both caches are bounded with O(1) eviction (bounded-map.ts).
  // Minted handles are shared Buffers: callers treat handles as immutable.
  private readonly minted = new BoundedMap<number | string, Handle>(CACHE_ENTRIES);
  private readonly verified = new BoundedMap<string, HandleFields>(CACHE_ENTRIES);

  constructor(private readonly secret: Buffer) {}

  private mac(h: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(h.subarray(0, MAC_OFF)).digest().subarray(0, HANDLE_SIZE - MAC_OFF);
  }

  /**
   * The handle of `f`. With `known`, it is also remembered as verified, so its first parse skips the MAC:
   * for a file just created, whose handle comes straight back (NFSv4 OPEN opens the file it created, the
   * client's next PUTFH). Not for every mint: a listing mints one per entry, and remembering them all
   * would push out the handles clients are actually sending.
   */
  mint(f: HandleFields, known = false): Handle {
    // Keyed by the inode number alone when it is a safe integer (always, in practice: numbers count up
    // from 2), so a hit costs no string building; the other fields are checked against the cached bytes.
    const num = Number(f.fileId);
    const key: number | string = Number.isSafeInteger(num) ? num : `${f.fileId}`;
    const hit = this.minted.get(key);
    if (hit && hit[1] === f.kind && hit.readUInt32BE(4) === f.exportId >>> 0 && hit.readUInt32BE(16) === f.gen >>> 0) {
      if (known) this.markVerified(hit);
      return hit;
    }
    // Its own memory, not a slice of Node's shared pool: minted handles are kept (cache), and a kept
    // slice would pin a whole 8 KiB pool block.
    const h = Buffer.alloc(HANDLE_SIZE);
    h[0] = HANDLE_VERSION;
    h[1] = f.kind;
    h.writeUInt32BE(f.exportId >>> 0, 4);
    h.writeBigUInt64BE(f.fileId, 8);
    h.writeUInt32BE(f.gen >>> 0, 16);
    this.mac(h).copy(h, MAC_OFF);
    // One entry per inode: a handle of the same inode for another export replaces it (rare).
    this.minted.set(key, h);
    if (known) this.markVerified(h);
    return h;
  }

  private markVerified(h: Handle): void {
    const key = h.toString('latin1');
    if (!this.verified.has(key)) this.verified.set(key, fieldsOf(h));
  }

  /** Malformed or forged → BADHANDLE. Whether the inode still exists is the caller's check (→ STALE). */
  parse(h: Handle): HandleFields {
    if (h.length !== HANDLE_SIZE || h[0] !== HANDLE_VERSION || h[2] !== 0 || h[3] !== 0) {
      throw new CoreError(Errc.BADHANDLE, 'malformed handle');
    }
    const key = h.toString('latin1');
    const hit = this.verified.get(key);
    if (hit) return hit;
    if (!timingSafeEqual(this.mac(h), h.subarray(MAC_OFF))) throw new CoreError(Errc.BADHANDLE, 'handle signature mismatch');
    const f = fieldsOf(h);
    this.verified.set(key, f);
    return f;
  }
}

function fieldsOf(h: Handle): HandleFields {
  return Object.freeze({ kind: h[1] as FileType, exportId: h.readUInt32BE(4), fileId: h.readBigUInt64BE(8), gen: h.readUInt32BE(16) });
}
