/**
 * Open state (RFC 8881 §8.2, §9): one open stateid per (client, open-owner, file), with share access and
 * deny bits checked against every other open of the file. Stateids are { seqid, other[12] }; `other` is
 * this server instance's boot id (4 bytes) + a counter (8 bytes), so a stateid of an earlier instance is
 * recognisable (NFS4ERR_STALE_STATEID in 4.0, NFS4ERR_BAD_STATEID in 4.1).
 *
 * In memory for now, and not yet shared with SMB opens: the core has no OpenState yet (STYLE: "Opens are
 * state in the core"); moving share reservations into cluster/locks is part of issue 5.
 */
import type { ClientRecord } from './clients';

export interface OpenStateRec {
  other: Buffer;
  seqid: number;
  client: ClientRecord;
  owner: Buffer;
  /** Volume-wide file identity (same file through two exports conflicts). */
  fileKey: string;
  /** The file handle the open was made through: READ/WRITE/CLOSE must use the same one. */
  fh: Buffer;
  access: number;
  deny: number;
}

export type StateLookup =
  | { kind: 'open'; rec: OpenStateRec }
  | { kind: 'stale' }
  | { kind: 'bad' };

export class StateTable {
  private readonly byOther = new Map<string, OpenStateRec>();
  private readonly byFile = new Map<string, Set<OpenStateRec>>();
  private readonly byOwnerFile = new Map<string, OpenStateRec>();
  private counter = 0n;

  constructor(private readonly bootId: number) {}

  private static ownerFileKey(client: ClientRecord, owner: Buffer, fileKey: string): string {
    return `${client.clientid}:${owner.toString('base64')}:${fileKey}`;
  }

  private mintOther(): Buffer {
    this.counter++;
    const b = Buffer.alloc(12);
    b.writeUInt32BE(this.bootId >>> 0, 0);
    b.writeBigUInt64BE(this.counter, 4);
    return b;
  }

  /** The other opens of `fileKey` that conflict with (access, deny), excluding `self`. */
  conflicts(fileKey: string, access: number, deny: number, self?: OpenStateRec): OpenStateRec[] {
    const set = this.byFile.get(fileKey);
    const out: OpenStateRec[] = [];
    if (!set) return out;
    for (const o of set) {
      if (o === self) continue;
      if (o.deny & access || o.access & deny) out.push(o);
    }
    return out;
  }

  existing(client: ClientRecord, owner: Buffer, fileKey: string): OpenStateRec | undefined {
    return this.byOwnerFile.get(StateTable.ownerFileKey(client, owner, fileKey));
  }

  /** New open state with seqid 1. */
  add(client: ClientRecord, owner: Buffer, fileKey: string, fh: Buffer, access: number, deny: number): OpenStateRec {
    const rec: OpenStateRec = { other: this.mintOther(), seqid: 1, client, owner: Buffer.from(owner), fileKey, fh: Buffer.from(fh), access, deny };
    this.byOther.set(rec.other.toString('hex'), rec);
    let set = this.byFile.get(fileKey);
    if (!set) this.byFile.set(fileKey, (set = new Set()));
    set.add(rec);
    this.byOwnerFile.set(StateTable.ownerFileKey(client, owner, fileKey), rec);
    return rec;
  }

  remove(rec: OpenStateRec): void {
    this.byOther.delete(rec.other.toString('hex'));
    const set = this.byFile.get(rec.fileKey);
    if (set) {
      set.delete(rec);
      if (set.size === 0) this.byFile.delete(rec.fileKey);
    }
    const k = StateTable.ownerFileKey(rec.client, rec.owner, rec.fileKey);
    if (this.byOwnerFile.get(k) === rec) this.byOwnerFile.delete(k);
  }

  lookup(other: Buffer): StateLookup {
    const rec = this.byOther.get(other.toString('hex'));
    if (rec) return { kind: 'open', rec };
    return other.readUInt32BE(0) === this.bootId >>> 0 ? { kind: 'bad' } : { kind: 'stale' };
  }

  /** Drops every open of a client (expiry, DESTROY_CLIENTID, a client that restarted). */
  dropClient(client: ClientRecord): number {
    let n = 0;
    for (const rec of [...this.byOther.values()]) {
      if (rec.client === client) {
        this.remove(rec);
        n++;
      }
    }
    return n;
  }

  countFor(client: ClientRecord): number {
    let n = 0;
    for (const rec of this.byOther.values()) if (rec.client === client) n++;
    return n;
  }

  get size(): number {
    return this.byOther.size;
  }
}
