/**
 * The Linux kernel NFSv3 client (Debian 6.1 kernel in qemu, ../shared/tools/kclient) against the real
 * gateway: a stock mount with no port options (our portmapper answers on 111), then the workload in
 * scripts/fs-workload.sh, including `ls -la` of 10,000 entries created from the host by our own client.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { KCLIENT, ROOT, run, startGateway } from './harness';
import { Nfs3TestClient } from './nfs3-client';

const ENTRIES = 10000;

describe('e2e: Linux kernel NFSv3 client (kclient VM)', () => {
  it('mounts without port options and runs the file-system workload', { timeout: 1200000 }, async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'gw-kc3-'));
    // Port 111: our own portmapper if free, else registration with the system rpcbind ('auto').
    const g = await startGateway({ portmap: 'auto', portmapPort: 111 });
    try {
      // 10,000 entries created from the host side, pipelined 64 at a time.
      const c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
      const root = (await c.mount('/data')).fh!;
      const dir = (await c.mkdir(root, 'big10k')).fh!;
      for (let i = 0; i < ENTRIES; i += 64) {
        const batch = [];
        for (let j = i; j < Math.min(ENTRIES, i + 64); j++) batch.push(c.create(dir, `e${j}`, 1));
        for (const r of await Promise.all(batch)) assert.equal(r.status, 0);
      }
      await c.close();

      const tar = path.join(work, 'tree.tar');
      execFileSync('tar', ['cf', tar, '-C', ROOT, 'protocols', 'cluster', 'gateway', 'package.json']);
      const expect = path.join(work, 'expect10k');
      writeFileSync(expect, String(ENTRIES));
      const script = path.join(ROOT, 'test', 'e2e', 'scripts', 'fs-workload.sh');
      const res = await run(
        KCLIENT,
        ['nfs', '--vers', '3', '--export', '/data', '--timeout', '1000', '--file', `${tar}:in/tree.tar`, '--file', `${expect}:in/expect10k`, '--script', script],
        { timeoutMs: 1100000 },
      );
      const out = res.stdout + res.stderr;
      // The guest's step lines and kclient's timing line go to the test log as evidence.
      console.log(out.split('\n').filter((l) => /^WL: |timing/.test(l)).join('\n'));
      if (res.code !== 0) console.log(out.split('\n').slice(-80).join('\n'));
      assert.equal(res.code, 0, `kclient exit ${res.code}`);
      assert.match(res.stdout, /WL: big10k entries=10000 dups=0/);
      assert.match(res.stdout, /WL: ALL OK/);
    } finally {
      const code = await g.stop();
      g.cleanup();
      rmSync(work, { recursive: true, force: true });
      assert.equal(code, 0);
    }
  });
});
