/**
 * The command contract scripts rely on: the `gateway` bin runs, `serve` without a volume or with a bad
 * config exits 2 and names the problem (an operator error is not a crash).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, run } from './harness';

const BIN = path.join(ROOT, 'bin', 'gateway.js');

describe('e2e: gateway command line', () => {
  it('the gateway bin prints its commands', async () => {
    const r = await run(process.execPath, [BIN, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /gateway serve/);
    const s = await run(process.execPath, [BIN, 'serve', '--help']);
    assert.match(s.stdout, /--data/);
    assert.match(s.stdout, /--nfs-port/);
  });

  it('serve without --data or --config exits 2 with a message', async () => {
    const r = await run(process.execPath, [BIN, 'serve']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no volume configured/);
  });

  it('an invalid config exits 2 and names the field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-cli-'));
    try {
      const f = path.join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify({ volumes: [{ name: 'v', dataDir: dir }], exports: [{ name: 'x', volume: 'v', clients: [{}] }] }));
      const r = await run(process.execPath, [BIN, 'serve', '--config', f]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /exports\.0\.clients\.0\.match/);
      writeFileSync(f, '{not json');
      const r2 = await run(process.execPath, [BIN, 'serve', '--config', f]);
      assert.equal(r2.code, 2);
      assert.match(r2.stderr, /cannot read config/);
      writeFileSync(f, JSON.stringify({ volumes: [{ name: 'v', dataDir: dir }], exports: [{ name: 'x', volume: 'nope' }] }));
      const r3 = await run(process.execPath, [BIN, 'serve', '--config', f]);
      assert.equal(r3.code, 2);
      assert.match(r3.stderr, /no volume named nope/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a command whose reader goes away (| head -1) exits 0 without a stack trace', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gw-cli-'));
    try {
      // ~300 KiB of `user list` output: far more than a pipe holds, so the CLI is still writing when head exits.
      const users: Record<string, unknown> = {};
      const groups = Array.from({ length: 40 }, (_, i) => 2000 + i);
      for (let i = 0; i < 2000; i++) users[`user${i}`] = { ntHash: '0'.repeat(32), uid: 1000 + i, gid: 1000 + i, groups };
      const f = path.join(dir, 'users.json');
      writeFileSync(f, JSON.stringify({ version: 1, users }));
      // The exit status is the gateway's (first in the pipe), its stderr is what the test sees.
      const r = await run('bash', ['-c', '"$0" "$1" user list --users "$2" | head -1; exit "${PIPESTATUS[0]}"', process.execPath, BIN, f]);
      assert.equal(r.stdout, 'user0\tuid=1000\tgid=1000\tgroups=' + groups.join(',') + '\n');
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
