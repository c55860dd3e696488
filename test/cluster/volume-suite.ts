/**
 * The core's behaviour suite, written once and run against every metadata engine
 * (volume-memory.test.ts, volume-lmdb.test.ts). Not a test file itself.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExportConfig } from '../../cluster/vfs/exports';
import { defaultExport } from '../../cluster/vfs/exports';
import { Errc } from '../../cluster/vfs/errors';
import { AccessBits, CreateMode, FileType, Stable, type Cred, type Handle } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { xattrKey } from '../../cluster/meta/records';
import { ALICE, b, BOB, CAROL, rejectsWith, rng, ROOT } from './helpers';

export const CHUNK = 64 * 1024;

export interface VolumeFactory {
  (opts?: { exports?: ExportConfig[]; chunkSize?: number }): Promise<Volume>;
}

/** A fresh volume with a world-writable /t owned by ALICE's group, as a playground. */
async function setup(make: VolumeFactory, exps?: ExportConfig[]) {
  const v = await make(exps ? { exports: exps, chunkSize: CHUNK } : { chunkSize: CHUNK });
  const root = await v.rootHandle(1);
  return { v, root };
}

async function mkfile(v: Volume, cred: Cred, dir: Handle, name: string, mode = 0o644) {
  return v.create(cred, dir, b(name), { mode: CreateMode.GUARDED, attrs: { mode } });
}

export function volumeSuite(engine: string, make: VolumeFactory): void {
  describe(`volume on ${engine}: namespace`, () => {
    test('create: attributes, owner, and the parent changes in the same step', async () => {
      const { v, root } = await setup(make);
      const before = await v.getattr(ROOT, root);
      const r = await mkfile(v, ROOT, root, 'f', 0o640);
      assert.equal(r.attr.type, FileType.REG);
      assert.equal(r.attr.mode, 0o640);
      assert.equal(r.attr.nlink, 1);
      assert.equal(r.attr.size, 0n);
      assert.equal(r.dir.before!.mtime, before.mtime);
      assert.ok(r.dir.after!.mtime > before.mtime && r.dir.after!.ctime > before.ctime);
      assert.ok(r.dir.after!.change > before.change);
      const l = await v.lookup(ROOT, root, b('f'));
      assert.deepEqual(l.handle, r.handle);
      assert.equal(l.attr.fileId, r.attr.fileId);
      await rejectsWith(mkfile(v, ROOT, root, 'f'), Errc.EXIST);
      await v.close();
    });

    test('mkdir, ".", "..", nlink of parent and child; ".." at the export root is the root', async () => {
      const { v, root } = await setup(make);
      const r0 = await v.getattr(ROOT, root);
      const d = await v.mkdir(ROOT, root, b('d'), { mode: 0o755 });
      assert.equal(d.attr.type, FileType.DIR);
      assert.equal(d.attr.nlink, 2);
      assert.equal(d.dir.after!.nlink, r0.nlink + 1);
      const sub = await v.mkdir(ROOT, d.handle, b('sub'), {});
      assert.equal((await v.getattr(ROOT, d.handle)).nlink, 3);
      assert.deepEqual((await v.lookup(ROOT, sub.handle, b('..'))).handle, d.handle);
      assert.deepEqual((await v.lookup(ROOT, d.handle, b('.'))).handle, d.handle);
      assert.deepEqual((await v.lookup(ROOT, root, b('..'))).handle, root);
      await v.close();
    });

    test('symlink, readlink, mknod', async () => {
      const { v, root } = await setup(make);
      const s = await v.symlink(ROOT, root, b('ln'), b('../target/x'), {});
      assert.equal(s.attr.type, FileType.LNK);
      assert.equal(s.attr.size, 11n);
      assert.equal((await v.readlink(ROOT, s.handle)).target.toString(), '../target/x');
      const f = await mkfile(v, ROOT, root, 'reg');
      await rejectsWith(v.readlink(ROOT, f.handle), Errc.BADTYPE);
      const fifo = await v.mknod(ROOT, root, b('fifo'), FileType.FIFO, { mode: 0o600 });
      assert.equal(fifo.attr.type, FileType.FIFO);
      const chr = await v.mknod(ROOT, root, b('null'), FileType.CHR, {}, { major: 1, minor: 3 });
      assert.deepEqual(chr.attr.rdev, { major: 1, minor: 3 });
      await rejectsWith(v.mknod(ROOT, root, b('x'), FileType.REG, {}), Errc.BADTYPE);
      await rejectsWith(v.symlink(ROOT, root, b('big'), Buffer.alloc(5000, 0x61), {}), Errc.NAMETOOLONG);
      await v.close();
    });

    test('link and unlink keep nlink and ctime right; the last unlink frees inode and chunks', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'a');
      await v.write(ROOT, f.handle, 0n, Buffer.alloc(3 * CHUNK, 1), Stable.UNSTABLE);
      const d = await v.mkdir(ROOT, root, b('d'), {});
      const l = await v.link(ROOT, f.handle, d.handle, b('a2'));
      assert.equal(l.attr.nlink, 2);
      assert.ok(l.attr.ctime > f.attr.ctime);
      await rejectsWith(v.link(ROOT, d.handle, root, b('dirlink')), Errc.PERM);
      await rejectsWith(v.link(ROOT, f.handle, d.handle, b('a2')), Errc.EXIST);
      await v.remove(ROOT, root, b('a'));
      assert.equal((await v.getattr(ROOT, f.handle)).nlink, 1);
      assert.equal((await v.lookup(ROOT, d.handle, b('a2'))).attr.fileId, f.attr.fileId);
      const fileId = f.attr.fileId;
      assert.ok(await v.brick.stat({ fileId, chunk: 2 }));
      await v.remove(ROOT, d.handle, b('a2'));
      await rejectsWith(v.getattr(ROOT, f.handle), Errc.STALE);
      await rejectsWith(v.read(ROOT, f.handle, 0n, 10), Errc.STALE);
      await v.settle();
      for (let c = 0; c < 3; c++) assert.equal(await v.brick.stat({ fileId, chunk: c }), undefined);
      await rejectsWith(v.remove(ROOT, root, b('a')), Errc.NOENT);
      await v.close();
    });

    test('remove vs rmdir: type errors, emptiness, parent nlink', async () => {
      const { v, root } = await setup(make);
      const d = await v.mkdir(ROOT, root, b('d'), {});
      await mkfile(v, ROOT, d.handle, 'f');
      const n0 = (await v.getattr(ROOT, root)).nlink;
      await rejectsWith(v.remove(ROOT, root, b('d')), Errc.ISDIR);
      await rejectsWith(v.rmdir(ROOT, d.handle, b('f')), Errc.NOTDIR);
      await rejectsWith(v.rmdir(ROOT, root, b('d')), Errc.NOTEMPTY);
      await rejectsWith(v.rmdir(ROOT, root, b('.')), Errc.INVAL);
      await rejectsWith(v.rmdir(ROOT, root, b('..')), Errc.NOTEMPTY);
      await rejectsWith(v.remove(ROOT, root, b('.')), Errc.INVAL);
      await v.remove(ROOT, d.handle, b('f'));
      const w = await v.rmdir(ROOT, root, b('d'));
      assert.equal(w.after!.nlink, n0 - 1);
      await rejectsWith(v.getattr(ROOT, d.handle), Errc.STALE);
      await v.close();
    });

    test('name rules at the core', async () => {
      const { v, root } = await setup(make);
      await rejectsWith(mkfile(v, ROOT, root, ''), Errc.INVAL);
      await rejectsWith(mkfile(v, ROOT, root, 'a/b'), Errc.INVAL);
      await rejectsWith(v.create(ROOT, root, Buffer.from('a\0b'), { mode: CreateMode.GUARDED }), Errc.INVAL);
      await rejectsWith(mkfile(v, ROOT, root, 'x'.repeat(256)), Errc.NAMETOOLONG);
      await mkfile(v, ROOT, root, 'x'.repeat(255));
      await rejectsWith(mkfile(v, ROOT, root, '.'), Errc.EXIST);
      await rejectsWith(v.mkdir(ROOT, root, b('..'), {}), Errc.EXIST);
      await rejectsWith(v.lookup(ROOT, root, b('nope')), Errc.NOENT);
      await rejectsWith(v.lookup(ROOT, root, b('x'.repeat(256))), Errc.NAMETOOLONG);
      const f = await mkfile(v, ROOT, root, 'file');
      await rejectsWith(v.lookup(ROOT, f.handle, b('x')), Errc.NOTDIR);
      await rejectsWith(mkfile(v, ROOT, f.handle, 'x'), Errc.NOTDIR);
      await v.close();
    });

    test('create modes: UNCHECKED truncates an existing file, GUARDED refuses, EXCLUSIVE retransmission', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'u');
      await v.write(ROOT, f.handle, 0n, Buffer.from('data'), Stable.UNSTABLE);
      const u = await v.create(ROOT, root, b('u'), { mode: CreateMode.UNCHECKED, attrs: { size: 0n } });
      assert.deepEqual(u.handle, f.handle);
      assert.equal(u.attr.size, 0n);
      const u2 = await v.create(ROOT, root, b('u'), { mode: CreateMode.UNCHECKED });
      assert.deepEqual(u2.handle, f.handle);
      await v.mkdir(ROOT, root, b('dir'), {});
      await rejectsWith(v.create(ROOT, root, b('dir'), { mode: CreateMode.UNCHECKED }), Errc.EXIST);
      await rejectsWith(v.create(ROOT, root, b('u'), { mode: CreateMode.GUARDED }), Errc.EXIST);

      const verf = Buffer.from('12345678');
      const e1 = await v.create(ROOT, root, b('ex'), { mode: CreateMode.EXCLUSIVE, verifier: verf });
      const e2 = await v.create(ROOT, root, b('ex'), { mode: CreateMode.EXCLUSIVE, verifier: Buffer.from(verf) });
      assert.deepEqual(e2.handle, e1.handle, 'a retransmission gets the same file');
      await rejectsWith(v.create(ROOT, root, b('ex'), { mode: CreateMode.EXCLUSIVE, verifier: Buffer.from('87654321') }), Errc.EXIST);
      await v.setattr(ROOT, e1.handle, { mode: 0o600 });
      await rejectsWith(v.create(ROOT, root, b('ex'), { mode: CreateMode.EXCLUSIVE, verifier: verf }), Errc.EXIST, 'verifier cleared by setattr');
      await rejectsWith(v.create(ROOT, root, b('u'), { mode: CreateMode.EXCLUSIVE, verifier: verf }), Errc.EXIST);
      await rejectsWith(v.create(ROOT, root, b('bad'), { mode: CreateMode.EXCLUSIVE }), Errc.INVAL);
      await v.close();
    });

    test('setattr: guard, times, size; NOT_SYNC on a stale guard', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'f');
      await rejectsWith(v.setattr(ROOT, f.handle, { mode: 0o600 }, f.attr.ctime - 1n), Errc.NOT_SYNC);
      const s = await v.setattr(ROOT, f.handle, { mode: 0o600, atime: 5n, mtime: 7_000_000_000n }, f.attr.ctime);
      assert.equal(s.before.ctime, f.attr.ctime);
      assert.equal(s.after.mode, 0o600);
      assert.equal(s.after.atime, 5n);
      assert.equal(s.after.mtime, 7_000_000_000n);
      assert.ok(s.after.ctime > f.attr.ctime && s.after.change > f.attr.change);
      const d = await v.mkdir(ROOT, root, b('d'), {});
      await rejectsWith(v.setattr(ROOT, d.handle, { size: 0n }), Errc.ISDIR);
      await rejectsWith(v.setattr(ROOT, f.handle, { mode: 0o170000 }), Errc.INVAL);
      await v.close();
    });

    test('concurrent creates in one directory all land, counts consistent', async () => {
      const { v, root } = await setup(make);
      const d = await v.mkdir(ROOT, root, b('hot'), {});
      await Promise.all(Array.from({ length: 200 }, (_, i) => mkfile(v, ROOT, d.handle, `f${i}`)));
      await Promise.all(Array.from({ length: 20 }, (_, i) => v.mkdir(ROOT, d.handle, b(`d${i}`), {})));
      const list = await v.readdir(ROOT, d.handle, 0n, undefined, 1000, false);
      assert.equal(list.entries.length, 220);
      assert.ok(list.eof);
      assert.equal(list.dirAttr.nlink, 22);
      await Promise.all(Array.from({ length: 100 }, (_, i) => v.remove(ROOT, d.handle, b(`f${i * 2}`))));
      assert.equal((await v.readdir(ROOT, d.handle, 0n, undefined, 1000, false)).entries.length, 120);
      await v.close();
    });
  });

  describe(`volume on ${engine}: rename`, () => {
    test('same name is a no-op; plain rename moves the entry', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'a');
      const r0 = await v.getattr(ROOT, root);
      const same = await v.rename(ROOT, root, b('a'), root, b('a'));
      assert.equal(same.toDir.after!.change, r0.change);
      await rejectsWith(v.rename(ROOT, root, b('missing'), root, b('x')), Errc.NOENT);
      const r = await v.rename(ROOT, root, b('a'), root, b('b'));
      assert.ok(r.fromDir.after!.mtime > r0.mtime);
      await rejectsWith(v.lookup(ROOT, root, b('a')), Errc.NOENT);
      assert.deepEqual((await v.lookup(ROOT, root, b('b'))).handle, f.handle);
      assert.ok((await v.getattr(ROOT, f.handle)).ctime > f.attr.ctime);
      await v.close();
    });

    test('across directories: both parents change; directory nlinks move with a directory', async () => {
      const { v, root } = await setup(make);
      const d1 = await v.mkdir(ROOT, root, b('d1'), {});
      const d2 = await v.mkdir(ROOT, root, b('d2'), {});
      await mkfile(v, ROOT, d1.handle, 'f');
      const sub = await v.mkdir(ROOT, d1.handle, b('sub'), {});
      const a1 = await v.getattr(ROOT, d1.handle);
      const a2 = await v.getattr(ROOT, d2.handle);
      const r = await v.rename(ROOT, d1.handle, b('f'), d2.handle, b('g'));
      assert.ok(r.fromDir.after!.mtime > a1.mtime && r.toDir.after!.mtime > a2.mtime);
      await v.rename(ROOT, d1.handle, b('sub'), d2.handle, b('sub'));
      assert.equal((await v.getattr(ROOT, d1.handle)).nlink, 2);
      assert.equal((await v.getattr(ROOT, d2.handle)).nlink, 3);
      assert.deepEqual((await v.lookup(ROOT, sub.handle, b('..'))).handle, d2.handle);
      await v.close();
    });

    test('replacing targets: file over file, dir over empty dir; type mismatches and non-empty', async () => {
      const { v, root } = await setup(make);
      const a = await mkfile(v, ROOT, root, 'a');
      const t = await mkfile(v, ROOT, root, 't');
      await v.write(ROOT, t.handle, 0n, Buffer.from('old'), Stable.UNSTABLE);
      await v.rename(ROOT, root, b('a'), root, b('t'));
      await rejectsWith(v.getattr(ROOT, t.handle), Errc.STALE);
      assert.deepEqual((await v.lookup(ROOT, root, b('t'))).handle, a.handle);
      await v.settle();
      assert.equal(await v.brick.stat({ fileId: t.attr.fileId, chunk: 0 }), undefined);

      const d = await v.mkdir(ROOT, root, b('d'), {});
      const e = await v.mkdir(ROOT, root, b('e'), {});
      const full = await v.mkdir(ROOT, root, b('full'), {});
      await mkfile(v, ROOT, full.handle, 'x');
      const n0 = (await v.getattr(ROOT, root)).nlink;
      await rejectsWith(v.rename(ROOT, root, b('d'), root, b('t')), Errc.NOTDIR);
      await rejectsWith(v.rename(ROOT, root, b('t'), root, b('d')), Errc.ISDIR);
      await rejectsWith(v.rename(ROOT, root, b('d'), root, b('full')), Errc.NOTEMPTY);
      await v.rename(ROOT, root, b('d'), root, b('e'));
      await rejectsWith(v.getattr(ROOT, e.handle), Errc.STALE);
      assert.deepEqual((await v.lookup(ROOT, root, b('e'))).handle, d.handle);
      assert.equal((await v.getattr(ROOT, root)).nlink, n0 - 1);
      await v.close();
    });

    test('a directory cannot move into its own subtree', async () => {
      const { v, root } = await setup(make);
      const a = await v.mkdir(ROOT, root, b('a'), {});
      const bb = await v.mkdir(ROOT, a.handle, b('b'), {});
      const c = await v.mkdir(ROOT, bb.handle, b('c'), {});
      await rejectsWith(v.rename(ROOT, root, b('a'), c.handle, b('a')), Errc.INVAL);
      await rejectsWith(v.rename(ROOT, root, b('a'), a.handle, b('x')), Errc.INVAL);
      await rejectsWith(v.rename(ROOT, root, b('.'), root, b('x')), Errc.INVAL);
      await v.rename(ROOT, bb.handle, b('c'), root, b('c'));
      await v.close();
    });

    test('two names of one inode: rename is a no-op that keeps both', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'x');
      await v.link(ROOT, f.handle, root, b('y'));
      await v.rename(ROOT, root, b('x'), root, b('y'));
      assert.equal((await v.lookup(ROOT, root, b('x'))).attr.nlink, 2);
      assert.equal((await v.lookup(ROOT, root, b('y'))).attr.fileId, f.attr.fileId);
      await v.close();
    });

    test('subdirectory exports: root handle, ".." stays inside, renames and links across exports are XDEV', async () => {
      const e1 = defaultExport('all', 1);
      const e2 = { ...defaultExport('sub', 2), path: '/s/inner' };
      const { v, root } = await setup(make, [e1, e2]);
      await rejectsWith(v.rootHandle(2), Errc.NOENT);
      const s = await v.mkdir(ROOT, root, b('s'), {});
      const inner = await v.mkdir(ROOT, s.handle, b('inner'), {});
      const r2 = await v.rootHandle(2);
      assert.equal((await v.getattr(ROOT, r2)).fileId, inner.attr.fileId);
      assert.notDeepEqual(r2, inner.handle, 'handles are bound to their export');
      assert.deepEqual((await v.lookup(ROOT, r2, b('..'))).handle, r2);
      const f = await mkfile(v, ROOT, r2, 'f');
      await rejectsWith(v.rename(ROOT, r2, b('f'), root, b('f')), Errc.XDEV);
      await rejectsWith(v.link(ROOT, f.handle, root, b('f')), Errc.XDEV);
      await rejectsWith(v.rootHandle(9), Errc.NOENT);
      await v.close();
    });
  });

  describe(`volume on ${engine}: readdir`, () => {
    test('10,000 entries list in pages with stable cookies, each exactly once', async () => {
      const { v, root } = await setup(make);
      const d = await v.mkdir(ROOT, root, b('big'), {});
      const N = 10_000;
      for (let i = 0; i < N; i += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, j) => mkfile(v, ROOT, d.handle, `file-${i + j}`)));
      }
      const seen = new Set<string>();
      let cookie = 0n;
      let verf: Buffer | undefined;
      let pages = 0;
      let last = 0n;
      for (;;) {
        const r = await v.readdir(ROOT, d.handle, cookie, verf, 700, false);
        pages++;
        for (const e of r.entries) {
          assert.ok(!seen.has(e.name.toString()), 'no repeats');
          seen.add(e.name.toString());
          assert.ok(e.cookie > last, 'cookies increase');
          last = e.cookie;
          assert.equal(e.type, FileType.REG);
        }
        verf = r.verifier;
        if (r.eof) break;
        cookie = r.entries[r.entries.length - 1]!.cookie;
      }
      assert.equal(seen.size, N);
      assert.equal(pages, Math.ceil(N / 700));
      await v.close();
    });

    test('listing again after a change shows exactly the change (directory rows are memoized per version)', async () => {
      const { v, root } = await setup(make);
      const d = await v.mkdir(ROOT, root, b('again'), {});
      const other = await v.mkdir(ROOT, root, b('other'), {});
      for (let i = 0; i < 300; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => mkfile(v, ROOT, d.handle, `a${i + j}`)));
      const list = async (): Promise<Map<string, bigint>> => {
        const out = new Map<string, bigint>();
        let cookie = 0n;
        let verf: Buffer | undefined;
        for (;;) {
          const r = await v.readdir(ROOT, d.handle, cookie, verf, 37, true);
          for (const e of r.entries) {
            assert.ok(!out.has(e.name.toString()), `repeat ${e.name}`);
            out.set(e.name.toString(), e.attr!.size);
          }
          verf = r.verifier;
          if (r.eof) return out;
          cookie = r.entries[r.entries.length - 1]!.cookie;
        }
      };
      const expected = new Set(Array.from({ length: 300 }, (_, i) => `a${i}`));
      assert.deepEqual(new Set((await list()).keys()), expected);
      assert.deepEqual(new Set((await list()).keys()), expected);
      // Entries change: removed, created, renamed in from another directory and out to it.
      for (let i = 0; i < 300; i += 31) {
        await v.remove(ROOT, d.handle, b(`a${i}`));
        expected.delete(`a${i}`);
      }
      await mkfile(v, ROOT, d.handle, 'fresh');
      expected.add('fresh');
      await mkfile(v, ROOT, other.handle, 'mover');
      await v.rename(ROOT, other.handle, b('mover'), d.handle, b('moved-in'));
      expected.add('moved-in');
      await v.rename(ROOT, d.handle, b('a1'), other.handle, b('a1'));
      expected.delete('a1');
      assert.deepEqual(new Set((await list()).keys()), expected);
      // Only a file's data changes (the directory does not): the listing's attributes are current.
      const f = await v.lookup(ROOT, d.handle, b('a2'));
      await v.write(ROOT, f.handle, 0n, Buffer.alloc(1234, 1), Stable.UNSTABLE);
      assert.equal((await list()).get('a2'), 1234n);
      // A listing that began before a change and goes on after it: survivors once, removed names never.
      const p1 = await v.readdir(ROOT, d.handle, 0n, undefined, 50, false);
      await v.remove(ROOT, d.handle, b('a299'));
      const rest = new Set<string>(p1.entries.map((e) => e.name.toString()));
      let cookie = p1.entries[p1.entries.length - 1]!.cookie;
      for (;;) {
        const r = await v.readdir(ROOT, d.handle, cookie, p1.verifier, 50, false);
        for (const e of r.entries) {
          assert.ok(!rest.has(e.name.toString()));
          rest.add(e.name.toString());
        }
        if (r.eof) break;
        cookie = r.entries[r.entries.length - 1]!.cookie;
      }
      expected.delete('a299');
      assert.deepEqual(rest, expected);
      await v.close();
    });

    test('creates and deletes between pages: no repeats, no skipped survivors', async () => {
      const { v, root } = await setup(make);
      const d = await v.mkdir(ROOT, root, b('churn'), {});
      const N = 1500;
      for (let i = 0; i < N; i += 250) await Promise.all(Array.from({ length: 250 }, (_, j) => mkfile(v, ROOT, d.handle, `n${i + j}`)));
      const alive = new Set(Array.from({ length: N }, (_, i) => `n${i}`));
      const deleted = new Set<string>();
      const rand = rng(42);
      const seen = new Set<string>();
      let cookie = 0n;
      let verf: Buffer | undefined;
      let created = 0;
      for (;;) {
        const r = await v.readdir(ROOT, d.handle, cookie, verf, 97, true);
        for (const e of r.entries) {
          const name = e.name.toString();
          assert.ok(!seen.has(name), `repeat ${name}`);
          assert.ok(!deleted.has(name), `deleted entry ${name} listed`);
          seen.add(name);
          assert.ok(e.handle && e.attr);
          assert.equal(e.attr.fileId, e.fileId);
        }
        verf = r.verifier;
        if (r.eof) break;
        cookie = r.entries[r.entries.length - 1]!.cookie;
        // Churn: delete a few random names (seen or not), create a few new ones.
        const names = [...alive];
        const ops: Array<Promise<unknown>> = [];
        for (let k = 0; k < 10; k++) {
          const victim = names[Math.floor(rand() * names.length)]!;
          if (!alive.delete(victim)) continue;
          deleted.add(victim);
          ops.push(v.remove(ROOT, d.handle, b(victim)));
        }
        for (let k = 0; k < 5; k++) ops.push(mkfile(v, ROOT, d.handle, `new${created++}`));
        await Promise.all(ops);
      }
      for (const name of alive) assert.ok(seen.has(name), `survivor ${name} skipped`);
      await v.close();
    });

    test('verifier and cookie checks; the core emits no "." or ".."', async () => {
      const { v, root } = await setup(make);
      const d = await v.mkdir(ROOT, root, b('d'), {});
      for (let i = 0; i < 5; i++) await mkfile(v, ROOT, d.handle, `e${i}`);
      const p1 = await v.readdir(ROOT, d.handle, 0n, undefined, 2, false);
      assert.equal(p1.entries.length, 2);
      assert.ok(!p1.eof);
      assert.ok(p1.entries.every((e) => e.name.toString() !== '.' && e.name.toString() !== '..'));
      assert.ok(p1.entries[0]!.cookie >= 3n, 'cookies 1 and 2 are left to frontends');
      const c = p1.entries[1]!.cookie;
      await rejectsWith(v.readdir(ROOT, d.handle, c, Buffer.alloc(8), 2, false), Errc.BAD_COOKIE);
      await rejectsWith(v.readdir(ROOT, d.handle, c, undefined, 2, false), Errc.BAD_COOKIE);
      await rejectsWith(v.readdir(ROOT, d.handle, 1n << 40n, p1.verifier, 2, false), Errc.BAD_COOKIE);
      const p2 = await v.readdir(ROOT, d.handle, c, p1.verifier, 10, false);
      assert.equal(p2.entries.length, 3);
      assert.ok(p2.eof);
      const again = await v.readdir(ROOT, d.handle, 0n, Buffer.alloc(8, 9), 10, false);
      assert.equal(again.entries.length, 5);
      await rejectsWith(v.readdir(ROOT, d.handle, 0n, undefined, 0, false), Errc.TOOSMALL);
      const f = await mkfile(v, ROOT, root, 'plain');
      await rejectsWith(v.readdir(ROOT, f.handle, 0n, undefined, 10, false), Errc.NOTDIR);
      await v.close();
    });
  });

  describe(`volume on ${engine}: handles`, () => {
    test('forged and malformed handles are BADHANDLE; deleted inodes and unknown exports are STALE', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'f');
      const forged = Buffer.from(f.handle);
      forged.writeBigUInt64BE(f.attr.fileId + 1n, 8);
      await rejectsWith(v.getattr(ROOT, forged), Errc.BADHANDLE);
      const badMac = Buffer.from(f.handle);
      badMac[27]! ^= 1;
      await rejectsWith(v.getattr(ROOT, badMac), Errc.BADHANDLE);
      await rejectsWith(v.getattr(ROOT, f.handle.subarray(0, 20)), Errc.BADHANDLE);
      await rejectsWith(v.getattr(ROOT, Buffer.alloc(28)), Errc.BADHANDLE);
      await v.remove(ROOT, root, b('f'));
      await rejectsWith(v.getattr(ROOT, f.handle), Errc.STALE);
      await rejectsWith(v.write(ROOT, f.handle, 0n, Buffer.from('x'), Stable.UNSTABLE), Errc.STALE);
      await v.close();
    });

    test('handles are fixed size and unique per inode', async () => {
      const { v, root } = await setup(make);
      const a = await mkfile(v, ROOT, root, 'a');
      const c = await mkfile(v, ROOT, root, 'c');
      assert.equal(a.handle.length, 28);
      assert.notDeepEqual(a.handle, c.handle);
      assert.notEqual(a.attr.fileId, c.attr.fileId);
      await v.close();
    });
  });

  describe(`volume on ${engine}: data`, () => {
    test('unaligned writes across chunk boundaries read back like a reference buffer', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'data');
      const SIZE = 5 * CHUNK + 777;
      const ref = Buffer.alloc(SIZE);
      let len = 0;
      const rand = rng(7);
      for (let i = 0; i < 120; i++) {
        const off = Math.floor(rand() * (SIZE - 1));
        const n = 1 + Math.floor(rand() * Math.min(SIZE - off, 2 * CHUNK + 3));
        const data = Buffer.alloc(n);
        for (let j = 0; j < n; j++) data[j] = Math.floor(rand() * 256);
        data.copy(ref, off);
        len = Math.max(len, off + n);
        const w = await v.write(ROOT, f.handle, BigInt(off), data, i % 3 === 0 ? Stable.FILE_SYNC : Stable.UNSTABLE);
        assert.equal(w.count, n);
        assert.equal(w.after.size, BigInt(len));
      }
      for (let i = 0; i < 60; i++) {
        const off = Math.floor(rand() * len);
        const n = 1 + Math.floor(rand() * 3 * CHUNK);
        const r = await v.read(ROOT, f.handle, BigInt(off), n);
        const want = ref.subarray(off, Math.min(len, off + n));
        assert.ok(r.data.equals(want), `read ${off}+${n}`);
        assert.equal(r.eof, off + n >= len);
      }
      const all = await v.read(ROOT, f.handle, 0n, len + 10);
      assert.ok(all.data.equals(ref.subarray(0, len)));
      assert.ok(all.eof);
      const past = await v.read(ROOT, f.handle, BigInt(len + 100), 10);
      assert.equal(past.data.length, 0);
      assert.ok(past.eof);
      await v.close();
    });

    test('holes read as zeros and cost nothing; truncate down drops chunks, up leaves a hole', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'sparse');
      const id = f.attr.fileId;
      await v.write(ROOT, f.handle, BigInt(10 * CHUNK + 5), Buffer.from('tail'), Stable.UNSTABLE);
      assert.equal((await v.getattr(ROOT, f.handle)).size, BigInt(10 * CHUNK + 9));
      assert.equal(await v.brick.stat({ fileId: id, chunk: 3 }), undefined, 'no object for a hole');
      const hole = await v.read(ROOT, f.handle, BigInt(3 * CHUNK), 100);
      assert.deepEqual(hole.data, Buffer.alloc(100));

      await v.write(ROOT, f.handle, 0n, Buffer.alloc(2 * CHUNK + 100, 0xab), Stable.UNSTABLE);
      await v.setattr(ROOT, f.handle, { size: BigInt(CHUNK + 10) });
      assert.equal(await v.brick.stat({ fileId: id, chunk: 10 }), undefined);
      assert.equal(await v.brick.stat({ fileId: id, chunk: 2 }), undefined);
      assert.deepEqual(await v.brick.stat({ fileId: id, chunk: 1 }), { size: 10 });
      await v.setattr(ROOT, f.handle, { size: BigInt(3 * CHUNK) });
      const r = await v.read(ROOT, f.handle, BigInt(CHUNK), 2 * CHUNK);
      assert.equal(r.data.length, 2 * CHUNK);
      assert.deepEqual(r.data.subarray(0, 10), Buffer.alloc(10, 0xab));
      assert.ok(r.data.subarray(10).equals(Buffer.alloc(2 * CHUNK - 10)), 'old bytes beyond the cut are gone');
      await v.setattr(ROOT, f.handle, { size: 0n });
      assert.equal(await v.brick.stat({ fileId: id, chunk: 0 }), undefined);
      assert.equal((await v.read(ROOT, f.handle, 0n, 10)).data.length, 0);
      await v.close();
    });

    test('a burst of removes frees every object and leaves no trim records behind', async () => {
      const { v, root } = await setup(make);
      const files = await Promise.all(Array.from({ length: 40 }, (_, i) => mkfile(v, ROOT, root, `g${i}`)));
      await Promise.all(
        files.map((f, i) => v.write(ROOT, f.handle, 0n, Buffer.alloc(i % 3 === 0 ? 2 * CHUNK + 7 : 100, i), Stable.UNSTABLE)),
      );
      await Promise.all(files.map((f) => v.commit(ROOT, f.handle, 0n, 0)));
      await Promise.all(files.map((_, i) => v.remove(ROOT, root, b(`g${i}`))));
      await v.settle();
      assert.deepEqual(await v.ns.pendingGc(), []);
      for (const f of files) for (let c = 0; c < 3; c++) assert.equal(await v.brick.stat({ fileId: f.attr.fileId, chunk: c }), undefined);
      for (const f of files) await rejectsWith(v.getattr(ROOT, f.handle), Errc.STALE);
      await v.close();
    });

    test('attributes handed out for reads are shared and frozen; later changes give new ones', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'frozen');
      const a1 = await v.getattr(ROOT, f.handle);
      assert.throws(() => {
        (a1 as { size: bigint }).size = 5n;
      }, TypeError);
      await v.write(ROOT, f.handle, 0n, Buffer.from('abc'), Stable.UNSTABLE);
      const a2 = await v.getattr(ROOT, f.handle);
      assert.equal(a1.size, 0n);
      assert.equal(a2.size, 3n);
      const page = await v.readdir(ROOT, root, 0n, undefined, 10, true);
      const e = page.entries.find((x) => x.name.toString() === 'frozen')!;
      assert.equal(e.attr!.size, 3n);
      assert.deepEqual(e.handle, f.handle);
      await v.close();
    });

    test('write limits and types: FBIG, ISDIR, zero-length writes; verifier and commit', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'f');
      await rejectsWith(v.write(ROOT, f.handle, (1n << 63n) - 2n, Buffer.from('abc'), Stable.UNSTABLE), Errc.FBIG);
      await rejectsWith(v.setattr(ROOT, f.handle, { size: 1n << 63n }), Errc.FBIG);
      await rejectsWith(v.write(ROOT, root, 0n, Buffer.from('x'), Stable.UNSTABLE), Errc.ISDIR);
      await rejectsWith(v.read(ROOT, root, 0n, 1), Errc.ISDIR);
      const z = await v.write(ROOT, f.handle, 1000n, Buffer.alloc(0), Stable.UNSTABLE);
      assert.equal(z.after.size, 0n, 'an empty write does not extend');
      const w = await v.write(ROOT, f.handle, 0n, Buffer.from('abc'), Stable.UNSTABLE);
      assert.equal(w.committed, Stable.UNSTABLE);
      assert.equal(w.verifier.length, 8);
      assert.deepEqual(w.verifier, v.writeVerifier());
      const c = await v.commit(ROOT, f.handle, 0n, 0);
      assert.deepEqual(c.verifier, w.verifier);
      assert.equal(c.after.size, 3n);
      const s = await v.write(ROOT, f.handle, 3n, Buffer.from('d'), Stable.DATA_SYNC);
      assert.equal(s.committed, Stable.FILE_SYNC);
      const big = await v.write(ROOT, f.handle, 0n, Buffer.alloc(v.limits.maxWrite + 10), Stable.UNSTABLE);
      assert.equal(big.count, v.limits.maxWrite);
      await v.close();
    });

    test('parallel writes to one file: each gets its own before/after, change counts every write', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'par');
      const N = 64;
      const res = await Promise.all(Array.from({ length: N }, (_, i) => v.write(ROOT, f.handle, BigInt(i * 4096), Buffer.alloc(4096, i), Stable.UNSTABLE)));
      const a = await v.getattr(ROOT, f.handle);
      assert.equal(a.size, BigInt(N * 4096));
      assert.equal(a.change, f.attr.change + BigInt(N));
      for (const r of res) assert.ok(r.after.change > f.attr.change && r.after.size >= r.before.size);
      const changes = new Set(res.map((r) => r.after.change));
      assert.equal(changes.size, N);
      const data = await v.read(ROOT, f.handle, 0n, N * 4096);
      for (let i = 0; i < N; i++) assert.equal(data.data[i * 4096 + 100], i & 0xff);
      await v.close();
    });

    test('statfs reports real capacity', async () => {
      const { v, root } = await setup(make);
      const s = await v.statfs(ROOT, root);
      assert.ok(s.stat.totalBytes > 0n && s.stat.freeBytes <= s.stat.totalBytes && s.stat.availBytes <= s.stat.freeBytes);
      assert.ok(s.stat.totalFiles > 0n);
      assert.equal(s.attr.type, FileType.DIR);
      await v.close();
    });
  });

  describe(`volume on ${engine}: permissions`, () => {
    async function playground(make2: VolumeFactory) {
      const { v, root } = await setup(make2);
      const home = await v.mkdir(ROOT, root, b('home'), { mode: 0o755, uid: ALICE.uid, gid: ALICE.gid });
      return { v, root, home: home.handle };
    }

    test('mode bits: non-owner cannot write a 0644 file; others cannot read 0600; group via supplementary groups', async () => {
      const { v, home } = await playground(make);
      const f = await mkfile(v, ALICE, home, 'f', 0o644);
      await v.write(ALICE, f.handle, 0n, Buffer.from('x'), Stable.UNSTABLE);
      await rejectsWith(v.write(BOB, f.handle, 0n, Buffer.from('y'), Stable.UNSTABLE), Errc.ACCES);
      await v.read(BOB, f.handle, 0n, 1);
      await rejectsWith(v.setattr(BOB, f.handle, { size: 0n }), Errc.ACCES);
      const p = await mkfile(v, ALICE, home, 'p', 0o640);
      await rejectsWith(v.read(BOB, p.handle, 0n, 1), Errc.ACCES);
      await v.read(CAROL, p.handle, 0n, 1);
      await v.write(ROOT, p.handle, 0n, Buffer.from('root writes anything'), Stable.UNSTABLE);
      await rejectsWith(mkfile(v, BOB, home, 'intruder'), Errc.ACCES);
      await v.setattr(ALICE, home, { mode: 0o744 });
      await rejectsWith(v.lookup(BOB, home, b('f')), Errc.ACCES);
      await v.readdir(BOB, home, 0n, undefined, 10, false);
      await v.setattr(ALICE, home, { mode: 0o711 });
      await rejectsWith(v.readdir(BOB, home, 0n, undefined, 10, false), Errc.ACCES);
      await v.lookup(BOB, home, b('f'));
      await v.close();
    });

    test('the owner writes and truncates a file it created read-only (tar, cp -p); execute-only reads; others are refused', async () => {
      const { v, home } = await playground(make);
      const f = await mkfile(v, ALICE, home, 'ro', 0o444);
      const w = await v.write(ALICE, f.handle, 0n, Buffer.from('payload'), Stable.FILE_SYNC);
      assert.equal(w.count, 7);
      await v.setattr(ALICE, f.handle, { size: 3n });
      assert.equal((await v.getattr(ALICE, f.handle)).size, 3n);
      await rejectsWith(v.write(BOB, f.handle, 0n, Buffer.from('no'), Stable.UNSTABLE), Errc.ACCES);
      await rejectsWith(v.setattr(BOB, f.handle, { size: 0n }), Errc.ACCES);
      const x = await mkfile(v, ALICE, home, 'bin', 0o711);
      await v.write(ALICE, x.handle, 0n, Buffer.from('#!'), Stable.UNSTABLE);
      assert.equal((await v.read(BOB, x.handle, 0n, 2)).data.toString(), '#!', 'a client may read what it may execute');
      const none = await mkfile(v, ALICE, home, 'none', 0o600);
      await rejectsWith(v.read(BOB, none.handle, 0n, 1), Errc.ACCES);
      await v.close();
    });

    test('access() grants what the mode allows; root executes only with an x bit', async () => {
      const { v, home } = await playground(make);
      const f = await mkfile(v, ALICE, home, 'f', 0o644);
      const all = AccessBits.READ | AccessBits.LOOKUP | AccessBits.MODIFY | AccessBits.EXTEND | AccessBits.DELETE | AccessBits.EXECUTE;
      assert.equal((await v.access(ALICE, f.handle, all)).granted, AccessBits.READ | AccessBits.MODIFY | AccessBits.EXTEND);
      assert.equal((await v.access(BOB, f.handle, all)).granted, AccessBits.READ);
      assert.equal((await v.access(ROOT, f.handle, AccessBits.EXECUTE)).granted, 0);
      await v.setattr(ALICE, f.handle, { mode: 0o744 });
      assert.equal((await v.access(ROOT, f.handle, AccessBits.EXECUTE)).granted, AccessBits.EXECUTE);
      assert.equal((await v.access(BOB, home, all)).granted, AccessBits.READ | AccessBits.LOOKUP);
      await v.close();
    });

    test('sticky directory: only the file owner, the directory owner or root remove or rename', async () => {
      const { v, root } = await playground(make);
      const tmp = await v.mkdir(ROOT, root, b('tmp'), { mode: 0o1777 });
      await mkfile(v, ALICE, tmp.handle, 'a1');
      await mkfile(v, ALICE, tmp.handle, 'a2');
      await mkfile(v, ALICE, tmp.handle, 'a3');
      await rejectsWith(v.remove(BOB, tmp.handle, b('a1')), Errc.PERM);
      await rejectsWith(v.rename(BOB, tmp.handle, b('a1'), tmp.handle, b('mine')), Errc.PERM);
      await mkfile(v, BOB, tmp.handle, 'b1');
      await rejectsWith(v.rename(BOB, tmp.handle, b('b1'), tmp.handle, b('a2')), Errc.PERM, 'cannot replace another user\'s file');
      await v.remove(ALICE, tmp.handle, b('a1'));
      await v.remove(ROOT, tmp.handle, b('a2'));
      await v.remove(BOB, tmp.handle, b('b1'));
      const other = await v.mkdir(ROOT, root, b('bobs'), { mode: 0o1777, uid: BOB.uid, gid: BOB.gid });
      await mkfile(v, ALICE, other.handle, 'x');
      await v.remove(BOB, other.handle, b('x'));
      await v.close();
    });

    test('chown, chgrp, chmod and set-id rules', async () => {
      const { v, home } = await playground(make);
      const f = await mkfile(v, ALICE, home, 'f', 0o644);
      await rejectsWith(v.setattr(ALICE, f.handle, { uid: BOB.uid }), Errc.PERM);
      await v.setattr(ALICE, f.handle, { uid: ALICE.uid });
      await rejectsWith(v.setattr(ALICE, f.handle, { gid: 4242 }), Errc.PERM);
      const alice2: Cred = { ...ALICE, groups: [4242] };
      assert.equal((await v.setattr(alice2, f.handle, { gid: 4242 })).after.gid, 4242);
      await rejectsWith(v.setattr(BOB, f.handle, { mode: 0o777 }), Errc.PERM);
      await rejectsWith(v.setattr(BOB, f.handle, { gid: BOB.gid }), Errc.PERM);
      assert.equal((await v.setattr(ROOT, f.handle, { uid: BOB.uid })).after.uid, BOB.uid);
      // Not in the file's group (4242 now): chmod g+s is silently dropped for non-root.
      assert.equal((await v.setattr(BOB, f.handle, { mode: 0o2755 })).after.mode, 0o755);
      assert.equal((await v.setattr(ROOT, f.handle, { mode: 0o6777 })).after.mode, 0o6777);
      const w = await v.write(ALICE, f.handle, 0n, Buffer.from('x'), Stable.UNSTABLE);
      assert.equal(w.after.mode, 0o777, 'a write by a non-root user clears setuid/setgid');
      await v.setattr(ROOT, f.handle, { mode: 0o4755 });
      assert.equal((await v.setattr(ROOT, f.handle, { gid: 0 })).after.mode, 0o755, 'chown clears setuid');
      await v.close();
    });

    test('times: explicit only by owner/root, "now" by anyone with write access', async () => {
      const { v, home } = await playground(make);
      const f = await mkfile(v, ALICE, home, 'f', 0o666);
      await rejectsWith(v.setattr(BOB, f.handle, { mtime: 1n }), Errc.PERM);
      await v.setattr(BOB, f.handle, { mtime: 'server', atime: 'server' });
      await v.setattr(ALICE, f.handle, { mode: 0o644 });
      await rejectsWith(v.setattr(BOB, f.handle, { mtime: 'server' }), Errc.ACCES);
      await v.setattr(ALICE, f.handle, { mtime: 1n });
      await v.close();
    });

    test('a new file in a setgid directory takes the directory\'s group; subdirectories inherit setgid', async () => {
      const { v, root } = await playground(make);
      const shared = await v.mkdir(ROOT, root, b('shared'), { mode: 0o2777, gid: 777 });
      const f = await mkfile(v, ALICE, shared.handle, 'f');
      assert.equal(f.attr.gid, 777);
      const d = await v.mkdir(ALICE, shared.handle, b('d'), { mode: 0o755 });
      assert.equal(d.attr.mode & 0o2000, 0o2000);
      assert.equal(d.attr.gid, 777);
      await v.close();
    });
  });

  describe(`volume on ${engine}: extended attributes`, () => {
    test('set, get, list, replace and remove; create/replace rules; ctime and change move', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'f');
      await rejectsWith(v.getXattr(ROOT, f.handle, b('a')), Errc.NOXATTR);
      assert.deepEqual(await v.listXattrs(ROOT, f.handle), []);
      const set = await v.setXattr(ROOT, f.handle, b('b'), b('two'), 'create');
      assert.equal(set.before.change, f.attr.change);
      assert.ok(set.after.change > f.attr.change && set.after.ctime > f.attr.ctime);
      assert.equal(set.after.mtime, f.attr.mtime, 'mtime is for data');
      await v.setXattr(ROOT, f.handle, b('a'), Buffer.alloc(0), 'either');
      await rejectsWith(v.setXattr(ROOT, f.handle, b('a'), b('x'), 'create'), Errc.EXIST);
      await rejectsWith(v.setXattr(ROOT, f.handle, b('c'), b('x'), 'replace'), Errc.NOXATTR);
      assert.deepEqual(await v.listXattrs(ROOT, f.handle), [b('a'), b('b')]);
      assert.deepEqual(await v.getXattr(ROOT, f.handle, b('a')), Buffer.alloc(0));
      await v.setXattr(ROOT, f.handle, b('b'), b('three'), 'replace');
      assert.deepEqual(await v.getXattr(ROOT, f.handle, b('b')), b('three'));
      await v.setXattr(ROOT, f.handle, b('a'), undefined, 'replace');
      await rejectsWith(v.setXattr(ROOT, f.handle, b('a'), undefined, 'replace'), Errc.NOXATTR);
      assert.deepEqual(await v.listXattrs(ROOT, f.handle), [b('b')]);
      // Directories have them too; a symlink does not.
      const d = await v.mkdir(ROOT, root, b('d'), { mode: 0o755 });
      await v.setXattr(ROOT, d.handle, b('k'), b('v'), 'either');
      assert.deepEqual(await v.getXattr(ROOT, d.handle, b('k')), b('v'));
      const ln = await v.symlink(ROOT, root, b('ln'), b('f'), {});
      await rejectsWith(v.setXattr(ROOT, ln.handle, b('k'), b('v'), 'either'), Errc.PERM);
      assert.deepEqual(await v.listXattrs(ROOT, ln.handle), []);
      await v.close();
    });

    test('limits: name length and NUL, value size, the whole set', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'f');
      await rejectsWith(v.setXattr(ROOT, f.handle, Buffer.alloc(256, 0x61), b('v'), 'either'), Errc.NAMETOOLONG);
      await rejectsWith(v.setXattr(ROOT, f.handle, Buffer.alloc(0), b('v'), 'either'), Errc.INVAL);
      await rejectsWith(v.setXattr(ROOT, f.handle, Buffer.from('a\0b'), b('v'), 'either'), Errc.INVAL);
      await rejectsWith(v.setXattr(ROOT, f.handle, b('big'), Buffer.alloc(65537), 'either'), Errc.XATTR2BIG);
      const max = Buffer.alloc(65536, 7);
      await v.setXattr(ROOT, f.handle, Buffer.alloc(255, 0x61), max, 'either');
      assert.deepEqual(await v.getXattr(ROOT, f.handle, Buffer.alloc(255, 0x61)), max);
      await v.setXattr(ROOT, f.handle, b('second'), Buffer.alloc(60000), 'either');
      // A third large value would take the set past 128 KiB: refused, and nothing of it is kept.
      await rejectsWith(v.setXattr(ROOT, f.handle, b('third'), Buffer.alloc(10000), 'either'), Errc.XATTR2BIG);
      assert.deepEqual(await v.listXattrs(ROOT, f.handle), [Buffer.alloc(255, 0x61), b('second')]);
      await v.close();
    });

    test('permissions: reading needs read permission, changing needs write permission; sticky directories', async () => {
      const { v, root } = await setup(make);
      const t = await v.mkdir(ROOT, root, b('t'), { mode: 0o777 });
      const f = await mkfile(v, ALICE, t.handle, 'f', 0o640);
      await v.setXattr(ALICE, f.handle, b('k'), b('v'), 'either');
      await rejectsWith(v.setXattr(BOB, f.handle, b('k'), b('w'), 'either'), Errc.ACCES);
      await rejectsWith(v.getXattr(BOB, f.handle, b('k')), Errc.ACCES);
      await rejectsWith(v.listXattrs(BOB, f.handle), Errc.ACCES);
      assert.deepEqual(await v.getXattr(CAROL, f.handle, b('k')), b('v'), 'group read');
      await rejectsWith(v.setXattr(CAROL, f.handle, b('k'), undefined, 'replace'), Errc.ACCES);
      const sticky = await v.mkdir(ROOT, root, b('tmp'), { mode: 0o1777 });
      await rejectsWith(v.setXattr(ALICE, sticky.handle, b('k'), b('v'), 'either'), Errc.PERM);
      await v.setXattr(ROOT, sticky.handle, b('k'), b('v'), 'either');
      await v.close();
    });

    test('the record goes with the inode: last unlink, rename over it; a remaining link keeps it', async () => {
      const { v, root } = await setup(make);
      const f = await mkfile(v, ROOT, root, 'f');
      await v.setXattr(ROOT, f.handle, b('k'), b('v'), 'either');
      const id = f.attr.fileId;
      assert.ok(await v.ns.kv.get(xattrKey(id)), 'the X record exists');
      await v.link(ROOT, f.handle, root, b('f2'));
      await v.remove(ROOT, root, b('f'));
      assert.deepEqual(await v.getXattr(ROOT, f.handle, b('k')), b('v'), 'still linked as f2');
      await v.remove(ROOT, root, b('f2'));
      assert.equal(await v.ns.kv.get(xattrKey(id)), undefined, 'freed with the inode');
      const g = await mkfile(v, ROOT, root, 'g');
      await v.setXattr(ROOT, g.handle, b('k'), b('v'), 'either');
      const h = await mkfile(v, ROOT, root, 'h');
      await v.rename(ROOT, root, b('h'), root, b('g'));
      assert.equal(await v.ns.kv.get(xattrKey(g.attr.fileId)), undefined, 'replaced by a rename');
      // Removing the last attribute removes the record too.
      await v.setXattr(ROOT, h.handle, b('k'), b('v'), 'either');
      await v.setXattr(ROOT, h.handle, b('k'), undefined, 'replace');
      assert.equal(await v.ns.kv.get(xattrKey(h.attr.fileId)), undefined);
      await v.close();
    });
  });
}
