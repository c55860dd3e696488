/**
 * The Linux kernel NFSv4 client (Debian 6.1 kernel in qemu, ../shared/tools/kclient) against the real
 * gateway on one port beside NFSv3:
 *  - vers=4.1 mount of /data: data written and read back (md5, caches dropped), mkdir, rename, rm, ls -la,
 *    stat, chmod, symlink, hard link, df;
 *  - a stock mount with no version: the client tries 4.2 first and gets it; the pseudo root "/" lists the
 *    export and crosses into it (a submount); vers=4.0 mounts too;
 *  - vers=4.0 (SETCLIENTID, OPEN_CONFIRM, seqids; the guest cannot take callbacks, none are needed), 4.1
 *    and 4.2 (sessions) each run the NFSv3 kernel test's workload (scripts/fs-workload.sh), with its
 *    `ls -la` of 10,000 entries made from the host;
 *  - locks, 4.0 and 4.1: two guest processes with fcntl and with flock, the second waits until the first
 *    releases; and a whole-file lock held by a second client (our own NFSv4.0 client on the host) makes
 *    the guest's F_SETLK fail and its F_SETLKW wait (the kernel polls on NFS4ERR_DENIED) until the host
 *    unlocks. The guest's busybox has no flock/fcntl tool: test/e2e/tools/fstool.c, built static here.
 *  - vers=4.2 extended attributes (RFC 8276): set, get, list and remove through the kernel's xattr calls,
 *    read back through a second mount with its own caches.
 * The gateway log must show no failed (SERVERFAULT) operation, and the back channel (the client's own
 * connection, RFC 8881 §2.10.3.1) must answer the CB_NULL probe.
 * All of it runs in ONE VM boot (guest-sections.ts): each workload mounts, runs with `sh -e` and unmounts
 * in turn, and each `it` asserts on its own section (seven boots cost ~60 s of the suite before).
 * The gateway has an NFSv4 id-mapping domain configured (nfs4.idmapDomain) and the default
 * numericIdsForAuthSys: the guest, which has no idmapd, must still see and set numeric owners (chown).
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KCLIENT, ROOT, run, startGateway, type GatewayProc, type RunResult } from './harness';
import { nfs4Mount, sectionArgs, sectionReader, type GuestSection, writeWorkloadTar } from './guest-sections';
import { buildFstool, ftLines } from './fstool';
import { Nfs40Client } from './nfs4-client';
import { Nfs3TestClient } from './nfs3-client';

function evidence(out: string): void {
  console.log(out.split('\n').filter((l) => /^WL: |timing|@@SEC /.test(l)).join('\n'));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const M = 1024 * 1024;
/** Entries of the 4.0 workload's `ls -la` listing, created from the host as in the NFSv3 kernel test. */
const ENTRIES = 10000;

describe('e2e: Linux kernel NFSv4.0 / 4.1 / 4.2 client (kclient VM)', () => {
  let g: GatewayProc;
  let work: string;
  let vm: Promise<RunResult>;
  let hostLock: Promise<{ sawWaiting: boolean; error?: unknown }>;
  const section = sectionReader(() => vm, evidence);

  /**
   * The second client of the "lock held by another client" section: it waits for the guest to reach that
   * section, takes a whole-file lock, lets the guest find it denied and block in F_SETLKW, then releases.
   * It renews its lease while it waits (the guest reaches the section after the other workloads).
   */
  async function hostLocker(port: number, done: () => boolean): Promise<{ sawWaiting: boolean }> {
    const host = await Nfs40Client.connect(port, 'e2e-host-locker');
    try {
      const until = async (name: string): Promise<boolean> => {
        while (!done()) {
          assert.equal(await host.renew(), 0, 'the host client keeps its lease');
          if (await host.exists(['data'], name)) return true;
          await sleep(500);
        }
        return false;
      };
      if (!(await until('hostlock-start'))) return { sawWaiting: false };
      const { fh, stateid } = await host.open(['data'], 'held.bin');
      const lock = await host.lockWhole(fh, stateid);
      assert.equal(lock.res.status, 0, 'the host holds the lock');
      await host.open(['data'], 'host-locked', 'host-owner3');
      // Release once the guest is blocked in F_SETLKW (it says so through a file on the export).
      const sawWaiting = await until('guest-waiting');
      if (!sawWaiting) return { sawWaiting };
      await sleep(1500);
      await host.open(['data'], 'host-unlocked', 'host-owner2');
      await host.unlock(fh, lock.stateid!);
      return { sawWaiting };
    } finally {
      await host.close();
    }
  }

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-kc4-'));
    const fstool = buildFstool(work);
    const dataDir = path.join(work, 'data');
    const config = path.join(work, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        volumes: [{ name: 'data', dataDir, rootMode: 0o1777 }],
        exports: [{ id: 1, name: 'data', volume: 'data', path: '/' }],
        nfs4: { idmapDomain: 'kclient.test' },
      }),
    );
    g = await startGateway({ portmap: 'off', config, dataDir });
    const tar = path.join(work, 'tree.tar');
    writeWorkloadTar(ROOT, tar);
    // The workload's listing: 10,000 entries made from the host (NFSv3, pipelined 64 at a time) in w40/big10k.
    const c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const root = (await c.mount('/data')).fh!;
    const big = (await c.mkdir((await c.mkdir(root, 'w40', 0o777)).fh!, 'big10k', 0o777)).fh!;
    for (let i = 0; i < ENTRIES; i += 64) {
      const batch = [];
      for (let j = i; j < Math.min(ENTRIES, i + 64); j++) batch.push(c.create(big, `e${j}`, 1));
      for (const r of await Promise.all(batch)) assert.equal(r.status, 0);
    }
    await c.close();
    const knobs = path.join(work, 'knobs-w40');
    mkdirSync(knobs);
    writeFileSync(path.join(knobs, 'expect10k'), String(ENTRIES));
    const p = g.nfsPort;
    const locks = [
      'T=/kclient/files/fstool',
      'echo x > lk',
      '$T lock lk w 0 0 2500 A & sleep 1; $T trylock lk w 0 0; $T lock lk w 0 0 0 B; wait',
      '$T flock lk 2500 C & sleep 1; $T flock lk 0 D; wait',
      'rm lk; echo "WL: locks done"',
    ].join('\n');
    const sections: GuestSection[] = [
      {
        name: 'v41-io',
        mount: nfs4Mount('4.1', p, '/data'),
        script: [
          'say() { echo "WL: $*"; }',
          'grep " /mnt " /proc/mounts | sed "s/^/WL: /"',
          // Its own directory: the export root holds the 4.0 workload's listing directory.
          'mkdir io41; cd io41',
          'dd if=/dev/urandom of=/tmp/r bs=1k count=3000 2>/dev/null',
          'cp /tmp/r ./big.bin',
          'sync; echo 3 > /proc/sys/vm/drop_caches',
          '[ "$(md5sum < ./big.bin)" = "$(md5sum < /tmp/r)" ] && say "md5 ok $(stat -c %s big.bin)"',
          'echo hello > a.txt; [ "$(cat a.txt)" = hello ]',
          'mkdir -p d/e; mv a.txt d/e/b.txt; [ ! -e a.txt ] && [ "$(cat d/e/b.txt)" = hello ] && say "rename ok"',
          'chmod 640 d/e/b.txt; [ "$(stat -c %a d/e/b.txt)" = 640 ] && say "chmod ok"',
          // Numeric owners both ways for a client without idmapd (a name it cannot map would show as nobody).
          '[ "$(stat -c %u:%g d/e/b.txt)" = 0:0 ] && chown 1234:5678 d/e/b.txt && sync && echo 3 > /proc/sys/vm/drop_caches && [ "$(stat -c %u:%g d/e/b.txt)" = 1234:5678 ] && say "chown ok"',
          'ln -s e/b.txt d/sl; [ "$(readlink d/sl)" = e/b.txt ] && [ "$(cat d/sl)" = hello ] && say "symlink ok"',
          'ln d/e/b.txt d/hard; [ "$(stat -c %h d/e/b.txt)" = 2 ] && say "hard link ok"',
          'ls -la . d d/e',
          'stat big.bin d',
          '[ "$(ls d/e)" = b.txt ] && say "ls ok"',
          'rm -r d big.bin; [ -z "$(ls -A .)" ] && say "rm ok"',
          'df . | tail -1',
          'cd ..; rmdir io41',
          'say "ALL OK"',
        ].join('\n'),
      },
      {
        name: 'pseudo-root',
        dir: '/',
        script: [
          'mkdir -p /m1 /m2',
          `mount.nfs 10.0.2.2:/ /m1 -o port=${p},retry=0`,
          'grep " /m1 " /proc/mounts | sed "s/^/WL: /"',
          'ls /m1 | sed "s/^/WL: root lists /"',
          'echo via-root > /m1/data/from-root; [ "$(cat /m1/data/from-root)" = via-root ] && echo "WL: crossed into the export"',
          'grep " /m1/data " /proc/mounts | sed "s/^/WL: submount /"',
          'rm /m1/data/from-root',
          `if mount.nfs 10.0.2.2:/data /m2 -o vers=4.0,port=${p},retry=0 2>/tmp/err; then echo "WL: v4.0 mounted"; else echo "WL: v4.0 refused: $(cat /tmp/err)"; fi`,
          'grep " /m2 " /proc/mounts | sed "s/^/WL: /"',
          'umount /m2; umount /m1/data; umount /m1',
        ].join('\n'),
      },
      // The NFSv3 test's workload on every minor version, one after the other in the same directory (each
      // run cleans up after itself), so each lists the same 10,000 host-made entries.
      ...['4.0', '4.1', '4.2'].map((vers) => ({
        name: `v${vers.replace('.', '')}-workload`,
        mount: nfs4Mount(vers, p, '/data'),
        script: `export WL_KNOBS=/kclient/files/w40\ncd w40\ngrep " /mnt " /proc/mounts | sed "s/^/WL: /"\n${readFileSync(path.join(ROOT, 'test', 'e2e', 'scripts', 'fs-workload.sh'), 'utf8')}`,
      })),
      { name: 'v40-locks', mount: nfs4Mount('4.0', p, '/data'), script: locks },
      { name: 'v41-locks', mount: nfs4Mount('4.1', p, '/data'), script: locks },
      {
        name: 'v42-sparse',
        mount: nfs4Mount('4.2', p, '/data'),
        script: [
          'T=/kclient/files/fstool',
          // Data in the first and the fourth 4 MiB chunk of a 13 MiB file; chunks 2 and 3 are never written.
          'dd if=/dev/urandom of=sp bs=1M count=1 2>/dev/null; dd if=/dev/urandom of=sp bs=1M count=1 seek=12 conv=notrunc 2>/dev/null; sync',
          '$T segments sp',
          '$T cfr sp copied; $T clone sp cloned',
          'sync; echo 3 > /proc/sys/vm/drop_caches',
          '[ "$(md5sum < sp)" = "$(md5sum < copied)" ] && echo "FT: copy equal"',
          '[ "$(md5sum < sp)" = "$(md5sum < cloned)" ] && echo "FT: clone equal"',
          '$T punch sp 0 4194304; $T segments sp',
          'echo 3 > /proc/sys/vm/drop_caches',
          '[ "$(dd if=sp bs=1M count=4 2>/dev/null | tr -d "\\000" | wc -c)" = 0 ] && echo "FT: punched range reads zeros"',
          'grep " /mnt " /proc/mounts | sed "s/^/WL: /"',
          'rm sp copied cloned',
        ].join('\n'),
      },
      {
        // Extended attributes (RFC 8276): set through one mount, read back through a second mount that
        // shares no cache with it (nosharecache), so the values come from the server.
        name: 'v42-xattr',
        mount: nfs4Mount('4.2', p, '/data'),
        script: [
          'T=/kclient/files/fstool',
          'mkdir xattrs; cd xattrs; echo hi > xa; mkdir xd',
          '$T xset xa user.color blue; $T xset xa user.empty ""; $T xset xa user.color red create',
          '$T xset xa user.nope v replace; $T xset xa user.big @65536; $T xset xd user.dir yes',
          '$T xget xa user.color; $T xget xa user.empty; $T xget xa user.nope; $T xlist xa',
          // The file is root's, mode 0644: another user may read its attributes, not change them.
          '$T as 1000 1000 xget xa user.color; $T as 1000 1000 xset xa user.other v',
          'mkdir -p /m2',
          `mount.nfs 10.0.2.2:/data /m2 -o vers=4.2,port=${p},retry=0,nosharecache`,
          '$T xget /m2/xattrs/xa user.color; $T xget /m2/xattrs/xa user.big; $T xlist /m2/xattrs/xa; $T xget /m2/xattrs/xd user.dir',
          'umount /m2',
          '$T xrm xa user.color; $T xrm xa user.color; $T xget xa user.color; $T xlist xa',
          'grep " /mnt " /proc/mounts | sed "s/^/WL: /"',
          'cd ..; rm -r xattrs',
        ].join('\n'),
      },
      {
        // The host's client takes its lock when the guest gets here (lookupcache=positive: the guest sees
        // the host's marker files at once instead of after a cached "no such file").
        name: 'v40-host-lock',
        mount: nfs4Mount('4.0', p, '/data', '/mnt', 'lookupcache=positive'),
        script: [
          'T=/kclient/files/fstool',
          'echo go > hostlock-start',
          'i=0; while [ ! -e host-locked ]; do i=$((i+1)); [ $i -lt 600 ]; sleep 0.5; done',
          '$T trylock held.bin w 0 0',
          '($T lock held.bin w 0 0 0 G; [ -e host-unlocked ] && echo "FT: host had unlocked") > /tmp/g.out 2>&1 &',
          'sleep 2; echo waiting > guest-waiting',
          'wait; cat /tmp/g.out',
          'rm -f guest-waiting host-unlocked held.bin host-locked hostlock-start',
        ].join('\n'),
      },
    ];
    let vmDone = false;
    vm = run(KCLIENT, sectionArgs(work, sections, ['--file', `${fstool}:fstool`, '--file', `${tar}:in/tree.tar`, '--file', `${path.join(knobs, 'expect10k')}:w40/expect10k`, '--timeout', '1200']), { timeoutMs: 1260000 });
    void vm.then(() => (vmDone = true));
    hostLock = hostLocker(p, () => vmDone).then(
      (r) => r,
      (error: unknown) => ({ sawWaiting: false, error }),
    );
  });
  after(async () => {
    await vm;
    await hostLock;
    const code = await g.stop();
    const failed = g.logs.filter((l) => l.includes('NFSv4 op failed'));
    g.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.equal(code, 0);
    assert.deepEqual(failed, [], 'no NFSv4 operation failed with SERVERFAULT');
  });

  const T = { timeout: 1300000 };

  it('mounts vers=4.1 and does file I/O', T, async () => {
    const { rc, out } = await section('v41-io');
    assert.equal(rc, 0, `section exit ${rc}`);
    assert.match(out, /WL: .* nfs4 .*vers=4\.1/);
    assert.match(out, /WL: md5 ok 3072000/);
    for (const step of ['rename', 'chmod', 'chown', 'symlink', 'hard link', 'ls', 'rm']) assert.match(out, new RegExp(`WL: ${step} ok`));
    assert.match(out, /WL: ALL OK/);
    assert.ok(g.logs.some((l) => l.includes('NFSv4.1 session created') && l.includes('"backChannel":true')), 'a session with the connection as back channel');
    assert.ok(g.logs.some((l) => l.includes('NFSv4 enabled') && l.includes('"idmapDomain":"kclient.test"')), 'the id-mapping domain was configured');
    assert.ok(!g.logs.some((l) => l.includes('CB_NULL failed')), 'the kernel answered CB_NULL on its connection');
  });

  it('a mount with no version gets 4.2; the pseudo root lists and crosses into the export; vers=4.0 mounts', T, async () => {
    const { rc, out } = await section('pseudo-root');
    assert.equal(rc, 0, `section exit ${rc}`);
    assert.match(out, /WL: 10\.0\.2\.2:\/ \/m1 nfs4 .*vers=4\.2/);
    assert.match(out, /WL: root lists data/);
    assert.match(out, /WL: crossed into the export/);
    assert.match(out, /WL: submount 10\.0\.2\.2:\/data \/m1\/data nfs4/);
    assert.match(out, /WL: v4\.0 mounted/);
    assert.match(out, /WL: 10\.0\.2\.2:\/data \/m2 nfs4 .*vers=4\.0/);
  });

  for (const vers of ['4.0', '4.1', '4.2']) {
    it(`vers=${vers} runs the file-system workload (tree copy and diff, tar, unaligned writes, links, truncate, 10,000-entry ls -la)`, T, async () => {
      const { rc, out } = await section(`v${vers.replace('.', '')}-workload`);
      assert.equal(rc, 0, `section exit ${rc}`);
      assert.match(out, new RegExp(`WL: 10\\.0\\.2\\.2:/data /mnt nfs4 .*vers=${vers.replace('.', '\\.')}`));
      assert.match(out, /WL: tree ok: \d+ files/);
      assert.match(out, new RegExp(`WL: big10k entries=${ENTRIES} dups=0`));
      assert.match(out, /WL: ALL OK/);
    });
  }

  for (const vers of ['4.0', '4.1']) {
    it(`vers=${vers} locks: fcntl and flock between two guest processes, the second waits for the first`, T, async () => {
      const { rc, out } = await section(`v${vers.replace('.', '')}-locks`);
      const ft = ftLines(out);
      console.log(ft.join(' | '));
      assert.equal(rc, 0, `section exit ${rc}`);
      // B asked while A held the lock, and got it only after A let go; the same for flock (C, D).
      assert.deepEqual(ft, ['A waiting', 'A locked', 'denied', 'B waiting', 'A unlocking', 'B locked', 'B unlocking', 'C waiting', 'C locked', 'D waiting', 'C unlocking', 'D locked', 'D unlocking']);
    });
  }

  it('vers=4.2: SEEK_DATA/SEEK_HOLE report the holes of a sparse file, fallocate punches one (DEALLOCATE), copy_file_range (COPY) and FICLONE (CLONE) copy on the server', T, async () => {
    const { rc, out } = await section('v42-sparse');
    const ft = ftLines(out);
    console.log(ft.join(' | '));
    assert.equal(rc, 0, `section exit ${rc}`);
    assert.match(out, /WL: .* nfs4 .*vers=4\.2/);
    assert.deepEqual(ft, [
      `data 0 ${4 * M}`,
      `hole ${4 * M} ${12 * M}`,
      `data ${12 * M} ${13 * M}`,
      'segments done',
      `copied ${13 * M}`,
      'cloned',
      'copy equal',
      'clone equal',
      'fallocate ok',
      `hole 0 ${12 * M}`,
      `data ${12 * M} ${13 * M}`,
      'segments done',
      'punched range reads zeros',
    ]);
  });

  it('vers=4.2: setfattr/getfattr/listxattr/removexattr reach the server (RFC 8276), values read back through a second mount', T, async () => {
    const { rc, out } = await section('v42-xattr');
    const ft = ftLines(out);
    console.log(ft.join(' | '));
    assert.equal(rc, 0, `section exit ${rc}`);
    assert.match(out, /WL: .* nfs4 .*vers=4\.2/);
    // fstool's checksum of 65536 'x' bytes: sum = sum * 31 + byte, modulo 2^64.
    let sum = 0n;
    for (let i = 0; i < 65536; i++) sum = (sum * 31n + 0x78n) & 0xffff_ffff_ffff_ffffn;
    assert.deepEqual(ft, [
      'xset user.color ok',
      'xset user.empty ok',
      'xset user.color EEXIST',
      'xset user.nope ENODATA',
      'xset user.big ok',
      'xset user.dir ok',
      'xget user.color =blue',
      'xget user.empty =',
      'xget user.nope ENODATA',
      'xlist user.big,user.color,user.empty',
      'xget user.color =blue',
      'xset user.other EACCES',
      'xget user.color =blue',
      `xget user.big len 65536 sum ${sum}`,
      'xlist user.big,user.color,user.empty',
      'xget user.dir =yes',
      'xrm user.color ok',
      'xrm user.color ENODATA',
      'xget user.color ENODATA',
      'xlist user.big,user.empty',
    ]);
  });

  it('vers=4.0: a lock held by another client denies F_SETLK and makes F_SETLKW wait until it is released', T, async () => {
    const { rc, out } = await section('v40-host-lock');
    const host = await hostLock;
    const ft = ftLines(out);
    console.log(ft.join(' | '));
    assert.equal(host.error, undefined, `the host client: ${String(host.error)}`);
    assert.ok(host.sawWaiting, 'the guest reached its blocking lock');
    assert.equal(rc, 0, `section exit ${rc}`);
    assert.deepEqual(ft, ['denied', 'G waiting', 'G locked', 'G unlocking', 'host had unlocked']);
  });
});
