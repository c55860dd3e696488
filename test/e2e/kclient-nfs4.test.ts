/**
 * The Linux kernel NFSv4 client (Debian 6.1 kernel in qemu, ../shared/tools/kclient) against the real
 * gateway on one port beside NFSv3:
 *  - vers=4.1 mount of /data: data written and read back (md5, caches dropped), mkdir, rename, rm, ls -la,
 *    stat, chmod, symlink, hard link, df;
 *  - a stock mount with no version: the client tries 4.2 first and gets it; the pseudo root "/" lists the
 *    export and crosses into it (a submount); vers=4.0 (not served yet) fails cleanly, not by hanging.
 * The gateway log must show no failed (SERVERFAULT) operation, and the back channel (the client's own
 * connection, RFC 8881 §2.10.3.1) must answer the CB_NULL probe.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { KCLIENT, run, startGateway, type GatewayProc } from './harness';

function evidence(out: string): void {
  console.log(out.split('\n').filter((l) => /^WL: |timing|mounted:/.test(l)).join('\n'));
}

describe('e2e: Linux kernel NFSv4.1 / 4.2 client (kclient VM)', () => {
  let g: GatewayProc;
  before(async () => {
    g = await startGateway({ portmap: 'off' });
  });
  after(async () => {
    const code = await g.stop();
    const failed = g.logs.filter((l) => l.includes('NFSv4 op failed'));
    g.cleanup();
    assert.equal(code, 0);
    assert.deepEqual(failed, [], 'no NFSv4 operation failed with SERVERFAULT');
  });

  it('mounts vers=4.1 and does file I/O', { timeout: 150000 }, async () => {
    const script = [
      'say() { echo "WL: $*"; }',
      'grep " /mnt " /proc/mounts | sed "s/^/WL: /"',
      'dd if=/dev/urandom of=/tmp/r bs=1k count=3000 2>/dev/null',
      'cp /tmp/r ./big.bin',
      'sync; echo 3 > /proc/sys/vm/drop_caches',
      '[ "$(md5sum < ./big.bin)" = "$(md5sum < /tmp/r)" ] && say "md5 ok $(stat -c %s big.bin)"',
      'echo hello > a.txt; [ "$(cat a.txt)" = hello ]',
      'mkdir -p d/e; mv a.txt d/e/b.txt; [ ! -e a.txt ] && [ "$(cat d/e/b.txt)" = hello ] && say "rename ok"',
      'chmod 640 d/e/b.txt; [ "$(stat -c %a d/e/b.txt)" = 640 ] && say "chmod ok"',
      'ln -s e/b.txt d/sl; [ "$(readlink d/sl)" = e/b.txt ] && [ "$(cat d/sl)" = hello ] && say "symlink ok"',
      'ln d/e/b.txt d/hard; [ "$(stat -c %h d/e/b.txt)" = 2 ] && say "hard link ok"',
      'ls -la . d d/e',
      'stat big.bin d',
      '[ "$(ls d/e)" = b.txt ] && say "ls ok"',
      'rm -r d big.bin; [ -z "$(ls -A .)" ] && say "rm ok"',
      'df . | tail -1',
      'say "ALL OK"',
    ].join('\n');
    const res = await run(KCLIENT, ['nfs', '--vers', '4.1', '--port', String(g.nfsPort), '--export', '/data', '--timeout', '130', '--', script], { timeoutMs: 145000 });
    evidence(res.stdout + res.stderr);
    if (res.code !== 0) console.log((res.stdout + res.stderr).split('\n').slice(-60).join('\n'));
    assert.equal(res.code, 0, `kclient exit ${res.code}`);
    assert.match(res.stdout, /WL: .* nfs4 .*vers=4\.1/);
    assert.match(res.stdout, /WL: md5 ok 3072000/);
    for (const step of ['rename', 'chmod', 'symlink', 'hard link', 'ls', 'rm']) assert.match(res.stdout, new RegExp(`WL: ${step} ok`));
    assert.match(res.stdout, /WL: ALL OK/);
    assert.ok(g.logs.some((l) => l.includes('NFSv4.1 session created') && l.includes('"backChannel":true')), 'a session with the connection as back channel');
    assert.ok(!g.logs.some((l) => l.includes('CB_NULL failed')), 'the kernel answered CB_NULL on its connection');
  });

  it('a mount with no version gets 4.2; the pseudo root lists and crosses into the export; vers=4.0 fails cleanly', { timeout: 150000 }, async () => {
    const p = g.nfsPort;
    const script = [
      'mkdir -p /m1 /m2',
      `mount.nfs 10.0.2.2:/ /m1 -o port=${p},retry=0`,
      'grep " /m1 " /proc/mounts | sed "s/^/WL: /"',
      'ls /m1 | sed "s/^/WL: root lists /"',
      'echo via-root > /m1/data/from-root; [ "$(cat /m1/data/from-root)" = via-root ] && echo "WL: crossed into the export"',
      'grep " /m1/data " /proc/mounts | sed "s/^/WL: submount /"',
      'rm /m1/data/from-root',
      `if mount.nfs 10.0.2.2:/data /m2 -o vers=4.0,port=${p},retry=0 2>/tmp/err; then echo "WL: v4.0 mounted"; else echo "WL: v4.0 refused: $(cat /tmp/err)"; fi`,
      'umount /m1/data; umount /m1',
    ].join('\n');
    const res = await run(KCLIENT, ['run', '--timeout', '130', '--', script], { timeoutMs: 145000 });
    evidence(res.stdout + res.stderr);
    if (res.code !== 0) console.log((res.stdout + res.stderr).split('\n').slice(-60).join('\n'));
    assert.equal(res.code, 0, `kclient exit ${res.code}`);
    assert.match(res.stdout, /WL: 10\.0\.2\.2:\/ \/m1 nfs4 .*vers=4\.2/);
    assert.match(res.stdout, /WL: root lists data/);
    assert.match(res.stdout, /WL: crossed into the export/);
    assert.match(res.stdout, /WL: submount 10\.0\.2\.2:\/data \/m1\/data nfs4/);
    assert.match(res.stdout, /WL: v4\.0 refused: .*not supported/i);
  });
});
