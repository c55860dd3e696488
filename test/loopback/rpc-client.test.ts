/** RpcClient behaviour that the server tests do not reach: unix sockets, timeouts, teardown. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RpcClient, RpcConnectionError, RpcTimeoutError } from '../../protocols/rpc/client';
import { RecordDecoder, frameRecord } from '../../protocols/rpc/framing';
import { NULL_AUTH, SUCCESS, encodeAcceptedReply } from '../../protocols/rpc/message';
import { XdrWriter } from '../../protocols/xdr/writer';

/**
 * A scripted server: answers every call with SUCCESS and the call's proc number as the result,
 * except proc 9, which it never answers.
 */
function scriptedServer(): net.Server {
  return net.createServer((s) => {
    const d = new RecordDecoder();
    s.on('error', () => {});
    s.on('data', (chunk: Buffer) => {
      for (const rec of d.push(chunk)) {
        const xid = rec.readUInt32BE(0);
        const proc = rec.readUInt32BE(20);
        if (proc === 9) continue;
        const w = new XdrWriter();
        encodeAcceptedReply(w, xid, NULL_AUTH, { stat: SUCCESS });
        w.uint32(proc);
        s.write(Buffer.concat(frameRecord(w.segmentsOut())));
      }
    });
  });
}

describe('RpcClient', { timeout: 30_000 }, () => {
  let dir: string;
  let server: net.Server;
  let path: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpc-client-'));
    path = join(dir, 'rpc.sock');
    server = scriptedServer();
    await new Promise<void>((r) => server.listen(path, () => r()));
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('talks over a unix stream socket with many calls in flight', async () => {
    const c = await RpcClient.connect({ path });
    const results = await Promise.all([1, 2, 3, 4, 5].map((p) => c.call(1, 1, p).then((r) => r.uint32())));
    assert.deepEqual(results, [1, 2, 3, 4, 5]);
    await c.close();
  });

  it('times a call out and ignores its late reply', async () => {
    const c = await RpcClient.connect({ path });
    await assert.rejects(c.call(1, 1, 9, undefined, { timeoutMs: 100 }), RpcTimeoutError);
    assert.equal((await c.call(1, 1, 7)).uint32(), 7);
    await c.close();
  });

  it('refuses a second call with an xid already in flight', async () => {
    const c = await RpcClient.connect({ path });
    const first = c.call(1, 1, 9, undefined, { xid: 5, timeoutMs: 200 }).catch((e: unknown) => e);
    await assert.rejects(c.call(1, 1, 1, undefined, { xid: 5 }), /already in flight/);
    assert.ok((await first) instanceof RpcTimeoutError);
    await c.close();
  });

  it('rejects pending calls when the connection closes, and later calls at once', async () => {
    const c = await RpcClient.connect({ path });
    const pending = c.call(1, 1, 9);
    await c.close();
    await assert.rejects(pending, RpcConnectionError);
    await assert.rejects(c.call(1, 1, 1), RpcConnectionError);
    assert.equal(c.closed, true);
  });

  it('fails to connect to a closed port', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(RpcClient.connect({ host: '127.0.0.1', port }));
  });
});
