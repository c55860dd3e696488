/**
 * Two gateways on one Redis and one replica-3 brick set: a replica that gateway 1 records as stale is
 * never read through gateway 2, not even right after the brick comes back (DESIGN invariant 6 across
 * gateways; cluster/bricks/heal-journal.ts "Several gateways").
 *
 * Per round: a file is written through gateway 1 and read through gateway 2; brick b3 is stopped; new
 * bytes are written over the whole file through gateway 1 (FILE_SYNC: every chunk misses b3, which is
 * recorded in the heal journal before each write is acknowledged); b3 restarts on its old directory, so
 * it holds the OLD bytes of every chunk; as soon as gateway 2 is connected to b3 again, the file is read
 * through gateway 2: it must be the new bytes, every chunk, every time. Gateway 2 re-reads the journal
 * in the background never (healJournalRefreshMs 0) and heal runs at about 1 KiB/s, so neither a reload
 * nor a finished heal can hide a stale read: only the read-side check can. Reads are spread over the
 * replicas by chunk, so about a third of the chunks would be read from b3 without it.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBrick, type BrickProc } from '../cluster/brick-proc';
import { startRedis, type RedisProc } from '../cluster/redis-server';
import { waitFor } from './cluster-harness';
import { startGateways, volumeStatus, type Gw } from './gateway-set';
import { Nfs3TestClient } from './nfs3-client';

const CHUNK = 64 * 1024;
const CHUNKS = 12;
const ROUNDS = 3;

const status = volumeStatus;

describe('e2e: two gateways, one Redis, replica 3 on three brick processes', () => {
  let work: string;
  let redis: RedisProc;
  const bricks: BrickProc[] = [];
  const gws: Gw[] = [];

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-multi3-'));
    redis = await startRedis();
    for (const n of [1, 2, 3]) bricks.push(await startBrick(path.join(work, `b${n}`)));
    gws.push(
      ...(await startGateways(work, 2, {
        redisUrl: redis.url,
        keyPrefix: 'e2e3:{data}:',
        bricks: bricks.map((b, i) => ({ id: `b${i + 1}`, address: b.address })),
        replica: 3,
        chunkSize: CHUNK,
        extra: { healMiBps: 0.001, healJournalRefreshMs: 0 },
      })),
    );
  });
  after(async () => {
    // kill -9: a healer paced at 1 KiB/s would hold a graceful stop for minutes.
    for (const g of gws) await g.proc.kill9();
    for (const b of bricks) await b.stop().catch(() => undefined);
    await redis?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it(`b3 missed writes through gateway 1: gateway 2 never reads its old copy, right after b3 is back (${ROUNDS} rounds)`, { timeout: 300000 }, async () => {
    const [g1, g2] = gws as [Gw, Gw];
    const c1 = await Nfs3TestClient.connect(g1.proc.nfsPort, g1.proc.mountPort);
    const c2 = await Nfs3TestClient.connect(g2.proc.nfsPort, g2.proc.mountPort);
    try {
      const root1 = (await c1.mount('/data')).fh!;
      const root2 = (await c2.mount('/data')).fh!;
      for (let round = 1; round <= ROUNDS; round++) {
        const name = `round${round}.bin`;
        const made = await c1.create(root1, name, 1);
        assert.equal(made.status, 0);
        const fh = made.fh!;
        const oldBytes = randomBytes(CHUNK * CHUNKS);
        for (let c = 0; c < CHUNKS; c++) assert.equal((await c1.write(fh, BigInt(c * CHUNK), oldBytes.subarray(c * CHUNK, (c + 1) * CHUNK), 2)).status, 0);
        const fh2 = (await c2.lookup(root2, name)).fh!;
        const first = await c2.readAll(fh2, 0n, oldBytes.length);
        assert.ok(first.data!.equals(oldBytes), 'gateway 2 reads what gateway 1 wrote');

        // b3 down: every chunk of the rewrite misses it and is recorded stale before it is acknowledged.
        const b3 = bricks[2]!;
        await b3.stop();
        const newBytes = randomBytes(CHUNK * CHUNKS);
        for (let c = 0; c < CHUNKS; c++) {
          const w = await c1.write(fh, BigInt(c * CHUNK), newBytes.subarray(c * CHUNK, (c + 1) * CHUNK), 2);
          assert.equal(w.status, 0, `write of chunk ${c} with b3 down`);
        }
        const s1 = await status(g1);
        assert.ok(s1.bricks.find((b: any) => b.id === 'b3').healBacklog >= CHUNKS, `gateway 1 recorded b3's missed chunks (backlog ${JSON.stringify(s1.bricks)})`);

        // b3 back on its old directory: it holds the old bytes of every chunk of the file.
        bricks[2] = await startBrick(b3.dir, b3.port);
        await waitFor('gateway 2 connected to b3 again', async () => {
          const b = (await status(g2)).bricks.find((x: any) => x.id === 'b3');
          return b.connected === true && b.up === true;
        }, 30000, 50);
        for (let i = 0; i < 3; i++) {
          const r = await c2.readAll(fh2, 0n, newBytes.length);
          assert.equal(r.status, 0);
          for (let c = 0; c < CHUNKS; c++) {
            const got = r.data!.subarray(c * CHUNK, (c + 1) * CHUNK);
            assert.ok(got.equals(newBytes.subarray(c * CHUNK, (c + 1) * CHUNK)), `round ${round}, read ${i + 1}: chunk ${c} through gateway 2 is ${got.equals(oldBytes.subarray(c * CHUNK, (c + 1) * CHUNK)) ? 'the OLD bytes (stale replica read)' : 'wrong'}`);
          }
        }
        // Gateway 2 re-reads the journal only when a read finds its mirror behind the store's version.
        const s2 = await status(g2);
        assert.ok(s2.reads.journalStoreChecks > 0, 'gateway 2 found its journal mirror behind and asked the store');
        assert.ok(s2.bricks.find((b: any) => b.id === 'b3').healBacklog >= CHUNKS, 'gateway 2 now knows the stale replicas too');
      }
    } finally {
      await c1.close();
      await c2.close();
    }
  });
});
