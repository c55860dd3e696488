/**
 * uid/gid name tables from passwd/group-style files and users.json (cluster/ident/id-names.ts): parsing,
 * source order, and a reload after the file changes (lookups themselves never touch the disk).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { FileIdNames, groupSource, parseColonFile, passwdSource, type NameSource } from '../../../cluster/ident/id-names';

const dir = mkdtempSync(path.join(tmpdir(), 'idnames-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('id name tables', () => {
  it('parses passwd(5)/group(5) lines, skipping comments, NIS entries and malformed ids', () => {
    const t = ['root:x:0:0:root:/root:/bin/bash', '# comment', '+nis::::::', 'bad:x:abc:1::/:', 'big:x:99999999999:1::/:', 'www-data:x:33:33::/var/www:/usr/sbin/nologin', ''].join('\n');
    assert.deepEqual(parseColonFile(t), [['root', 0], ['www-data', 33]]);
  });

  it('loads the sources in order (first match wins), and re-reads a file that changed', async () => {
    const passwd = path.join(dir, 'passwd');
    const group = path.join(dir, 'group');
    const users = path.join(dir, 'users.json');
    writeFileSync(passwd, 'root:x:0:0::/:\nalice:x:1001:1001::/:\nhostonly:x:1500:1500::/:\n');
    writeFileSync(group, 'root:x:0:\nstaff:x:50:alice\n');
    writeFileSync(users, JSON.stringify({ version: 1, users: { alice: { uid: 2001 } } }));
    const json: NameSource = { file: users, parse: (t) => ({ users: Object.entries(JSON.parse(t).users).map(([n, u]) => [n, (u as { uid: number }).uid] as [string, number]) }) };
    const errors: string[] = [];
    const n = await new FileIdNames([json, passwdSource(passwd), groupSource(group), passwdSource(path.join(dir, 'missing'))], { checkEveryMs: 3_600_000, onError: (m) => errors.push(m) }).start();
    try {
      assert.equal(n.uid('alice'), 2001, 'the gateway user database comes first');
      assert.equal(n.userName(2001), 'alice');
      assert.equal(n.userName(1001), 'alice', 'passwd still names uid 1001');
      assert.equal(n.uid('hostonly'), 1500);
      assert.equal(n.gid('staff'), 50);
      assert.equal(n.groupName(0), 'root');
      assert.equal(n.uid('nobody-here'), undefined);

      writeFileSync(group, 'root:x:0:\nstaff:x:50:alice\ndevs:x:60:\n');
      utimesSync(group, new Date(), new Date(Date.now() + 5000));
      await n.refresh();
      assert.equal(n.gid('devs'), 60, 'a changed file is re-read');

      writeFileSync(users, '{not json');
      utimesSync(users, new Date(), new Date(Date.now() + 10000));
      await n.refresh();
      assert.equal(n.uid('alice'), 2001, 'an unreadable file keeps the last good copy');
      assert.equal(errors.length, 1);
    } finally {
      n.close();
    }
  });
});
