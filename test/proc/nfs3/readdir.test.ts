import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Handle } from '../../../cluster/vfs/types';
import { READDIR } from '../../../protocols/nfs3/procs/readdir';
import { READDIRPLUS } from '../../../protocols/nfs3/procs/readdirplus';
import { REMOVE } from '../../../protocols/nfs3/procs/remove';
import { LOOKUP } from '../../../protocols/nfs3/procs/lookup';
import { ftype3, nfsstat3 } from '../../../protocols/nfs3/types';
import { Nfs3Harness } from './harness';

const ZERO = Buffer.alloc(8);
const N = 1050;

/** Names of assorted lengths (1..200 bytes, all paddings), unique. */
function names(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`${i}-${'x'.repeat((i * 37) % 200)}`);
  return out;
}

interface Listed {
  names: string[];
  pages: number;
  maxSize: number;
}

async function listAll(h: Nfs3Harness, dir: Handle, count: number, plus: boolean, dircount = count): Promise<Listed> {
  let cookie = 0n;
  let verf: Buffer = ZERO;
  const out: string[] = [];
  let pages = 0;
  let maxSize = 0;
  for (;;) {
    pages++;
    assert.ok(pages < 100_000, 'listing terminates');
    if (plus) {
      const { res, size } = await h.call(READDIRPLUS, { dir, cookie, cookieverf: verf, dircount, maxcount: count });
      if (res.status !== nfsstat3.NFS3_OK) assert.fail(`READDIRPLUS ${nfsstat3[res.status]}`);
      assert.ok(size <= count, `reply ${size} bytes within maxcount ${count}`);
      maxSize = Math.max(maxSize, size);
      const { entries, eof } = res.resok.reply;
      for (const e of entries) {
        out.push(e.name.toString());
        assert.ok(e.name_attributes, `attributes for ${e.name}`);
        assert.ok(e.name_handle, `handle for ${e.name}`);
        assert.equal(e.name_attributes.fileid, e.fileid);
      }
      verf = res.resok.cookieverf;
      if (eof) break;
      assert.ok(entries.length > 0, 'progress');
      cookie = entries[entries.length - 1]!.cookie;
    } else {
      const { res, size } = await h.call(READDIR, { dir, cookie, cookieverf: verf, count });
      if (res.status !== nfsstat3.NFS3_OK) assert.fail(`READDIR ${nfsstat3[res.status]}`);
      assert.ok(size <= count, `reply ${size} bytes within count ${count}`);
      maxSize = Math.max(maxSize, size);
      const { entries, eof } = res.resok.reply;
      for (const e of entries) out.push(e.name.toString());
      verf = res.resok.cookieverf;
      if (eof) break;
      assert.ok(entries.length > 0, 'progress');
      cookie = entries[entries.length - 1]!.cookie;
    }
  }
  return { names: out, pages, maxSize };
}

function assertExactlyOnce(listed: string[], expected: string[]): void {
  const seen = new Map<string, number>();
  for (const n of listed) seen.set(n, (seen.get(n) ?? 0) + 1);
  for (const [n, c] of seen) assert.equal(c, 1, `${n.slice(0, 20)} listed ${c} times`);
  assert.deepEqual([...seen.keys()].sort(), [...expected, '.', '..'].sort());
}

describe('READDIR / READDIRPLUS over 1,050 entries', () => {
  const h = new Nfs3Harness();
  let dir: Handle;
  const all = names(N);

  before(async () => {
    dir = await h.mkdir(await h.root(), 'big');
    for (const n of all) await h.fs.create({ uid: 1000, gid: 1000, groups: [] }, dir, Buffer.from(n), { mode: 0 });
  });

  for (const count of [512, 1024, 4096, 65536]) {
    it(`READDIR count ${count}: every name exactly once, '.' and '..' once, replies within count`, async () => {
      const l = await listAll(h, dir, count, false);
      assertExactlyOnce(l.names, all);
      assert.deepEqual(l.names.slice(0, 2), ['.', '..']);
      if (count <= 4096) assert.ok(l.pages > 10, `${l.pages} pages`);
      // Pages are filled: at most one max-size entry short of the count.
      if (count >= 4096) assert.ok(l.maxSize > count - 240, `fill ${l.maxSize}/${count}`);
    });
  }

  for (const [maxcount, dircount] of [
    [1024, 1024],
    [4096, 512],
    [32768, 4096],
    [65536, 65536],
  ] as const) {
    it(`READDIRPLUS maxcount ${maxcount} dircount ${dircount}: every name once, encoded size ≤ maxcount`, async () => {
      const l = await listAll(h, dir, maxcount, true, dircount);
      assertExactlyOnce(l.names, all);
    });
  }

  it('TOOSMALL when not even one entry (or the fixed part) fits', async () => {
    for (const count of [0, 50, 108, 130]) {
      const f = await h.fails(READDIR, { dir, cookie: 0n, cookieverf: ZERO, count }, nfsstat3.NFS3ERR_TOOSMALL);
      assert.equal(f.dir_attributes?.type, ftype3.NF3DIR);
    }
    // 136 = fixed 108 + one entry3 for '.' (28).
    const { res, size } = await h.call(READDIR, { dir, cookie: 0n, cookieverf: ZERO, count: 136 });
    assert.equal(res.status, nfsstat3.NFS3_OK);
    assert.equal(size, 136, 'size accounting is exact');
    if (res.status === nfsstat3.NFS3_OK) assert.deepEqual(res.resok.reply.entries.map((e) => e.name.toString()), ['.']);
    await h.fails(READDIRPLUS, { dir, cookie: 0n, cookieverf: ZERO, dircount: 8192, maxcount: 200 }, nfsstat3.NFS3ERR_TOOSMALL);
  });

  it('a zero verifier with a non-zero cookie is accepted; a wrong one is BAD_COOKIE', async () => {
    const first = await h.ok(READDIR, { dir, cookie: 0n, cookieverf: ZERO, count: 1024 });
    const last = first.reply.entries[first.reply.entries.length - 1]!;
    const withVerf = await h.ok(READDIR, { dir, cookie: last.cookie, cookieverf: first.cookieverf, count: 1024 });
    const withZero = await h.ok(READDIR, { dir, cookie: last.cookie, cookieverf: ZERO, count: 1024 });
    assert.deepEqual(withZero.reply.entries, withVerf.reply.entries);
    const bad = Buffer.from(first.cookieverf);
    bad[0] ^= 0xff;
    const f = await h.fails(READDIR, { dir, cookie: last.cookie, cookieverf: bad, count: 1024 }, nfsstat3.NFS3ERR_BAD_COOKIE);
    assert.equal(f.dir_attributes?.type, ftype3.NF3DIR);
  });

  it("resuming after '.' (cookie 1) or '..' (cookie 2) continues without repeats", async () => {
    const a = await h.ok(READDIR, { dir, cookie: 1n, cookieverf: ZERO, count: 512 });
    assert.equal(a.reply.entries[0]!.name.toString(), '..');
    const b = await h.ok(READDIR, { dir, cookie: 2n, cookieverf: ZERO, count: 512 });
    assert.deepEqual(b.reply.entries[0], a.reply.entries[1]);
    assert.ok(b.reply.entries.every((e) => e.cookie >= 3n));
  });
});

describe('READDIR details', () => {
  it("an empty directory lists '.' and '..' with eof; '..' is the parent's fileid", async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const sub = await h.mkdir(root, 'empty');
    const ok = await h.ok(READDIR, { dir: sub, cookie: 0n, cookieverf: ZERO, count: 4096 });
    assert.equal(ok.reply.eof, true);
    assert.deepEqual(ok.reply.entries.map((e) => e.name.toString()), ['.', '..']);
    assert.equal(ok.reply.entries[0]!.fileid, ok.dir_attributes?.fileid);
    const rootAttr = await h.fs.getattr({ uid: 0, gid: 0, groups: [] }, root);
    assert.equal(ok.reply.entries[1]!.fileid, rootAttr.fileId);
    // At the export root '..' is the root itself.
    const r = await h.ok(READDIRPLUS, { dir: root, cookie: 0n, cookieverf: ZERO, dircount: 4096, maxcount: 8192 });
    const dotdot = r.reply.entries.find((e) => e.name.toString() === '..')!;
    assert.deepEqual(dotdot.name_handle, root);
    assert.equal(dotdot.fileid, rootAttr.fileId);
  });

  it('READDIRPLUS handles are the LOOKUP handles', async () => {
    const h = new Nfs3Harness();
    const root = await h.root();
    const fh = await h.create(root, 'file');
    const r = await h.ok(READDIRPLUS, { dir: root, cookie: 0n, cookieverf: ZERO, dircount: 4096, maxcount: 8192 });
    const e = r.reply.entries.find((e) => e.name.toString() === 'file')!;
    assert.deepEqual(e.name_handle, fh);
    assert.equal(e.name_attributes?.type, ftype3.NF3REG);
    const l = await h.ok(LOOKUP, { what: { dir: root, name: Buffer.from('file') } });
    assert.deepEqual(l.object, e.name_handle);
  });

  it('a listing interrupted by removals neither repeats nor skips surviving entries', async () => {
    const h = new Nfs3Harness();
    const dir = await h.mkdir(await h.root(), 'd');
    const all = names(300);
    for (const n of all) await h.create(dir, n);
    const seen: string[] = [];
    let cookie = 0n;
    let verf: Buffer = ZERO;
    let removed = 0;
    const gone = new Set<string>();
    for (;;) {
      const ok = await h.ok(READDIR, { dir, cookie, cookieverf: verf, count: 1024 });
      for (const e of ok.reply.entries) seen.push(e.name.toString());
      if (ok.reply.eof) break;
      cookie = ok.reply.entries[ok.reply.entries.length - 1]!.cookie;
      verf = ok.cookieverf;
      // Remove one already-listed and one not-yet-listed name.
      const victims = [seen[seen.length - 1]!, all[all.length - 1 - removed]!].filter((n) => n !== '.' && n !== '..' && !gone.has(n));
      for (const v of victims) {
        await h.ok(REMOVE, { object: { dir, name: Buffer.from(v) } });
        gone.add(v);
      }
      removed++;
    }
    const counts = new Map<string, number>();
    for (const n of seen) counts.set(n, (counts.get(n) ?? 0) + 1);
    for (const [n, c] of counts) assert.equal(c, 1, `${n} once`);
    for (const n of all) if (!gone.has(n)) assert.ok(counts.has(n), `survivor ${n} listed`);
  });

  it('READDIR of a file is NOTDIR', async () => {
    const h = new Nfs3Harness();
    const fh = await h.create(await h.root(), 'f');
    await h.fails(READDIR, { dir: fh, cookie: 0n, cookieverf: ZERO, count: 4096 }, nfsstat3.NFS3ERR_NOTDIR);
  });
});
