/**
 * Which NFSv4 clients held state, kept across restarts so that after one the server knows who may
 * reclaim in the grace period (RFC 7530 §9.6.2, RFC 8881 §8.4.2.1: "stable storage" of client records;
 * knfsd keeps the same in nfsdcld). One record per client owner (the co_ownerid / SETCLIENTID id bytes,
 * which a client keeps across its own reconnects), written when the client first takes state and removed
 * when it goes away cleanly, expires, or fails to come back within a grace period.
 *
 * Opens and locks themselves are not stored: a reclaiming client states them (CLAIM_PREVIOUS opens, LOCK
 * with reclaim), and during the grace period no one else can take new state, so reclaims cannot meet a
 * conflict that was not there before the restart.
 *
 * Where (DESIGN invariant 10): in the metadata store of the gateway's first volume, under table tag 'N'
 * (docs/on-disk-format.md): on a single node that is the cluster store; with the Redis engine every
 * gateway sees the same records, so a gateway taking over an address knows the clients of the one that
 * failed. Keys: 'N' 'c' ownerId → 0x01.
 */
import type { Kv } from '../meta/kv';

export interface ReclaimStore {
  /** Owner ids (opaque bytes) of the clients recorded so far. */
  load(): Promise<Buffer[]>;
  add(ownerId: Buffer): Promise<void>;
  remove(ownerId: Buffer): Promise<void>;
}

export const TAG_NFS4_CLIENT = Buffer.from('Nc');

/** Owner ids longer than this are not recorded (RFC 7530 caps them at NFS4_OPAQUE_LIMIT, 1024). */
const MAX_OWNER_BYTES = 1024;

export class KvReclaimStore implements ReclaimStore {
  constructor(private readonly kv: Kv) {}

  private key(ownerId: Buffer): Buffer {
    return Buffer.concat([TAG_NFS4_CLIENT, ownerId]);
  }

  async load(): Promise<Buffer[]> {
    const keys = await this.kv.rangeKeys({ prefix: TAG_NFS4_CLIENT, limit: 1_000_000 });
    return keys.map((k) => Buffer.from(k.subarray(TAG_NFS4_CLIENT.length)));
  }

  async add(ownerId: Buffer): Promise<void> {
    if (ownerId.length === 0 || ownerId.length > MAX_OWNER_BYTES) return;
    await this.kv.txn(async (tx) => tx.put(this.key(ownerId), Buffer.from([1])), { durable: true });
  }

  async remove(ownerId: Buffer): Promise<void> {
    await this.kv.txn(async (tx) => tx.delete(this.key(ownerId)), { durable: true });
  }
}

/** In memory (tests; a restart of the same object simulates a gateway restart). */
export class MemoryReclaimStore implements ReclaimStore {
  readonly owners = new Map<string, Buffer>();
  async load(): Promise<Buffer[]> {
    return [...this.owners.values()];
  }
  async add(ownerId: Buffer): Promise<void> {
    this.owners.set(ownerId.toString('hex'), Buffer.from(ownerId));
  }
  async remove(ownerId: Buffer): Promise<void> {
    this.owners.delete(ownerId.toString('hex'));
  }
}
