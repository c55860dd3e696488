/**
 * Acknowledged data is durable: what the client was told is stable (FILE_SYNC, or UNSTABLE followed by
 * COMMIT) survives kill -9 of the gateway, and file handles taken before the crash still work after it.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { startGateway } from './harness';
import { Nfs3TestClient } from './nfs3-client';

describe('e2e: durability across kill -9', () => {
  it('FILE_SYNC writes and their file size survive kill -9; old handles still work', { timeout: 60000 }, async () => {
    const g = await startGateway();
    let c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const root = (await c.mount('/data')).fh!;
    const cr = await c.create(root, 'sync.bin', 1);
    assert.equal(cr.status, 0);
    const fh = cr.fh!;
    const a = randomBytes(1024 * 1024 - 333); // within wtmax, so one WRITE carries it all
    const b = randomBytes(4097);
    const w1 = await c.write(fh, 12345n, a, 2);
    assert.equal(w1.status, 0);
    assert.equal(w1.count, a.length);
    assert.equal(w1.committed, 2, 'FILE_SYNC was asked, FILE_SYNC must be answered');
    const w2 = await c.write(fh, 12345n + BigInt(a.length), b, 2);
    assert.equal(w2.status, 0);
    // Crash right after the reply: nothing gets a chance to flush.
    await g.kill9();
    await c.close().catch(() => undefined);

    const g2 = await startGateway({ dataDir: g.dataDir });
    try {
      c = await Nfs3TestClient.connect(g2.nfsPort, g2.mountPort);
      const ga = await c.getattr(fh);
      assert.equal(ga.status, 0, 'handle from before the crash works');
      assert.equal(ga.attr!.size, BigInt(12345 + a.length + b.length));
      const rd = await c.readAll(fh, 0n, 12345 + a.length + b.length);
      assert.equal(rd.status, 0);
      assert.deepEqual(rd.data!.subarray(0, 12345), Buffer.alloc(12345), 'leading hole reads as zeros');
      assert.ok(rd.data!.subarray(12345, 12345 + a.length).equals(a), 'first FILE_SYNC write intact');
      assert.ok(rd.data!.subarray(12345 + a.length).equals(b), 'second FILE_SYNC write intact');
      const lk = await c.lookup(root, 'sync.bin');
      assert.equal(lk.status, 0);
      assert.ok(lk.fh!.equals(fh), 'same handle after restart');
      await c.close();
    } finally {
      await g2.stop();
      g2.cleanup();
    }
  });

  it('UNSTABLE writes followed by COMMIT survive kill -9; the write verifier changes on restart', { timeout: 60000 }, async () => {
    const g = await startGateway();
    let c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const root = (await c.mount('/data')).fh!;
    const fh = (await c.create(root, 'unstable.bin', 1)).fh!;
    const parts = [randomBytes(65536), randomBytes(100000), randomBytes(7)];
    let off = 0n;
    let verf: Buffer | undefined;
    for (const p of parts) {
      const w = await c.write(fh, off, p, 0);
      assert.equal(w.status, 0);
      verf ??= w.verf;
      assert.ok(w.verf!.equals(verf!), 'verifier is stable within one server instance');
      off += BigInt(p.length);
    }
    const cm = await c.commit(fh);
    assert.equal(cm.status, 0);
    assert.ok(cm.verf!.equals(verf!), 'COMMIT verifier equals the WRITE verifier');
    await g.kill9();
    await c.close().catch(() => undefined);

    const g2 = await startGateway({ dataDir: g.dataDir });
    try {
      c = await Nfs3TestClient.connect(g2.nfsPort, g2.mountPort);
      const rd = await c.readAll(fh, 0n, Number(off));
      assert.equal(rd.status, 0);
      assert.ok(rd.data!.equals(Buffer.concat(parts)), 'committed data intact');
      const w = await c.write(fh, off, Buffer.from('x'), 0);
      assert.ok(!w.verf!.equals(verf!), 'a restarted server has a new write verifier');
      await c.close();
    } finally {
      await g2.stop();
      g2.cleanup();
    }
  });

  it('namespace changes survive kill -9 (create, mkdir, remove)', { timeout: 60000 }, async () => {
    const g = await startGateway();
    let c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const root = (await c.mount('/data')).fh!;
    assert.equal((await c.mkdir(root, 'dir1')).status, 0);
    assert.equal((await c.create(root, 'gone', 1)).status, 0);
    assert.equal((await c.create(root, 'kept', 1)).status, 0);
    assert.equal((await c.remove(root, 'gone')).status, 0);
    await g.kill9();
    await c.close().catch(() => undefined);
    const g2 = await startGateway({ dataDir: g.dataDir });
    try {
      c = await Nfs3TestClient.connect(g2.nfsPort, g2.mountPort);
      const names = (await c.readdirAll(root)).names.sort();
      assert.deepEqual(names, ['.', '..', 'dir1', 'kept']);
      await c.close();
    } finally {
      await g2.stop();
      g2.cleanup();
    }
  });
});
