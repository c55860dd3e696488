/**
 * Case-insensitive lookup through the core's folded-name index (cluster/meta/fold-index.ts,
 * cluster/vfs/caseless.ts), run against every metadata engine (caseless-memory/-lmdb/-redis.test.ts).
 * Not a test file itself.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lookupCaseless } from '../../cluster/vfs/caseless';
import { Errc } from '../../cluster/vfs/errors';
import { CreateMode, type Handle } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { decodeInode, encodeInode, inodeKey, putU64 } from '../../cluster/meta/records';
import { BUILD_PAGE, buildFoldIndex, TAG_FOLD } from '../../cluster/meta/fold-index';
import { b, rejectsWith, ROOT } from './helpers';
import type { VolumeFactory } from './volume-suite';

async function mkfile(v: Volume, dir: Handle, name: string | Buffer) {
  return v.create(ROOT, dir, typeof name === 'string' ? b(name) : name, { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
}

/** The stored name a case-insensitive lookup finds (and checks it names the expected file). */
async function found(v: Volume, dir: Handle, name: string | Buffer): Promise<string> {
  const r = await lookupCaseless(v, ROOT, dir, typeof name === 'string' ? b(name) : name);
  return r.name.toString('utf8');
}

function foldRowsPrefix(dirId: bigint): Buffer {
  const p = Buffer.alloc(9);
  p[0] = TAG_FOLD;
  putU64(p, 1, dirId);
  return p;
}

/** Makes a directory look as an older version left it: no 'F' rows, no indexed flag. */
async function makeOld(v: Volume, dirId: bigint): Promise<void> {
  await v.kv.txn(async (tx) => {
    for (const k of await tx.rangeKeys({ prefix: foldRowsPrefix(dirId) })) tx.delete(k);
    const n = decodeInode(dirId, (await tx.get(inodeKey(dirId)))!);
    n.foldIndexed = false;
    tx.put(inodeKey(dirId), encodeInode(n));
  });
}

async function indexed(v: Volume, dirId: bigint): Promise<boolean> {
  return (await v.ns.getInode(dirId))?.foldIndexed === true;
}

export function caselessSuite(engine: string, make: VolumeFactory): void {
  describe(`case-insensitive lookup on ${engine}`, () => {
    test('new volume and new directories are indexed; a miss is answered by the index, not a scan', async () => {
      const v = await make();
      const root = await v.rootHandle(1);
      const rootId = (await v.getattr(ROOT, root)).fileId;
      assert.ok(await indexed(v, rootId));
      const d = await v.mkdir(ROOT, root, b('Docs'), {});
      assert.ok(await indexed(v, d.attr.fileId));
      await mkfile(v, d.handle, 'Readme.TXT');
      assert.equal(await found(v, d.handle, 'README.txt'), 'Readme.TXT');
      assert.equal(await found(v, root, 'docs'), 'Docs');
      // Straight from the index: an answer, never "not indexed".
      const r = await v.lookupFolded(ROOT, d.handle, b('readme.txt'));
      assert.equal(r?.name.toString(), 'Readme.TXT');
      await rejectsWith(v.lookupFolded(ROOT, d.handle, b('readme.tx')), Errc.NOENT);
      await rejectsWith(lookupCaseless(v, ROOT, d.handle, b('nothing')), Errc.NOENT);
      await v.close();
    });

    test('names that differ only in case: exact match first, else the oldest; follows remove and rename', async () => {
      const v = await make();
      const root = await v.rootHandle(1);
      const ab = await mkfile(v, root, 'ab');
      const AB = await mkfile(v, root, 'AB');
      assert.equal(await found(v, root, 'ab'), 'ab');
      assert.equal(await found(v, root, 'AB'), 'AB');
      assert.equal(await found(v, root, 'Ab'), 'ab');
      assert.equal((await lookupCaseless(v, ROOT, root, b('aB'))).attr.fileId, ab.attr.fileId);
      await v.remove(ROOT, root, b('ab'));
      assert.equal(await found(v, root, 'Ab'), 'AB');
      assert.equal((await lookupCaseless(v, ROOT, root, b('ab'))).attr.fileId, AB.attr.fileId);
      // A case-only rename: the new spelling is what is found.
      await v.rename(ROOT, root, b('AB'), root, b('aB'));
      assert.equal(await found(v, root, 'AB'), 'aB');
      // Re-created old spelling is younger than the renamed entry? No: a rename gives a new cookie, so
      // the entry created after it is the younger one and the renamed one stays the choice.
      await mkfile(v, root, 'Ab');
      assert.equal(await found(v, root, 'ab'), 'aB');
      await v.close();
    });

    test('rename across directories, and over an existing name', async () => {
      const v = await make();
      const root = await v.rootHandle(1);
      const d1 = await v.mkdir(ROOT, root, b('d1'), {});
      const d2 = await v.mkdir(ROOT, root, b('d2'), {});
      const f = await mkfile(v, d1.handle, 'File');
      await v.rename(ROOT, d1.handle, b('File'), d2.handle, b('Moved.Doc'));
      await rejectsWith(lookupCaseless(v, ROOT, d1.handle, b('file')), Errc.NOENT);
      const m = await lookupCaseless(v, ROOT, d2.handle, b('MOVED.doc'));
      assert.equal(m.name.toString(), 'Moved.Doc');
      assert.equal(m.attr.fileId, f.attr.fileId);
      // Over an existing entry (the core is case-sensitive: the exact target name replaces it).
      const x = await mkfile(v, d2.handle, 'X');
      const y = await mkfile(v, d1.handle, 'y');
      await v.rename(ROOT, d1.handle, b('y'), d2.handle, b('X'));
      const l = await lookupCaseless(v, ROOT, d2.handle, b('x'));
      assert.equal(l.name.toString(), 'X');
      assert.equal(l.attr.fileId, y.attr.fileId);
      assert.notEqual(l.attr.fileId, x.attr.fileId);
      await rejectsWith(lookupCaseless(v, ROOT, d1.handle, b('Y')), Errc.NOENT);
      // A directory moved keeps its own index.
      const sub = await v.mkdir(ROOT, d1.handle, b('Sub'), {});
      await mkfile(v, sub.handle, 'Inner');
      await v.rename(ROOT, d1.handle, b('Sub'), d2.handle, b('SUB2'));
      const s2 = await lookupCaseless(v, ROOT, d2.handle, b('sub2'));
      assert.equal(await found(v, s2.handle, 'INNER'), 'Inner');
      await v.close();
    });

    test('hard links: each name is found in its directory; removing one keeps the other', async () => {
      const v = await make();
      const root = await v.rootHandle(1);
      const d = await v.mkdir(ROOT, root, b('links'), {});
      const f = await mkfile(v, root, 'Original');
      await v.link(ROOT, f.handle, d.handle, b('LinkName'));
      await v.link(ROOT, f.handle, root, b('Second'));
      assert.equal((await lookupCaseless(v, ROOT, d.handle, b('linkname'))).attr.fileId, f.attr.fileId);
      assert.equal((await lookupCaseless(v, ROOT, root, b('SECOND'))).attr.fileId, f.attr.fileId);
      await v.remove(ROOT, root, b('Original'));
      await rejectsWith(lookupCaseless(v, ROOT, root, b('original')), Errc.NOENT);
      assert.equal(await found(v, d.handle, 'LINKNAME'), 'LinkName');
      await v.remove(ROOT, d.handle, b('LinkName'));
      await rejectsWith(lookupCaseless(v, ROOT, d.handle, b('linkname')), Errc.NOENT);
      assert.equal(await found(v, root, 'second'), 'Second');
      await v.close();
    });

    test('non-ASCII names fold; names that are not valid UTF-8 match only exactly and have no index row', async () => {
      const v = await make();
      const root = await v.rootHandle(1);
      const d = await v.mkdir(ROOT, root, b('u'), {});
      await mkfile(v, d.handle, 'Café Ünïcode');
      assert.equal(await found(v, d.handle, 'CAFÉ ÜNÏCODE'), 'Café Ünïcode');
      const bad = Buffer.from([0x66, 0xff, 0x41]); // 'f' 0xff 'A'
      await mkfile(v, d.handle, bad);
      assert.ok((await lookupCaseless(v, ROOT, d.handle, bad)).name.equals(bad));
      await rejectsWith(lookupCaseless(v, ROOT, d.handle, Buffer.from([0x46, 0xff, 0x41])), Errc.NOENT);
      await rejectsWith(lookupCaseless(v, ROOT, d.handle, Buffer.from([0x66, 0xff, 0x61])), Errc.NOENT);
      const rows = await v.kv.rangeKeys({ prefix: foldRowsPrefix(d.attr.fileId) });
      assert.equal(rows.length, 1, 'one row: the valid name only');
      await v.remove(ROOT, d.handle, bad);
      await v.remove(ROOT, d.handle, b('Café Ünïcode'));
      assert.equal((await v.kv.rangeKeys({ prefix: foldRowsPrefix(d.attr.fileId) })).length, 0);
      await v.close();
    });

    test('a directory from before the index: scanned, then indexed in the background; stale rows ignored', async () => {
      const v = await make();
      const root = await v.rootHandle(1);
      const d = await v.mkdir(ROOT, root, b('old'), {});
      const dirId = d.attr.fileId;
      // More than one build page, so the build takes several transactions.
      for (let i = 0; i < 1100; i++) await mkfile(v, d.handle, `File${i}`);
      await makeOld(v, dirId);
      assert.equal(await indexed(v, dirId), false);
      // Not indexed: the core says so (and starts the build), the caller scans.
      assert.equal(await v.lookupFolded(ROOT, d.handle, b('file7')), undefined);
      await v.settle();
      assert.ok(await indexed(v, dirId));
      assert.equal((await v.lookupFolded(ROOT, d.handle, b('FILE1099')))?.name.toString(), 'File1099');
      assert.equal(await found(v, d.handle, 'file0'), 'File0');
      // Changes made while not indexed keep rows (only the flag was missing); an older gateway's changes
      // leave a stale row behind and add names without rows, and drop the flag: simulate that.
      await makeOld(v, dirId);
      await mkfile(v, d.handle, 'Made.Old'); // has a row (this version writes them), flag still off
      assert.equal(await found(v, d.handle, 'made.old'), 'Made.Old'); // via the scan
      await v.settle();
      assert.ok(await indexed(v, dirId));
      // Stale row: the entry 'Gone' is removed but its row stays, as an older gateway would leave it.
      await mkfile(v, d.handle, 'Gone');
      const rows = await v.kv.rangeKeys({ prefix: foldRowsPrefix(dirId) });
      const goneRow = rows.find((k) => k.subarray(k.length - 4).toString() === 'Gone')!;
      await v.remove(ROOT, d.handle, b('Gone'));
      await v.kv.txn(async (tx) => tx.put(goneRow, Buffer.from([1])));
      await rejectsWith(lookupCaseless(v, ROOT, d.handle, b('GONE')), Errc.NOENT);
      // The name made again (new cookie) is found, not confused with the stale row.
      await mkfile(v, d.handle, 'gone');
      assert.equal(await found(v, d.handle, 'GONE'), 'gone');
      await v.close();
    });

    test('an interrupted index build resumes where it stopped', async () => {
      const v = await make();
      const root = await v.rootHandle(1);
      const d = await v.mkdir(ROOT, root, b('big'), {});
      const dirId = d.attr.fileId;
      const n = BUILD_PAGE + 10;
      for (let i = 0; i < n; i++) await mkfile(v, d.handle, `Name${i}`);
      await makeOld(v, dirId);
      const gen = (await v.ns.getInode(dirId))!.gen;
      const progress = { after: 0n };
      let pages = 0;
      // Stops before the second page: one page indexed, directory not marked.
      assert.equal(await buildFoldIndex(v.kv, dirId, gen, () => pages++ >= 1, progress), false);
      assert.ok(progress.after > 0n);
      assert.equal(await indexed(v, dirId), false);
      assert.equal((await v.kv.rangeKeys({ prefix: foldRowsPrefix(dirId) })).length, BUILD_PAGE);
      // A name added in between, then the rest.
      await mkfile(v, d.handle, 'Late');
      assert.equal(await buildFoldIndex(v.kv, dirId, gen, undefined, progress), true);
      assert.ok(await indexed(v, dirId));
      assert.equal((await v.kv.rangeKeys({ prefix: foldRowsPrefix(dirId) })).length, n + 1);
      assert.equal(await found(v, d.handle, 'name0'), 'Name0');
      assert.equal(await found(v, d.handle, `NAME${n - 1}`), `Name${n - 1}`);
      assert.equal(await found(v, d.handle, 'LATE'), 'Late');
      await v.close();
    });
  });
}
