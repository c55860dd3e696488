/**
 * Gateway restart under a Linux kernel NFSv4 client that holds an open file and a lock (kclient VM):
 * the gateway is killed (SIGKILL) and started again on the same port and data; the client finds its
 * client id stale, establishes itself again and reclaims its open (CLAIM_PREVIOUS) and lock (LOCK
 * reclaim) in the grace period, then carries on writing through the file it had open and unlocks.
 * Meanwhile a second client (our own NFSv4.0 client on the host) tries to take the same lock and is
 * refused: NFS4ERR_GRACE during the grace period, NFS4ERR_DENIED once the kernel has reclaimed it.
 * Lease 15 s and grace 30 s here (`nfs4.leaseSeconds`, `nfs4.graceSeconds` in the config).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nfsstat4 } from '../../protocols/nfs4/types';
import { op } from '../proc/nfs4/harness';
import { KCLIENT, freePorts, run, startGateway, type GatewayProc } from './harness';
import { buildFstool } from './fstool';
import { Nfs40Client } from './nfs4-client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(port: number, name: string, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    let c: Nfs40Client | undefined;
    try {
      c = await Nfs40Client.connect(port, `e2e-probe-${process.pid}`);
      if (await c.exists(['data'], name)) return true;
    } catch {
      // the gateway is restarting
    } finally {
      await c?.close().catch(() => undefined);
    }
    await sleep(1000);
  }
  return false;
}

describe('e2e: gateway restart while a kernel NFSv4 client holds an open file and a lock', () => {
  let work: string;
  let fstool: string;
  let cfgFile: string;
  let ports: number[];
  const gateways: GatewayProc[] = [];

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-kc4r-'));
    fstool = buildFstool(work);
    ports = await freePorts(2);
    cfgFile = path.join(work, 'gateway.json');
    writeFileSync(
      cfgFile,
      JSON.stringify({
        volumes: [{ name: 'data', dataDir: path.join(work, 'data'), rootMode: 0o1777 }],
        exports: [{ id: 1, name: 'data', volume: 'data', path: '/' }],
        smb: { enabled: false },
        // The kernel notices a restart at its next stateful call (a 4.0 client: RENEW, every 2/3 lease):
        // a grace period of two leases leaves room for that under an emulated CPU.
        nfs4: { leaseSeconds: 15, graceSeconds: 30 },
      }),
    );
  });
  after(async () => {
    for (const g of gateways) await g.stop();
    rmSync(work, { recursive: true, force: true });
  });

  for (const vers of ['4.1', '4.0']) {
    it(`vers=${vers}: the client reclaims and carries on; another client cannot take the lock meanwhile`, { timeout: 400000 }, async () => {
      const start = () => startGateway({ config: cfgFile, dataDir: path.join(work, 'data'), nfsPort: ports[0]!, mountPort: ports[1]! });
      const g1 = await start();
      gateways.push(g1);
      const dir = `r${vers.replace('.', '')}`;
      const script = [
        'T=/kclient/files/fstool',
        `mkdir ${dir}; cd ${dir}`,
        'echo before > f',
        'exec 3>>f',
        '$T lockuntil f w 0 0 release G &',
        'sleep 2; mkdir ready',
        'while [ ! -e restarted ]; do sleep 1; done',
        'echo after >&3',
        'exec 3>&-',
        'mkdir release; wait',
        'echo "WL: content $(cat f | tr "\\n" " ")"',
      ].join('\n');
      const guest = run(
        KCLIENT,
        ['nfs', '--vers', vers, '--port', String(ports[0]), '--export', '/data', '--opts', 'lookupcache=none,actimeo=1', '--timeout', '330', '--file', `${fstool}:fstool`, '--', script],
        { timeoutMs: 360000 },
      );
      assert.ok(await waitFor(ports[0]!, dir, 240000), 'the guest mounted and made its directory');
      // Wait for the lock to be held (the guest made `ready` after starting the lock holder).
      let ready = false;
      for (let i = 0; i < 240 && !ready; i++) {
        const c = await Nfs40Client.connect(ports[0]!, 'e2e-watch');
        ready = await c.exists(['data', dir], 'ready');
        await c.close();
        if (!ready) await sleep(1000);
      }
      assert.ok(ready, 'the guest holds the lock');

      await g1.kill9();
      const g2 = await start();
      gateways.push(g2);
      assert.ok(g2.logs.some((l) => l.includes('NFSv4 grace period')), 'the restarted gateway is in grace');

      // A second client tries to take the lock until the kernel has had the time to reclaim it.
      const thief = await Nfs40Client.connect(ports[0]!, `e2e-thief-${vers}`);
      const seen = new Set<string>();
      try {
        for (let i = 0; i < 40; i++) {
          let status: nfsstat4;
          try {
            const o = await thief.open(['data', dir], 'f', `thief-open-${i}`);
            const l = await thief.lockWhole(o.fh, o.stateid, `thief-lock-${i}`, `thief-open-${i}`);
            status = l.res.status;
            if (status === nfsstat4.NFS4_OK) await thief.unlock(o.fh, l.stateid!, `thief-lock-${i}`);
          } catch (e) {
            status = /NFS4ERR_GRACE/.test(String(e)) ? nfsstat4.NFS4ERR_GRACE : nfsstat4.NFS4ERR_SERVERFAULT;
          }
          seen.add(nfsstat4[status]!);
          if (status === nfsstat4.NFS4_OK) console.log(g2.logs.filter((l) => /NFSv4|grace/.test(l)).join('\n'));
          assert.notEqual(status, nfsstat4.NFS4_OK, `the lock was not stolen (seen: ${[...seen].join(', ')})`);
          if (status === nfsstat4.NFS4ERR_DENIED) break;
          await sleep(1000);
        }
        console.log(`thief saw: ${[...seen].join(', ')}`);
        assert.ok(seen.has('NFS4ERR_DENIED'), 'the kernel client reclaimed the lock (others are DENIED after grace)');
        // Tell the guest the restart is over (a directory: CREATE is allowed in grace, OPEN is not).
        thief.check(await thief.run([op.putfh(await thief.lookupPath(['data', dir])), op.mkdir('restarted')]));
      } finally {
        await thief.close();
      }
      const res = await guest;
      console.log(res.stdout.split('\n').filter((l) => /^WL: |^FT: |timing/.test(l)).join('\n'));
      if (res.code !== 0) console.log((res.stdout + res.stderr).split('\n').slice(-60).join('\n'));
      assert.equal(res.code, 0, `kclient exit ${res.code}`);
      assert.match(res.stdout, /WL: content before after/);
      assert.match(res.stdout, /FT: G unlocking/);
      assert.deepEqual(g2.logs.filter((l) => l.includes('NFSv4 op failed')), []);
      await g2.stop();
    });
  }
});
