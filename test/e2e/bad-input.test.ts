/**
 * Hostile and broken input against the real gateway process: each gets the protocol-correct error or
 * a closed connection, the gateway stays up and serves the next client, and its memory stays bounded.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RpcReplyError } from '../../protocols/rpc/client';
import { startGateway, type GatewayProc } from './harness';
import { NFS, Nfs3TestClient, ROOT_AUTH } from './nfs3-client';

const NFS3ERR_NOENT = 2;
const NFS3ERR_EXIST = 17;
const NFS3ERR_INVAL = 22;
const NFS3ERR_NAMETOOLONG = 63;
const NFS3ERR_STALE = 70;
const NFS3ERR_BADHANDLE = 10001;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Opens a raw TCP connection, writes `bytes`, resolves when the server closes it (or after `waitMs`). */
function rawSend(port: number, bytes: Buffer, waitMs: number): Promise<{ closedByServer: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ closedByServer, received: Buffer.concat(got) });
    };
    s.on('data', (d) => got.push(d));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    s.on('connect', () => s.write(bytes));
    setTimeout(() => finish(false), waitMs);
  });
}

async function expectReplyError(p: Promise<unknown>): Promise<RpcReplyError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcReplyError) return e;
    throw e;
  }
  assert.fail('expected an RPC-level error reply');
}

describe('e2e: bad input', () => {
  let g: GatewayProc;
  let c: Nfs3TestClient;
  let root: Buffer;
  before(async () => {
    g = await startGateway();
    c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    root = (await c.mount('/data')).fh!;
  });
  after(async () => {
    await c.close();
    assert.equal(await g.stop(), 0, 'gateway exits cleanly after all of it');
    g.cleanup();
  });

  it('unknown program → PROG_UNAVAIL; unknown NFS version → PROG_MISMATCH 3..4; unknown procedure → PROC_UNAVAIL', async () => {
    let e = await expectReplyError(c.rpc.call(123456, 1, 0, undefined, { auth: ROOT_AUTH }));
    assert.equal(e.reply.kind, 'accepted');
    assert.equal((e.reply as any).accept.stat, 1);
    e = await expectReplyError(c.rpc.call(NFS, 7, 0, undefined, { auth: ROOT_AUTH }));
    assert.deepEqual((e.reply as any).accept, { stat: 2, low: 3, high: 4 }, 'NFSv3 and NFSv4 are served');
    e = await expectReplyError(c.rpc.call(NFS, 3, 99, undefined, { auth: ROOT_AUTH }));
    assert.equal((e.reply as any).accept.stat, 3);
  });

  it('unknown auth flavor → AUTH_ERROR; RPC version 3 → RPC_MISMATCH', async () => {
    let e = await expectReplyError(c.rpc.call(NFS, 3, 0, undefined, { cred: { flavor: 99, body: Buffer.alloc(8) } as any }));
    assert.equal(e.reply.kind, 'denied');
    assert.equal((e.reply as any).reject.stat, 1);
    e = await expectReplyError(c.rpc.call(NFS, 3, 0, undefined, { rpcvers: 3 }));
    assert.equal(e.reply.kind, 'denied');
    assert.equal((e.reply as any).reject.stat, 0);
  });

  it('undecodable arguments → GARBAGE_ARGS (missing args, oversized handle, huge name length)', async () => {
    let e = await expectReplyError(c.rpc.call(NFS, 3, 1, undefined, { auth: ROOT_AUTH }));
    assert.equal((e.reply as any).accept.stat, 4);
    e = await expectReplyError(c.rpc.call(NFS, 3, 1, (w) => w.opaque(Buffer.alloc(65)), { auth: ROOT_AUTH }));
    assert.equal((e.reply as any).accept.stat, 4);
    e = await expectReplyError(c.rpc.call(NFS, 3, 3, (w) => w.opaque(root).uint32(0x7ffffff0), { auth: ROOT_AUTH }));
    assert.equal((e.reply as any).accept.stat, 4);
  });

  it('forged and stale file handles → BADHANDLE / STALE', async () => {
    const forged = Buffer.from(root);
    forged[9] = forged[9]! ^ 0x01; // another inode number, same signature
    assert.equal((await c.getattr(forged)).status, NFS3ERR_BADHANDLE);
    assert.equal((await c.getattr(Buffer.alloc(28, 0x41))).status, NFS3ERR_BADHANDLE);
    assert.equal((await c.getattr(Buffer.alloc(0))).status, NFS3ERR_BADHANDLE);
    const fh = (await c.create(root, 'to-delete', 1)).fh!;
    assert.equal((await c.remove(root, 'to-delete')).status, 0);
    assert.equal((await c.getattr(fh)).status, NFS3ERR_STALE);
    assert.equal((await c.read(fh, 0n, 10)).status, NFS3ERR_STALE);
  });

  it("names with '/' or NUL, over-long names, and '..' at the export root", async () => {
    assert.equal((await c.create(root, 'a/b', 1)).status, NFS3ERR_INVAL);
    assert.equal((await c.create(root, Buffer.from('a\0b'), 1)).status, NFS3ERR_INVAL);
    assert.equal((await c.create(root, 'x'.repeat(256), 1)).status, NFS3ERR_NAMETOOLONG);
    assert.equal((await c.lookup(root, 'x'.repeat(300))).status, NFS3ERR_NAMETOOLONG);
    assert.equal((await c.lookup(root, 'no/such')).status !== 0, true);
    const up = await c.lookup(root, '..');
    assert.equal(up.status, 0);
    assert.ok(up.fh!.equals(root), "'..' at the export root is the root itself");
    const upup = await c.lookup(up.fh!, '..');
    assert.ok(upup.fh!.equals(root));
    assert.equal((await c.create(root, '..', 1)).status === 0, false);
    assert.ok([NFS3ERR_EXIST, NFS3ERR_INVAL].includes((await c.create(root, '.', 1)).status));
    assert.equal((await c.lookup(root, 'missing')).status, NFS3ERR_NOENT);
  });

  it('truncated records, huge declared lengths and garbage bytes close the connection; the server keeps serving', { timeout: 60000 }, async () => {
    const rss0 = rssMiB(g.proc.pid!);
    // A record header announcing 100 bytes followed by 10, then the client hangs up.
    const trunc = Buffer.concat([Buffer.from([0x80, 0, 0, 100]), Buffer.alloc(10)]);
    await rawSend(g.nfsPort, trunc, 300);
    // Declared lengths far over the record limit: the server must refuse before buffering anything.
    for (let i = 0; i < 200; i++) {
      const r = await rawSend(g.nfsPort, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]), 3000);
      assert.equal(r.closedByServer, true, 'oversized record closes the connection');
    }
    // Many fragments of 1 GiB total announced in pieces (non-last fragments).
    const frag = Buffer.from([0x3f, 0xff, 0xff, 0xff]);
    assert.equal((await rawSend(g.nfsPort, frag, 3000)).closedByServer, true);
    // Random garbage as a complete record.
    const garbage = Buffer.concat([Buffer.from([0x80, 0, 0, 64]), Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff))]);
    await rawSend(g.nfsPort, garbage, 500);
    // The same against MOUNT and over a record that claims to be a REPLY.
    await rawSend(g.mountPort, Buffer.from([0xff, 0xff, 0xff, 0xff]), 1000);
    const rss1 = rssMiB(g.proc.pid!);
    assert.ok(rss1 - rss0 < 100, `memory stays bounded (rss ${rss0.toFixed(0)} → ${rss1.toFixed(0)} MiB)`);
    // Still serving, on a new connection and on the old one.
    const c2 = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    assert.equal((await c2.getattr(root)).status, 0);
    await c2.close();
    assert.equal((await c.getattr(root)).status, 0);
  });

  it('retransmitted CREATE, MKDIR and REMOVE (same xid) get the original reply, not EXIST/NOENT', async () => {
    // A new connection, as a client reconnecting after a lost reply would use.
    const c2 = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const xid = 0x5eed0000 + (process.pid & 0xffff);
    const a = await c.create(root, 'retrans', 1, undefined, xid);
    const b = await c2.create(root, 'retrans', 1, undefined, xid);
    assert.equal(a.status, 0);
    assert.equal(b.status, 0, 'the retransmission is answered from the duplicate-request cache');
    assert.ok(a.fh!.equals(b.fh!));
    assert.equal((await c.create(root, 'retrans', 1)).status, NFS3ERR_EXIST, 'a new request (new xid) is executed');
    assert.equal((await c.mkdir(root, 'rdir', 0o755, xid + 1)).status, 0);
    assert.equal((await c2.mkdir(root, 'rdir', 0o755, xid + 1)).status, 0);
    assert.equal((await c.remove(root, 'retrans', xid + 2)).status, 0);
    assert.equal((await c2.remove(root, 'retrans', xid + 2)).status, 0);
    assert.equal((await c.remove(root, 'retrans')).status, NFS3ERR_NOENT);
    await c2.close();
  });

  it('a flood of pipelined calls on one connection is bounded and all answered', { timeout: 60000 }, async () => {
    const calls = [];
    for (let i = 0; i < 2000; i++) calls.push(c.getattr(root));
    const res = await Promise.all(calls);
    assert.ok(res.every((r) => r.status === 0));
  });
});
