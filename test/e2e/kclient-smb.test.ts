/**
 * The Linux kernel CIFS client (cifs.ko of the Debian 6.1 kernel in qemu, ../shared/tools/kclient) against
 * the real gateway: the workload of scripts/fs-workload.sh (tree copy and diff, tar, unaligned writes with
 * md5, deep mkdir, renames, hard links, symlinks, truncate, concurrent writers, df, a listing of 10,000
 * entries created from the host over NFSv3 — so the listing also crosses protocols: `ls -la` at 2.1, names
 * only when sealed, see below).
 *
 * - SMB 3.1.1 with encryption (seal), as a user mapped to uid 0, with modefromsid/idsfromsid: chmod (incl.
 *   setuid) and chown go through SET_INFO security descriptors (S-1-5-88-x SIDs) to the core.
 * - SMB 2.1 as an ordinary user: no descriptors (the client keeps modes itself), so the chmod/chown step
 *   is skipped; cifs.ko cannot make fifos or device nodes without POSIX extensions, skipped in both.
 * Symlinks use mfsymlinks (the client stores them as small files), as Linux users of Windows servers do.
 * actimeo=60: under TCG `ls -la` of 10,000 entries takes longer than cifs.ko's default 1 s attribute cache,
 * so without it every lstat after the listing becomes its own CREATE/QUERY_INFO/CLOSE round trip; the
 * listing itself (each entry exactly once) is what is checked. Under TCG on a loaded 2-core machine the
 * sealed run (AES in the emulated guest) took 3-6x the 2.1 run, hence the generous time limits.
 * Both runs share one VM boot, one after the other (guest-sections.ts; a boot is ~10 s under TCG).
 */
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePorts, KCLIENT, ROOT, run, startGateway, type GatewayProc, type RunResult } from './harness';
import { cifsMount, sectionArgs, sectionReader, type GuestSection, writeWorkloadTar } from './guest-sections';
import { Nfs3TestClient } from './nfs3-client';

/**
 * Entries of the listing directory, both runs. The sealed run lists names only (skip "longlist": a shell
 * glob, which stats nothing): busybox `ls` in the guest stats every entry, and with modefromsid each stat
 * is a CREATE + QUERY_INFO (security descriptor) + CLOSE, all sealed, under TCG (~14 ms per entry: 10,000
 * entries took 230 s of CI time, 2,000 took 25 s). The 2.1 run lists them with `ls -la`.
 */
const ENTRIES = 10000;
const PASS = 'kc-Pass-123';

function evidence(out: string): void {
  console.log(out.split('\n').filter((l) => /^WL: |timing|@@SEC /.test(l)).join('\n'));
}

const RUNS = [
  { vers: '3.1.1', user: 'kcadmin', opts: 'seal,mfsymlinks,modefromsid,idsfromsid,actimeo=60', skip: 'special longlist', dir: 'w311', entries: ENTRIES },
  { vers: '2.1', user: 'kcuser', opts: 'mfsymlinks,actimeo=60', skip: 'special owner', dir: 'w21', entries: ENTRIES },
];

describe('e2e: Linux kernel CIFS client (kclient VM)', () => {
  let g: GatewayProc;
  let work: string;
  let vm: Promise<RunResult>;
  const section = sectionReader(() => vm, evidence);

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-kcsmb-'));
    const dataDir = path.join(work, 'data');
    const cli = path.join(ROOT, 'dist', 'gateway', 'main.js');
    for (const [name, ids] of [['kcuser', []], ['kcadmin', ['--uid', '0', '--gid', '0']]] as Array<[string, string[]]>) {
      const r = await run(process.execPath, [cli, 'user', 'add', name, '--password', PASS, ...ids, '--data', dataDir]);
      assert.equal(r.code, 0, r.stderr);
    }
    const [smbPort] = (await freePorts(1)) as [number];
    // Oplocks and leases on (off by default): cifs.ko asks for RWH leases on every open and must keep working.
    const cfg = path.join(work, 'gateway.json');
    writeFileSync(cfg, JSON.stringify({ smb: { oplocks: true, leases: true } }));
    g = await startGateway({ dataDir, extraArgs: ['--smb-port', String(smbPort), '--config', cfg] });
    const tar = path.join(work, 'tree.tar');
    writeWorkloadTar(ROOT, tar);
    const workload = readFileSync(path.join(ROOT, 'test', 'e2e', 'scripts', 'fs-workload.sh'), 'utf8');
    const files = ['--file', `${tar}:in/tree.tar`];
    const sections: GuestSection[] = [];
    for (const v of RUNS) {
      await big10k(v.dir, v.entries);
      // The run's knobs (scripts/fs-workload.sh reads them from $WL_KNOBS).
      const knobs = path.join(work, `knobs-${v.dir}`);
      mkdirSync(knobs);
      writeFileSync(path.join(knobs, 'expect10k'), String(v.entries));
      writeFileSync(path.join(knobs, 'skip'), v.skip);
      files.push('--file', `${path.join(knobs, 'expect10k')}:${v.dir}/expect10k`, '--file', `${path.join(knobs, 'skip')}:${v.dir}/skip`);
      sections.push({
        name: v.dir,
        mount: cifsMount('data', smbPort, v.vers, v.user, PASS, v.opts),
        // Each run works in its own directory of the share (the listing directory is in it).
        script: `grep " /mnt " /proc/mounts | sed "s/^/WL: /"\nexport WL_KNOBS=/kclient/files/${v.dir}\ncd ${v.dir}\n${workload}`,
      });
    }
    vm = run(KCLIENT, sectionArgs(work, sections, [...files, '--timeout', '2400']), { timeoutMs: 2460000 });
  });
  after(async () => {
    await vm;
    const code = await g.stop();
    g.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  /** A fresh directory with `entries` empty files, made over NFSv3 (pipelined 64 at a time). */
  async function big10k(dirName: string, entries: number): Promise<void> {
    const c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const root = (await c.mount('/data')).fh!;
    const top = (await c.mkdir(root, dirName, 0o777)).fh!;
    const dir = (await c.mkdir(top, 'big10k', 0o777)).fh!;
    for (let i = 0; i < entries; i += 64) {
      const batch = [];
      for (let j = i; j < Math.min(entries, i + 64); j++) batch.push(c.create(dir, `e${j}`, 1));
      for (const r of await Promise.all(batch)) assert.equal(r.status, 0);
    }
    await c.close();
  }

  for (const v of RUNS) {
    it(`vers=${v.vers} ${v.opts}: the file-system workload`, { timeout: 2500000 }, async () => {
      const { rc, out } = await section(v.dir);
      assert.equal(rc, 0, `section exit ${rc}`);
      const mounted = out.split('\n').find((l) => /^WL: \/\/10\.0\.2\.2\/data \/mnt cifs /.test(l)) ?? '';
      assert.match(mounted, new RegExp(`vers=${v.vers.replace(/\./g, '\\.')}`));
      if (v.opts.includes('seal')) assert.match(mounted, /\bseal\b/);
      assert.match(out, /WL: unaligned ok/);
      assert.match(out, new RegExp(`WL: big10k entries=${v.entries} dups=0`));
      if (!v.skip.includes('owner')) assert.doesNotMatch(out, /skipped owner/);
      assert.match(out, /WL: ALL OK/);
    });
  }
});
