/**
 * NFSv4.1 sessions and their fore-channel slot tables (RFC 8881 §2.10). Each slot remembers the last
 * sequence id it ran and, when the request asked for it (sa_cachethis), the whole encoded COMPOUND reply:
 * a retransmission with the same slot and sequence id gets that reply again, byte for byte, without the
 * operations running twice (§2.10.6.1). Without a cached reply a retry is NFS4ERR_RETRY_UNCACHED_REP.
 *
 * In memory: a VIP move or restart loses the slot tables (clients then get BADSESSION and create a new
 * session; a non-idempotent request in flight at that moment may run twice). Documented gap; issue 5.
 */
import type { RpcBackchannel } from '../../rpc/backchannel';
import type { OpaqueAuth } from '../../rpc/message';
import type { channel_attrs4 } from '../types';
import type { ClientRecord } from './clients';

export interface Slot {
  /** Sequence id of the last request admitted on this slot (0 = none yet; the first is 1). */
  seqid: number;
  /** A request with `seqid` is still running. */
  inUse: boolean;
  /** Its encoded COMPOUND4res when it asked to be cached. */
  reply?: Buffer;
  /** Fingerprint of the request's operations, to tell a true retry from a false one. */
  fingerprint?: number;
}

export interface Session {
  id: Buffer;
  client: ClientRecord;
  slots: Slot[];
  fore: channel_attrs4;
  back: channel_attrs4;
  flags: number;
  /** DESTROY_SESSION ran: new requests get BADSESSION. */
  dead: boolean;
  /** The callback program and credential CREATE_SESSION gave (csa_cb_program, csa_sec_parms). */
  cbProgram: number;
  cbCred: OpaqueAuth | undefined;
  /**
   * The back channel (RFC 8881 §2.10.3.1): the client connection bound to it and whether a CB_NULL got
   * through ('probing' until the first answer, 'down' after a failure or when the connection closed).
   */
  cb?: { channel: RpcBackchannel; state: 'probing' | 'up' | 'down' };
}

export function sessionKey(id: Buffer): string {
  return id.toString('hex');
}

export class SessionTable {
  private readonly byId = new Map<string, Session>();
  private counter = 0;

  constructor(private readonly bootId: number) {}

  create(client: ClientRecord, fore: channel_attrs4, back: channel_attrs4, flags: number, cbProgram = 0, cbCred?: OpaqueAuth): Session {
    this.counter = (this.counter + 1) >>> 0;
    const id = Buffer.alloc(16);
    id.writeBigUInt64BE(client.clientid, 0);
    id.writeUInt32BE(this.bootId >>> 0, 8);
    id.writeUInt32BE(this.counter, 12);
    const slots: Slot[] = Array.from({ length: fore.ca_maxrequests }, () => ({ seqid: 0, inUse: false }));
    const s: Session = { id, client, slots, fore, back, flags, dead: false, cbProgram, cbCred };
    this.byId.set(sessionKey(id), s);
    client.sessions.add(s);
    return s;
  }

  get(id: Buffer): Session | undefined {
    return this.byId.get(sessionKey(id));
  }

  destroy(s: Session): void {
    s.dead = true;
    this.byId.delete(sessionKey(s.id));
    s.client.sessions.delete(s);
  }

  get size(): number {
    return this.byId.size;
  }
}
