/**
 * Gateway restart under a Linux kernel NFSv4 client that holds an open file and a lock (kclient VM):
 * the gateway is killed (SIGKILL) and started again on the same port and data; the client finds its
 * client id stale, establishes itself again and reclaims its open (CLAIM_PREVIOUS) and lock (LOCK
 * reclaim) in the grace period, then carries on writing through the file it had open and unlocks.
 * Meanwhile a second client (our own NFSv4.0 client on the host) tries to take the same lock and is
 * refused: NFS4ERR_GRACE during the grace period, NFS4ERR_DENIED once the kernel has reclaimed it.
 * Lease 15 s and grace 30 s here (`nfs4.leaseSeconds`, `nfs4.graceSeconds` in the config).
 * One guest holds both: a vers=4.1 mount and a vers=4.0 mount, each with its own file open and locked,
 * so one restart and one grace period serve both clients (a boot and a restart cycle less; the 4.0
 * client, which has no RECLAIM_COMPLETE, keeps the grace period to its full length either way). The
 * grace period ending early once every earlier client sent RECLAIM_COMPLETE is test/proc/nfs4/grace.test.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nfsstat4 } from '../../protocols/nfs4/types';
import { op } from '../proc/nfs4/harness';
import { KCLIENT, freePorts, run, startGateway, type GatewayProc, type RunResult } from './harness';
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
  const VERS = ['4.1', '4.0'];
  const dirOf = (vers: string) => `r${vers.replace('.', '')}`;
  let work: string;
  const gateways: GatewayProc[] = [];
  interface Outcome {
    res: RunResult;
    /** Per version: the statuses the thief's LOCK (or OPEN) attempts got on that version's file. */
    seen: Map<string, Set<string>>;
    g1logs: string[];
    g2logs: string[];
  }
  let outcome: Promise<{ ok?: Outcome; error?: unknown }>;

  /** Restart under both kernel clients; the per-version checks are in the `it`s below. */
  async function scenario(): Promise<Outcome> {
    const fstool = buildFstool(work);
    const ports = await freePorts(2);
    const cfgFile = path.join(work, 'gateway.json');
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
    const t0 = Date.now();
    const step = (what: string) => console.log(`reclaim +${((Date.now() - t0) / 1000).toFixed(1)}s: ${what}`);
    const start = () => startGateway({ config: cfgFile, dataDir: path.join(work, 'data'), nfsPort: ports[0]!, mountPort: ports[1]! });
    const g1 = await start();
    gateways.push(g1);
    // One flow per mount, in the background: open and lock a file, wait for the restart, write through
    // the descriptor opened before it, unlock.
    const flow = path.join(work, 'flow.sh');
    writeFileSync(
      flow,
      [
        'T=/kclient/files/fstool',
        'cd "$1"; mkdir "$2"; cd "$2"',
        'echo before > f',
        'exec 3>>f',
        '$T lockuntil f w 0 0 release "G$2" &',
        'sleep 2; mkdir ready',
        'while [ ! -e restarted ]; do sleep 1; done',
        'echo after >&3',
        'exec 3>&-',
        'mkdir release; wait',
        'echo "WL: $2 content $(cat f | tr "\\n" " ")"',
      ].join('\n'),
    );
    const opts = 'lookupcache=none,actimeo=1';
    const script = [
      ...VERS.map((v) => `mkdir -p /m${dirOf(v)}; mount.nfs 10.0.2.2:/data /m${dirOf(v)} -o vers=${v},proto=tcp,port=${ports[0]},retry=0,${opts}`),
      'grep " nfs4 " /proc/mounts | sed "s/^/WL: /"',
      ...VERS.map((v) => `sh -e /kclient/files/flow.sh /m${dirOf(v)} ${dirOf(v)} > /tmp/${dirOf(v)}.out 2>&1 & p${dirOf(v)}=$!`),
      ...VERS.map((v) => `rc${dirOf(v)}=0; wait $p${dirOf(v)} || rc${dirOf(v)}=$?`),
      ...VERS.map((v) => `cat /tmp/${dirOf(v)}.out; echo "WL: ${dirOf(v)} rc=$rc${dirOf(v)}"`),
      ...VERS.map((v) => `umount /m${dirOf(v)}`),
    ].join('\n');
    const guest = run(KCLIENT, ['run', '--timeout', '400', '--file', `${fstool}:fstool`, '--file', `${flow}:flow.sh`, '--', script], { timeoutMs: 430000 });
    for (const v of VERS) assert.ok(await waitFor(ports[0]!, dirOf(v), 240000), `the vers=${v} mount made its directory`);
    step('the guest mounted');
    // Wait for both locks to be held (each flow made `ready` after starting its lock holder).
    for (const v of VERS) {
      let ready = false;
      for (let i = 0; i < 240 && !ready; i++) {
        const c = await Nfs40Client.connect(ports[0]!, 'e2e-watch');
        ready = await c.exists(['data', dirOf(v)], 'ready');
        await c.close();
        if (!ready) await sleep(1000);
      }
      assert.ok(ready, `the vers=${v} client holds the lock`);
    }
    step('the guest holds both locks');

    await g1.kill9();
    const g2 = await start();
    gateways.push(g2);
    assert.ok(g2.logs.some((l) => l.includes('NFSv4 grace period')), 'the restarted gateway is in grace');
    step('gateway killed and restarted');

    // A second client tries to take each lock until the kernel has had the time to reclaim them.
    const thief = await Nfs40Client.connect(ports[0]!, 'e2e-thief');
    const seen = new Map(VERS.map((v) => [v, new Set<string>()]));
    try {
      for (let i = 0; i < 60 && VERS.some((v) => !seen.get(v)!.has('NFS4ERR_DENIED')); i++) {
        for (const v of VERS.filter((x) => !seen.get(x)!.has('NFS4ERR_DENIED'))) {
          const owner = `thief-${dirOf(v)}-${i}`;
          let status: nfsstat4;
          try {
            const o = await thief.open(['data', dirOf(v)], 'f', `${owner}-open`);
            const l = await thief.lockWhole(o.fh, o.stateid, `${owner}-lock`, `${owner}-open`);
            status = l.res.status;
            if (status === nfsstat4.NFS4_OK) await thief.unlock(o.fh, l.stateid!, `${owner}-lock`);
          } catch (e) {
            status = /NFS4ERR_GRACE/.test(String(e)) ? nfsstat4.NFS4ERR_GRACE : nfsstat4.NFS4ERR_SERVERFAULT;
          }
          const s = seen.get(v)!;
          if (!s.has(nfsstat4[status]!)) step(`thief on the vers=${v} file: ${nfsstat4[status]}`);
          s.add(nfsstat4[status]!);
          if (status === nfsstat4.NFS4_OK) console.log(g2.logs.filter((l) => /NFSv4|grace/.test(l)).join('\n'));
          assert.notEqual(status, nfsstat4.NFS4_OK, `the vers=${v} lock was not stolen (seen: ${[...s].join(', ')})`);
        }
        if (VERS.some((v) => !seen.get(v)!.has('NFS4ERR_DENIED'))) await sleep(1000);
      }
      // Tell the guest the restart is over (a directory: CREATE is allowed in grace, OPEN is not).
      for (const v of VERS) thief.check(await thief.run([op.putfh(await thief.lookupPath(['data', dirOf(v)])), op.mkdir('restarted')]));
    } finally {
      await thief.close();
    }
    const res = await guest;
    step('the guest finished');
    console.log(g2.logs.filter((l) => /grace/.test(l)).join('\n'));
    console.log(res.stdout.split('\n').filter((l) => /^WL: |^FT: |timing/.test(l)).join('\n'));
    if (res.code !== 0) console.log((res.stdout + res.stderr).split('\n').slice(-60).join('\n'));
    const g1logs = [...g1.logs];
    const g2logs = [...g2.logs];
    await g2.stop();
    return { res, seen, g1logs, g2logs };
  }

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-kc4r-'));
    outcome = scenario().then(
      (ok) => ({ ok }),
      (error: unknown) => ({ error }),
    );
  });
  after(async () => {
    await outcome;
    for (const g of gateways) await g.stop();
    rmSync(work, { recursive: true, force: true });
  });

  for (const vers of VERS) {
    it(`vers=${vers}: the client reclaims and carries on; another client cannot take the lock meanwhile`, { timeout: 500000 }, async () => {
      const o = await outcome;
      if (o.error !== undefined) throw o.error;
      const { res, seen, g1logs, g2logs } = o.ok!;
      const d = dirOf(vers);
      assert.ok(!g1logs.some((l) => l.includes('NFSv4 grace period')), 'the first gateway started with nothing to reclaim');
      assert.match(res.stdout, new RegExp(`WL: 10\\.0\\.2\\.2:/data /m${d} nfs4 .*vers=${vers.replace('.', '\\.')}`));
      console.log(`thief saw on the vers=${vers} file: ${[...seen.get(vers)!].join(', ')}`);
      assert.ok(!seen.get(vers)!.has('NFS4_OK'), 'the lock was not stolen');
      assert.ok(seen.get(vers)!.has('NFS4ERR_DENIED'), 'the kernel client reclaimed the lock (others are DENIED after grace)');
      assert.match(res.stdout, new RegExp(`WL: ${d} rc=0`));
      assert.match(res.stdout, new RegExp(`WL: ${d} content before after`));
      assert.match(res.stdout, new RegExp(`FT: G${d} unlocking`));
      assert.equal(res.code, 0, `kclient exit ${res.code}`);
      assert.deepEqual(g2logs.filter((l) => l.includes('NFSv4 op failed')), []);
    });
  }
});
