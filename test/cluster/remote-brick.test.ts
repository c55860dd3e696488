/**
 * RemoteBrick against real brick node processes (`gateway brick`) on loopback ports: the shared brick
 * suite over the wire (with a small payload limit, so large reads and writes are split into frames), and
 * the faults replication relies on — a chunk file corrupted by hand, a brick killed with requests in
 * flight and restarted, a hung brick, malformed frames — plus the server's per-connection in-flight cap.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import * as net from 'node:net';
import { after, describe, test } from 'node:test';
import type { Brick, HealableBrick, ObjectId } from '../../cluster/bricks/brick';
import { isBrickFault } from '../../cluster/bricks/brick-fault';
import { BrickServer } from '../../cluster/bricks/brick-server';
import { BLOCK_SIZE, ChecksummedBrick } from '../../cluster/bricks/checksummed-brick';
import { MemoryBrick } from '../../cluster/bricks/memory-brick';
import { RemoteBrick } from '../../cluster/bricks/remote-brick';
import { encodeRequest } from '../../cluster/bricks/wire/codec';
import { Op } from '../../cluster/bricks/wire/protocol';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { startBrick, type BrickProc } from './brick-proc';
import { brickSuite } from './brick-suite';
import { tempDir } from './helpers';

const cleanups: Array<() => void | Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function dir(tag: string): string {
  const t = tempDir(tag);
  cleanups.push(t.cleanup);
  return t.dir;
}

async function brickProc(tag: string, port = 0, extra: string[] = []): Promise<BrickProc> {
  const b = await startBrick(`${dir(tag)}/brick`, port, extra);
  cleanups.push(() => b.kill9());
  return b;
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

const isFault = (kind: 'unreachable' | 'timeout' | 'corrupt' | 'refused') => (e: unknown): boolean => {
  assert.ok(isBrickFault(e, kind), `expected BrickFault(${kind}), got ${String(e)}`);
  return true;
};

// The shared suite: each make() is a fresh brick process (fresh directory); closing the client also
// stops the process with SIGTERM, which must exit 0.
brickSuite(
  'remote (real brick process, 8 KiB frames)',
  async (): Promise<Brick> => {
    const p = await brickProc('rb-suite', 0, ['--max-payload', '8192']);
    const r = new RemoteBrick({ address: p.address, timeoutMs: 20_000 });
    await r.connect();
    const close = r.close.bind(r);
    r.close = async () => {
      await close();
      assert.equal(await p.stop(), 0, 'brick exits 0 on SIGTERM');
    };
    return r;
  },
  { healable: true },
);

describe('remote brick faults', () => {
  test('a chunk file corrupted by hand: reads of that block fail corrupt over the wire; a whole-block rewrite repairs it', async () => {
    const p = await brickProc('rb-corrupt');
    const r = new RemoteBrick({ address: p.address, name: 'b0' });
    await r.connect();
    const id = { fileId: 0x5151n, chunk: 2 };
    const data = pattern(3 * BLOCK_SIZE, 1);
    await r.writeRange(id, 0, data);
    await r.fsync(id);
    const sum = await r.checksum(id);
    const fd = openSync(`${p.dir}/data/51/0000000000005151.d/2`, 'r+');
    writeSync(fd, Buffer.from([data[BLOCK_SIZE + 9]! ^ 1]), 0, 1, BLOCK_SIZE + 9);
    closeSync(fd);
    await assert.rejects(r.readRange(id, 0, data.length), (e: unknown) => {
      isFault('corrupt')(e);
      assert.match((e as Error).message, /b0 corrupt.*block 1/);
      return true;
    });
    await assert.rejects(r.checksum(id), isFault('corrupt'));
    assert.deepEqual(await r.readRange(id, 2 * BLOCK_SIZE, BLOCK_SIZE), data.subarray(2 * BLOCK_SIZE), 'other blocks still read');
    await r.writeRange(id, BLOCK_SIZE, data.subarray(BLOCK_SIZE, 2 * BLOCK_SIZE));
    assert.deepEqual(await r.readRange(id, 0, data.length), data);
    assert.deepEqual(await r.checksum(id), sum);
    // An ordinary brick error arrives as the same CoreError, not as a fault.
    await assert.rejects(r.writeRange(id, 64 << 20, Buffer.from('x')), (e: unknown) => e instanceof CoreError && !isBrickFault(e) && e.errc === Errc.INVAL);
    await r.close();
    assert.equal(await p.stop(), 0);
  });

  test('kill -9 with requests in flight: they fail unreachable, calls fail fast while down, and a restart is picked up by itself', async () => {
    let p = await brickProc('rb-kill');
    const port = p.port;
    const r = new RemoteBrick({ address: p.address, backoffMinMs: 50, backoffMaxMs: 200 });
    const events: string[] = [];
    r.on('up', () => events.push('up'));
    r.on('down', () => events.push('down'));
    await r.connect();
    assert.equal(r.healthy, true);
    const brickId = r.brickId;
    const kept = { fileId: 0x6060n, chunk: 0 };
    await r.writeRange(kept, 0, Buffer.from('durable before the crash'));
    await r.fsync(kept);
    // Freeze the brick so requests are surely in flight, then kill it.
    p.pause();
    const inflight = Array.from({ length: 20 }, (_, i) => r.writeRange({ fileId: 0x6061n, chunk: i }, 0, pattern(10_000, i)));
    const outcomes = Promise.allSettled(inflight);
    await new Promise((res) => setTimeout(res, 100));
    await p.kill9();
    const settled = await outcomes;
    for (const s of settled) {
      assert.equal(s.status, 'rejected');
      isFault('unreachable')((s as PromiseRejectedResult).reason);
    }
    assert.equal(r.healthy, false);
    // While down, calls fail at once instead of hanging.
    const t0 = Date.now();
    await assert.rejects(r.stat(kept), isFault('unreachable'));
    assert.ok(Date.now() - t0 < 2000, 'fails fast');
    // Same directory, same port: the client reconnects by itself.
    p = await startBrick(p.dir, port);
    cleanups.push(() => p.kill9());
    const up = Date.now();
    while (!r.healthy && Date.now() - up < 30_000) await new Promise((res) => setTimeout(res, 50));
    assert.equal(r.healthy, true, 'reconnected');
    assert.equal(r.brickId, brickId, 'the same brick (id kept in its directory)');
    assert.equal((await r.readRange(kept, 0, 100)).toString(), 'durable before the crash');
    await r.writeRange({ fileId: 0x6062n, chunk: 0 }, 0, Buffer.from('after'));
    assert.deepEqual(await r.stat({ fileId: 0x6062n, chunk: 0 }), { size: 5 });
    assert.deepEqual(events.slice(0, 3), ['up', 'down', 'up']);
    await r.close();
    assert.equal(await p.stop(), 0);
  });

  test('kill -9 during overwrites: after restart every byte holds a value some write put there, no block is corrupt', async () => {
    let p = await brickProc('rb-crash');
    const r = new RemoteBrick({ address: p.address, backoffMinMs: 50, backoffMaxMs: 200 });
    await r.connect();
    const SIZE = 64 * BLOCK_SIZE;
    const ids: ObjectId[] = [0, 1, 2, 3].map((c) => ({ fileId: 0x8080n, chunk: c }));
    // Byte i of object k may hold version v iff bit v of may[k][i] is set (version 0: the initial fill).
    const may = ids.map(() => new Uint32Array(SIZE).fill(1));
    await Promise.all(ids.map((id) => r.writeRange(id, 0, Buffer.alloc(SIZE, 0))));
    await Promise.all(ids.map((id) => r.fsync(id)));
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const writes: Array<Promise<unknown>> = [];
    let ok = 0;
    let killed = false;
    for (let v = 1; v < 32; v++) {
      for (const [k, id] of ids.entries()) {
        const off = rnd(SIZE - 1);
        const len = 1 + rnd(Math.min(SIZE - off, 3 * BLOCK_SIZE));
        for (let i = off; i < off + len; i++) may[k]![i]! |= 1 << v;
        writes.push(r.writeRange(id, off, Buffer.alloc(len, v)).then(() => ok++, () => undefined));
      }
      // Kill once the brick is well into the stream, with writes still queued behind. On a loaded machine
      // the acknowledgements can lag the loop by many rounds: by round 16 (64 writes sent) it waits for
      // 24 of them, so the kill still lands mid-stream, and the rounds after it go to a dead brick.
      if (!killed && (ok >= 24 || v >= 16)) {
        const until = Date.now() + 60_000;
        while (ok < 24 && Date.now() < until) await new Promise((res) => setTimeout(res, 2));
        killed = true;
        await p.kill9();
      } else await new Promise((res) => setTimeout(res, 2));
    }
    await Promise.all(writes);
    assert.ok(killed && ok >= 24 && ok < 124, `${ok} of 124 writes acknowledged, killed ${killed}`);
    p = await startBrick(p.dir, p.port);
    cleanups.push(() => p.kill9());
    await r.connect();
    let corrupt = 0;
    for (const [k, id] of ids.entries()) {
      for (let b = 0; b < SIZE / BLOCK_SIZE; b++) {
        let got: Buffer;
        try {
          got = await r.readRange(id, b * BLOCK_SIZE, BLOCK_SIZE);
        } catch (e) {
          isFault('corrupt')(e);
          corrupt++;
          continue;
        }
        assert.equal(got.length, BLOCK_SIZE);
        for (let i = 0; i < BLOCK_SIZE; i++) {
          const at = b * BLOCK_SIZE + i;
          assert.ok(may[k]![at]! & (1 << got[i]!), `object ${k} byte ${at} = ${got[i]}, never written there`);
        }
      }
    }
    assert.equal(corrupt, 0, 'a killed process leaves its page cache: checksums-then-data ordering keeps every block good');
    await r.close();
    assert.equal(await p.stop(), 0);
  });

  test('a hung brick (SIGSTOP): requests time out, the silent connection is dropped, and it recovers after SIGCONT', async () => {
    const p = await brickProc('rb-hang');
    const r = new RemoteBrick({ address: p.address, timeoutMs: 700, backoffMinMs: 50, backoffMaxMs: 200 });
    await r.connect();
    const id = { fileId: 0x7070n, chunk: 1 };
    await r.writeRange(id, 0, Buffer.from('hello'));
    p.pause();
    await assert.rejects(r.readRange(id, 0, 5), isFault('timeout'));
    p.resume();
    const t0 = Date.now();
    for (;;) {
      try {
        assert.equal((await r.readRange(id, 0, 5)).toString(), 'hello');
        break;
      } catch (e) {
        if (!isBrickFault(e) || Date.now() - t0 > 20_000) throw e;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    await r.close();
    assert.equal(await p.stop(), 0);
  });

  test('operator errors at start are plain and exit non-zero: a directory that is not a brick, a port in use', async () => {
    const d = dir('rb-start');
    writeFileSync(`${d}/junk`, 'x');
    await assert.rejects(startBrick(d, 0), /exited with 1[\s\S]*not a brick node directory/);
    const p = await brickProc('rb-start2');
    await assert.rejects(startBrick(`${dir('rb-start3')}/b`, p.port), /exited with 1[\s\S]*EADDRINUSE[\s\S]*brick failed to start/);
    assert.equal(await p.stop(), 0);
  });

  test('malformed frames close only their own connection; the brick keeps serving', async () => {
    const p = await brickProc('rb-bad');
    const r = new RemoteBrick({ address: p.address });
    await r.connect();
    const garbage: Buffer[] = [
      Buffer.from([0xff, 0xff, 0xff, 0xff]), // length over the limit
      Buffer.from([0, 0, 0, 5, 0, 0, 0, 1, 0x7f]), // unknown op
      Buffer.from([0, 0, 0, 6, 0, 0, 0, 1, 8, 0]), // STAT with a short body
    ];
    for (const g of garbage) {
      const closed = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: p.port }, () => s.write(g));
        s.on('error', () => undefined);
        s.on('close', () => resolve(true));
        setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 10_000);
      });
      assert.ok(closed, `connection closed after ${g.toString('hex')}`);
    }
    await r.writeRange({ fileId: 1n, chunk: 0 }, 0, Buffer.from('still here'));
    assert.equal((await r.readRange({ fileId: 1n, chunk: 0 }, 0, 100)).toString(), 'still here');
    assert.ok(p.logs.some((l) => l.includes('malformed brick frame')));
    await r.close();
    assert.equal(await p.stop(), 0);
  });
});

describe('brick server limits (in process)', () => {
  /** A brick that records how many operations run at once. */
  class CountingBrick extends MemoryBrick {
    running = 0;
    peak = 0;
    override async writeRange(id: ObjectId, offset: number, data: Buffer): Promise<void> {
      this.running++;
      this.peak = Math.max(this.peak, this.running);
      await new Promise((res) => setTimeout(res, 2));
      await super.writeRange(id, offset, data);
      this.running--;
    }
  }

  test('at most maxInFlight requests run per connection; all 300 pipelined ones complete', async () => {
    const mem = new CountingBrick();
    const server = new BrickServer(mem as unknown as HealableBrick, { brickId: 'counting', maxInFlight: 4 });
    const { port } = await server.listen('127.0.0.1', 0);
    cleanups.push(() => server.close(0));
    // The client allows more in flight than the server: the server's cap is what holds.
    const r = new RemoteBrick({ address: `127.0.0.1:${port}`, maxInFlight: 256 });
    await r.connect();
    await Promise.all(Array.from({ length: 300 }, (_, i) => r.writeRange({ fileId: BigInt(i), chunk: 0 }, 0, Buffer.from([i & 0xff]))));
    assert.ok(mem.peak <= 4 && mem.peak >= 2, `peak ${mem.peak}`);
    assert.equal(mem.objectCount(), 300);
    await r.close();
    await server.close();
  });

  test('a client that sends reads but never takes the replies is throttled (the brick stops reading), then served in full', async () => {
    const mem = new MemoryBrick();
    await mem.writeRange({ fileId: 1n, chunk: 0 }, 0, Buffer.alloc(65536, 1));
    const server = new BrickServer(mem, { brickId: 'm', maxInFlight: 16 });
    const { port } = await server.listen('127.0.0.1', 0);
    cleanups.push(() => server.close(0));
    const N = 2000;
    const reqs = Buffer.concat(Array.from({ length: N }, (_, i) => Buffer.concat(encodeRequest(i + 1, { op: Op.READ, obj: { fileId: 1n, chunk: 0 }, offset: 0, length: 65536 }))));
    const sock = net.connect({ host: '127.0.0.1', port });
    cleanups.push(() => void sock.destroy());
    await new Promise((res) => sock.once('connect', res));
    sock.pause();
    sock.write(reqs);
    await new Promise((res) => setTimeout(res, 1500));
    const served = server.stats.requests;
    assert.ok(served < N / 2, `served ${served} of ${N} while the client read nothing (${(served * 64) >> 10} MiB of replies)`);
    let got = 0;
    await new Promise<void>((resolve) => {
      sock.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= N * (65536 + 9)) resolve();
      });
      sock.resume();
    });
    assert.equal(got, N * (65536 + 9));
    assert.equal(server.stats.requests, N);
    sock.destroy();
    await server.close();
  });

  test('the memory budget caps bytes held by running requests across connections', async () => {
    const mem = new CountingBrick();
    const server = new BrickServer(mem as unknown as HealableBrick, { brickId: 'counting', maxPayload: 16384, maxBytesInFlight: 64 * 1024 });
    const { port } = await server.listen('127.0.0.1', 0);
    cleanups.push(() => server.close(0));
    const clients = [0, 1, 2].map(() => new RemoteBrick({ address: `127.0.0.1:${port}`, maxInFlight: 64 }));
    await Promise.all(clients.map((c) => c.connect()));
    await Promise.all(clients.flatMap((c, k) => Array.from({ length: 40 }, (_, i) => c.writeRange({ fileId: BigInt(k * 100 + i), chunk: 0 }, 0, Buffer.alloc(16000, i)))));
    // 64 KiB of budget: a request starts while less than that is held, so at most 5 of 16 KB run at once.
    assert.ok(mem.peak <= 5 && mem.peak >= 2, `peak ${mem.peak} writes of 16 KB at once`);
    assert.equal(mem.objectCount(), 120);
    await Promise.all(clients.map((c) => c.close()));
    await server.close();
  });

  test('connections over the limit are refused; large reads and writes are split into frames', async () => {
    const b = await ChecksummedBrick.open(`${dir('rb-limit')}/b`);
    const server = new BrickServer(b, { brickId: b.brickId, maxConnections: 1, maxPayload: 16384 });
    const { port } = await server.listen('127.0.0.1', 0);
    cleanups.push(() => server.close(0));
    const r = new RemoteBrick({ address: `127.0.0.1:${port}` });
    await r.connect();
    assert.equal((await r.ping()).maxPayload, 16384);
    const data = pattern(200_000, 5);
    await r.writeRange({ fileId: 3n, chunk: 0 }, 1000, data);
    assert.deepEqual(await r.readRange({ fileId: 3n, chunk: 0 }, 1000, 300_000), data);
    const into = Buffer.alloc(100_000);
    assert.equal(await r.readInto({ fileId: 3n, chunk: 0 }, 150_000, into), 51_000);
    assert.deepEqual(into.subarray(0, 51_000), data.subarray(149_000));
    await assert.rejects(r.stat({ fileId: 3n, chunk: 2 ** 33 }), (e: unknown) => e instanceof CoreError && e.errc === Errc.INVAL, 'arguments out of range fail that call only');
    assert.deepEqual(await r.stat({ fileId: 3n, chunk: 0 }), { size: 201_000 });
    const second = new RemoteBrick({ address: `127.0.0.1:${port}`, connectTimeoutMs: 1000, backoffMinMs: 5000 });
    await assert.rejects(second.connect(), isFault('unreachable'));
    await second.close();
    await r.close();
    await server.close();
    await b.close();
  });
});
