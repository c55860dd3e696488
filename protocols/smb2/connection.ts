/**
 * One SMB2 connection: direct-TCP framing, decryption, compound splitting, credits, session and tree
 * lookup, signature checks, dispatch, then responses signed, compounded and encrypted as the request and
 * session require, written in completion order.
 *
 * Each received message (a single request or a compound) runs as its own task; the commands of one
 * compound run in order. At `maxInFlightPerConnection` running messages the socket stops reading; credits
 * bound what a well-behaved client sends anyway.
 */
import type * as net from 'node:net';
import { adoptWithUserBuffer } from '../transport/user-buffer-socket';
import { ArrivingMessage } from './arriving';
import { isCoreError } from '../../cluster/vfs/errors';
import { errInfo, type Logger } from '../rpc/log';
import {
  SMB1_PROTOCOL_ID,
  SMB2_DIALECT_WILDCARD,
  SMB2_FLAGS_ASYNC_COMMAND,
  SMB2_FLAGS_RELATED_OPERATIONS,
  SMB2_FLAGS_SERVER_TO_REDIR,
  SMB2_FLAGS_SIGNED,
  SMB2_HEADER_SIZE,
  SMB2_PROTOCOL_ID,
  SMB2_TRANSFORM_HEADER_SIZE,
  SMB2_TRANSFORM_PROTOCOL_ID,
  Smb2Cmd,
  isSmb3,
  HMAC_SHA256,
} from './constants';
import { DisconnectError, SmbError, type ChainState, type ReplyOptions, type Smb2Context, type Smb2Reply } from './command';
import { DIALECT_NAMES, negotiateResponseBody, setupConnection, smb1NegotiateDialect } from './commands/negotiate';
import { closeSession } from './commands/logoff';
import { COMMANDS } from './dispatch';
import { RequestRegistry, type RunningRequest } from './async';
import { CreditWindow } from './credits';
import { directTcpHeader, FramingError, POOLED_MESSAGE_MIN, SmbFrameDecoder } from './framing';
import { decodeHeader, decodeTransformHeader, encodeHeader, HeaderError, type SMB2_Header } from './header';
import { isNtError, NtStatus, ntStatusName } from './ntstatus';
import type { SmbServerContext } from './server-context';
import { decryptMessage, DecryptError, encryptMessage } from './session/encryption';
import { OFFLOAD_MIN, type Sealed } from './session/seal-offload';
import { signMessage, verifySignature } from './session/signing';
import { smb2StatusOf } from './status';
import type { ConnectionState, Session, TreeConnect } from './state';
import { align8, DecodeError, errorBody } from './wire';

const MAX_COMPOUND = 64;

interface InFlightSlot {
  held: boolean;
}

interface OutCommand {
  /** Header first, then the body buffers. */
  parts: Buffer[];
  /** Sign with this session's key once the message is final (padded, linked). */
  signWith: Session | undefined;
  onEncoded: ((msg: Buffer) => void) | undefined;
  release?: () => void;
}

export class SmbConnection {
  readonly state: ConnectionState;
  readonly closed: Promise<void>;
  private readonly decoder: SmbFrameDecoder;
  private readonly credits: CreditWindow;
  private readonly abort = new AbortController();
  /** Requests in progress, for CANCEL and asynchronous replies (async.ts). */
  private readonly requests = new RequestRegistry(this.abort.signal);
  private readonly log: Logger;
  private inFlight = 0;
  private isClosed = false;
  private draining = false;

  private readonly socket: net.Socket;

  /** `pausedOnAccept`: the socket comes from a pauseOnConnect listener and has read nothing yet. */
  constructor(
    accepted: net.Socket,
    readonly id: number,
    private readonly server: SmbServerContext,
    pausedOnAccept = false,
  ) {
    // A message carries at most maxIo of payload plus headers; compounds and transform headers fit in 64 KiB more.
    this.decoder = new SmbFrameDecoder(server.maxIo + 64 * 1024, server.messagePool, (msg, have) => this.onEarly(msg, have));
    // Reads land in buffers the decoder picks (a large WRITE's payload straight into its pooled message):
    // see transport/user-buffer-socket.ts. Otherwise (a socket already reading, or a Node without the
    // needed internals) 'data' events, reassembled by `push`: slower, same behaviour.
    const adopted = pausedOnAccept
      ? adoptWithUserBuffer(accepted, { buffer: () => this.decoder.readTarget(), callback: (n, buf) => this.onRead(n, buf) })
      : undefined;
    const socket = adopted ?? accepted;
    this.socket = socket;
    this.log = server.log;
    this.state = {
      id,
      clientAddress: socket.remoteAddress ?? '',
      dialect: 0,
      clientGuid: Buffer.alloc(16),
      clientCapabilities: 0,
      clientSecurityMode: 0,
      clientDialects: [],
      serverCapabilities: 0,
      serverSecurityMode: 0,
      preauthHash: undefined,
      cipherId: 0,
      signingAlgorithm: HMAC_SHA256,
      supportsMultiCredit: false,
      maxTransactSize: 65536,
      maxReadSize: 65536,
      maxWriteSize: 65536,
      sessions: new Map(),
    };
    this.state.sendBreak = (sessionId, encryptWith, body) => this.sendUnsolicited(sessionId, encryptWith, body);
    this.credits = new CreditWindow(server.maxCredits);
    this.closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    if (!adopted) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      if (pausedOnAccept) socket.resume();
    }
    socket.on('drain', () => this.updateFlow());
    socket.on('error', (e) => this.log.debug({ conn: id, client: this.state.clientAddress, ...errInfo(e) }, 'smb: socket error'));
    socket.once('close', () => void this.onClose());
    this.log.debug({ conn: id, client: this.state.clientAddress }, 'smb: connection opened');
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Stops taking requests; resolves when the connection has closed. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) this.socket.end();
    return this.closed;
  }

  /** A read into a buffer from `decoder.readTarget()` (user-buffer mode). */
  private onRead(n: number, buf: Uint8Array): boolean {
    if (this.isClosed || (this.draining && !this.arriving)) return true;
    this.take(() => this.decoder.received(buf, n));
    return true;
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed || (this.draining && !this.arriving)) return;
    this.take(() => this.decoder.push(chunk));
  }

  /** Starts the messages a read completed. */
  private take(decode: () => Buffer[]): void {
    let frames: Buffer[];
    try {
      frames = decode();
    } catch (e) {
      this.log.warn({ conn: this.id, client: this.state.clientAddress, ...errInfo(e) }, e instanceof FramingError ? 'smb: framing error, closing connection' : 'smb: decoder failure, closing connection');
      this.socket.destroy();
      return;
    }
    // While draining, reading goes on only to let a message taken early arrive whole; nothing new starts.
    if (this.draining) for (const f of frames) this.server.messagePool.give(f);
    else for (const f of frames) this.startFrame(f);
    this.updateFlow();
  }

  /**
   * A large message whose header has arrived (SmbFrameDecoder's early hook): a lone WRITE that is
   * neither signed nor sealed starts now, and writes each piece of its payload as soon as it is there
   * (arriving.ts says why). Nothing after the header can change how such a message is handled: no
   * signature covers it, and its length and offsets are known. Anything else waits to arrive whole.
   */
  private onEarly(msg: Buffer, have: number): ArrivingMessage | undefined {
    if (this.isClosed || this.draining) return undefined;
    if (msg.readUInt32LE(0) !== SMB2_PROTOCOL_ID || msg.readUInt16LE(12) !== Smb2Cmd.WRITE) return undefined;
    if (msg.readUInt32LE(20) !== 0 || msg.readUInt32LE(16) & SMB2_FLAGS_SIGNED) return undefined;
    const a = new ArrivingMessage(msg, have);
    this.arriving = a;
    void a.settled.then(() => {
      if (this.arriving === a) this.arriving = undefined;
      this.updateFlow();
    });
    this.startFrame(msg, a);
    this.updateFlow();
    return a;
  }

  /** A message being processed while it still arrives: reading must go on until it is whole (updateFlow). */
  private arriving: ArrivingMessage | undefined;

  private startFrame(f: Buffer, arriving?: ArrivingMessage): void {
    this.inFlight++;
    const slot: InFlightSlot = { held: true };
    void this.processFrame(f, slot, arriving)
      .catch((e) => {
        if (this.isClosed) this.log.debug({ conn: this.id, client: this.state.clientAddress, ...errInfo(e) }, 'smb: message ended with the connection');
        else if (e instanceof DisconnectError) this.log.warn({ conn: this.id, client: this.state.clientAddress, reason: e.message }, 'smb: protocol violation, closing connection');
        else this.log.error({ conn: this.id, client: this.state.clientAddress, ...errInfo(e) }, 'smb: message failed, closing connection');
        this.socket.destroy();
      })
      .finally(() => this.releaseSlot(slot));
  }

  /**
   * A message stops counting against maxInFlightPerConnection when it is done, or when its last command
   * went asynchronous (a CHANGE_NOTIFY may wait for hours; credits bound those instead).
   */
  private releaseSlot(slot: InFlightSlot): void {
    if (!slot.held) return;
    slot.held = false;
    this.inFlight--;
    this.updateFlow();
    if (this.draining && this.inFlight === 0) this.socket.end();
  }

  private updateFlow(): void {
    if (this.isClosed) return;
    // The in-flight cap never stops a message taken early from arriving: it waits for its own bytes.
    const stop = (this.inFlight >= this.server.maxInFlightPerConnection && !this.arriving) || this.socket.writableNeedDrain;
    if (stop && !this.socket.isPaused()) this.socket.pause();
    else if (!stop && this.socket.isPaused()) this.socket.resume();
  }

  private async onClose(): Promise<void> {
    this.isClosed = true;
    this.decoder.dispose();
    this.abort.abort();
    for (const s of [...this.state.sessions.values()]) await closeSession(this.server, this.state, s, this.log).catch(() => undefined);
    this.log.debug({ conn: this.id, client: this.state.clientAddress }, 'smb: connection closed');
  }

  /**
   * An oplock or lease break notification (MS-SMB2 3.3.4.6, 3.3.4.7): MessageId all-ones, no credits,
   * not signed, encrypted when the session requires it.
   */
  private sendUnsolicited(sessionId: bigint, encryptWith: Session | undefined, body: Buffer): void {
    if (this.isClosed) return;
    const h = Buffer.alloc(SMB2_HEADER_SIZE);
    encodeHeader(h, {
      creditCharge: 0,
      status: 0,
      command: Smb2Cmd.OPLOCK_BREAK,
      credits: 0,
      flags: SMB2_FLAGS_SERVER_TO_REDIR,
      nextCommand: 0,
      messageId: 0xffffffffffffffffn,
      treeId: 0,
      asyncId: 0n,
      sessionId,
    });
    if (encryptWith?.encryptionKey) this.post(encryptMessage(this.state.cipherId, encryptWith.encryptionKey, encryptWith.id, [h, body], this.server.nonces));
    else this.post([h, body]);
  }

  /** Messages being sealed in the worker (seal-offload.ts) or queued behind one; `sendTail` ends the queue. */
  private sealing = 0;
  private sendTail: Promise<void> = Promise.resolve();

  /** Sends `parts` now, or behind the messages still being sealed before it: responses keep their order. */
  private post(parts: Buffer[], written?: () => void): void {
    if (this.sealing === 0) this.send(parts, written);
    else void this.enqueue(Promise.resolve({ parts, release: written ?? ((): void => undefined) }));
  }

  /** Sends a message once it is sealed and everything queued before it has been sent. */
  private enqueue(ready: Promise<Sealed>): Promise<void> {
    this.sealing++;
    const prev = this.sendTail;
    const done = (async (): Promise<void> => {
      let r: Sealed | undefined;
      try {
        r = await ready;
      } catch (e) {
        // A reply that cannot be sealed cannot be sent, and the client would wait for it: end here.
        this.log.error({ conn: this.id, client: this.state.clientAddress, ...errInfo(e) }, 'smb: sealing failed, closing connection');
        this.socket.destroy();
      }
      await prev;
      if (r) this.send(r.parts, r.release);
    })().finally(() => this.sealing--);
    this.sendTail = done;
    return done;
  }

  /** Writes one message; `written` runs once the socket is done with its buffers (or never will be). */
  private send(parts: Buffer[], written?: () => void): void {
    if (this.isClosed) {
      written?.();
      return;
    }
    const len = parts.reduce((n, b) => n + b.length, 0);
    this.socket.cork();
    this.socket.write(directTcpHeader(len));
    for (let i = 0; i < parts.length; i++) {
      if (i === parts.length - 1 && written) this.socket.write(parts[i]!, () => written());
      else this.socket.write(parts[i]!);
    }
    process.nextTick(() => this.socket.uncork());
  }

  // ---- one received message ---------------------------------------------------------------------------

  private async processFrame(frame: Buffer, slot: InFlightSlot, arriving?: ArrivingMessage): Promise<void> {
    if (frame.length < 4) throw new DisconnectError('message shorter than a protocol id');
    const proto = frame.readUInt32LE(0);
    if (proto === SMB1_PROTOCOL_ID) return this.smb1Negotiate(frame);
    if (proto === SMB2_TRANSFORM_PROTOCOL_ID) {
      // Messages start in arrival order even when a large one is opened in the worker and a small one
      // after it inline: each waits for the ones before it (`opening`).
      const before = this.opening;
      const job = this.decrypt(frame);
      const gate: Promise<void> = job.then(
        () => before,
        () => before,
      );
      this.opening = gate;
      void gate.then(() => {
        if (this.opening === gate) this.opening = undefined;
      });
      let opened: { plain: Buffer; session: Session };
      try {
        opened = await job;
      } finally {
        // Decryption copied everything out of the sealed message.
        this.server.messagePool.give(frame);
      }
      await before;
      try {
        return await this.processChain(opened.plain, opened.session, slot);
      } finally {
        this.recycle(opened.plain);
      }
    }
    if (proto === SMB2_PROTOCOL_ID) {
      try {
        if (this.opening) await this.opening;
        return await this.processChain(frame, undefined, slot, arriving);
      } catch (e) {
        // The rest of such a message is not waited for: the connection ends now (the caller logs why).
        if (arriving) this.socket.destroy();
        throw e;
      } finally {
        // A message taken early goes back to the pool only once the socket no longer reads into it.
        if (arriving) await arriving.settled;
        this.recycle(frame);
      }
    }
    throw new DisconnectError(`unknown protocol id 0x${proto.toString(16)}`);
  }

  /**
   * Gives a processed message's pooled buffer back, but only for a lone WRITE: its handler is done with
   * the payload once it has answered (the core has written it), whereas other commands may keep pieces
   * of their request (names, blobs) in session or open state. Other pooled messages are left to the GC.
   */
  private recycle(msg: Buffer): void {
    if (msg.length >= SMB2_HEADER_SIZE && msg.readUInt16LE(12) === Smb2Cmd.WRITE && msg.readUInt32LE(20) === 0) this.server.messagePool.give(msg);
  }

  /** MS-SMB2 3.3.5.3: an SMB1 NEGOTIATE offering SMB2 gets an SMB2 NEGOTIATE response. */
  private smb1Negotiate(frame: Buffer): void {
    if (this.state.dialect !== 0) throw new DisconnectError('SMB1 message after negotiation');
    const d = smb1NegotiateDialect(frame, this.server);
    if (d === undefined) throw new DisconnectError('SMB1 NEGOTIATE without an SMB2 dialect');
    if (!this.credits.consume(0n, 1)) throw new DisconnectError('message id 0 already used');
    setupConnection(this.server, this.state, d);
    const body = negotiateResponseBody(this.server, this.state, d);
    const h = Buffer.alloc(SMB2_HEADER_SIZE);
    encodeHeader(h, {
      creditCharge: 0,
      status: 0,
      command: Smb2Cmd.NEGOTIATE,
      credits: this.credits.grant(1),
      flags: SMB2_FLAGS_SERVER_TO_REDIR,
      nextCommand: 0,
      messageId: 0n,
      treeId: 0,
      asyncId: 0n,
      sessionId: 0n,
    });
    this.log.debug({ conn: this.id, dialect: DIALECT_NAMES[d] }, 'smb: SMB1 negotiate upgraded');
    this.post([h, body]);
  }

  /** The transform messages being opened (their processing waits for the ones before): see processFrame. */
  private opening: Promise<void> | undefined;

  private async decrypt(frame: Buffer): Promise<{ plain: Buffer; session: Session }> {
    const c = this.state;
    if (!isSmb3(c.dialect) || !c.cipherId) throw new DisconnectError('encrypted message on a connection without encryption');
    if (frame.length < SMB2_TRANSFORM_HEADER_SIZE + SMB2_HEADER_SIZE) throw new DisconnectError('transform message too short');
    const th = decodeTransformHeader(frame);
    const s = c.sessions.get(th.sessionId);
    if (!s || !s.decryptionKey || s.state !== 'valid') throw new DisconnectError('encrypted message for an unknown session');
    this.server.sealer.warm();
    try {
      // Large messages are opened in the worker thread, straight into a pooled (shared) buffer; the
      // plaintext is looked at only once the worker has verified the tag.
      const bodyLen = frame.length - SMB2_TRANSFORM_HEADER_SIZE;
      if (bodyLen >= OFFLOAD_MIN) {
        const dst = this.server.messagePool.take(bodyLen);
        let off: Promise<void> | undefined;
        try {
          off = this.server.sealer.open(c.cipherId, s.decryptionKey, frame, dst);
        } finally {
          if (!off) this.server.messagePool.give(dst);
        }
        if (off) {
          try {
            await off;
          } catch (e) {
            this.server.messagePool.give(dst);
            throw e;
          }
          if (dst.readUInt32LE(0) !== SMB2_PROTOCOL_ID) {
            this.server.messagePool.give(dst);
            throw new DisconnectError('decrypted message is not SMB2');
          }
          return { plain: dst, session: s };
        }
        // not offloaded (small, pool exhausted, no worker): inline below
      }
      const plain = decryptMessage(c.cipherId, s.decryptionKey, frame, (len) => (len >= POOLED_MESSAGE_MIN ? this.server.messagePool.take(len) : Buffer.allocUnsafe(len)));
      if (plain.length < 4 || plain.readUInt32LE(0) !== SMB2_PROTOCOL_ID) throw new DisconnectError('decrypted message is not SMB2');
      return { plain, session: s };
    } catch (e) {
      if (e instanceof DecryptError) throw new DisconnectError(e.message);
      throw e;
    }
  }

  /** Splits a (possibly compounded) message and runs its commands in order. */
  private async processChain(frame: Buffer, encryptedFor: Session | undefined, slot: InFlightSlot, arriving?: ArrivingMessage): Promise<void> {
    const cmds: Array<{ msg: Buffer; hdr: SMB2_Header }> = [];
    let off = 0;
    for (;;) {
      let hdr: SMB2_Header;
      try {
        hdr = decodeHeader(frame.subarray(off));
      } catch (e) {
        if (e instanceof HeaderError) throw new DisconnectError(e.message);
        throw e;
      }
      const next = hdr.nextCommand;
      if (next !== 0 && (next % 8 !== 0 || next < SMB2_HEADER_SIZE || off + next > frame.length)) throw new DisconnectError(`bad NextCommand ${next}`);
      cmds.push({ msg: frame.subarray(off, next ? off + next : frame.length), hdr });
      if (cmds.length > MAX_COMPOUND) throw new DisconnectError('compound too long');
      if (!next) break;
      off += next;
    }
    // Credits are spent at arrival, in order, before any command of the message runs.
    for (const c of cmds) {
      if (c.hdr.flags & SMB2_FLAGS_SERVER_TO_REDIR) throw new DisconnectError('request flagged as a response');
      if (c.hdr.command === Smb2Cmd.CANCEL) continue;
      if (this.state.dialect === 0 && c.hdr.command !== Smb2Cmd.NEGOTIATE) throw new DisconnectError('request before NEGOTIATE');
      const charge = this.state.supportsMultiCredit ? Math.max(1, c.hdr.creditCharge) : 1;
      if (!this.credits.consume(c.hdr.messageId, charge)) throw new DisconnectError(`message id ${c.hdr.messageId} (charge ${charge}) outside the credit window`);
    }
    const chain: ChainState = { sessionId: 0n, treeId: 0, fileId: undefined, failed: undefined, ...(arriving ? { arrived: (end: number) => arriving.until(end) } : {}) };
    const out: OutCommand[] = [];
    let disconnect = false;
    let encryptWith: Session | undefined = encryptedFor;
    // Set once the last command went asynchronous: the responses so far went out with its interim one.
    let interimSent = false;
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[i]!;
      if (c.hdr.command === Smb2Cmd.CANCEL) {
        this.cancel(c.hdr); // CANCEL has no response (3.3.5.16)
        continue;
      }
      // Only the last command of a message may go asynchronous: its interim response completes the
      // compound response (as Windows does); one in the middle just waits.
      const onAsync =
        i === cmds.length - 1
          ? (interim: OutCommand, enc: Session | undefined): void => {
              interimSent = true;
              this.flush([...out], encryptWith ?? enc, false, interim);
              this.releaseSlot(slot);
            }
          : undefined;
      const r = await this.runCommand(c.msg, c.hdr, i, chain, encryptedFor, onAsync);
      if (r.reply.disconnect) disconnect = true;
      if (interimSent) {
        // The final response of an asynchronous request goes out alone.
        this.flush([r.out], r.encryptWith ?? encryptWith, disconnect);
        return;
      }
      if (r.encryptWith && !encryptWith) encryptWith = r.encryptWith;
      out.push(r.out);
    }
    // A message taken early is answered once it has arrived whole (even when it failed before its payload
    // was needed): the client never sees a response to a request it is still sending.
    if (arriving) await arriving.until(frame.length);
    // A reply sealed in the worker holds its message's in-flight slot until it is sent (bounds memory).
    await this.flush(out, encryptWith, disconnect);
  }

  /** SMB2 CANCEL (3.3.5.16): by AsyncId when flagged async, else by MessageId; unknown targets are ignored. */
  private cancel(hdr: SMB2_Header): void {
    const async = (hdr.flags & SMB2_FLAGS_ASYNC_COMMAND) !== 0;
    const r = this.requests.find(async, async ? hdr.asyncId : hdr.messageId);
    if (!r) return;
    this.log.debug({ conn: this.id, msgId: r.messageId.toString(), asyncId: r.asyncId.toString() }, 'smb: request cancelled');
    r.cancel();
  }

  /**
   * Sends responses as one message (a compound when several). `interim` is an asynchronous interim
   * response that ends the compound: it is never signed (3.3.4.2).
   */
  private flush(out: OutCommand[], encryptWith: Session | undefined, disconnect: boolean, interim?: OutCommand): Promise<void> | undefined {
    if (interim) out.push(interim);
    if (out.length === 0) return undefined;
    // Compound responses: each but the last padded to 8 bytes with NextCommand pointing at the next; each
    // signed over its own padded bytes (3.3.4.1.1); then the whole encrypted when the request was.
    const wire: Buffer[] = [];
    for (let i = 0; i < out.length; i++) {
      const o = out[i]!;
      if (i < out.length - 1) {
        const len = o.parts.reduce((n, b) => n + b.length, 0);
        const pad = align8(len) - len;
        if (pad) o.parts.push(Buffer.alloc(pad));
        o.parts[0]!.writeUInt32LE(len + pad, 20);
      }
      const s = o.signWith;
      if (s?.signingKey) {
        o.parts[0]!.writeUInt32LE(o.parts[0]!.readUInt32LE(16) | SMB2_FLAGS_SIGNED, 16);
        signMessage(this.state.signingAlgorithm, s.signingKey, o.parts);
      }
      o.onEncoded?.(Buffer.concat(o.parts));
      wire.push(...o.parts);
    }
    // Pooled READ data may be reused only once nothing references it: after encryption (which copies it)
    // or once the socket has written it.
    const release = (): void => {
      for (const o of out) o.release?.();
    };
    let queued: Promise<void> | undefined;
    if (encryptWith && encryptWith.encryptionKey) {
      // Large replies (READ data) are sealed in the worker thread; the rest inline.
      const off = this.server.sealer.seal(this.state.cipherId, encryptWith.encryptionKey, encryptWith.id, wire, this.server.nonces);
      if (off)
        queued = this.enqueue(
          off.finally(() => release()), // the worker has read the data (or never will)
        );
      else {
        const sealed = encryptMessage(this.state.cipherId, encryptWith.encryptionKey, encryptWith.id, wire, this.server.nonces);
        release();
        this.post(sealed);
      }
    } else this.post(wire, release);
    if (disconnect) {
      if (this.sealing === 0) this.socket.end();
      else void this.sendTail.then(() => this.socket.end());
    }
    return queued;
  }

  /** Runs one command; returns its response message (header + body, padded when not last). */
  private async runCommand(
    msg: Buffer,
    hdr: SMB2_Header,
    index: number,
    chain: ChainState,
    encryptedFor: Session | undefined,
    onAsync?: (interim: OutCommand, encryptWith: Session | undefined) => void,
  ): Promise<{ out: OutCommand; reply: ReplyOptions; encryptWith?: Session }> {
    const reply: ReplyOptions = {};
    const running = this.requests.start(hdr.messageId, hdr.sessionId);
    try {
      return await this.runRequest(msg, hdr, index, chain, encryptedFor, reply, running, onAsync);
    } finally {
      this.requests.finish(running);
    }
  }

  private async runRequest(
    msg: Buffer,
    hdr: SMB2_Header,
    index: number,
    chain: ChainState,
    encryptedFor: Session | undefined,
    reply: ReplyOptions,
    running: RunningRequest,
    onAsync: ((interim: OutCommand, encryptWith: Session | undefined) => void) | undefined,
  ): Promise<{ out: OutCommand; reply: ReplyOptions; encryptWith?: Session }> {
    const related = index > 0 && (hdr.flags & SMB2_FLAGS_RELATED_OPERATIONS) !== 0;
    const sessionId = related ? chain.sessionId : hdr.sessionId;
    const treeId = related ? chain.treeId : hdr.treeId;
    let session: Session | undefined;
    let tree: TreeConnect | undefined;
    let signedOk = false;
    let result: Smb2Reply;
    const spec = COMMANDS.get(hdr.command);
    const t0 = process.hrtime.bigint();
    try {
      // Nothing precedes the first request to relate to (3.3.5.2.7.2): it fails, and so do the related ones after it.
      if (index === 0 && hdr.flags & SMB2_FLAGS_RELATED_OPERATIONS) {
        chain.failed = NtStatus.STATUS_INVALID_PARAMETER;
        throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'the first request of a compound is marked related');
      }
      if (related && chain.failed !== undefined) throw new SmbError(chain.failed, 'previous request of the compound failed');
      if (index > 0 && !related) chain.fileId = undefined;
      if (!spec) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `unknown command 0x${hdr.command.toString(16)}`);
      if (hdr.flags & SMB2_FLAGS_ASYNC_COMMAND) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'async flag on a request');
      if (this.state.dialect === SMB2_DIALECT_WILDCARD && hdr.command !== Smb2Cmd.NEGOTIATE) throw new DisconnectError('request before the SMB2 NEGOTIATE');
      // Session (3.3.5.2.9): required for everything but NEGOTIATE, ECHO and a new SESSION_SETUP.
      if (spec.scope !== 'none' || (hdr.command === Smb2Cmd.SESSION_SETUP && sessionId !== 0n)) {
        session = this.state.sessions.get(sessionId);
        // A related request inherits the previous request's SessionId: when that names no session, the
        // compound itself is malformed (as Windows and Samba answer, smbtorture smb2.compound.invalid2).
        if (!session) throw new SmbError(related ? NtStatus.STATUS_INVALID_PARAMETER : NtStatus.STATUS_USER_SESSION_DELETED);
        if (session.state === 'expired') throw new SmbError(NtStatus.STATUS_NETWORK_SESSION_EXPIRED);
        if (session.state === 'in-progress' && hdr.command !== Smb2Cmd.SESSION_SETUP) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'session not yet authenticated');
      } else if (hdr.command !== Smb2Cmd.NEGOTIATE && sessionId !== 0n) {
        // ECHO needs no session, but one it names is used: its signature is checked and its reply signed.
        session = this.state.sessions.get(sessionId);
      }
      // Signatures (3.3.5.2.4): verify what is signed; demand it where the session requires it.
      if (session && session.state === 'valid' && !encryptedFor) {
        const key = session.signingKey;
        if (hdr.flags & SMB2_FLAGS_SIGNED) {
          if (!key || !verifySignature(this.state.signingAlgorithm, key, [msg])) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'bad signature');
          signedOk = true;
        } else if (session.signingRequired && hdr.command !== Smb2Cmd.SESSION_SETUP) {
          throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'unsigned request on a session that requires signing');
        }
      }
      if (encryptedFor && session && session !== encryptedFor) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'encrypted for another session');
      if (session?.encryptData && !encryptedFor && hdr.command !== Smb2Cmd.SESSION_SETUP && hdr.command !== Smb2Cmd.NEGOTIATE) {
        throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'session requires encryption');
      }
      if (spec.scope === 'tree') {
        tree = session!.trees.get(treeId);
        if (!tree) throw new SmbError(NtStatus.STATUS_NETWORK_NAME_DELETED);
        if (tree.encryptData && !encryptedFor) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'share requires encryption');
      }
      let req: unknown;
      try {
        req = spec.decode(msg, this.state);
      } catch (e) {
        if (e instanceof DecodeError) throw new SmbError(e.status, e.message);
        throw e;
      }
      // Multi-credit requests (3.3.5.2.5): CreditCharge must cover the payload in 64 KiB units.
      if (spec.payload) {
        const payload = spec.payload(req);
        if (this.state.supportsMultiCredit) {
          const need = payload > 0 ? Math.floor((payload - 1) / 65536) + 1 : 1;
          if (Math.max(1, hdr.creditCharge) < need) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `CreditCharge ${hdr.creditCharge} below ${need}`);
        } else if (payload > 65536) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'payload above 64 KiB without multi-credit support');
      }
      const ctxSession = session;
      const ctxTree = tree;
      const ctx: Smb2Context = {
        server: this.server,
        conn: this.state,
        hdr,
        msg,
        session,
        tree,
        encrypted: encryptedFor !== undefined,
        get signal() {
          return running.signal;
        },
        log: this.log,
        chain,
        reply,
        ...(chain.arrived ? { arrived: chain.arrived } : {}),
        goAsync: () => {
          if (running.asyncId) return 'async';
          if (running.cancelled) return 'cancelled';
          if (!onAsync) return 'not-last';
          if (!this.requests.makeAsync(running)) return 'busy';
          onAsync(this.interimResponse(hdr, related, chain, running.asyncId), this.responseEncryption(hdr, ctxSession, ctxTree, encryptedFor));
          return 'async';
        },
      };
      result = await spec.handle(ctx, req);
    } catch (e) {
      result = this.failure(e, hdr, spec?.name);
      if (e instanceof DisconnectError) throw e;
    }
    // A failed CREATE fails the related requests after it (3.3.5.2.7.2).
    if (isNtError(result.status) && hdr.command === Smb2Cmd.CREATE) chain.failed = result.status;
    chain.sessionId = reply.sessionId ?? sessionId;
    chain.treeId = reply.treeId ?? treeId;

    const name = spec?.name ?? `0x${hdr.command.toString(16)}`;
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    this.server.observer?.request(name, result.status, us / 1e6, msg.length, result.body.reduce((n, b) => n + b.length, 0));
    if (result.status !== 0 && result.status !== NtStatus.STATUS_MORE_PROCESSING_REQUIRED) {
      this.log.debug({ conn: this.id, msgId: hdr.messageId.toString(), cmd: name, status: ntStatusName(result.status), us }, 'smb: request failed');
    }

    // Response header.
    const respSession = reply.signWith ?? session;
    const h = Buffer.alloc(SMB2_HEADER_SIZE);
    let flags = SMB2_FLAGS_SERVER_TO_REDIR;
    if (related) flags |= SMB2_FLAGS_RELATED_OPERATIONS;
    // The final response of an asynchronous request carries its AsyncId and no credits: the interim
    // response granted them (3.3.4.3).
    if (running.asyncId) flags |= SMB2_FLAGS_ASYNC_COMMAND;
    encodeHeader(h, {
      creditCharge: hdr.creditCharge,
      status: result.status,
      command: hdr.command,
      credits: running.asyncId ? 0 : this.credits.grant(hdr.credits),
      flags,
      nextCommand: 0,
      messageId: hdr.messageId,
      treeId: chain.treeId,
      asyncId: running.asyncId,
      sessionId: chain.sessionId,
    });
    // Whether this response goes out encrypted (3.3.4.1.4) decides whether it is signed.
    const encryptWith = this.responseEncryption(hdr, session, tree, encryptedFor);
    const badSignature = (hdr.flags & SMB2_FLAGS_SIGNED) !== 0 && !signedOk && !encryptedFor && session?.state === 'valid';
    const sign =
      !encryptWith &&
      !badSignature &&
      respSession?.signingKey !== undefined &&
      (reply.signWith !== undefined || signedOk || (respSession.signingRequired && respSession.state === 'valid'));
    const out: OutCommand = {
      parts: [h, ...result.body],
      signWith: sign ? respSession : undefined,
      onEncoded: reply.onEncoded,
      ...(result.release ? { release: result.release } : {}),
    };
    return { out, reply, ...(encryptWith ? { encryptWith } : {}) };
  }

  /** The session whose keys encrypt the response to `hdr` (3.3.4.1.4), if it goes out encrypted. */
  private responseEncryption(hdr: SMB2_Header, session: Session | undefined, tree: TreeConnect | undefined, encryptedFor: Session | undefined): Session | undefined {
    if (encryptedFor) return encryptedFor;
    if (session && session.state === 'valid' && session.encryptionKey && hdr.command !== Smb2Cmd.NEGOTIATE && hdr.command !== Smb2Cmd.SESSION_SETUP) {
      if (session.encryptData || (tree?.encryptData && hdr.command !== Smb2Cmd.TREE_CONNECT)) return session;
    }
    return undefined;
  }

  /** STATUS_PENDING with the AsyncId (3.3.4.2): grants the request's credits, never signed. */
  private interimResponse(hdr: SMB2_Header, related: boolean, chain: ChainState, asyncId: bigint): OutCommand {
    const h = Buffer.alloc(SMB2_HEADER_SIZE);
    let flags = SMB2_FLAGS_SERVER_TO_REDIR | SMB2_FLAGS_ASYNC_COMMAND;
    if (related) flags |= SMB2_FLAGS_RELATED_OPERATIONS;
    encodeHeader(h, {
      creditCharge: hdr.creditCharge,
      status: NtStatus.STATUS_PENDING,
      command: hdr.command,
      credits: this.credits.grant(hdr.credits),
      flags,
      nextCommand: 0,
      messageId: hdr.messageId,
      treeId: 0,
      asyncId,
      sessionId: chain.sessionId || hdr.sessionId,
    });
    return { parts: [h, errorBody()], signWith: undefined, onEncoded: undefined };
  }

  private failure(e: unknown, hdr: SMB2_Header, name: string | undefined): Smb2Reply {
    if ((e instanceof SmbError || isCoreError(e)) && (e as Error).message) this.log.debug({ conn: this.id, msgId: hdr.messageId.toString(), cmd: name, reason: (e as Error).message }, 'smb: error reason');
    if (e instanceof SmbError) return { status: e.status, body: e.body ?? [errorBody()] };
    if (e instanceof DisconnectError) return { status: NtStatus.STATUS_INVALID_PARAMETER, body: [errorBody()] };
    if (isCoreError(e)) return { status: smb2StatusOf(e.errc), body: [errorBody()] };
    this.log.error({ conn: this.id, client: this.state.clientAddress, msgId: hdr.messageId.toString(), cmd: name, ...errInfo(e) }, 'smb: internal error');
    return { status: NtStatus.STATUS_INTERNAL_ERROR, body: [errorBody()] };
  }
}

