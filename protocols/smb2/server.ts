/**
 * The SMB server: TCP listeners (direct TCP, port 445 by default) and the connections on them.
 */
import * as net from 'node:net';
import { errInfo } from '../rpc/log';
import { boundAddresses, listenTcp } from '../transport/tcp-listen';
import { SmbConnection } from './connection';
import { createServerContext, type SmbServerContext, type SmbServerOptions } from './server-context';

export class SmbServer {
  readonly ctx: SmbServerContext;
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<SmbConnection>();
  private nextConnId = 1;
  private closing = false;

  constructor(opts: SmbServerOptions) {
    this.ctx = createServerContext(opts);
  }

  async listen(host: string, port: number): Promise<net.AddressInfo> {
    if (this.closing) throw new Error('server is closing');
    // Paused on accept so that the connection can read through buffers of its own (SmbConnection).
    const server = await listenTcp(
      host,
      port,
      (socket) => this.accept(socket, true),
      (e) => this.ctx.log.error({ host, port, ...errInfo(e) }, 'smb: listener error'),
      { pauseOnConnect: true },
    );
    this.listeners.push(server);
    return server.address() as net.AddressInfo;
  }

  addresses(): net.AddressInfo[] {
    return boundAddresses(this.listeners);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Sessions over all connections (authenticated or in progress). */
  get sessionCount(): number {
    let n = 0;
    for (const c of this.connections) n += c.state.sessions.size;
    return n;
  }

  /**
   * Serves an accepted socket. `pausedOnAccept`: it comes from a pauseOnConnect listener and has read
   * nothing yet (then it is resumed, or adopted into a socket that reads into the decoder's buffers).
   */
  accept(socket: net.Socket, pausedOnAccept = false): void {
    if (this.closing || !socket.remoteAddress) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.ctx.maxConnections) {
      this.ctx.log.warn({ client: socket.remoteAddress, limit: this.ctx.maxConnections }, 'smb: connection limit reached, refusing');
      socket.destroy();
      return;
    }
    const c = new SmbConnection(socket, this.nextConnId++, this.ctx, pausedOnAccept);
    this.connections.add(c);
    void c.closed.then(() => this.connections.delete(c));
  }

  /** Graceful: stop accepting, let running requests answer, then close; destroy what is left after timeoutMs. */
  async close(opts: { graceful: boolean; timeoutMs?: number } = { graceful: false }): Promise<void> {
    this.closing = true;
    const listenersClosed = Promise.all(this.listeners.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.listeners.length = 0;
    const conns = [...this.connections];
    if (opts.graceful) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(conns.map((c) => c.drain())), new Promise<void>((r) => (timer = setTimeout(r, opts.timeoutMs ?? 5000)))]);
      clearTimeout(timer);
    }
    for (const c of this.connections) c.destroy();
    await Promise.all(conns.map((c) => c.closed));
    await listenersClosed;
    await this.ctx.sealer.close();
  }
}
