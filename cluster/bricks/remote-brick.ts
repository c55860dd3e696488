/**
 * The gateway's client of one brick node (brick-server.ts), as a HealableBrick.
 *
 * - One or a few persistent TCP connections; requests are pipelined (many in flight, replies matched by
 *   xid in any order), at most `maxInFlight` per connection (more wait in a queue); requests written in one
 *   event-loop turn leave in one writev. Requests larger than the brick's payload limit are split.
 * - Faults are BrickFaults (brick-fault.ts) so replication can decide: no reply within `timeoutMs` →
 *   'timeout'; connection refused, lost or not there → 'unreachable' (every request pending on a lost
 *   connection fails at once); the brick's own verdicts → 'corrupt' / 'refused'; ordinary errors on the
 *   brick (NOSPC…) arrive as the same CoreError.
 * - While the brick is down, calls fail at once with 'unreachable' (no waiting on a dead brick); only
 *   while a connection attempt is under way do they wait for it (up to `connectTimeoutMs`). Lost
 *   connections are re-established in the background with exponential backoff, so a restarted brick is
 *   used again without restarting the gateway. `healthy` says whether a connection is up; 'up' and
 *   'down' events announce changes. A connection that has received nothing for a whole request timeout
 *   is treated as lost (a partitioned or hung peer whose TCP connection stays open).
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { CoreError, Errc } from '../vfs/errors';
import type { BrickCapacity, HealableBrick, ObjectId, ObjectInfo, WriteHint } from './brick';
import { BrickFault } from './brick-fault';
import { decodeReply, encodeRequest, replyHead } from './wire/codec';
import { FrameDecoder } from './wire/frame-decoder';
import { DEFAULT_MAX_PAYLOAD, FRAME_OVERHEAD, MAX_LIST_LIMIT, OP_NAMES, Op, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, Status, WireError, type BrickRequest, type PingResult, type ReplyError, type ReplyValues } from './wire/protocol';

export interface RemoteBrickLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RemoteBrickOptions {
  /** "host:port" ("[v6]:port" for IPv6). */
  address: string;
  /** Name in logs, metrics and BrickFaults. Default: the address. */
  name?: string;
  /** A request with no reply after this long fails with BrickFault('timeout'). Default 30 s. */
  timeoutMs?: number;
  /** How long a call waits for a connection attempt under way, and the TCP connect timeout. Default 3 s. */
  connectTimeoutMs?: number;
  /** Persistent connections to the brick. Default 1. */
  connections?: number;
  /** Requests in flight per connection; more wait in a queue. Default 64. */
  maxInFlight?: number;
  /** Largest READ/WRITE payload per frame; the brick's own limit (from PING) wins if lower. Default 1 MiB. */
  maxPayload?: number;
  /** Reconnect backoff: first delay, doubling up to the maximum. Defaults 100 ms and 5 s. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** If set, a brick answering with another id is refused (a different brick moved to the address). */
  expectBrickId?: string;
  log?: RemoteBrickLog;
}

const NO_LOG: RemoteBrickLog = { debug() {}, info() {}, warn() {} };
const ERRCS = new Set<string>(Object.values(Errc));

interface Pending {
  op: Op;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  sentAt: number;
}

interface Queued {
  req: BrickRequest;
  p: Pending;
  done: boolean;
}

/** "host:port" or "[v6]:port"; port 0 only with `listen` (bind any free port). */
export function parseAddress(address: string, listen = false): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !((port > 0 || (listen && port === 0)) && port < 65536)) throw new CoreError(Errc.INVAL, `brick address ${JSON.stringify(address)}: expected HOST:PORT`);
  return { host: (m[1] ?? m[2])!, port };
}

/** One TCP connection to the brick, reconnecting by itself until the brick is closed. */
class Link {
  state: 'connecting' | 'up' | 'down' = 'down';
  /** The brick speaks WRITE_COLD (protocol version 3 on; set at the handshake). */
  private coldWrites = false;
  private socket?: net.Socket;
  private readonly pending = new Map<number, Pending>();
  private readonly queue: Queued[] = [];
  private nextXid = 1;
  inFlight = 0;
  private lastRx = 0;
  private corked = false;
  private backoff: number;
  private retryTimer?: NodeJS.Timeout;
  /** Resolved whenever an attempt ends (up or failed). */
  private attempt?: Promise<void>;

  constructor(
    private readonly brick: RemoteBrick,
    private readonly index: number,
  ) {
    this.backoff = brick.backoffMinMs;
  }

  get load(): number {
    return this.inFlight + this.queue.length;
  }

  /** Waits for the connection attempt under way (if any). */
  waitAttempt(): Promise<void> | undefined {
    return this.state === 'connecting' ? this.attempt : undefined;
  }

  connect(): void {
    if (this.brick.closed || this.state !== 'down') return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.state = 'connecting';
    let settle!: () => void;
    this.attempt = new Promise<void>((r) => (settle = r));
    const { host, port } = this.brick.endpoint;
    const socket = net.connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const connectTimer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${this.brick.connectTimeoutMs} ms`)), this.brick.connectTimeoutMs);
    const decoder = new FrameDecoder(this.brick.maxFrame, (f) => this.onFrame(f));
    socket.on('data', (chunk: Buffer) => {
      this.lastRx = Date.now();
      try {
        decoder.push(chunk);
      } catch (e) {
        socket.destroy(e instanceof Error ? e : new Error(String(e)));
      }
    });
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      this.lastRx = Date.now();
      // Handshake: PING tells the brick's identity, version and payload limit.
      this.send({ op: Op.PING }, true).then(
        (v) => {
          const ping = v as PingResult;
          const bad = ping.version < MIN_PROTOCOL_VERSION || ping.version > PROTOCOL_VERSION ? `protocol version ${ping.version}, this gateway speaks ${MIN_PROTOCOL_VERSION}-${PROTOCOL_VERSION}`
            : this.brick.expectBrickId && ping.brickId !== this.brick.expectBrickId ? `brick id ${ping.brickId}, expected ${this.brick.expectBrickId}` : undefined;
          if (bad) {
            this.brick.log.warn({ brick: this.brick.name, err: bad }, 'brick refused');
            socket.destroy(new Error(bad));
            return;
          }
          this.coldWrites = ping.version >= 3;
          this.state = 'up';
          this.backoff = this.brick.backoffMinMs;
          settle();
          this.brick.linkUp(this, ping);
          this.drain();
        },
        (e: Error) => socket.destroy(e),
      );
    });
    socket.on('error', () => undefined); // reported through 'close'
    socket.once('close', () => {
      clearTimeout(connectTimer);
      const was = this.state;
      this.state = 'down';
      this.socket = undefined;
      settle();
      const why = socket.errored?.message ?? 'connection closed';
      this.failAll(new BrickFault('unreachable', this.brick.name, why));
      if (was === 'up') this.brick.linkDown(this, why);
      else this.brick.log.debug({ brick: this.brick.name, link: this.index, err: why }, 'brick connect failed');
      if (!this.brick.closed) {
        this.retryTimer = setTimeout(() => this.connect(), this.backoff);
        this.retryTimer.unref();
        this.backoff = Math.min(this.backoff * 2, this.brick.backoffMaxMs);
      }
    });
  }

  /** Sends a request (queued if the connection is at its in-flight cap); `handshake` bypasses the up check. */
  send(req: BrickRequest, handshake = false): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const p: Pending = { op: req.op, resolve, reject, sentAt: 0 };
      if (!this.socket || (this.state !== 'up' && !handshake)) {
        reject(new BrickFault('unreachable', this.brick.name, 'not connected'));
        return;
      }
      const q: Queued = { req, p, done: false };
      p.timer = setTimeout(() => this.timedOut(q), this.brick.timeoutMs);
      if (this.inFlight >= this.brick.maxInFlight && !handshake) this.queue.push(q);
      else this.transmit(q);
    });
  }

  private transmit(q: Queued): void {
    const socket = this.socket!;
    const xid = this.nextXid;
    let bufs: Buffer[];
    try {
      // A brick older than WRITE_COLD gets the plain WRITE (the hint is only a hint).
      const req = q.req.op === Op.WRITE && q.req.cold && !this.coldWrites ? { ...q.req, cold: false } : q.req;
      bufs = encodeRequest(xid, req);
    } catch (e) {
      // Arguments out of range (a caller bug): fail this call only.
      q.done = true;
      clearTimeout(q.p.timer);
      q.p.reject(new CoreError(Errc.INVAL, `brick ${this.brick.name}: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    this.nextXid = this.nextXid >= 0xffff_ffff ? 1 : this.nextXid + 1;
    q.p.sentAt = Date.now();
    this.pending.set(xid, q.p);
    this.inFlight++;
    // Requests of one turn leave in one writev.
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    for (const b of bufs) socket.write(b);
  }

  private drain(): void {
    while (this.state === 'up' && this.queue.length > 0 && this.inFlight < this.brick.maxInFlight) {
      const q = this.queue.shift()!;
      if (!q.done) this.transmit(q);
    }
  }

  private timedOut(q: Queued): void {
    if (q.done) return;
    q.done = true;
    for (const [xid, p] of this.pending) {
      if (p === q.p) {
        this.pending.delete(xid);
        this.inFlight--;
        break;
      }
    }
    q.p.reject(new BrickFault('timeout', this.brick.name, `${OP_NAMES[q.req.op]}: no reply in ${this.brick.timeoutMs} ms`));
    // A connection silent for a whole timeout is dead in all but name: drop it and reconnect.
    if (q.p.sentAt > 0 && this.lastRx < q.p.sentAt && this.socket) this.socket.destroy(new Error(`no reply for ${this.brick.timeoutMs} ms`));
    else this.drain();
  }

  private onFrame(frame: Buffer): void {
    const { xid } = replyHead(frame);
    const p = this.pending.get(xid);
    if (!p) return; // timed out already
    this.pending.delete(xid);
    this.inFlight--;
    clearTimeout(p.timer);
    let out;
    try {
      out = decodeReply(p.op, frame);
    } catch (e) {
      p.reject(new BrickFault('unreachable', this.brick.name, `bad reply: ${e instanceof Error ? e.message : String(e)}`));
      throw e instanceof WireError ? e : new WireError(String(e));
    }
    if (out.ok) p.resolve(out.value);
    else p.reject(this.brick.errorOf(out.error));
    this.drain();
  }

  private failAll(e: BrickFault): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    this.inFlight = 0;
    for (const q of this.queue.splice(0)) {
      if (q.done) continue;
      q.done = true;
      clearTimeout(q.p.timer);
      q.p.reject(e);
    }
  }

  close(): void {
    clearTimeout(this.retryTimer);
    this.socket?.destroy(new Error('brick client closed'));
  }
}

export class RemoteBrick extends EventEmitter implements HealableBrick {
  readonly name: string;
  readonly endpoint: { host: string; port: number };
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxInFlight: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  readonly expectBrickId?: string;
  readonly log: RemoteBrickLog;
  /** Frame size accepted from the brick: our payload limit plus headers. */
  readonly maxFrame: number;
  private readonly wantPayload: number;
  /** Payload per frame: the smaller of ours and the brick's. */
  private payload: number;
  private readonly links: Link[];
  private upLinks = 0;
  /** The brick's id from its last PING (ChecksummedBrick.brickId). */
  brickId?: string;
  /**
   * The brick's instance from its last PING (wire/protocol.ts): a new one means that writes it
   * acknowledged but had not fsynced may be gone ('lost-writes' event, onLostWrites).
   */
  instance?: string;
  /** How many times the brick came back as a new instance (or another brick answered the address). */
  lostWriteEvents = 0;
  closed = false;

  constructor(opts: RemoteBrickOptions) {
    super();
    this.endpoint = parseAddress(opts.address);
    this.name = opts.name ?? opts.address;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 64);
    this.backoffMinMs = opts.backoffMinMs ?? 100;
    this.backoffMaxMs = Math.max(this.backoffMinMs, opts.backoffMaxMs ?? 5000);
    this.expectBrickId = opts.expectBrickId;
    this.log = opts.log ?? NO_LOG;
    this.wantPayload = Math.max(4096, opts.maxPayload ?? DEFAULT_MAX_PAYLOAD);
    this.payload = this.wantPayload;
    this.maxFrame = this.wantPayload + FRAME_OVERHEAD;
    this.links = Array.from({ length: Math.max(1, opts.connections ?? 1) }, (_, i) => new Link(this, i));
    // 'down' events are informational; an EventEmitter throws on an unhandled 'error' only, not these.
    for (const l of this.links) l.connect();
  }

  /** True while at least one connection to the brick is up. */
  get healthy(): boolean {
    return this.upLinks > 0;
  }

  /** Resolves once a connection is up; rejects with BrickFault('unreachable') if none is within the connect timeout. */
  async connect(): Promise<void> {
    if (this.healthy) return;
    if (this.closed) throw new BrickFault('unreachable', this.name, 'closed');
    for (const l of this.links) l.connect();
    await Promise.race([
      new Promise<void>((r) => this.once('up', () => r())),
      new Promise<void>((r) => setTimeout(r, this.connectTimeoutMs).unref()),
    ]);
    if (!this.healthy) throw new BrickFault('unreachable', this.name, 'cannot connect');
  }

  /** @internal (Link) */
  linkUp(_l: Link, ping: PingResult): void {
    this.payload = Math.min(this.wantPayload, ping.maxPayload);
    const changed = this.brickId !== undefined && this.brickId !== ping.brickId;
    // Seen at the handshake, before any request runs on this connection (Link calls this synchronously
    // after the PING reply and drains its queue only afterwards): listeners react before the brick as it
    // is now can acknowledge anything, e.g. an fsync of an object that lost its un-fsynced data.
    const restarted = changed || (this.instance !== undefined && this.instance !== ping.instance);
    this.brickId = ping.brickId;
    this.instance = ping.instance;
    if (changed) this.log.warn({ brick: this.name, brickId: ping.brickId }, 'a different brick answers at this address');
    if (restarted) {
      this.lostWriteEvents++;
      this.log.warn({ brick: this.name, instance: ping.instance }, 'brick came back as a new instance (machine restart): its un-fsynced writes may be lost');
      this.emit('lost-writes', ping.instance);
    }
    if (this.upLinks++ === 0) {
      this.log.info({ brick: this.name, brickId: ping.brickId }, 'brick up');
      this.emit('up', ping);
    }
  }

  /** @internal (Link) */
  linkDown(_l: Link, why: string): void {
    if (--this.upLinks === 0) {
      this.log.warn({ brick: this.name, err: why }, 'brick down');
      this.emit('down', new BrickFault('unreachable', this.name, why));
    }
  }

  /** @internal (Link) A brick's error reply as the error to throw. */
  errorOf(e: ReplyError): Error {
    switch (e.status) {
      case Status.ERROR:
        return new CoreError(ERRCS.has(e.errc) ? (e.errc as Errc) : Errc.IO, `brick ${this.name}: ${e.message}`);
      case Status.CORRUPT:
        return new BrickFault('corrupt', this.name, e.message);
      case Status.REFUSED:
        return new BrickFault('refused', this.name, e.message);
    }
  }

  private async call<O extends Op>(req: BrickRequest & { op: O }): Promise<ReplyValues[O]> {
    if (this.closed) throw new BrickFault('unreachable', this.name, 'closed');
    let link = this.pick();
    if (!link) {
      // Down: fail at once, unless an attempt is under way (e.g. right after start or a restart).
      const attempts = this.links.map((l) => l.waitAttempt()).filter((p): p is Promise<void> => !!p);
      if (attempts.length === 0) throw new BrickFault('unreachable', this.name, 'down (reconnecting in the background)');
      await Promise.race([Promise.any(attempts), new Promise<void>((r) => setTimeout(r, this.connectTimeoutMs).unref())]);
      link = this.pick();
      if (!link) throw new BrickFault('unreachable', this.name, 'cannot connect');
    }
    return (await link.send(req)) as ReplyValues[O];
  }

  private pick(): Link | undefined {
    let best: Link | undefined;
    for (const l of this.links) if (l.state === 'up' && (!best || l.load < best.load)) best = l;
    return best;
  }

  // ---- Brick -----------------------------------------------------------------------------------------

  async writeRange(id: ObjectId, offset: number, data: Buffer, hint?: WriteHint): Promise<void> {
    const max = this.payload;
    const cold = hint?.cold === true;
    if (data.length <= max) return this.call({ op: Op.WRITE, obj: id, offset, data, cold });
    const parts: Array<Promise<void>> = [];
    for (let p = 0; p < data.length; p += max) parts.push(this.call({ op: Op.WRITE, obj: id, offset: offset + p, data: data.subarray(p, p + max), cold }));
    await Promise.all(parts);
  }

  async readRange(id: ObjectId, offset: number, length: number): Promise<Buffer> {
    const max = this.payload;
    if (length <= max) return this.call({ op: Op.READ, obj: id, offset, length });
    const parts: Array<Promise<Buffer>> = [];
    for (let p = 0; p < length; p += max) parts.push(this.call({ op: Op.READ, obj: id, offset: offset + p, length: Math.min(max, length - p) }));
    const got = await Promise.all(parts);
    const i = got.findIndex((b) => b.length < max);
    return Buffer.concat(i < 0 ? got : got.slice(0, i + 1));
  }

  async readInto(id: ObjectId, offset: number, target: Buffer): Promise<number> {
    const max = this.payload;
    const parts: Array<Promise<Buffer>> = [];
    for (let p = 0; p < target.length; p += max) parts.push(this.call({ op: Op.READ, obj: id, offset: offset + p, length: Math.min(max, target.length - p) }));
    const got = await Promise.all(parts);
    let n = 0;
    for (const b of got) {
      b.copy(target, n);
      n += b.length;
      if (b.length < max) break;
    }
    return n;
  }

  truncate(id: ObjectId, length: number): Promise<void> {
    return this.call({ op: Op.TRUNCATE, obj: id, length });
  }

  delete(id: ObjectId): Promise<void> {
    return this.call({ op: Op.DELETE, obj: id });
  }

  dropFrom(fileId: bigint, firstChunk: number): Promise<void> {
    return this.call({ op: Op.DROP_FROM, fileId, firstChunk });
  }

  fsync(id: ObjectId): Promise<void> {
    return this.call({ op: Op.FSYNC, obj: id });
  }

  stat(id: ObjectId): Promise<{ size: number } | undefined> {
    return this.call({ op: Op.STAT, obj: id });
  }

  capacity(): Promise<BrickCapacity> {
    return this.call({ op: Op.CAPACITY });
  }

  list(after: ObjectId | undefined, limit: number): Promise<ObjectInfo[]> {
    return this.call({ op: Op.LIST, after, limit: Math.max(0, Math.min(limit, MAX_LIST_LIMIT)) });
  }

  checksum(id: ObjectId): Promise<Buffer | undefined> {
    return this.call({ op: Op.CHECKSUM, obj: id });
  }

  onLostWrites(listener: () => void): void {
    this.on('lost-writes', listener);
  }

  /** Round trip to the brick (health checks): its id, protocol version and payload limit. */
  ping(): Promise<PingResult> {
    return this.call({ op: Op.PING });
  }

  /** Closes the connections; pending and later calls fail with 'unreachable'. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links) l.close();
  }
}
