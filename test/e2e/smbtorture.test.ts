/**
 * Samba's smbtorture (Debian samba-testsuite) against the real gateway, for the SMB2 suites of issue 3.
 * Every failing test must be listed, with its reason, in smbtorture-known-failures.txt; the list may only
 * shrink: a test that fails and is not listed fails this test, and so does a listed test that now
 * passes (take it off the list). Each suite runs with its own time limit, so the whole run is bounded.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePorts, ROOT, run, startGateway, type GatewayProc } from './harness';

export const SUITES = [
  'smb2.connect',
  'smb2.read',
  'smb2.rw',
  'smb2.dir',
  'smb2.create',
  'smb2.getinfo',
  'smb2.setinfo',
  'smb2.lock',
  'smb2.compound',
  'smb2.session',
  'smb2.rename',
  'smb2.sharemode',
];
/**
 * Oplock and lease suites, against a second gateway with oplocks and leases switched on (they are off by
 * default, which is what the suites above run against).
 */
export const CACHING_SUITES = ['smb2.lease', 'smb2.oplock'];
/**
 * Suites of SUITES that run against that second gateway too: every smb2.session test opens its file with
 * a batch oplock and fails at once when none is granted, before it gets to what it tests (reconnect with
 * PreviousSessionId, re-authentication, signing and encryption algorithms).
 */
export const NEEDS_OPLOCKS = ['smb2.session'];
/**
 * The caching suites take ~5 minutes (smb2.lease waits out 35 s break timeouts), more than the suite's
 * time budget allows, so `npm test` runs them only with GW_SMBTORTURE_CACHING=1 (last results in
 * smbtorture-known-failures.txt and the issue notes). They are then not registered at all, rather than
 * reported as skipped. The oplock and lease behaviour itself is tested in test/loopback/smb2-leases.test.ts.
 */
const RUN_CACHING = process.env.GW_SMBTORTURE_CACHING === '1';
const SUITE_TIMEOUT_MS = 240_000;
/** The lease suite waits out 35 s break timeouts and many "no break expected" pauses. */
const CACHING_SUITE_TIMEOUT_MS = 600_000;
const USER = 'torture';
const PASS = 'T0rture-pw';

/** `name  reason...` lines; '#' starts a comment line. */
export function readKnownFailures(file: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [name, ...why] = line.split(/\s+/);
    if (!why.length) throw new Error(`${file}: ${name} has no reason`);
    m.set(name!, why.join(' '));
  }
  return m;
}

/** Results of one smbtorture run (--format=simple --fullname): name → success | failure | error | skip. */
export function parseResults(out: string): Map<string, string> {
  const r = new Map<string, string>();
  for (const m of out.matchAll(/^(success|failure|error|skip|xfail|failure-fail): (\S+)/gm)) r.set(m[2]!, m[1]!);
  return r;
}

describe('e2e: smbtorture SMB2 suites', () => {
  let g: GatewayProc;
  let work: string;
  let port: number;
  let metricsPort: number;
  let gc: GatewayProc;
  let cachingPort: number;
  const known = readKnownFailures(path.join(ROOT, 'test', 'e2e', 'smbtorture-known-failures.txt'));

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-torture-'));
    const dataDir = path.join(work, 'data');
    const add = await run(process.execPath, [path.join(ROOT, 'dist', 'gateway', 'main.js'), 'user', 'add', USER, '--password', PASS, '--data', dataDir]);
    assert.equal(add.code, 0, add.stderr);
    [port, metricsPort] = (await freePorts(2)) as [number, number];
    g = await startGateway({ dataDir, extraArgs: ['--smb-port', String(port), '--metrics-port', String(metricsPort)] });
    const cachingData = path.join(work, 'data-caching');
    const add2 = await run(process.execPath, [path.join(ROOT, 'dist', 'gateway', 'main.js'), 'user', 'add', USER, '--password', PASS, '--data', cachingData]);
    assert.equal(add2.code, 0, add2.stderr);
    const cfg = path.join(work, 'caching.json');
    writeFileSync(cfg, JSON.stringify({ smb: { oplocks: true, leases: true } }));
    [cachingPort] = (await freePorts(1)) as [number];
    gc = await startGateway({ dataDir: cachingData, extraArgs: ['--smb-port', String(cachingPort), '--config', cfg] });
  });
  after(async () => {
    const codeC = await gc.stop();
    gc.cleanup();
    assert.equal(codeC, 0, 'the oplock/lease gateway exits 0 after smbtorture');
    const code = await g.stop();
    g.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.equal(code, 0, 'the gateway exits 0 after smbtorture');
  });

  const summary: string[] = [];
  for (const suite of [...SUITES, ...(RUN_CACHING ? CACHING_SUITES : [])]) {
    const caching = CACHING_SUITES.includes(suite) || NEEDS_OPLOCKS.includes(suite);
    const limit = CACHING_SUITES.includes(suite) ? CACHING_SUITE_TIMEOUT_MS : SUITE_TIMEOUT_MS;
    it(suite, { timeout: limit + 30_000 }, async () => {
      const gw = caching ? gc : g;
      const r = await run('smbtorture', [`//127.0.0.1/data`, '-p', String(caching ? cachingPort : port), '-U', `${USER}%${PASS}`, '--fullname', '--option=torture:sharedelay=0', suite], {
        timeoutMs: limit,
      });
      const res = parseResults(r.stdout);
      assert.ok(res.size > 0, `smbtorture ran nothing (exit ${r.code}):\n${r.stdout.slice(-3000)}${r.stderr.slice(-2000)}`);
      const count = (k: string) => [...res.values()].filter((v) => v === k).length;
      summary.push(`${suite}: ${count('success')} passed, ${count('failure') + count('error')} failed, ${count('skip')} skipped`);
      console.log(summary[summary.length - 1]);
      const unexpected = [...res].filter(([n, v]) => (v === 'failure' || v === 'error') && !known.has(n)).map(([n]) => n);
      const fixed = [...res].filter(([n, v]) => v === 'success' && known.has(n)).map(([n]) => n);
      if (unexpected.length) console.log(r.stdout.split('\n').filter((l) => /^(failure|error):|\.c:\d+/.test(l)).join('\n'));
      assert.deepEqual(unexpected, [], `failures not in smbtorture-known-failures.txt`);
      assert.deepEqual(fixed, [], `these pass now: remove them from smbtorture-known-failures.txt`);
      // A run cut short (time limit, crash) leaves a started test without a result: never a silent pass.
      const unfinished = [...r.stdout.matchAll(/^test: (\S+)/gm)].map((m) => m[1]!).filter((n) => !res.has(n));
      assert.deepEqual(unfinished, [], 'tests without a result (smbtorture killed or crashed)');
      assert.ok(gw.proc.exitCode === null, 'the gateway is still running');
    });
  }

  it('Prometheus /metrics counts the SMB traffic smbtorture made', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const value = (re: RegExp): number => Number(text.match(re)?.[1] ?? NaN);
    assert.ok(value(/^gateway_smb_ops_total\{command="WRITE",status="STATUS_SUCCESS"\} (\d+)/m) > 0, `WRITE count:\n${text.split('\n').filter((l) => l.startsWith('gateway_smb_ops_total')).join('\n')}`);
    assert.ok(value(/^gateway_smb_ops_total\{command="CREATE",status="STATUS_OBJECT_NAME_NOT_FOUND"\} (\d+)/m) > 0, 'failed CREATEs by status');
    assert.ok(value(/^gateway_smb_bytes_total\{command="WRITE",direction="in"\} (\d+)/m) > 1000, 'WRITE bytes in');
    assert.ok(value(/^gateway_smb_latency_seconds_count\{command="READ"\} (\d+)/m) > 0, 'READ latency histogram');
    assert.match(text, /^gateway_smb_connections \d+/m);
    assert.match(text, /^gateway_smb_sessions \d+/m);
  });
});
