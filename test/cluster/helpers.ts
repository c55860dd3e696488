/** Shared helpers for the cluster/ tests (not a test file itself). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreError, type Errc } from '../../cluster/vfs/errors';
import type { Cred } from '../../cluster/vfs/types';

export const ROOT: Cred = { uid: 0, gid: 0, groups: [] };
export const ALICE: Cred = { uid: 1000, gid: 1000, groups: [] };
export const BOB: Cred = { uid: 1001, gid: 1001, groups: [] };
/** Member of ALICE's group 1000 as a supplementary group. */
export const CAROL: Cred = { uid: 1002, gid: 1002, groups: [1000] };

export const b = (s: string): Buffer => Buffer.from(s, 'utf8');

export async function rejectsWith(p: Promise<unknown>, errc: Errc, msg?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CoreError, `expected CoreError(${errc}), got ${String(e)}`);
    assert.equal(e.errc, errc, msg);
    return true;
  });
}

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gw-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic PRNG (xorshift32) so failures reproduce. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}
