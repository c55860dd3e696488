/**
 * A brick node whose MACHINE restarted may have lost writes it acknowledged but had not fsynced; its
 * process restarting alone loses nothing (the page cache keeps them). NFS requires that a COMMIT either
 * covers the data or answers a new write verifier (RFC 1813 §3.3.21), and a replica that lost data must
 * not be read or counted until healed (DESIGN invariant 6). Simulated, not crashed: the brick is stopped,
 * the object its un-fsynced write created is removed from its directory (what a crash before the fsync
 * leaves), and it starts again with another boot id (`gateway brick --boot-id`), on the same directory.
 *
 *  - process restart, same boot id: COMMIT answers the same verifier, nothing is marked for heal;
 *  - "reboot": the gateway sees the new instance at its handshake; COMMIT answers a new verifier (the
 *    client resends), exactly the un-fsynced object is recorded for heal on that brick (not the one
 *    committed before), heal rebuilds it, and the three bricks end up identical with the right bytes.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brickObjects, startCluster, waitFor, type Cluster } from './cluster-harness';
import { Nfs3TestClient } from './nfs3-client';

const UNSTABLE = 0;

/** The object file of (fileId, chunk 0) in a brick node directory (flat-1 layout, local-brick.ts). */
function objectFiles(brickDir: string, fileId: bigint): string[] {
  const rel = path.join((Number(fileId & 0xffn) | 0x100).toString(16).slice(1), fileId.toString(16).padStart(16, '0'));
  return [path.join(brickDir, 'data', rel), path.join(brickDir, 'sums', rel)];
}

async function brickState(c: Cluster, id: string): Promise<any> {
  return (await c.status()).bricks.find((b: any) => b.id === id);
}

describe('e2e: a brick that comes back as a new instance (machine restart) on replica 3', () => {
  let c: Cluster;
  let nfs: Nfs3TestClient;
  let root: Buffer;
  before(async () => {
    c = await startCluster({ bricks: 3, replica: 3, chunkSize: 64 * 1024, healMiBps: 0 });
    nfs = await Nfs3TestClient.connect(c.gw.nfsPort, c.gw.mountPort);
    root = (await nfs.mount('/data')).fh!;
  });
  after(async () => {
    await nfs?.close();
    await c?.stop();
  });

  /** Restarts b2 and waits until the gateway has made its handshake with the new process. */
  async function restartB2(extraArgs: string[] = []): Promise<void> {
    await c.bricks[1]!.restart(extraArgs);
    await waitFor('the gateway reconnected to b2', async () => {
      const b = await brickState(c, 'b2');
      return b.connected === true && b.up === true;
    }, 30000, 50);
  }

  it('process restart with the same boot id: same verifier, nothing marked', { timeout: 120000 }, async () => {
    const made = await nfs.create(root, 'same-boot.bin', 1);
    assert.equal(made.status, 0);
    const w = await nfs.write(made.fh!, 0n, randomBytes(20000), UNSTABLE);
    assert.equal(w.status, 0);
    await restartB2();
    const cm = await nfs.commit(made.fh!);
    assert.equal(cm.status, 0);
    assert.ok(cm.verf!.equals(w.verf!), 'the verifier did not change: the page cache kept the un-fsynced write');
    const s = await c.status();
    assert.equal(s.writes.lostWriteEvents, 0);
    assert.equal(s.heal.backlog, 0);
  });

  it('"reboot" (new boot id) after an un-fsynced write was lost: new verifier, the lost object is healed', { timeout: 180000 }, async () => {
    // A file committed before: its object is durable and must not be marked.
    const kept = await nfs.create(root, 'committed.bin', 1);
    const keptData = randomBytes(30000);
    assert.equal((await nfs.write(kept.fh!, 0n, keptData, UNSTABLE)).status, 0);
    assert.equal((await nfs.commit(kept.fh!)).status, 0);

    const made = await nfs.create(root, 'lost.bin', 1);
    assert.equal(made.status, 0);
    const data = randomBytes(40000);
    const w = await nfs.write(made.fh!, 0n, data, UNSTABLE);
    assert.equal(w.status, 0);
    const fileId = made.attr!.fileid;

    // The machine "crashes" before the COMMIT: the object created by the un-fsynced write is gone.
    const b2 = c.bricks[1]!;
    await b2.stop();
    const files = objectFiles(b2.dir, fileId);
    for (const f of files) assert.ok(existsSync(f), `b2 held ${f} before the crash`);
    for (const f of files) rmSync(f);
    await restartB2(['--boot-id', 'simulated-reboot-1']);
    const st = await brickState(c, 'b2');
    assert.equal(st.instance, 'boot:simulated-reboot-1');
    assert.equal(st.lostWriteEvents, 1, 'the gateway saw the new instance at its handshake');

    const cm = await nfs.commit(made.fh!);
    assert.equal(cm.status, 0);
    assert.ok(!cm.verf!.equals(w.verf!), 'COMMIT answers a new verifier: the client must resend its unstable writes');
    const s = await c.status();
    assert.equal(s.writes.lostWriteEvents, 1);
    assert.equal(s.writes.lostWriteMarks, 1, 'exactly the un-fsynced object was recorded for heal (not the committed one)');

    // The client resends (as Linux does on a verifier mismatch) and reads back.
    assert.equal((await nfs.write(made.fh!, 0n, data, 2)).status, 0);
    await waitFor('heal backlog 0', async () => {
      const x = await c.status();
      return x.heal.backlog === 0 && !x.heal.running;
    }, 60000, 250);
    const [o1, o2, o3] = await Promise.all(c.bricks.map((b) => brickObjects(b.address)));
    const key = `${fileId}:0`;
    assert.ok(o2!.has(key), 'b2 holds the object again');
    assert.equal(o2!.get(key), o1!.get(key));
    assert.equal(o3!.get(key), o1!.get(key));
    const keptKey = `${kept.attr!.fileid}:0`;
    assert.equal(o2!.get(keptKey), o1!.get(keptKey), 'the committed object was never lost');
    const r = await nfs.readAll(made.fh!, 0n, data.length);
    assert.ok(r.data!.equals(data));
    const rk = await nfs.readAll(kept.fh!, 0n, keptData.length);
    assert.ok(rk.data!.equals(keptData));
  });
});
