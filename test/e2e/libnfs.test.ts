/**
 * libnfs's command-line clients (Debian libnfs-utils: nfs-ls, nfs-cp, nfs-cat) against the real
 * gateway process: 100 MB up and down with md5 equality, listings, attributes, errors.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePorts, nfsUrl, run, startGateway, type GatewayProc } from './harness';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('e2e: libnfs clients (nfs-cp, nfs-cat, nfs-ls)', () => {
  let g: GatewayProc;
  let work: string;
  let metricsPort: number;
  before(async () => {
    [metricsPort] = await freePorts(1) as [number];
    g = await startGateway({ extraArgs: ['--metrics-port', String(metricsPort)] });
    work = mkdtempSync(path.join(tmpdir(), 'gw-libnfs-'));
  });
  after(async () => {
    const code = await g.stop();
    g.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM exits 0');
  });

  it('copies 100 MB up and down with nfs-cp; md5 matches', { timeout: 300000 }, async () => {
    const src = path.join(work, 'big.bin');
    const data = randomBytes(100 * 1000 * 1000);
    writeFileSync(src, data);
    const up = await run('nfs-cp', [src, nfsUrl(g, '/big.bin')], { timeoutMs: 240000 });
    assert.equal(up.code, 0, `nfs-cp up failed: ${up.stderr}`);
    const dst = path.join(work, 'back.bin');
    const down = await run('nfs-cp', [nfsUrl(g, '/big.bin'), dst], { timeoutMs: 240000 });
    assert.equal(down.code, 0, `nfs-cp down failed: ${down.stderr}`);
    assert.equal(md5(readFileSync(dst)), md5(data));
    // The bytes are on the gateway's disk too, not only in a cache: a fresh nfs-cat sees them.
    const cat = await run('nfs-cat', [nfsUrl(g, '/big.bin')], { timeoutMs: 240000 });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(createHash('md5').update(cat.stdout, 'latin1').digest('hex'), md5(data));
  });

  it('nfs-cat returns exactly the bytes written, including a small file', async () => {
    const src = path.join(work, 'hello.txt');
    writeFileSync(src, 'hello, gateway\n');
    assert.equal((await run('nfs-cp', [src, nfsUrl(g, '/hello.txt')])).code, 0);
    const cat = await run('nfs-cat', [nfsUrl(g, '/hello.txt')]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'hello, gateway\n');
  });

  it('nfs-ls lists names, sizes and types; -R recurses', async () => {
    const src = path.join(work, 'f3');
    writeFileSync(src, Buffer.alloc(12345, 7));
    assert.equal((await run('nfs-cp', [src, nfsUrl(g, '/f3')])).code, 0);
    const ls = await run('nfs-ls', [nfsUrl(g, '/')]);
    assert.equal(ls.code, 0, ls.stderr);
    const line = ls.stdout.split('\n').find((l) => / f3$/.test(l));
    assert.ok(line, `f3 missing in:\n${ls.stdout}`);
    assert.match(line!, /^-rw/);
    assert.match(line!, /\b12345\b/);
    assert.ok(ls.stdout.includes('hello.txt'));
    const sum = await run('nfs-ls', ['-s', nfsUrl(g, '/')]);
    assert.equal(sum.code, 0, sum.stderr);
  });

  it('a missing file is an error, not an empty file', async () => {
    const cat = await run('nfs-cat', [nfsUrl(g, '/does-not-exist')]);
    assert.notEqual(cat.code, 0);
    assert.equal(cat.stdout, '');
  });

  it('Prometheus metrics count the calls the clients made', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const count = (proc: string): number => {
      const m = new RegExp(`gateway_rpc_ops_total\\{program="nfs",version="3",proc="${proc}",outcome="SUCCESS"\\} (\\d+)`).exec(text);
      return m ? Number(m[1]) : 0;
    };
    assert.ok(count('WRITE') >= 96, `WRITE count ${count('WRITE')}`); // 100 MB in ≤ 1 MiB writes
    assert.ok(count('READ') >= 96, `READ count ${count('READ')}`);
    assert.match(text, /gateway_rpc_latency_seconds_bucket\{[^}]*program="nfs",proc="READ"/);
    assert.match(text, /gateway_connections\{protocol="nfs"\}/);
    // nfs-cp and nfs-cat read with one READ in flight: after the first READ of each file, the next range
    // was read ahead (the md5 checks above are of bytes served that way).
    const hits = /gateway_read_ahead_ranges_total\{volume="data",outcome="hit"\} (\d+)/.exec(text);
    assert.ok(hits && Number(hits[1]) >= 90, `read-ahead hits: ${hits?.[1]}`);
  });

  it('an unknown export is refused by MOUNT', async () => {
    const ls = await run('nfs-ls', [`nfs://127.0.0.1/nope?version=3&nfsport=${g.nfsPort}&mountport=${g.mountPort}`]);
    assert.notEqual(ls.code, 0);
  });
});
