/**
 * Export policy from a config file, through the real gateway process and libnfs clients: a read-only
 * export refuses writes, an export whose client rules exclude 127.0.0.1 refuses MOUNT, root squash makes
 * root's files belong to the anonymous ids, and a subdirectory export never shows its parent.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run, startGateway, type GatewayProc } from './harness';
import { Nfs3TestClient } from './nfs3-client';

describe('e2e: exports from a config file', () => {
  let g: GatewayProc;
  let work: string;
  const url = (exp: string, p = ''): string => `nfs://127.0.0.1/${exp}${p}?version=3&nfsport=${g.nfsPort}&mountport=${g.mountPort}`;

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-cfg-'));
    const cfg = {
      volumes: [{ name: 'vol', dataDir: path.join(work, 'data') }],
      exports: [
        { id: 1, name: 'rw', volume: 'vol', path: '/' },
        { id: 2, name: 'ro', volume: 'vol', path: '/', readOnly: true },
        { id: 3, name: 'elsewhere', volume: 'vol', path: '/', clients: [{ match: '10.0.0.0/8' }] },
        { id: 4, name: 'squash', volume: 'vol', path: '/', rootSquash: true, anonUid: 4321, anonGid: 4322 },
        { id: 5, name: 'sub', volume: 'vol', path: '/pub' },
        { id: 6, name: 'lan-ro', volume: 'vol', path: '/', clients: [{ match: '127.0.0.0/8', readOnly: true }] },
      ],
    };
    const file = path.join(work, 'gateway.json');
    writeFileSync(file, JSON.stringify(cfg));
    // The subdirectory export's path must exist before it is served: make it through the rw export.
    const boot = await startGateway({ config: file, dataDir: path.join(work, 'data') });
    const c = await Nfs3TestClient.connect(boot.nfsPort, boot.mountPort);
    const root = (await c.mount('/rw')).fh!;
    assert.equal((await c.mkdir(root, 'pub')).status, 0);
    await c.close();
    await boot.stop();
    g = await startGateway({ config: file, dataDir: path.join(work, 'data') });
    writeFileSync(path.join(work, 'f.txt'), 'config test\n');
  });
  after(async () => {
    assert.equal(await g.stop(), 0);
    rmSync(work, { recursive: true, force: true });
  });

  it('writes through the rw export; the ro export and a read-only client rule refuse them but read', async () => {
    assert.equal((await run('nfs-cp', [path.join(work, 'f.txt'), url('rw', '/f.txt')])).code, 0);
    const ro = await run('nfs-cp', [path.join(work, 'f.txt'), url('ro', '/g.txt')]);
    assert.notEqual(ro.code, 0, 'write to a read-only export must fail');
    const lan = await run('nfs-cp', [path.join(work, 'f.txt'), url('lan-ro', '/h.txt')]);
    assert.notEqual(lan.code, 0, 'write under a read-only client rule must fail');
    assert.equal((await run('nfs-cat', [url('ro', '/f.txt')])).stdout, 'config test\n');
    assert.equal((await run('nfs-cat', [url('lan-ro', '/f.txt')])).stdout, 'config test\n');
    const ls = await run('nfs-ls', [url('rw', '/')]);
    assert.ok(!/ g\.txt$/m.test(ls.stdout) && !/ h\.txt$/m.test(ls.stdout), 'nothing was created');
  });

  it('an export whose client rules exclude this address refuses MOUNT', async () => {
    const c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    assert.equal((await c.mount('/elsewhere')).status, 13, 'MNT3ERR_ACCES');
    assert.equal((await c.mount('/nonexistent')).status, 2, 'MNT3ERR_NOENT');
    assert.equal((await c.mount('/rw')).status, 0);
    await c.close();
    const ls = await run('nfs-ls', [url('elsewhere', '/')]);
    assert.notEqual(ls.code, 0);
  });

  it('root squash: root acts as the anonymous ids (refused in a root-owned dir, owns what it creates)', async () => {
    const c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const rwRoot = (await c.mount('/rw')).fh!;
    assert.equal((await c.mkdir(rwRoot, 'open', 0o777)).status, 0);
    const cr2 = await c.create(rwRoot, 'not-squashed', 1);
    assert.equal(cr2.attr!.uid, 0, 'no squash on the rw export');
    const root = (await c.mount('/squash')).fh!;
    assert.equal((await c.create(root, 'denied', 1)).status, 13, 'squashed root may not write a root-owned 0755 dir');
    const open = (await c.lookup(root, 'open')).fh!;
    const cr = await c.create(open, 'squashed', 1);
    assert.equal(cr.status, 0);
    assert.equal(cr.attr!.uid, 4321);
    assert.equal(cr.attr!.gid, 4322);
    await c.close();
  });

  it("a subdirectory export shows only its subtree; '..' at its root stays there", async () => {
    const c = await Nfs3TestClient.connect(g.nfsPort, g.mountPort);
    const sub = (await c.mount('/sub')).fh!;
    assert.equal((await c.create(sub, 'inside', 1)).status, 0);
    const up = await c.lookup(sub, '..');
    assert.ok(up.fh!.equals(sub));
    const names = (await c.readdirAll(sub)).names.sort();
    assert.deepEqual(names, ['.', '..', 'inside']);
    assert.notEqual((await c.lookup(sub, 'f.txt')).status, 0, 'files of the parent are not reachable');
    await c.close();
  });
});
