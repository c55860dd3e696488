/**
 * `RpcServer`: the programs one set of ports serves (e.g. NFS on 2049, or MOUNT on 20048), over
 * TCP and UDP, with shared limits, one duplicate-request cache, and orderly shutdown.
 *
 *   const s = new RpcServer({ logger });
 *   s.addProgram(nfs3);                       // before or after listening
 *   const port = await s.listenTcp('0.0.0.0', 2049);
 *   await s.listenUdp('0.0.0.0', 2049);
 *   portmap.add(s.registrations());
 *   …
 *   await s.close({ graceful: true, timeoutMs: 10_000 });
 */
import type * as net from 'node:net';
import { RpcDispatcher, type CallObservation } from './dispatcher';
import { DuplicateRequestCache, type DrcOptions } from './drc';
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_RECORD_BYTES } from './framing';
import { noopLogger, type Logger } from './log';
import { TcpServer } from './tcp-server';
import type { PortRegistration, RpcProgramVersion } from './types';
import { UdpServer } from './udp-server';
import { isWildcard, netidFor, toUaddr } from './uaddr';

export interface RpcServerOptions {
  logger?: Logger;
  /** Largest record accepted over TCP (default 1 MiB + 64 KiB). */
  maxRecordBytes?: number;
  /** Most fragments in one record (default 1024). */
  maxFragments?: number;
  /** Calls running at once per TCP connection; at the cap the socket stops reading (default 64). */
  maxInFlightPerConnection?: number;
  /** Open TCP connections; more are refused (default 1024). */
  maxConnections?: number;
  /** Close TCP connections idle this long (default 15 minutes; 0 = never). */
  idleTimeoutMs?: number;
  /** Largest UDP datagram accepted (default 65535). */
  maxUdpDatagramBytes?: number;
  /** UDP calls running at once; more are dropped and the client retransmits (default 256). */
  maxUdpInFlight?: number;
  /**
   * Duplicate-request cache: an instance (share one across the servers of a program), options for
   * a private one, or false for none. Default: a private cache with default limits.
   */
  drc?: DuplicateRequestCache | DrcOptions | false;
  /** `r_owner` in registrations (default "superuser", as rpcbind shows root's services). */
  owner?: string;
  /** Called once per message (metrics). */
  onCall?: (o: CallObservation) => void;
  /** Called with the number of open TCP connections whenever it changes (metrics). */
  onConnectionCount?: (open: number) => void;
}

export interface CloseOptions {
  /** Wait for running calls and flush their replies before closing connections. */
  graceful: boolean;
  /** How long a graceful close waits before destroying what is left (default 10 s). */
  timeoutMs?: number;
}

let connCounter = 0;
/** Connection ids are process-wide so logs from several servers never collide. */
const nextConnId = (): number => (connCounter = (connCounter + 1) >>> 0);

export class RpcServer {
  readonly dispatcher: RpcDispatcher;
  private readonly tcp: TcpServer;
  private readonly udp: UdpServer;
  private readonly owner: string;
  private closed = false;

  constructor(opts: RpcServerOptions = {}) {
    const logger = opts.logger ?? noopLogger;
    const drc =
      opts.drc === false ? null : opts.drc instanceof DuplicateRequestCache ? opts.drc : new DuplicateRequestCache(opts.drc ?? {});
    this.dispatcher = new RpcDispatcher({ logger, drc, ...(opts.onCall ? { onCall: opts.onCall } : {}) });
    this.owner = opts.owner ?? 'superuser';
    this.tcp = new TcpServer({
      dispatcher: this.dispatcher,
      logger,
      maxRecordBytes: opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      maxFragments: opts.maxFragments ?? DEFAULT_MAX_FRAGMENTS,
      maxInFlightPerConnection: opts.maxInFlightPerConnection ?? 64,
      maxConnections: opts.maxConnections ?? 1024,
      idleTimeoutMs: opts.idleTimeoutMs ?? 15 * 60_000,
      nextConnId,
      ...(opts.onConnectionCount ? { onConnectionCount: opts.onConnectionCount } : {}),
    });
    this.udp = new UdpServer({
      dispatcher: this.dispatcher,
      logger,
      maxDatagramBytes: opts.maxUdpDatagramBytes ?? 65535,
      maxInFlight: opts.maxUdpInFlight ?? 256,
      nextConnId,
    });
  }

  addProgram(pv: RpcProgramVersion): this {
    this.dispatcher.addProgram(pv);
    return this;
  }

  /** Listens on TCP; resolves to the bound port (useful with port 0). Rejects with EADDRINUSE etc. */
  async listenTcp(host: string, port: number): Promise<number> {
    this.assertOpen();
    return (await this.tcp.listen(host, port)).port;
  }

  async listenUdp(host: string, port: number): Promise<number> {
    this.assertOpen();
    return (await this.udp.bind(host, port)).port;
  }

  /** Serves a TCP connection accepted elsewhere. */
  acceptTcp(socket: net.Socket): void {
    this.tcp.accept(socket);
  }

  /** Stops serving one address (all if omitted): its listeners close and its TCP connections drop. */
  async stopListening(host?: string): Promise<void> {
    await Promise.all([this.tcp.stopListening(host), this.udp.stopListening(host)]);
  }

  get connectionCount(): number {
    return this.tcp.connectionCount;
  }

  /**
   * What this server serves, one entry per (program version, listener, netid), for the portmapper.
   * A listener on "::" accepts IPv4 too, so it is published as both tcp6 and tcp.
   */
  registrations(): PortRegistration[] {
    const out: PortRegistration[] = [];
    const endpoints: { transport: 'tcp' | 'udp'; address: string; port: number }[] = [
      ...this.tcp.addresses().map((a) => ({ transport: 'tcp' as const, address: a.address, port: a.port })),
      ...this.udp.addresses().map((a) => ({ transport: 'udp' as const, address: a.address, port: a.port })),
    ];
    for (const ep of endpoints) {
      const netid = netidFor(ep.transport, ep.address);
      const forms: { netid: string; address: string }[] = [{ netid, address: ep.address }];
      if (netid.endsWith('6') && isWildcard(ep.address)) forms.push({ netid: ep.transport, address: '0.0.0.0' });
      for (const f of forms) {
        for (const pv of this.dispatcher.programs()) {
          const reg: PortRegistration = {
            prog: pv.prog,
            vers: pv.vers,
            prot: ep.transport === 'tcp' ? 6 : 17,
            port: ep.port,
            netid: f.netid,
            uaddr: toUaddr(f.address, ep.port),
            owner: this.owner,
          };
          if (!out.some((o) => o.prog === reg.prog && o.vers === reg.vers && o.netid === reg.netid && o.uaddr === reg.uaddr)) out.push(reg);
        }
      }
    }
    return out;
  }

  /**
   * Stops accepting; when graceful, running calls finish and their replies are written before the
   * sockets close (at most `timeoutMs`); then everything is closed and every call's signal aborted.
   */
  async close(opts: CloseOptions = { graceful: true }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    await Promise.all([this.tcp.close(opts.graceful, timeoutMs), this.udp.close(opts.graceful, timeoutMs)]);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('RpcServer is closed');
  }
}
