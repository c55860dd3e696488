/**
 * Large unsigned WRITEs are processed while their payload is still arriving (protocols/smb2/arriving.ts):
 * the data written is exactly what was sent, the response never comes before the whole request has
 * been sent, a connection that ends in the middle of such a WRITE leaves the server serving others and
 * its buffers back in the pool, and a signed WRITE of the same size still works (it waits to arrive whole).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import type { Volume } from '../../cluster/vfs/volume';
import { Smb2Cmd } from '../../protocols/smb2/constants';
import { decodeHeader } from '../../protocols/smb2/header';
import type { SmbServer } from '../../protocols/smb2/server';
import { closeBody, createBody, fileIdOf, readBody, type TestSmbClient, writeBody } from './smb2-client';
import { diskAndIpc, readyClient, startTestSmb } from './smb2-fixture';

const SIZE = 2 * 1024 * 1024 + 4321;
const CHARGE = Math.ceil(SIZE / 65536);

/** Responses the client has received and not taken yet. */
const queued = (c: TestSmbClient): number => (c as unknown as { queue: Buffer[] }).queue.length;

describe('SMB2 WRITE processed while it arrives', () => {
  let fs: Volume;
  let smb: SmbServer;
  let port: number;
  const clients: TestSmbClient[] = [];

  before(async () => {
    const config = defaultExport('data', 1);
    fs = createMemoryFileSystem([config]);
    ({ server: smb, port } = await startTestSmb({ shares: diskAndIpc(fs, config), options: { maxIo: 4 * 1024 * 1024, maxCredits: 512 } }));
  });

  after(async () => {
    for (const c of clients) c.close();
    await smb.close();
  });

  async function open(c: TestSmbClient, name: string): Promise<Buffer> {
    const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name) });
    assert.equal(r.hdr.status, 0);
    return fileIdOf(r);
  }

  async function readBack(c: TestSmbClient, fid: Buffer, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let at = 0; at < length; at += 65536) {
      const r = await c.request({ command: Smb2Cmd.READ, body: readBody(fid, BigInt(at), Math.min(65536, length - at)) });
      assert.equal(r.hdr.status, 0);
      const off = r.body.readUInt8(2) - 64;
      parts.push(Buffer.from(r.body.subarray(off, off + r.body.readUInt32LE(4))));
    }
    return Buffer.concat(parts);
  }

  it('writes the payload sent in slow pieces exactly, and answers only after the last byte', async () => {
    const c = await readyClient(port, clients);
    const fid = await open(c, 'slow.bin');
    const data = randomBytes(SIZE);
    const wire = c.frame(c.build({ command: Smb2Cmd.WRITE, body: writeBody(fid, 100n, data), creditCharge: CHARGE }));
    const cuts = [300, 700_000, 1_500_000, wire.length - 10];
    let at = 0;
    for (const cut of cuts) {
      c.writeRaw(wire.subarray(at, cut));
      at = cut;
      await sleep(40);
      assert.equal(queued(c), 0, `no response while ${wire.length - at} bytes are still unsent`);
    }
    c.writeRaw(wire.subarray(at));
    const m = await c.next();
    assert.ok(m);
    const h = decodeHeader(m);
    assert.equal(h.status, 0);
    assert.equal(m.subarray(64).readUInt32LE(4), SIZE, 'Count');
    const back = await readBack(c, fid, SIZE + 100);
    assert.ok(back.subarray(100).equals(data), 'every byte as sent');
    assert.deepEqual(back.subarray(0, 100), Buffer.alloc(100));
    assert.equal((await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fid) })).hdr.status, 0);
  });

  it('a WRITE on a bad FileId fails, still only once the whole request has arrived', async () => {
    const c = await readyClient(port, clients);
    const wire = c.frame(c.build({ command: Smb2Cmd.WRITE, body: writeBody(Buffer.alloc(16, 0x5a), 0n, randomBytes(SIZE)), creditCharge: CHARGE }));
    c.writeRaw(wire.subarray(0, 200_000));
    await sleep(50);
    assert.equal(queued(c), 0);
    c.writeRaw(wire.subarray(200_000));
    const m = await c.next();
    assert.ok(m);
    assert.notEqual(decodeHeader(m).status, 0);
    // The connection still works.
    assert.equal((await c.request({ command: Smb2Cmd.ECHO, body: Buffer.from([4, 0, 0, 0]) })).hdr.status, 0);
  });

  it('a connection ending in the middle of such a WRITE: others are served, the buffers go back to the pool', async () => {
    const freeBefore = smb.ctx.messagePool.freeCount;
    const c = await readyClient(port, clients);
    const fid = await open(c, 'cut.bin');
    const wire = c.frame(c.build({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, randomBytes(SIZE)), creditCharge: CHARGE }));
    c.writeRaw(wire.subarray(0, 1_200_000));
    await sleep(50);
    c.socket.destroy();
    for (let i = 0; i < 100 && smb.ctx.messagePool.freeCount !== freeBefore; i++) await sleep(20);
    assert.equal(smb.ctx.messagePool.freeCount, freeBefore, 'the message buffer was given back');

    const d = await readyClient(port, clients);
    const fid2 = await open(d, 'after.bin');
    const data = randomBytes(SIZE);
    const w = await d.request({ command: Smb2Cmd.WRITE, body: writeBody(fid2, 0n, data), creditCharge: CHARGE });
    assert.equal(w.hdr.status, 0);
    assert.ok((await readBack(d, fid2, SIZE)).equals(data));
  });

  it('the in-flight cap does not stop such a WRITE from arriving (cap 1: it is the one in flight)', async () => {
    const config = defaultExport('data', 1);
    const one = await startTestSmb({ shares: diskAndIpc(fs, config), options: { maxIo: 4 * 1024 * 1024, maxCredits: 512, maxInFlightPerConnection: 1 } });
    try {
      const c = await readyClient(one.port, clients);
      const fid = await open(c, 'cap.bin');
      const data = randomBytes(SIZE);
      const wire = c.frame(c.build({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, data), creditCharge: CHARGE }));
      c.writeRaw(wire.subarray(0, 600_000));
      await sleep(50);
      c.writeRaw(wire.subarray(600_000));
      const m = await c.next(5000);
      assert.ok(m);
      assert.equal(decodeHeader(m).status, 0);
      assert.ok((await readBack(c, fid, SIZE)).equals(data));
    } finally {
      await one.server.close();
    }
  });

  it('a signed WRITE of the same size waits to arrive whole and is written exactly', async () => {
    const c = await readyClient(port, clients, { sign: true });
    const fid = await open(c, 'signed.bin');
    const data = randomBytes(SIZE);
    const w = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, data), creditCharge: CHARGE });
    assert.equal(w.hdr.status, 0);
    assert.ok((await readBack(c, fid, SIZE)).equals(data));
  });
});
