/**
 * The guest-side helper of the kernel-client tests (test/e2e/tools/fstool.c: locks, SEEK_DATA/SEEK_HOLE,
 * hole punching, copy_file_range, FICLONE — what the guest's busybox lacks), built static on the host and
 * shipped with `kclient --file`; and the parsing of its "FT: " lines.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './harness';

/** Builds fstool.c as a static binary the guest can run; needs gcc and libc6-dev (test/run-all.sh). */
export function buildFstool(dir: string): string {
  const out = path.join(dir, 'fstool');
  execFileSync('gcc', ['-static', '-O2', '-o', out, path.join(ROOT, 'test', 'e2e', 'tools', 'fstool.c')]);
  return out;
}

export function ftLines(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('FT: '))
    .map((l) => l.slice(4).trim());
}
