/**
 * A small promise-based ONC RPC client built from the same codecs as the server: over TCP (or a
 * unix stream socket, as rpcbind offers) with record marking and many calls in flight matched by
 * xid, or over UDP with retransmission. Used by tests and by the rpcbind registration.
 *
 *   const c = await RpcClient.connect({ host: '127.0.0.1', port: 111 });
 *   const r = await c.call(100000, 2, 3, (w) => encodePmap(w, …));   // XdrReader at the results
 *   await c.close();
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { authSysCred } from './auth/sys';
import { RecordDecoder, frameRecord } from './framing';
import {
  NULL_AUTH,
  RPC_VERSION,
  SUCCESS,
  decodeReplyHeader,
  describeReply,
  encodeCallHeader,
  type OpaqueAuth,
  type ReplyHeader,
} from './message';
import type { AuthSys } from './types';

export interface RpcClientOptions {
  transport?: 'tcp' | 'udp';
  host?: string;
  port?: number;
  /** A unix stream socket instead of host/port (TCP framing). */
  path?: string;
  /** Source address/port; a port below 1024 needs privileges (some servers insist on one). */
  localAddress?: string;
  localPort?: number;
  /** Default per-call timeout (30 s). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** UDP: resend an unanswered call (same xid) this often (1 s). */
  retransmitMs?: number;
  maxRecordBytes?: number;
}

export interface CallOptions {
  /** AUTH_SYS credential; AUTH_NONE when absent. */
  auth?: AuthSys;
  /** Raw credential/verifier, overriding `auth` (tests: unknown flavors). */
  cred?: OpaqueAuth;
  verf?: OpaqueAuth;
  timeoutMs?: number;
  /** Fixed xid (tests: duplicate requests). */
  xid?: number;
  /** RPC protocol version in the header (tests: RPC_MISMATCH). */
  rpcvers?: number;
}

export interface RpcReply {
  header: ReplyHeader;
  /** Positioned at the results (meaningful when the call was accepted with SUCCESS). */
  body: XdrReader;
  /** The whole reply message as received. */
  raw: Buffer;
}

/** The server answered, but not with SUCCESS. */
export class RpcReplyError extends Error {
  constructor(readonly reply: ReplyHeader) {
    super(`rpc call failed: ${describeReply(reply)}`);
    this.name = 'RpcReplyError';
  }
}

export class RpcTimeoutError extends Error {
  constructor(xid: number, ms: number) {
    super(`rpc call xid ${xid} timed out after ${ms} ms`);
    this.name = 'RpcTimeoutError';
  }
}

export class RpcConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpcConnectionError';
  }
}

interface Pending {
  resolve(r: RpcReply): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  retransmit?: NodeJS.Timeout;
}

export class RpcClient {
  private readonly pending = new Map<number, Pending>();
  private nextXid = (Math.random() * 0x100000000) >>> 0;
  private isClosed = false;
  private closeError: Error | undefined;

  private constructor(
    private readonly opts: RpcClientOptions,
    private readonly stream: net.Socket | undefined,
    private readonly dgramSocket: dgram.Socket | undefined,
  ) {
    if (stream) {
      const decoder = new RecordDecoder({ maxRecordBytes: opts.maxRecordBytes ?? 64 * 1024 * 1024 });
      stream.on('data', (chunk: Buffer) => {
        let records: Buffer[];
        try {
          records = decoder.push(chunk);
        } catch (e) {
          this.shutdown(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        for (const r of records) this.onMessage(r);
      });
      stream.on('error', (e) => this.shutdown(e));
      stream.on('close', () => this.shutdown(new RpcConnectionError('connection closed')));
    }
    if (dgramSocket) {
      dgramSocket.on('message', (msg) => this.onMessage(msg));
      dgramSocket.on('error', (e) => this.shutdown(e));
      dgramSocket.on('close', () => this.shutdown(new RpcConnectionError('socket closed')));
    }
  }

  static async connect(opts: RpcClientOptions): Promise<RpcClient> {
    const connectTimeoutMs = opts.connectTimeoutMs ?? opts.timeoutMs ?? 30_000;
    if ((opts.transport ?? 'tcp') === 'udp') {
      const host = opts.host ?? '127.0.0.1';
      const sock = dgram.createSocket({ type: net.isIP(host) === 6 ? 'udp6' : 'udp4' });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        const connect = (): void => sock.connect(opts.port ?? 111, host, () => {
          sock.off('error', reject);
          resolve();
        });
        if (opts.localPort !== undefined || opts.localAddress !== undefined) {
          sock.bind({ port: opts.localPort ?? 0, ...(opts.localAddress ? { address: opts.localAddress } : {}) }, connect);
        } else connect();
      });
      return new RpcClient(opts, undefined, sock);
    }
    const sock = opts.path
      ? net.connect({ path: opts.path })
      : net.connect({
          host: opts.host ?? '127.0.0.1',
          port: opts.port ?? 111,
          ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
          ...(opts.localPort !== undefined ? { localPort: opts.localPort } : {}),
        });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new RpcConnectionError(`connect timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    sock.setNoDelay(true);
    return new RpcClient(opts, sock, undefined);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Calls and resolves to the results of a SUCCESS reply; any other reply rejects with RpcReplyError. */
  async call(
    prog: number,
    vers: number,
    proc: number,
    encodeArgs?: (w: XdrWriter) => void,
    opts: CallOptions = {},
  ): Promise<XdrReader> {
    const reply = await this.callFull(prog, vers, proc, encodeArgs, opts);
    const h = reply.header;
    if (h.kind !== 'accepted' || h.accept.stat !== SUCCESS) throw new RpcReplyError(h);
    return reply.body;
  }

  /** Calls and resolves to whatever reply arrives (accepted or denied). */
  callFull(
    prog: number,
    vers: number,
    proc: number,
    encodeArgs?: (w: XdrWriter) => void,
    opts: CallOptions = {},
  ): Promise<RpcReply> {
    if (this.isClosed) return Promise.reject(this.closeError ?? new RpcConnectionError('client closed'));
    const xid = opts.xid !== undefined ? opts.xid >>> 0 : this.allocXid();
    if (this.pending.has(xid)) return Promise.reject(new Error(`xid ${xid} already in flight`));
    const w = new XdrWriter();
    encodeCallHeader(w, {
      xid,
      rpcvers: opts.rpcvers ?? RPC_VERSION,
      prog,
      vers,
      proc,
      cred: opts.cred ?? (opts.auth ? authSysCred(opts.auth) : NULL_AUTH),
      verf: opts.verf ?? NULL_AUTH,
    });
    encodeArgs?.(w);
    const segments = w.segmentsOut();
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 30_000;

    return new Promise<RpcReply>((resolve, reject) => {
      const p: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(xid);
          reject(new RpcTimeoutError(xid, timeoutMs));
        }, timeoutMs),
      };
      this.pending.set(xid, p);
      if (this.stream) {
        this.stream.cork();
        for (const b of frameRecord(segments)) this.stream.write(b);
        this.stream.uncork();
      } else {
        const msg = Buffer.concat(segments);
        const send = (): void => {
          try {
            this.dgramSocket!.send(msg);
          } catch {
            // closed: the pending call fails with the close error
          }
        };
        send();
        p.retransmit = setInterval(send, this.opts.retransmitMs ?? 1000);
      }
    });
  }

  /** Closes the connection; calls still waiting reject. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.shutdown(new RpcConnectionError('client closed'));
  }

  private allocXid(): number {
    do {
      this.nextXid = (this.nextXid + 1) >>> 0;
    } while (this.pending.has(this.nextXid));
    return this.nextXid;
  }

  private settle(xid: number): Pending | undefined {
    const p = this.pending.get(xid);
    if (!p) return undefined;
    this.pending.delete(xid);
    clearTimeout(p.timer);
    if (p.retransmit) clearInterval(p.retransmit);
    return p;
  }

  private onMessage(raw: Buffer): void {
    if (raw.length < 4) return;
    const xid = raw.readUInt32BE(0);
    if (!this.pending.has(xid)) return; // late reply to a timed-out call, or a duplicate
    const r = new XdrReader(raw);
    let header: ReplyHeader;
    try {
      header = decodeReplyHeader(r);
    } catch (e) {
      this.settle(xid)?.reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    this.settle(xid)?.resolve({ header, body: r, raw });
  }

  private shutdown(err: Error): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = err;
    for (const xid of [...this.pending.keys()]) this.settle(xid)?.reject(err);
    if (this.stream) this.stream.destroy();
    if (this.dgramSocket) {
      try {
        this.dgramSocket.close();
      } catch {
        // already closed
      }
    }
  }
}
