/**
 * A brick node's TCP server: serves one HealableBrick (normally a ChecksummedBrick) over the brick wire
 * protocol (wire/protocol.ts) to gateways.
 *
 * Per connection, requests run concurrently and replies leave in completion order; replies finished in
 * the same event-loop turn go out in one writev (cork until the next tick). READ data goes out by
 * reference after its header, never copied. At most `maxInFlight` requests run per connection: at the cap
 * the socket stops reading, so a fast sender is throttled by TCP instead of by memory. It also stops
 * reading while its client is not taking replies (unsent replies over 8 MiB) and while all requests of
 * all connections hold more than `maxBytesInFlight`. Connections are capped too. A malformed frame closes its connection. `close()` stops accepting, stops reading, lets the
 * requests in flight finish (bounded by a grace time) and then closes the sockets.
 *
 * Receiving: like the RPC server, the listener holds new connections paused and moves each into a socket
 * that reads through `onread` into buffers the frame decoder picks (protocols/transport/user-buffer-socket.ts):
 * a WRITE's payload lands in a pooled, page-aligned slab (cluster/vfs/buffer-pool.ts), which goes back to
 * the pool once the request has been answered. Without the needed Node internals: 'data' events.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as net from 'node:net';
import { adoptWithUserBuffer } from '../../protocols/transport/user-buffer-socket';
import { listenTcp } from '../../protocols/transport/tcp-listen';
import { bulkPool } from '../vfs/buffer-pool';
import { CoreError, Errc } from '../vfs/errors';
import type { HealableBrick, WriteHint } from './brick';
import { BrickFault } from './brick-fault';
import { MAX_CHUNK_SIZE } from './chunks';
import { decodeRequest, encodeErrorReply, encodeReply } from './wire/codec';
import { FrameDecoder } from './wire/frame-decoder';
import { DEFAULT_MAX_PAYLOAD, FRAME_OVERHEAD, OP_NAMES, Op, PROTOCOL_VERSION, Status, WireError, type BrickRequest, type ReplyError, type ReplyValues } from './wire/protocol';

const COLD: WriteHint = { cold: true };

/** The log calls the server makes (gateway/log.ts's Logger fits). */
export interface BrickServerLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface BrickServerOptions {
  /** Identity answered to PING (ChecksummedBrick.brickId). */
  brickId: string;
  /**
   * Answered to PING: changes whenever writes this brick acknowledged but had not fsynced may have been
   * lost, i.e. when its machine restarted (not when only its process did: the page cache keeps those).
   * Default: the kernel's boot id (bootInstance()). Gateways react to a change (replica-set.ts).
   */
  instance?: string;
  /** Largest READ/WRITE payload per frame. Default 1 MiB; RemoteBrick splits larger requests. */
  maxPayload?: number;
  /** Requests running at once per connection before the socket stops reading. Default 64. */
  maxInFlight?: number;
  /** Connections at once; more are refused by closing them. Default 64. */
  maxConnections?: number;
  /**
   * Bytes all running requests may hold (request frames, READ data) before every connection stops
   * reading. Default 256 MiB: with the other limits this bounds the brick's memory.
   */
  maxBytesInFlight?: number;
  log?: BrickServerLog;
}

/**
 * The brick's default instance: the kernel's boot id, which changes at every boot and only then. Writes
 * a brick acknowledged sit in the page cache until fsynced; they survive the brick process dying (kill -9
 * included: ChecksummedBrick keeps nothing un-written in memory that a later fsync would need) but not
 * the machine going down, and a boot is exactly when they can have gone. Without a readable boot id
 * (not Linux): a random id per process start, which over-reports (every restart looks like a reboot)
 * but never misses one.
 */
export function bootInstance(): string {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    if (id) return `boot:${id}`;
  } catch {
    // fall through
  }
  return `proc:${randomUUID()}`;
}

/** Reply bytes queued on a socket beyond which the connection stops reading requests until 'drain'. */
const MAX_UNSENT_REPLY_BYTES = 8 * 1024 * 1024;

const NO_LOG: BrickServerLog = { debug() {}, info() {}, warn() {}, error() {} };

export interface BrickServerStats {
  connections: number;
  requests: number;
  malformed: number;
  corrupt: number;
}

export class BrickServer {
  readonly maxPayload: number;
  readonly instance: string;
  private readonly maxInFlight: number;
  private readonly maxConnections: number;
  private readonly log: BrickServerLog;
  private server?: net.Server;
  private readonly conns = new Set<BrickConnection>();
  private nextConn = 1;
  readonly stats: BrickServerStats = { connections: 0, requests: 0, malformed: 0, corrupt: 0 };
  closing = false;
  private readonly maxBytesInFlight: number;
  private bytesInFlight = 0;
  /** Connections not reading right now (any reason); woken when memory is released. */
  readonly paused = new Set<BrickConnection>();

  constructor(
    readonly brick: HealableBrick,
    readonly opts: BrickServerOptions,
  ) {
    this.maxPayload = opts.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.instance = opts.instance ?? bootInstance();
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 64);
    this.maxConnections = Math.max(1, opts.maxConnections ?? 64);
    this.log = opts.log ?? NO_LOG;
    this.maxBytesInFlight = Math.max(this.maxPayload * 2, opts.maxBytesInFlight ?? 256 * 1024 * 1024);
  }

  get overBudget(): boolean {
    return this.bytesInFlight >= this.maxBytesInFlight;
  }

  charge(n: number): void {
    this.bytesInFlight += n;
  }

  credit(n: number): void {
    const was = this.overBudget;
    this.bytesInFlight -= n;
    if (was && !this.overBudget) for (const c of [...this.paused]) c.pump();
  }

  /** Binds and starts accepting; resolves with the bound address (port 0 picks a free one). */
  async listen(host: string, port: number): Promise<net.AddressInfo> {
    const server = await listenTcp(host, port, (s) => this.accept(s), (e) => this.log.error({ err: e.message }, 'brick listener error'), { pauseOnConnect: true });
    this.server = server;
    return server.address() as net.AddressInfo;
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  private accept(socket: net.Socket): void {
    if (this.closing || this.conns.size >= this.maxConnections) {
      this.log.warn({ remote: socket.remoteAddress, connections: this.conns.size }, 'brick connection refused: at the connection limit');
      socket.destroy();
      return;
    }
    const c = new BrickConnection(this, socket, this.nextConn++, this.maxInFlight, this.log);
    this.conns.add(c);
    this.stats.connections++;
    c.socket.once('close', () => this.conns.delete(c));
  }

  /** Runs one request against the brick (exceptions become error replies in the caller). */
  async run(req: BrickRequest): Promise<unknown> {
    const b = this.brick;
    const inChunk = (offset: number, length: number): void => {
      if (offset + length > MAX_CHUNK_SIZE) throw new CoreError(Errc.INVAL, `range ${offset}+${length} beyond the largest chunk (${MAX_CHUNK_SIZE})`);
    };
    switch (req.op) {
      case Op.PING:
        return { version: PROTOCOL_VERSION, maxPayload: this.maxPayload, brickId: this.opts.brickId, instance: this.instance };
      case Op.READ:
        return b.readRange(req.obj, req.offset, Math.min(req.length, Math.max(0, MAX_CHUNK_SIZE - req.offset)));
      case Op.WRITE:
        inChunk(req.offset, req.data.length);
        return b.writeRange(req.obj, req.offset, req.data, req.cold ? COLD : undefined);
      case Op.TRUNCATE:
        inChunk(req.length, 0);
        return b.truncate(req.obj, req.length);
      case Op.DELETE:
        return b.delete(req.obj);
      case Op.DROP_FROM:
        return b.dropFrom(req.fileId, req.firstChunk);
      case Op.FSYNC:
        return b.fsync(req.obj);
      case Op.STAT:
        return b.stat(req.obj);
      case Op.LIST:
        return b.list(req.after, req.limit);
      case Op.CHECKSUM:
        return b.checksum(req.obj);
      case Op.CAPACITY:
        return b.capacity();
    }
  }

  /** Stops accepting and reading; waits up to `graceMs` for requests in flight, then closes connections. */
  async close(graceMs = 5000): Promise<void> {
    this.closing = true;
    const closed = this.server ? new Promise<void>((r) => this.server!.close(() => r())) : Promise.resolve();
    const conns = [...this.conns];
    for (const c of conns) c.stopReading();
    const deadline = Date.now() + graceMs;
    while (conns.some((c) => c.busy) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(conns.map((c) => c.end()));
    await closed;
  }
}

class BrickConnection {
  inFlight = 0;
  /** Decoded requests not started yet, each with its frame (given back to the pool when it is done). */
  private readonly waiting: Array<{ xid: number; req: BrickRequest; cost: number; frame: Buffer }> = [];
  private paused = false;
  private stopped = false;
  private closed = false;
  private corked = false;
  private readonly decoder: FrameDecoder;
  private readonly remote: string;
  readonly socket: net.Socket;

  constructor(
    private readonly server: BrickServer,
    accepted: net.Socket,
    private readonly id: number,
    private readonly maxInFlight: number,
    private readonly log: BrickServerLog,
  ) {
    this.decoder = new FrameDecoder(server.maxPayload + FRAME_OVERHEAD, (f) => this.onFrame(f), bulkPool);
    const adopted = adoptWithUserBuffer(accepted, {
      buffer: () => this.decoder.readTarget(),
      callback: (n, buf) => {
        if (!this.closed) this.feed(() => this.decoder.received(buf, n));
        return true;
      },
    });
    const socket = adopted ?? accepted;
    this.socket = socket;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    if (!adopted) {
      socket.on('data', (chunk: Buffer) => {
        if (!this.closed) this.feed(() => this.decoder.push(chunk));
      });
      socket.resume(); // from a pauseOnConnect listener
    }
    socket.on('error', (e) => this.log.debug({ conn: this.id, remote: this.remote, err: e.message }, 'brick connection error'));
    socket.on('drain', () => this.pump());
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) bulkPool.give(w.frame);
      this.decoder.dispose();
      this.server.paused.delete(this);
    });
    this.log.debug({ conn: this.id, remote: this.remote }, 'brick connection');
  }

  private feed(decode: () => void): void {
    try {
      decode();
    } catch (e) {
      this.malformed(e);
    }
  }

  private malformed(e: unknown): void {
    if (!(e instanceof WireError)) throw e;
    this.server.stats.malformed++;
    this.log.warn({ conn: this.id, remote: this.remote, err: e.message }, 'malformed brick frame: closing the connection');
    this.closed = true;
    this.socket.destroy();
  }

  private onFrame(frame: Buffer): void {
    if (this.closed) {
      bulkPool.give(frame);
      return;
    }
    let decoded: { xid: number; req: BrickRequest };
    try {
      decoded = decodeRequest(frame, this.server.maxPayload);
    } catch (e) {
      bulkPool.give(frame);
      throw e;
    }
    const { xid, req } = decoded;
    // Memory a request holds while it runs: its frame, and for a READ the data it will send.
    const cost = frame.length + (req.op === Op.READ ? req.length : 0);
    // Frames that arrive while this connection may not start more (in-flight cap, memory budget, replies
    // not taken) wait here: at most one socket read's worth, since the socket is paused meanwhile.
    this.waiting.push({ xid, req, cost, frame });
    this.pump();
  }

  private start(xid: number, req: BrickRequest, cost: number, frame: Buffer): void {
    this.server.stats.requests++;
    this.inFlight++;
    this.server.charge(cost);
    // The frame (a WRITE's data) is given back to the pool once the brick is done with the request:
    // bricks do not keep a reference to written data past writeRange (they copy it or write it out).
    const done = (bufs: Buffer[]): void => {
      bulkPool.give(frame);
      this.reply(bufs, cost);
    };
    this.server.run(req).then(
      (value) => done(encodeReply(xid, req.op, value as ReplyValues[typeof req.op])),
      (e: unknown) => done([encodeErrorReply(xid, this.errorOf(req, e))]),
    ).catch((e: unknown) => {
      this.log.error({ conn: this.id, op: OP_NAMES[req.op], err: e instanceof Error ? e.stack : String(e) }, 'brick reply failed');
      this.socket.destroy();
    });
  }

  private errorOf(req: BrickRequest, e: unknown): ReplyError {
    if (e instanceof BrickFault) {
      if (e.kind === 'corrupt') {
        this.server.stats.corrupt++;
        this.log.warn({ conn: this.id, op: OP_NAMES[req.op], err: e.message }, 'corrupt block');
        return { status: Status.CORRUPT, message: e.message };
      }
      return { status: Status.REFUSED, message: e.message };
    }
    if (e instanceof CoreError) {
      if (e.errc === Errc.IO) this.log.warn({ conn: this.id, op: OP_NAMES[req.op], err: e.message }, 'brick I/O error');
      return { status: Status.ERROR, errc: e.errc, message: e.detail ?? '' };
    }
    this.log.error({ conn: this.id, op: OP_NAMES[req.op], err: e instanceof Error ? e.stack : String(e) }, 'brick request failed');
    return { status: Status.ERROR, errc: Errc.IO, message: e instanceof Error ? e.message : String(e) };
  }

  private reply(bufs: Buffer[], cost: number): void {
    this.inFlight--;
    if (!this.closed) {
      // Replies completed in this turn share one writev.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.socket.uncork();
        });
      }
      for (const b of bufs) this.socket.write(b);
    }
    this.server.credit(cost);
    this.pump();
  }

  /** May this connection start another request now? */
  private canStart(): boolean {
    return !this.closed && this.inFlight < this.maxInFlight && !this.server.overBudget && this.socket.writableLength < MAX_UNSENT_REPLY_BYTES;
  }

  /**
   * Starts waiting requests while allowed, then reads only if more could start: under the in-flight cap,
   * the server under its memory budget, and the client taking its replies (one that sends but never
   * reads would otherwise pile replies up in our socket buffer).
   */
  pump(): void {
    while (this.waiting.length > 0 && this.canStart()) {
      const w = this.waiting.shift()!;
      this.start(w.xid, w.req, w.cost, w.frame);
    }
    const want = !this.stopped && this.waiting.length === 0 && this.canStart();
    if (want && this.paused) {
      this.paused = false;
      this.server.paused.delete(this);
      this.socket.resume();
    } else if (!want && !this.paused && !this.closed) {
      this.paused = true;
      this.server.paused.add(this);
      this.socket.pause();
    }
  }

  get busy(): boolean {
    return this.inFlight > 0 || this.waiting.length > 0;
  }

  stopReading(): void {
    this.stopped = true;
    this.pump();
  }

  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
  }
}
