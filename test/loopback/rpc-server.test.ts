/**
 * A real RpcServer on 127.0.0.1 with the toy program, driven by our RpcClient and raw sockets.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RpcClient, RpcConnectionError, RpcReplyError, RpcTimeoutError, type RpcReply } from '../../protocols/rpc/client';
import type { Logger } from '../../protocols/rpc/log';
import { LAST_FRAGMENT, frameRecord } from '../../protocols/rpc/framing';
import {
  AUTH_ERROR,
  AUTH_REJECTEDCRED,
  GARBAGE_ARGS,
  NULL_AUTH,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  RPC_MISMATCH,
  SYSTEM_ERR,
  encodeCallHeader,
  type ReplyHeader,
} from '../../protocols/rpc/message';
import { RpcServer, type RpcServerOptions } from '../../protocols/rpc/server';
import { RPCSEC_GSS } from '../../protocols/rpc/types';
import { XdrWriter } from '../../protocols/xdr/writer';
import {
  TOYPROC_BIG,
  TOYPROC_COUNT,
  TOYPROC_ECHO,
  TOYPROC_GATED,
  TOYPROC_NULL,
  TOYPROC_SLOW,
  TOYPROC_THROW,
  TOYPROC_WHOAMI,
  TOY_PROG,
  newToyState,
  toyPrograms,
  type ToyState,
} from '../fixtures/rpc/toy-program';

const HOST = '127.0.0.1';

interface Toy {
  server: RpcServer;
  state: ToyState;
  tcpPort: number;
  udpPort: number;
  logs: { level: string; msg?: string }[];
}

async function startToy(opts: RpcServerOptions = {}, udp = true): Promise<Toy> {
  const state = newToyState();
  const logs: { level: string; msg?: string }[] = [];
  const at = (level: string) => (_o: object, msg?: string) => void logs.push({ level, ...(msg !== undefined ? { msg } : {}) });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const server = new RpcServer({ logger, ...opts });
  for (const pv of toyPrograms(state)) server.addProgram(pv);
  const tcpPort = await server.listenTcp(HOST, 0);
  const udpPort = udp ? await server.listenUdp(HOST, 0) : 0;
  return { server, state, tcpPort, udpPort, logs };
}

const echoArgs = (s: string) => (w: XdrWriter) => void w.opaque(Buffer.from(s));
const u32 = (n: number) => (w: XdrWriter) => void w.uint32(n);

function acceptStat(h: ReplyHeader): number | undefined {
  return h.kind === 'accepted' ? h.accept.stat : undefined;
}

/** Connects a raw socket; resolves once connected. */
function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: HOST, port }, () => resolve(s));
    s.once('error', reject);
  });
}

function waitClose(s: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(true);
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds; generous so a loaded machine does not fail the test. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

describe('RpcServer over TCP', { timeout: 30_000 }, () => {
  let toy: Toy;
  let client: RpcClient;
  before(async () => {
    toy = await startToy();
    client = await RpcClient.connect({ host: HOST, port: toy.tcpPort, timeoutMs: 5000 });
  });
  after(async () => {
    await client.close();
    await toy.server.close({ graceful: false });
  });

  it('answers NULL and ECHO', async () => {
    const r0 = await client.call(TOY_PROG, 1, TOYPROC_NULL);
    assert.equal(r0.remaining(), 0);
    const r = await client.call(TOY_PROG, 1, TOYPROC_ECHO, echoArgs('hello'));
    assert.equal(r.opaque(1024).toString(), 'hello');
  });

  it('passes the AUTH_SYS identity and the peer to the handler', async () => {
    const r = await client.call(TOY_PROG, 1, TOYPROC_WHOAMI, undefined, {
      auth: { stamp: 1, machineName: 'tester', uid: 1234, gid: 50, gids: [50, 51] },
    });
    assert.equal(r.uint32(), 1);
    assert.equal(r.uint32(), 1234);
    assert.equal(r.string(8).toString(), 'tcp');
    assert.equal(r.string(64).toString(), HOST);
  });

  it('pipelines calls on one connection and writes replies in completion order', async () => {
    const order: string[] = [];
    toy.state.gate.close();
    // Sent first, answered last: it is held until the later call has been answered.
    const slow = client.call(TOY_PROG, 1, TOYPROC_GATED).then(() => order.push('slow'));
    const fast = client.call(TOY_PROG, 1, TOYPROC_ECHO, echoArgs('fast')).then(() => order.push('fast'));
    await fast;
    assert.deepEqual(order, ['fast']);
    toy.state.gate.open();
    await slow;
    assert.deepEqual(order, ['fast', 'slow']);
  });

  it('reports PROG_UNAVAIL, PROG_MISMATCH with low/high, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR', async () => {
    let r: RpcReply = await client.callFull(TOY_PROG + 1, 1, 0);
    assert.equal(acceptStat(r.header), PROG_UNAVAIL);
    r = await client.callFull(TOY_PROG, 2, 0);
    assert.deepEqual(r.header.kind === 'accepted' && r.header.accept, { stat: PROG_MISMATCH, low: 1, high: 3 });
    r = await client.callFull(TOY_PROG, 3, 42);
    assert.equal(acceptStat(r.header), PROC_UNAVAIL);
    r = await client.callFull(TOY_PROG, 1, TOYPROC_ECHO, (w) => w.uint32(2000)); // over the 1024 limit
    assert.equal(acceptStat(r.header), GARBAGE_ARGS);
    r = await client.callFull(TOY_PROG, 1, TOYPROC_THROW);
    assert.equal(acceptStat(r.header), SYSTEM_ERR);
    await assert.rejects(client.call(TOY_PROG, 1, TOYPROC_THROW), RpcReplyError);
  });

  it('rejects an unknown auth flavor with AUTH_ERROR and rpcvers 3 with RPC_MISMATCH', async () => {
    let r = await client.callFull(TOY_PROG, 1, 0, undefined, { cred: { flavor: RPCSEC_GSS, body: Buffer.alloc(20) } });
    assert.deepEqual(r.header.kind === 'denied' && r.header.reject, { stat: AUTH_ERROR, authStat: AUTH_REJECTEDCRED });
    r = await client.callFull(TOY_PROG, 1, 0, undefined, { rpcvers: 3 });
    assert.deepEqual(r.header.kind === 'denied' && r.header.reject, { stat: RPC_MISMATCH, low: 2, high: 2 });
  });

  it('sends large replies intact (zero-copy segments through writev)', async () => {
    const r = await client.call(TOY_PROG, 1, TOYPROC_BIG, u32(300_001));
    const data = r.opaque(400_000);
    assert.equal(data.length, 300_001);
    for (let i = 0; i < data.length; i += 997) assert.equal(data[i], i & 0xff);
  });

  it('executes a retransmitted non-idempotent call once, across connections', async () => {
    const xid = 0x0d0c0000 + Math.floor(Math.random() * 0xffff);
    toy.state.count = 0;
    toy.state.countGated = true;
    toy.state.gate.close();
    const a = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    const b = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    const c = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    try {
      const args = echoArgs('mkdir /x');
      const first = a.callFull(TOY_PROG, 1, TOYPROC_COUNT, args, { xid });
      await until(() => toy.state.count === 1);
      // Same xid from a new connection (new source port) while the first still runs: dropped.
      await assert.rejects(b.callFull(TOY_PROG, 1, TOYPROC_COUNT, args, { xid, timeoutMs: 300 }), RpcTimeoutError);
      toy.state.gate.open();
      const r1 = await first;
      // After completion: the cached reply, byte for byte.
      const r2 = await c.callFull(TOY_PROG, 1, TOYPROC_COUNT, args, { xid });
      assert.equal(toy.state.count, 1, 'executed once');
      assert.ok(r1.raw.equals(r2.raw), 'identical replies');
      assert.equal(r2.body.uint32(), 1);
      // Different arguments under the same xid are a different request.
      await c.callFull(TOY_PROG, 1, TOYPROC_COUNT, echoArgs('mkdir /y'), { xid });
      assert.equal(toy.state.count, 2);
    } finally {
      toy.state.countGated = false;
      toy.state.gate.open();
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('survives a truncated record followed by close, and keeps serving', async () => {
    const s = await rawConnect(toy.tcpPort);
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32BE((LAST_FRAGMENT | 100) >>> 0);
    s.end(Buffer.concat([hdr, Buffer.alloc(10)]));
    assert.ok(await waitClose(s, 2000), 'server closed its side too');
    const fresh = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    assert.equal((await fresh.call(TOY_PROG, 1, TOYPROC_ECHO, echoArgs('still here'))).opaque(64).toString(), 'still here');
    await fresh.close();
  });

  it('closes a connection that declares a huge record, and stays up', async () => {
    const s = await rawConnect(toy.tcpPort);
    s.on('error', () => {});
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32BE(0xffffffff);
    s.write(hdr);
    assert.ok(await waitClose(s, 2000), 'connection closed by the server');
    assert.ok(toy.logs.some((l) => l.level === 'warn' && /framing error/.test(l.msg ?? '')));
    assert.equal((await client.call(TOY_PROG, 1, TOYPROC_ECHO, echoArgs('alive'))).opaque(64).toString(), 'alive');
  });

  it('ignores garbage records without closing the connection', async () => {
    const s = await rawConnect(toy.tcpPort);
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    // A 3-byte record (undecodable header) and then a valid NULL call on the same connection.
    const w = new XdrWriter();
    encodeCallHeader(w, { xid: 99, rpcvers: 2, prog: TOY_PROG, vers: 1, proc: 0, cred: NULL_AUTH, verf: NULL_AUTH });
    s.write(Buffer.concat([...frameRecord([Buffer.from([1, 2, 3])]), ...frameRecord(w.segmentsOut())]));
    await until(() => Buffer.concat(chunks).length >= 28);
    const reply = Buffer.concat(chunks);
    assert.equal(reply.length, 4 + 24);
    assert.equal(reply.readUInt32BE(4), 99);
    s.destroy();
  });

  it('closes the connection when the peer sends FIN, even with a call running', async () => {
    const s = await rawConnect(toy.tcpPort);
    const w = new XdrWriter();
    encodeCallHeader(w, { xid: 5, rpcvers: 2, prog: TOY_PROG, vers: 1, proc: TOYPROC_SLOW, cred: NULL_AUTH, verf: NULL_AUTH });
    w.uint32(0x7fffffff);
    s.end(Buffer.concat(frameRecord(w.segmentsOut())));
    assert.ok(await waitClose(s, 2000));
  });

  it('aborts the signal of calls whose connection closes', async () => {
    const c = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    const before = toy.state.signals.length;
    const pending = c.call(TOY_PROG, 1, TOYPROC_SLOW, u32(0x7fffffff)).catch((e: unknown) => e);
    await until(() => toy.state.signals.length > before);
    const signal = toy.state.signals[before]!;
    assert.equal(signal.aborted, false);
    await c.close();
    assert.ok(await pending instanceof RpcConnectionError);
    await until(() => signal.aborted);
  });
});

describe('RpcServer limits', { timeout: 30_000 }, () => {
  it('caps the calls in flight per connection and still completes them all', async () => {
    const toy = await startToy({ maxInFlightPerConnection: 2 }, false);
    const c = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    try {
      const results = await Promise.all(Array.from({ length: 8 }, () => c.call(TOY_PROG, 1, TOYPROC_SLOW, u32(60))));
      assert.equal(results.length, 8);
      assert.equal(toy.state.maxRunning, 2);
    } finally {
      await c.close();
      await toy.server.close({ graceful: false });
    }
  });

  it('closes idle connections, but not one whose call is still running', async () => {
    const toy = await startToy({ idleTimeoutMs: 300 }, false);
    try {
      const idle = net.connect(toy.tcpPort, HOST);
      const closedAt = new Promise<number>((resolve) => idle.once('close', () => resolve(Date.now())));
      const t0 = Date.now();
      await new Promise<void>((r) => idle.once('connect', () => r()));
      const t = await closedAt;
      assert.ok(t - t0 >= 250, `closed after ${t - t0} ms, not before the idle time`);
      // A call that takes longer than the idle time still gets its reply on the same connection.
      const c = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
      toy.state.gate.close();
      const p = c.call(TOY_PROG, 1, TOYPROC_GATED, undefined);
      await new Promise((r) => setTimeout(r, 700));
      toy.state.gate.open();
      const r = await p;
      assert.equal(r.uint32(), 1, 'the gated call completed, not aborted by an idle close');
      await c.close();
    } finally {
      await toy.server.close({ graceful: false });
    }
  });

  it('refuses connections beyond the maximum', async () => {
    const toy = await startToy({ maxConnections: 1 }, false);
    const first = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    try {
      await first.call(TOY_PROG, 1, TOYPROC_NULL);
      const s = await rawConnect(toy.tcpPort);
      s.on('error', () => {});
      assert.ok(await waitClose(s, 2000), 'second connection closed');
      await first.call(TOY_PROG, 1, TOYPROC_NULL);
    } finally {
      await first.close();
      await toy.server.close({ graceful: false });
    }
  });
});

describe('RpcServer over UDP', { timeout: 30_000 }, () => {
  it('answers a datagram call, including the DRC', async () => {
    const toy = await startToy();
    const c = await RpcClient.connect({ transport: 'udp', host: HOST, port: toy.udpPort, retransmitMs: 5000 });
    try {
      assert.equal((await c.call(TOY_PROG, 1, TOYPROC_ECHO, echoArgs('over udp'))).opaque(64).toString(), 'over udp');
      const who = await c.call(TOY_PROG, 3, TOYPROC_WHOAMI);
      who.uint32();
      who.uint32();
      assert.equal(who.string(8).toString(), 'udp');
      toy.state.countDelayMs = 10;
      const r1 = await c.callFull(TOY_PROG, 1, TOYPROC_COUNT, echoArgs('x'), { xid: 4242 });
      const r2 = await c.callFull(TOY_PROG, 1, TOYPROC_COUNT, echoArgs('x'), { xid: 4242 });
      assert.equal(toy.state.count, 1);
      assert.ok(r1.raw.equals(r2.raw));
    } finally {
      await c.close();
      await toy.server.close({ graceful: false });
    }
  });

  it('retransmits over UDP until answered', async () => {
    const toy = await startToy();
    const c = await RpcClient.connect({ transport: 'udp', host: HOST, port: toy.udpPort, retransmitMs: 50 });
    try {
      // The 200 ms call is resent several times; the slow proc is idempotent, so it may run more
      // than once, but exactly one reply is delivered.
      assert.equal((await c.call(TOY_PROG, 1, TOYPROC_SLOW, u32(200))).uint32(), 200);
    } finally {
      await c.close();
      await toy.server.close({ graceful: false });
    }
  });
});

describe('RpcServer shutdown', { timeout: 30_000 }, () => {
  it('graceful close waits for an in-flight call and delivers its reply', async () => {
    const toy = await startToy();
    const c = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    const events: string[] = [];
    const held = c.call(TOY_PROG, 1, TOYPROC_GATED).then((r) => {
      events.push('reply');
      return r.uint32();
    });
    await until(() => toy.state.gatedStarted === 1);
    const closing = toy.server.close({ graceful: true, timeoutMs: 10_000 }).then(() => events.push('closed'));
    // No new connections once closing has begun.
    await sleep(20);
    await assert.rejects(RpcClient.connect({ host: HOST, port: toy.tcpPort, timeoutMs: 1000 }));
    assert.deepEqual(events, [], 'close waits for the running call');
    toy.state.gate.open();
    await closing;
    assert.equal(await held, 1, 'the call completed normally (not aborted)');
    assert.deepEqual(events, ['reply', 'closed']);
    await c.close();
  });

  it('graceful close gives up after its timeout and aborts what still runs', async () => {
    const toy = await startToy();
    const c = await RpcClient.connect({ host: HOST, port: toy.tcpPort });
    const pending = c.call(TOY_PROG, 1, TOYPROC_SLOW, u32(0x7fffffff)).catch((e: unknown) => e);
    await until(() => toy.state.signals.length === 1);
    const t0 = Date.now();
    await toy.server.close({ graceful: true, timeoutMs: 200 });
    const took = Date.now() - t0;
    assert.ok(took >= 150 && took < 10_000, `close took ${took} ms`);
    assert.ok(await pending instanceof RpcConnectionError);
    assert.equal(toy.state.signals[0]!.aborted, true);
    await c.close();
  });

  it('publishes what it serves for the portmapper', async () => {
    const toy = await startToy();
    try {
      const regs = toy.server.registrations();
      const key = (r: { vers: number; netid: string; port: number }) => `${r.vers}/${r.netid}/${r.port}`;
      assert.deepEqual(regs.map(key).sort(), [`1/tcp/${toy.tcpPort}`, `1/udp/${toy.udpPort}`, `3/tcp/${toy.tcpPort}`, `3/udp/${toy.udpPort}`].sort());
      const tcp1 = regs.find((r) => r.vers === 1 && r.netid === 'tcp')!;
      assert.equal(tcp1.prog, TOY_PROG);
      assert.equal(tcp1.prot, 6);
      assert.equal(tcp1.uaddr, `127.0.0.1.${toy.tcpPort >> 8}.${toy.tcpPort & 0xff}`);
    } finally {
      await toy.server.close({ graceful: false });
    }
  });
});
