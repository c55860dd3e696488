/**
 * Debian's smbclient (Samba 4.x) against the real gateway process: a user added with `gateway user add`,
 * then `gateway serve --data DIR --smb-port P`. Share listing over srvsvc, put/get with md5 equality at
 * SMB 2.1, 3.0 and 3.1.1 with signing required by the client, 3.1.1 encrypted, namespace commands,
 * wrong and unknown users refused, and a file crossing between SMB and NFSv3 in both directions.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { freePorts, nfsUrl, ROOT, run, startGateway, type GatewayProc } from './harness';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const USER = 'alice';
const PASS = 'S3cret-pw!';

describe('e2e: smbclient against the gateway', () => {
  let g: GatewayProc;
  let work: string;
  let smbPort: number;

  const smb = (args: string[], opts: { user?: string; timeoutMs?: number } = {}) =>
    run('smbclient', ['-p', String(smbPort), '-U', opts.user ?? `${USER}%${PASS}`, ...args], { timeoutMs: opts.timeoutMs ?? 60000 });

  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gw-smb-'));
    const dataDir = path.join(work, 'data');
    const add = await run(process.execPath, [path.join(ROOT, 'dist', 'gateway', 'main.js'), 'user', 'add', USER, '--password', PASS, '--data', dataDir]);
    assert.equal(add.code, 0, `user add failed: ${add.stderr}`);
    const users = readFileSync(path.join(dataDir, 'users.json'), 'utf8');
    assert.ok(!users.includes(PASS), 'the users file must not contain the password');
    [smbPort] = (await freePorts(1)) as [number];
    g = await startGateway({ dataDir, extraArgs: ['--smb-port', String(smbPort)] });
  });

  after(async () => {
    const code = await g.stop();
    g.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM exits 0');
  });

  it('smbclient -L lists the data share and IPC$ (srvsvc NetShareEnumAll)', async () => {
    const r = await smb(['-L', '//127.0.0.1', '-m', 'SMB3']);
    assert.match(r.stdout, /^\s+data\s+Disk/m, r.stdout + r.stderr);
    assert.match(r.stdout, /^\s+IPC\$\s+IPC/m, r.stdout + r.stderr);
  });

  for (const [dialect, extra] of [
    ['SMB2_10', ['--client-protection=sign']],
    ['SMB3_00', ['--client-protection=sign']],
    ['SMB3_11', ['--client-protection=sign']],
    ['SMB3_11', ['--client-protection=encrypt']],
  ] as Array<[string, string[]]>) {
    it(`${dialect} ${extra.join(' ')}: put and get 16 MB, md5 equal`, async () => {
      const data = randomBytes(16 * 1024 * 1024 + 12345);
      const name = `f-${dialect}-${extra[0]!.slice(20)}.bin`;
      const src = path.join(work, name);
      const back = path.join(work, `${name}.back`);
      writeFileSync(src, data);
      const r = await smb(['//127.0.0.1/data', '-m', dialect, '--option', `client min protocol=${dialect}`, ...extra, '-c', `put ${src} ${name}; get ${name} ${back}; ls ${name}`]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`${name.replace(/\./g, '\\.')}\\s+A?N?\\s+${data.length}\\b`), r.stdout);
      assert.equal(md5(readFileSync(back)), md5(data));
    });
  }

  it('mkdir, rename, allinfo, rm, rmdir', async () => {
    writeFileSync(path.join(work, 'small.txt'), 'hello over smb\n');
    const r = await smb([
      '//127.0.0.1/data',
      '-m',
      'SMB3',
      '-c',
      `mkdir dir1; put ${path.join(work, 'small.txt')} dir1\\a.txt; rename dir1\\a.txt dir1\\b.txt; ls dir1\\*; allinfo dir1\\b.txt`,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^\s+b\.txt\s+\S*\s+15\b/m, r.stdout);
    assert.doesNotMatch(r.stdout, /a\.txt\s/);
    assert.match(r.stdout, /stream: \[::\$DATA\], 15 bytes/);
    const rm = await smb(['//127.0.0.1/data', '-m', 'SMB3', '-c', 'rm dir1\\b.txt; rmdir dir1; ls']);
    assert.equal(rm.code, 0, rm.stdout + rm.stderr);
    assert.doesNotMatch(rm.stdout, /dir1/);
    const gone = await smb(['//127.0.0.1/data', '-m', 'SMB3', '-c', 'ls dir1']);
    assert.match(gone.stdout + gone.stderr, /NT_STATUS_NO_SUCH_FILE|NT_STATUS_OBJECT_NAME_NOT_FOUND/);
  });

  it('a wrong password and an unknown user are refused with LOGON_FAILURE', async () => {
    for (const user of [`${USER}%not-the-password`, `mallory%${PASS}`]) {
      const r = await smb(['//127.0.0.1/data', '-m', 'SMB3', '-c', 'ls'], { user });
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /NT_STATUS_LOGON_FAILURE/);
    }
  });

  it('a file written over SMB reads identically over NFSv3, and the reverse', async () => {
    const a = randomBytes(300_000);
    writeFileSync(path.join(work, 'from-smb.bin'), a);
    const put = await smb(['//127.0.0.1/data', '-m', 'SMB3', '-c', `put ${path.join(work, 'from-smb.bin')} from-smb.bin`]);
    assert.equal(put.code, 0, put.stderr);
    const cat = await run('nfs-cat', [nfsUrl(g, '/from-smb.bin')]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(createHash('md5').update(cat.stdout, 'latin1').digest('hex'), md5(a));

    const b = randomBytes(200_000);
    writeFileSync(path.join(work, 'from-nfs.bin'), b);
    // As uid/gid 1000 over AUTH_SYS: the identity `gateway user add` gave alice, so SMB may read it.
    const cp = await run('nfs-cp', [path.join(work, 'from-nfs.bin'), `${nfsUrl(g, '/from-nfs.bin')}&uid=1000&gid=1000`]);
    assert.equal(cp.code, 0, cp.stderr);
    const back = path.join(work, 'from-nfs.back');
    const get = await smb(['//127.0.0.1/data', '-m', 'SMB3', '-c', `get from-nfs.bin ${back}`]);
    assert.equal(get.code, 0, get.stdout + get.stderr);
    assert.equal(md5(readFileSync(back)), md5(b));
  });
});

describe('e2e: SMB port binding', () => {
  it('a taken SMB port: "auto" (the default) warns and serves NFS; an explicit --smb-port fails to start', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'gw-smbport-'));
    const [busy] = (await freePorts(1)) as [number];
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(busy, '127.0.0.1', () => r()));
    try {
      const cfg = path.join(work, 'gw.json');
      writeFileSync(cfg, JSON.stringify({ volumes: [{ name: 'data', dataDir: path.join(work, 'd1') }], exports: [{ name: 'data' }], smb: { port: busy } }));
      const g = await startGateway({ config: cfg, dataDir: path.join(work, 'd1') });
      try {
        assert.ok(g.logs.some((l) => l.includes('smb: port not available')), g.logs.join('\n'));
        assert.ok(g.logs.some((l) => l.includes('"msg":"ready"') && l.includes('"smbPort":null')));
        const ls = await run('nfs-ls', [nfsUrl(g, '/')]);
        assert.equal(ls.code, 0, ls.stderr);
      } finally {
        assert.equal(await g.stop(), 0);
      }
      await assert.rejects(startGateway({ dataDir: path.join(work, 'd2'), extraArgs: ['--smb-port', String(busy)] }), /exited with 1 before ready/);
    } finally {
      holder.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
