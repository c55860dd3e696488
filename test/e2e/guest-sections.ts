/**
 * Several kernel-client workloads in ONE kclient VM boot (`kclient run`), one after another, each with
 * its own mount, its own `sh -e` script and its own exit status. A boot costs ~10 s under TCG (kernel,
 * modules, network, qemu start and stop), so a test file with seven small workloads spent more time
 * booting than working; the `it` blocks of such a file now assert on their own section of one run.
 *
 * Each section: mount (the same command line kclient's nfs/smb modes generate), `cd` into it, run the
 * section's script with `sh -e` in a child shell (the first failing command ends that section only),
 * leave, unmount. The guest prints `@@SEC name begin` / `@@SEC name end rc=N` around it; a section with
 * no end line (the VM died or timed out) is a failure, never a pass. The run exits non-zero when any
 * section failed, so kclient appends the nfs/cifs kernel messages.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunResult } from './harness';

export interface GuestSection {
  /** Unique, no spaces: the marker key. */
  name: string;
  /** Shell command that mounts at `dir` (e.g. nfs4Mount(...)); none: the script mounts what it needs. */
  mount?: string;
  /** Where the script starts (default /mnt); unmounted after the script when `mount` is given. */
  dir?: string;
  /** The section's shell script text (run with `sh -e`). */
  script: string;
}

export interface SectionResult {
  /** The section's exit status: its script's, 201 when the mount failed, 203 when only the umount failed. */
  rc: number | undefined;
  /** The guest output between the section's markers. */
  out: string;
}

/**
 * The source tree fs-workload.sh copies in and out and extracts from a tar: a fixed part of this
 * project's sources (about 95 files in nested directories, 0.7 MB), not all of them. The whole tree grows
 * every session (302 files by session 7), and under TCG its copy, extract, diff and removal were most of
 * each workload's time, paid again for every protocol version the suite mounts.
 */
export const WORKLOAD_TREE = ['protocols/nfs3', 'protocols/rpc', 'protocols/xdr', 'protocols/mount', 'cluster/meta', 'gateway', 'package.json'];

/** Writes WORKLOAD_TREE from the project root `root` into the tar file `tarPath`. */
export function writeWorkloadTar(root: string, tarPath: string): void {
  execFileSync('tar', ['cf', tarPath, '-C', root, ...WORKLOAD_TREE]);
}

/** The mount options kclient uses for `kclient nfs --vers 4.x --port P` (its README, "What happens on a run"). */
export function nfs4Mount(vers: string, port: number, exportPath: string, dir = '/mnt', extra = ''): string {
  return `mount.nfs 10.0.2.2:${exportPath} ${dir} -o vers=${vers},proto=tcp,port=${port},retry=0${extra ? `,${extra}` : ''}`;
}

/** kclient's `kclient nfs --vers 3` without --port/--mountport: the portmapper on the host's 111 answers. */
export function nfs3Mount(exportPath: string, dir = '/mnt', extra = ''): string {
  return `mount.nfs 10.0.2.2:${exportPath} ${dir} -o vers=3,proto=tcp,mountproto=tcp,nolock,retry=0${extra ? `,${extra}` : ''}`;
}

/** kclient's `kclient smb`: the password through $PASSWD (no escaping of commas). */
export function cifsMount(share: string, port: number, vers: string, user: string, pass: string, opts: string, dir = '/mnt'): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `PASSWD=${q(pass)} mount.cifs //10.0.2.2/${share} ${dir} -o ${q(`port=${port},vers=${vers},username=${user},${opts}`)}`;
}

/**
 * Writes the section scripts into `work` and returns the kclient arguments (`run` mode) that run them in
 * order: `--file` for each script, the test's own options (`--file`s, `--timeout`), then the wrapper.
 */
export function sectionArgs(work: string, sections: GuestSection[], options: string[]): string[] {
  const files: string[] = [];
  const up = '$(cut -d" " -f1 /proc/uptime)s';
  const lines = ['cd /', 'failed=0'];
  sections.forEach((s, i) => {
    if (!/^[A-Za-z0-9._-]+$/.test(s.name)) throw new Error(`section name ${s.name}`);
    const file = path.join(work, `section-${i}.sh`);
    writeFileSync(file, s.script + '\n');
    files.push('--file', `${file}:sec/${i}.sh`);
    const dir = s.dir ?? '/mnt';
    lines.push(
      `echo "@@SEC ${s.name} begin [${up}]"`,
      'rc=0',
      `mkdir -p ${dir}`,
      ...(s.mount
        ? [`if ! ${s.mount} > /tmp/mount.out 2>&1; then rc=201; echo "mount failed"; cat /tmp/mount.out; fi`]
        : []),
      `if [ $rc = 0 ]; then`,
      `  if (cd ${dir} && MNT=${dir} KC_MNT=${dir} exec sh -e /kclient/files/sec/${i}.sh); then rc=0; else rc=$?; fi`,
      ...(s.mount ? [`  sync; umount ${dir} > /tmp/umount.out 2>&1 || { cat /tmp/umount.out; [ $rc != 0 ] || rc=203; }`] : []),
      'fi',
      `echo "@@SEC ${s.name} end rc=$rc [${up}]"`,
      '[ $rc = 0 ] || failed=$((failed+1))',
    );
  });
  lines.push('[ $failed = 0 ] || { echo "@@SEC $failed section(s) failed"; exit 1; }');
  return ['run', ...files, ...options, '--', lines.join('\n')];
}

/** The output and exit status of one section of a sectionArgs run. */
export function sectionResult(stdout: string, name: string): SectionResult {
  const begin = stdout.indexOf(`@@SEC ${name} begin`);
  if (begin < 0) return { rc: undefined, out: '' };
  const rest = stdout.slice(begin);
  const end = rest.match(new RegExp(`^@@SEC ${name.replace(/[.]/g, '\\.')} end rc=(\\d+).*$`, 'm'));
  if (!end) return { rc: undefined, out: rest };
  return { rc: Number(end[1]), out: rest.slice(0, end.index! + end[0].length) };
}

/**
 * For a test file whose `it` blocks share one guest run: awaits the run, prints the evidence lines (and
 * the output's tail when kclient failed) once, then returns the named section, with its tail printed
 * when it failed.
 */
export function sectionReader(vm: () => Promise<RunResult>, evidence: (out: string) => void): (name: string) => Promise<SectionResult> {
  let printed = false;
  return async (name) => {
    const res = await vm();
    if (!printed) {
      printed = true;
      evidence(res.stdout + res.stderr);
      if (res.code !== 0) console.log(`kclient exit ${res.code}\n` + (res.stdout + res.stderr).split('\n').slice(-80).join('\n'));
    }
    const s = sectionResult(res.stdout, name);
    if (s.rc !== 0) console.log(`section ${name}: rc ${s.rc}\n` + s.out.split('\n').slice(-40).join('\n'));
    return s;
  };
}
