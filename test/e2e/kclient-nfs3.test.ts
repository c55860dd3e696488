/**
 * The Linux kernel NFSv3 client (Debian 6.1 kernel in qemu, ../shared/tools/kclient) against the real
 * gateway: a stock mount with no port options (our portmapper answers on 111), then the workload in
 * scripts/fs-workload.sh, including `ls -la` of 10,000 entries created from the host by our own client;
 * a mount over UDP; and Debian's rpcinfo (TI-RPC) asking our portmapper over TCP and UDP.
 * Both mounts run in one VM boot, one after the other (guest-sections.ts; a boot is ~10 s under TCG).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KCLIENT, ROOT, run, startGateway, type GatewayProc, type RunResult } from './harness';
import { nfs3Mount, sectionArgs, sectionReader, writeWorkloadTar } from './guest-sections';
import { Nfs3TestClient } from './nfs3-client';

const ENTRIES = 10000;

function evidence(out: string): void {
  // The guest's step lines and kclient's timing line go to the test log.
  console.log(out.split('\n').filter((l) => /^WL: |timing|@@SEC /.test(l)).join('\n'));
}

describe('e2e: Linux kernel NFSv3 client (kclient VM)', () => {
  let g: GatewayProc;
  let work: string;
  let vm: Promise<RunResult>;
  const section = sectionReader(() => vm, evidence);

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-kc3-'));
    // Port 111: our own portmapper if free, else registration with the system rpcbind ('auto').
    g = await startGateway({ portmap: 'auto', portmapPort: 111 });
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
    writeWorkloadTar(ROOT, tar);
    const expect = path.join(work, 'expect10k');
    writeFileSync(expect, String(ENTRIES));
    const sections = [
      // No port options: mount.nfs asks the portmapper on 111 for the NFS and MOUNT ports.
      { name: 'workload', mount: nfs3Mount('/data'), script: readFileSync(path.join(ROOT, 'test', 'e2e', 'scripts', 'fs-workload.sh'), 'utf8') },
      // Debian's 6.1 kernel is built without NFS over UDP (mount(2) answers EINVAL to proto=udp), so the
      // kernel part stays on TCP while mount.nfs talks to the portmapper and MOUNT over UDP. NFS calls
      // over UDP are exercised by rpcinfo -u below and by the loopback tests.
      {
        name: 'udp',
        mount: nfs3Mount('/data', '/mnt', 'mountproto=udp'),
        script: [
          'dd if=/dev/urandom of=/tmp/u bs=1k count=3000 2>/dev/null',
          'cp /tmp/u ./udp.bin; sync; echo 3 > /proc/sys/vm/drop_caches',
          '[ "$(md5sum < ./udp.bin)" = "$(md5sum < /tmp/u)" ] && echo "WL: UDP OK"',
          'grep " /mnt " /proc/mounts | sed "s/^/WL: /"',
          'rm udp.bin',
        ].join('\n'),
      },
    ];
    vm = run(KCLIENT, sectionArgs(work, sections, ['--file', `${tar}:in/tree.tar`, '--file', `${expect}:in/expect10k`, '--timeout', '1200']), { timeoutMs: 1260000 });
  });
  after(async () => {
    await vm;
    const code = await g.stop();
    g.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  it('mounts without port options and runs the file-system workload', { timeout: 1300000 }, async () => {
    const { rc, out } = await section('workload');
    assert.equal(rc, 0, `section exit ${rc}`);
    assert.match(out, /WL: big10k entries=10000 dups=0/);
    assert.match(out, /WL: ALL OK/);
  });

  it('mount.nfs reaches the portmapper and MOUNT over UDP (mountproto=udp); data intact', { timeout: 1300000 }, async () => {
    const { rc, out } = await section('udp');
    assert.equal(rc, 0, `section exit ${rc}`);
    assert.match(out, /WL: UDP OK/);
    assert.match(out, /WL: .* \/mnt nfs .*mountproto=udp/);
  });

  it('rpcinfo (TI-RPC) lists and pings NFS and MOUNT through the portmapper over TCP and UDP', async () => {
    const p = await run('rpcinfo', ['-p', '127.0.0.1']);
    assert.equal(p.code, 0, p.stderr);
    for (const re of [/100000\s+2\s+tcp\s+111/, /100003\s+3\s+tcp\s+\d+/, /100003\s+3\s+udp\s+\d+/, /100005\s+3\s+tcp\s+\d+/, /100005\s+3\s+udp\s+\d+/]) {
      assert.match(p.stdout, re);
    }
    for (const [flag, prog] of [['-t', '100003'], ['-u', '100003'], ['-t', '100005'], ['-u', '100005']] as const) {
      const r = await run('rpcinfo', [flag, '127.0.0.1', prog, '3']);
      assert.equal(r.code, 0, `${flag} ${prog}: ${r.stderr}`);
      assert.match(r.stdout, /ready and waiting/);
    }
    // PROG_MISMATCH carries the supported range: rpcinfo reports it for an unserved version.
    const v = await run('rpcinfo', ['-t', '127.0.0.1', '100003', '2']);
    assert.notEqual(v.code, 0);
    assert.match(v.stdout + v.stderr, /version/i);
  });
});
