/**
 * Calls from the server to the client over a TCP connection the client opened: the NFSv4.1 back channel
 * (RFC 8881 §2.10.3.1), which carries CB_NULL / CB_COMPOUND on the client's own connection, so it works
 * through NAT and firewalls that a separate callback connection (NFSv4.0) does not.
 *
 * The connection hands every REPLY record it receives to `onReply`; a reply to one of our calls settles
 * it, anything else is left to the dispatcher (which ignores stray replies). When the connection closes,
 * pending calls reject and the close handlers run.
 */
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { RpcReplyError, RpcTimeoutError, RpcConnectionError } from './client';
import { NULL_AUTH, RPC_VERSION, SUCCESS, decodeReplyHeader, encodeCallHeader, type OpaqueAuth } from './message';

/** What a program sees of a connection's back channel (RpcCallContext.backchannel). */
export interface RpcBackchannel {
  readonly connId: number;
  readonly closed: boolean;
  /** Sends a CALL; resolves with the results of a SUCCESS reply, rejects on any other reply, timeout or close. */
  call(prog: number, vers: number, proc: number, encodeArgs: ((w: XdrWriter) => void) | undefined, opts?: { cred?: OpaqueAuth; timeoutMs?: number }): Promise<XdrReader>;
  /** Runs once when the connection closes (at once if it already has). */
  onClose(fn: () => void): void;
}

interface Pending {
  resolve(r: XdrReader): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Back-channel calls in flight per connection (DESIGN invariant 11). */
const MAX_PENDING = 64;

export class ConnectionBackchannel implements RpcBackchannel {
  private readonly pending = new Map<number, Pending>();
  private readonly closeHandlers: (() => void)[] = [];
  private nextXid = (Math.random() * 0x100000000) >>> 0;
  private isClosed = false;

  constructor(
    readonly connId: number,
    /** Writes one record (the connection adds the record mark). False if the connection is gone. */
    private readonly send: (segments: Buffer[]) => boolean,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  call(prog: number, vers: number, proc: number, encodeArgs: ((w: XdrWriter) => void) | undefined, opts: { cred?: OpaqueAuth; timeoutMs?: number } = {}): Promise<XdrReader> {
    if (this.isClosed) return Promise.reject(new RpcConnectionError('connection closed'));
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new RpcConnectionError('too many back-channel calls in flight'));
    do this.nextXid = (this.nextXid + 1) >>> 0;
    while (this.pending.has(this.nextXid));
    const xid = this.nextXid;
    const w = new XdrWriter(256);
    encodeCallHeader(w, { xid, rpcvers: RPC_VERSION, prog, vers, proc, cred: opts.cred ?? NULL_AUTH, verf: NULL_AUTH });
    encodeArgs?.(w);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise<XdrReader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(xid);
        reject(new RpcTimeoutError(xid, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.pending.set(xid, { resolve, reject, timer });
      if (!this.send(w.segmentsOut())) {
        this.pending.delete(xid);
        clearTimeout(timer);
        reject(new RpcConnectionError('connection closed'));
      }
    });
  }

  /** A REPLY record arrived: true if it answered one of our calls (the caller may then reuse the record). */
  onReply(record: Buffer): boolean {
    if (record.length < 8) return false;
    const xid = record.readUInt32BE(0);
    const p = this.pending.get(xid);
    if (!p) return false;
    this.pending.delete(xid);
    clearTimeout(p.timer);
    // The results are copied out: the record may be pooled memory the connection reuses.
    const r = new XdrReader(Buffer.from(record));
    try {
      const h = decodeReplyHeader(r);
      if (h.kind !== 'accepted' || h.accept.stat !== SUCCESS) p.reject(new RpcReplyError(h));
      else p.resolve(r);
    } catch (e) {
      p.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return true;
  }

  onClose(fn: () => void): void {
    if (this.isClosed) fn();
    else this.closeHandlers.push(fn);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RpcConnectionError('connection closed'));
    }
    this.pending.clear();
    for (const fn of this.closeHandlers.splice(0)) {
      try {
        fn();
      } catch {
        // a handler's failure must not stop the others
      }
    }
  }
}
