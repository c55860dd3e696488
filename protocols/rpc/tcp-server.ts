/**
 * RPC over TCP: listeners, and per connection record reassembly, pipelined dispatch with a cap on
 * calls in flight, replies written in completion order, and teardown.
 *
 * Flow control: a connection reads while it has fewer than `maxInFlightPerConnection` calls running
 * and the socket's write side is not backed up; otherwise the socket is paused and TCP pushes back
 * on the client. Records already received beyond the cap wait in a queue (bounded by one read).
 */
import * as net from 'node:net';
import type { RpcDispatcher } from './dispatcher';
import { bulkPool } from '../../cluster/vfs/buffer-pool';
import { replyScratch } from '../xdr/writer';
import { boundAddresses, listenTcp } from '../transport/tcp-listen';
import { adoptWithUserBuffer } from '../transport/user-buffer-socket';
import { ConnectionBackchannel, type RpcBackchannel } from './backchannel';
import { FramingError, LAST_FRAGMENT, RecordDecoder, frameRecord } from './framing';
import { errInfo, type Logger } from './log';
import type { RpcPeer } from './types';

/** Idle checks per idle period: a connection is closed between one and 1 + 1/IDLE_TICKS periods idle. */
const IDLE_TICKS = 4;

/** Replies up to this size are copied behind their record mark into one buffer (see `send`). */
const SMALL_REPLY_BYTES = 2048;

export interface TcpServerOptions {
  dispatcher: RpcDispatcher;
  logger: Logger;
  maxRecordBytes: number;
  maxFragments: number;
  maxInFlightPerConnection: number;
  maxConnections: number;
  /**
   * A connection with no traffic and no call running for this long is closed (0 = never), so dead
   * clients do not hold connection slots forever. Clients reconnect transparently, as they do with
   * Linux nfsd, which drops idle TCP connections after a few minutes.
   */
  idleTimeoutMs: number;
  nextConnId: () => number;
  onConnectionCount?: (open: number) => void;
}

export class TcpServer {
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<TcpConnection>();
  private closing = false;

  constructor(private readonly opts: TcpServerOptions) {}

  /** Starts a listener; resolves to the bound address once it is accepting. */
  async listen(host: string, port: number): Promise<net.AddressInfo> {
    if (this.closing) throw new Error('server is closing');
    // Not allowHalfOpen: a peer's FIN means the client is gone (no RPC client half-closes), so the
    // connection closes and its running calls are aborted, as Linux nfsd and TI-RPC servers do.
    // Paused on accept so that the connection can read through buffers of its own (TcpConnection).
    const server = await listenTcp(
      host,
      port,
      (socket) => this.accept(socket, true),
      (e) => this.opts.logger.error({ host, port, ...errInfo(e) }, 'rpc: tcp listener error'),
      { pauseOnConnect: true },
    );
    this.listeners.push(server);
    return server.address() as net.AddressInfo;
  }

  /** Bound addresses of the active listeners. */
  addresses(): net.AddressInfo[] {
    return boundAddresses(this.listeners);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Serves an already connected socket (used by the listeners, or by a caller with its own listener).
   * `pausedOnAccept`: the socket comes from a pauseOnConnect listener and has read nothing yet.
   */
  accept(socket: net.Socket, pausedOnAccept = false): void {
    const { logger } = this.opts;
    if (this.closing || !socket.remoteAddress) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.opts.maxConnections) {
      logger.warn({ client: socket.remoteAddress, limit: this.opts.maxConnections }, 'rpc: connection limit reached, refusing');
      socket.destroy();
      return;
    }
    const conn = new TcpConnection(socket, this.opts.nextConnId(), this.opts, pausedOnAccept);
    this.connections.add(conn);
    this.opts.onConnectionCount?.(this.connections.size);
    void conn.closed.then(() => {
      this.connections.delete(conn);
      this.opts.onConnectionCount?.(this.connections.size);
    });
  }

  /**
   * Stops the listeners bound to `host` (all when undefined) and drops the connections that arrived
   * on that address (a floating IP moving away).
   */
  async stopListening(host?: string): Promise<void> {
    const matches = (addr: string | undefined): boolean => host === undefined || addr === host || addr === `::ffff:${host}`;
    const closing: Promise<void>[] = [];
    for (let i = this.listeners.length - 1; i >= 0; i--) {
      const s = this.listeners[i]!;
      const a = s.address();
      if (a && typeof a === 'object' && matches(a.address)) {
        this.listeners.splice(i, 1);
        closing.push(new Promise<void>((r) => s.close(() => r())));
      }
    }
    if (host !== undefined) {
      for (const c of this.connections) if (matches(c.localAddress)) c.destroy();
    }
    await Promise.all(closing);
  }

  /**
   * Graceful: stop accepting, let each connection finish its running calls and flush their replies,
   * then close; whatever is left after `timeoutMs` is destroyed. Otherwise destroy at once.
   */
  async close(graceful: boolean, timeoutMs: number): Promise<void> {
    this.closing = true;
    const listenersClosed = Promise.all(this.listeners.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.listeners.length = 0;
    const conns = [...this.connections];
    if (graceful) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      });
      await Promise.race([Promise.all(conns.map((c) => c.drain())), timedOut]);
      clearTimeout(timer);
    }
    for (const c of this.connections) c.destroy();
    await Promise.all(conns.map((c) => c.closed));
    await listenersClosed;
  }
}

class TcpConnection {
  readonly closed: Promise<void>;
  readonly localAddress: string | undefined;
  private readonly decoder: RecordDecoder;
  private readonly queue: Buffer[] = [];
  private readonly abort = new AbortController();
  private readonly remote: RpcPeer;
  private readonly local: { address: string; port: number };
  private inFlight = 0;
  private isClosed = false;
  /** Server shutdown: no new calls; close once the running ones have replied. */
  private draining = false;
  private ended = false;
  /** Calls from the server to the client on this connection (NFSv4.1 back channel); made on first use. */
  private backchannel: ConnectionBackchannel | undefined;

  private readonly socket: net.Socket;

  constructor(
    accepted: net.Socket,
    readonly id: number,
    private readonly opts: TcpServerOptions,
    pausedOnAccept: boolean,
  ) {
    this.decoder = new RecordDecoder({ maxRecordBytes: opts.maxRecordBytes, maxFragments: opts.maxFragments, pool: bulkPool });
    // Reads land in buffers the decoder picks (a WRITE's payload straight into its pooled record): see
    // transport/user-buffer-socket.ts. Otherwise (a socket handed over already reading, or a Node
    // without the needed internals) 'data' events, reassembled by `push`.
    const adopted = pausedOnAccept
      ? adoptWithUserBuffer(accepted, { buffer: () => this.decoder.readTarget(), callback: (n, buf) => this.onRead(n, buf) })
      : undefined;
    const socket = adopted ?? accepted;
    this.socket = socket;
    this.remote = {
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      family: socket.remoteFamily === 'IPv6' ? 'IPv6' : 'IPv4',
    };
    this.localAddress = socket.localAddress;
    this.local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));

    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    if (opts.idleTimeoutMs > 0) {
      // Not socket.setTimeout: Node re-arms that timer (reading the loop clock, re-inserting the timer) on
      // every read and every write. Here reads and writes bump a counter, and a coarse timer ticking four
      // times per idle period closes the connection after a full period without any (and no call running).
      const tick = Math.max(1, Math.floor(opts.idleTimeoutMs / IDLE_TICKS));
      this.idleTimer = setInterval(() => this.checkIdle(), tick);
      this.idleTimer.unref();
    }
    if (!adopted) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      if (pausedOnAccept) socket.resume();
    }
    socket.on('drain', () => this.updateFlow());
    socket.on('error', (e) => opts.logger.debug({ conn: id, client: this.remote.address, ...errInfo(e) }, 'rpc: socket error'));
    socket.once('close', () => this.onClose());
    opts.logger.debug({ conn: id, client: this.remote.address, port: this.remote.port }, 'rpc: connection opened');
  }

  /** Stops taking new calls; resolves when the connection has closed. */
  drain(): Promise<void> {
    this.draining = true;
    this.queue.length = 0;
    // Keep reading (and discarding) so the peer's FIN is seen and nothing unread forces a RST.
    if (this.socket.isPaused()) this.socket.resume();
    this.maybeEnd();
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Reads and writes so far, for the idle check. */
  private activity = 0;
  private activitySeen = 0;
  private idleTicks = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  private checkIdle(): void {
    if (this.activity !== this.activitySeen || this.inFlight > 0 || this.queue.length > 0) {
      this.activitySeen = this.activity;
      this.idleTicks = 0;
      return;
    }
    if (++this.idleTicks < IDLE_TICKS || this.isClosed) return;
    this.opts.logger.debug({ conn: this.id, client: this.remote.address }, 'rpc: idle connection closed');
    this.socket.destroy();
  }

  /** A read into a buffer from `decoder.readTarget()` (user-buffer mode). */
  private onRead(n: number, buf: Uint8Array): boolean {
    this.activity++;
    if (this.draining || this.isClosed) return true;
    this.take(() => this.decoder.received(buf, n));
    return true;
  }

  private onData(chunk: Buffer): void {
    this.activity++;
    if (this.draining || this.isClosed) return;
    this.take(() => this.decoder.push(chunk));
  }

  /** Queues the records a read completed and runs what the in-flight cap allows. */
  private take(decode: () => Buffer[]): void {
    let records: Buffer[];
    try {
      records = decode();
    } catch (e) {
      const fatal = e instanceof FramingError;
      this.opts.logger.warn({ conn: this.id, client: this.remote.address, ...errInfo(e) }, fatal ? 'rpc: framing error, closing connection' : 'rpc: record decoder failure, closing connection');
      this.socket.destroy();
      return;
    }
    for (const r of records) this.queue.push(r);
    this.pump();
  }

  private pump(): void {
    while (!this.isClosed && !this.draining && this.inFlight < this.opts.maxInFlightPerConnection && this.queue.length > 0) {
      const record = this.queue.shift()!;
      // A REPLY (msg_type 1) answering one of our back-channel calls is not a call to dispatch.
      if (this.backchannel && record.length >= 8 && record.readUInt32BE(4) === 1 && this.backchannel.onReply(record)) {
        bulkPool.give(record);
        continue;
      }
      this.start(record);
    }
    this.updateFlow();
    this.maybeEnd();
  }

  /** True while replies are being gathered for one writev (see `send`). */
  private corked = false;

  private start(record: Buffer): void {
    this.inFlight++;
    // Run once the reply is in the kernel (or there is none): procedures give back memory they lent to
    // the reply, and a pooled request record is returned last. Made on first use (most calls lend nothing).
    let after: (() => void)[] | undefined;
    // The record goes back to the pool when the reply is out and nobody retains it any more (a WRITE
    // answered before its bytes reach the brick keeps it: cluster/bricks/write-behind.ts).
    let holds = 1;
    const unhold = (): void => {
      if (--holds === 0) bulkPool.give(record);
    };
    const retainRequest = (): (() => void) => {
      holds++;
      let once = false;
      return () => {
        if (once) return;
        once = true;
        unhold();
      };
    };
    const finish = (): void => {
      if (after !== undefined) {
        const fns = after;
        after = undefined;
        for (const fn of fns) {
          try {
            fn();
          } catch (e) {
            this.opts.logger.error({ conn: this.id, ...errInfo(e) }, 'rpc: after-reply hook failed');
          }
        }
      }
      unhold();
    };
    this.opts.dispatcher
      .dispatch({
        record,
        remote: this.remote,
        local: this.local,
        transport: 'tcp',
        connId: this.id,
        signal: this.abort.signal,
        onReplySent: (fn) => (after ??= []).push(fn),
        retainRequest,
        backchannel: this.getBackchannel,
      })
      .then(
        (reply) => {
          try {
            if (reply) this.send(reply, finish);
            else finish();
          } finally {
            this.inFlight--;
            this.pump();
          }
        },
        (e) => {
          try {
            this.opts.logger.error({ conn: this.id, ...errInfo(e) }, 'rpc: dispatch rejected');
            finish();
          } finally {
            this.inFlight--;
            this.pump();
          }
        },
      );
  }

  private readonly getBackchannel = (): RpcBackchannel =>
    (this.backchannel ??= new ConnectionBackchannel(this.id, (segments) => {
      if (this.isClosed || !this.socket.writable) return false;
      this.send(segments, () => undefined);
      return true;
    }));

  /**
   * Writes one reply as a single record; corked so the mark and the segments leave in one writev.
   * `done` runs when the kernel has the bytes (the write callback), so lent buffers can be reused.
   */
  private send(segments: Buffer[], done: () => void): void {
    const s = this.socket;
    this.activity++;
    if (this.isClosed || !s.writable) {
      done();
      return;
    }
    try {
      // Replies finished in the same event-loop turn leave together in one writev: the first one corks
      // the socket and the check phase (setImmediate) uncorks it. Under load this turns one syscall per
      // small reply into one per turn; for a lone request it adds no more than the rest of this turn.
      if (!this.corked) {
        this.corked = true;
        s.cork();
        setImmediate(() => {
          this.corked = false;
          if (!s.destroyed) s.uncork();
        });
      }
      let total = 0;
      for (let i = 0; i < segments.length; i++) total += segments[i]!.length;
      if (total <= SMALL_REPLY_BYTES) {
        // A small reply goes out as one buffer, mark included: copying a few hundred bytes costs less
        // than a write() per segment (each one a queued entry in the socket's buffer, then an iovec).
        const buf = replyScratch(4 + total);
        buf.writeUInt32BE((LAST_FRAGMENT + total) >>> 0, 0);
        let at = 4;
        for (let i = 0; i < segments.length; i++) at += segments[i]!.copy(buf, at);
        s.write(buf, done);
      } else {
        const frames = frameRecord(segments);
        for (let i = 0; i < frames.length; i++) {
          if (i === frames.length - 1) s.write(frames[i]!, done);
          else s.write(frames[i]!);
        }
      }
    } catch (e) {
      // Not calling `done`: a write may still hold the buffers; they are left to the GC instead.
      this.opts.logger.warn({ conn: this.id, ...errInfo(e) }, 'rpc: reply write failed');
      s.destroy();
    }
  }

  private updateFlow(): void {
    if (this.isClosed || this.draining) return;
    const s = this.socket;
    const stop = this.inFlight >= this.opts.maxInFlightPerConnection || this.queue.length > 0 || s.writableNeedDrain;
    if (stop && !s.isPaused()) s.pause();
    else if (!stop && s.isPaused()) s.resume();
  }

  /** While draining, closes our side once the last running call has replied. */
  private maybeEnd(): void {
    if (this.ended || this.isClosed || this.inFlight > 0 || !this.draining) return;
    this.ended = true;
    this.socket.end();
  }

  private onClose(): void {
    this.isClosed = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.decoder.dispose();
    for (const r of this.queue.splice(0)) bulkPool.give(r);
    this.abort.abort();
    this.backchannel?.close();
    if (this.decoder.midRecord) {
      this.opts.logger.debug({ conn: this.id, client: this.remote.address }, 'rpc: connection closed in the middle of a record');
    }
    this.opts.logger.debug({ conn: this.id, client: this.remote.address }, 'rpc: connection closed');
  }
}
