/**
 * RPC over UDP: one datagram is one call, the reply goes back to the sender from the same socket.
 * There is no connection to close, so calls see one AbortSignal aborted when the server shuts down.
 * Calls beyond `maxInFlight` are dropped: a UDP client retransmits, and the duplicate-request cache
 * keeps non-idempotent retransmissions from running twice.
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { RpcDispatcher } from './dispatcher';
import { errInfo, type Logger } from './log';

/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP). */
export const MAX_UDP_PAYLOAD = 65507;

export interface UdpServerOptions {
  dispatcher: RpcDispatcher;
  logger: Logger;
  maxDatagramBytes: number;
  maxInFlight: number;
  nextConnId: () => number;
}

interface Endpoint {
  socket: dgram.Socket;
  id: number;
  address: { address: string; port: number; family: string };
}

export class UdpServer {
  private readonly endpoints: Endpoint[] = [];
  private readonly abort = new AbortController();
  private inFlight = 0;
  private closing = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: UdpServerOptions) {}

  async bind(host: string, port: number): Promise<{ address: string; port: number; family: string }> {
    if (this.closing) throw new Error('server is closing');
    const socket = dgram.createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        socket.close();
        reject(e);
      };
      socket.once('error', onError);
      socket.bind({ address: host, port }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const ep: Endpoint = { socket, id: this.opts.nextConnId(), address: socket.address() };
    socket.on('error', (e) => this.opts.logger.warn({ conn: ep.id, ...errInfo(e) }, 'rpc: udp socket error'));
    socket.on('message', (msg, rinfo) => this.onMessage(ep, msg, rinfo));
    this.endpoints.push(ep);
    return ep.address;
  }

  addresses(): { address: string; port: number; family: string }[] {
    return this.endpoints.map((e) => e.address);
  }

  private onMessage(ep: Endpoint, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const { logger } = this.opts;
    if (this.closing) return;
    if (msg.length > this.opts.maxDatagramBytes) {
      logger.debug({ conn: ep.id, client: rinfo.address, bytes: msg.length }, 'rpc: oversized datagram dropped');
      return;
    }
    if (this.inFlight >= this.opts.maxInFlight) {
      logger.debug({ conn: ep.id, client: rinfo.address }, 'rpc: udp in-flight limit reached, datagram dropped');
      return;
    }
    this.inFlight++;
    const after: (() => void)[] = [];
    const finish = (): void => {
      for (const fn of after.splice(0)) {
        try {
          fn();
        } catch (e) {
          logger.error({ conn: ep.id, ...errInfo(e) }, 'rpc: after-reply hook failed');
        }
      }
    };
    this.opts.dispatcher
      .dispatch({
        record: msg,
        remote: { address: rinfo.address, port: rinfo.port, family: String(rinfo.family) === 'IPv6' || String(rinfo.family) === '6' ? 'IPv6' : 'IPv4' },
        local: { address: ep.address.address, port: ep.address.port },
        transport: 'udp',
        connId: ep.id,
        signal: this.abort.signal,
        onReplySent: (fn) => after.push(fn),
      })
      .then(
        (reply) => {
          // A datagram reply is one copied Buffer, so memory lent to the reply is free once it is built.
          if (reply) this.send(ep, reply, rinfo);
          finish();
        },
        (e) => {
          logger.error({ conn: ep.id, ...errInfo(e) }, 'rpc: dispatch rejected');
          finish();
        },
      )
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
  }

  private send(ep: Endpoint, reply: Buffer[], to: dgram.RemoteInfo): void {
    // Always a copy: the segments may reference lent memory that is given back right after this call.
    const buf = Buffer.concat(reply);
    if (buf.length > MAX_UDP_PAYLOAD) {
      this.opts.logger.warn({ conn: ep.id, client: to.address, bytes: buf.length }, 'rpc: reply too large for UDP, not sent');
      return;
    }
    try {
      ep.socket.send(buf, to.port, to.address, (e) => {
        if (e) this.opts.logger.debug({ conn: ep.id, client: to.address, ...errInfo(e) }, 'rpc: udp send failed');
      });
    } catch (e) {
      // The socket closed under a late reply.
      this.opts.logger.debug({ conn: ep.id, client: to.address, ...errInfo(e) }, 'rpc: udp send failed');
    }
  }

  /** Graceful: ignore new datagrams, wait for running calls (at most `timeoutMs`), then close. */
  async close(graceful: boolean, timeoutMs: number): Promise<void> {
    this.closing = true;
    if (graceful && this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    this.abort.abort();
    const eps = this.endpoints.splice(0);
    await Promise.all(eps.map((ep) => new Promise<void>((r) => ep.socket.close(() => r()))));
  }

  /** Closes the sockets bound to `host` (all when undefined). */
  async stopListening(host?: string): Promise<void> {
    const gone: Endpoint[] = [];
    for (let i = this.endpoints.length - 1; i >= 0; i--) {
      const ep = this.endpoints[i]!;
      if (host === undefined || ep.address.address === host) gone.push(...this.endpoints.splice(i, 1));
    }
    await Promise.all(gone.map((ep) => new Promise<void>((r) => ep.socket.close(() => r()))));
  }
}
