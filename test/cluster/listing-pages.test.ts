/**
 * Kept readdir pages (cluster/vfs/listing-pages.ts): a listing of an unchanged directory is served from
 * the pages of the previous one, and any change to the store — an entry, an entry's attributes, the
 * directory itself — is seen by the next listing. Permission and cookie checks still run on every call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { CoreError, Errc } from '../../cluster/vfs/errors';
import { CreateMode, Stable, type Handle } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { ALICE, BOB, ROOT, b } from './helpers';

async function listAll(v: Volume, dir: Handle, cred = ROOT, page = 7): Promise<Map<string, { size: bigint; mode: number }>> {
  const out = new Map<string, { size: bigint; mode: number }>();
  let cookie = 0n;
  let verf: Buffer | undefined;
  for (;;) {
    const r = await v.readdir(cred, dir, cookie, verf, page, true);
    for (const e of r.entries) out.set(e.name.toString(), { size: e.attr!.size, mode: e.attr!.mode });
    verf = r.verifier;
    if (r.eof) return out;
    cookie = r.entries[r.entries.length - 1]!.cookie;
  }
}

async function setup(): Promise<{ v: Volume; dir: Handle; reads: () => number }> {
  const v = createMemoryFileSystem();
  const root = await v.rootHandle(1);
  const dir = (await v.mkdir(ALICE, root, b('d'), { mode: 0o700 })).handle;
  for (let i = 0; i < 40; i++) await v.create(ALICE, dir, b(`f${i}`), { mode: CreateMode.GUARDED, attrs: { mode: 0o644 } });
  // Counts the store's point reads, to tell a kept page from a rebuilt one.
  const kv = v.kv as MemoryKv;
  let n = 0;
  const getMany = kv.getMany.bind(kv);
  kv.getMany = (keys) => {
    n += keys.length;
    return getMany(keys);
  };
  return { v, dir, reads: () => n };
}

test('an unchanged directory is listed again from its kept pages, with the same entries', async () => {
  const { v, dir, reads } = await setup();
  const first = await listAll(v, dir, ALICE);
  const afterFirst = reads();
  assert.ok(afterFirst >= 40, 'the first listing reads every inode');
  const second = await listAll(v, dir, ALICE);
  assert.deepEqual(second, first);
  assert.equal(reads(), afterFirst, 'the second listing reads no entry inodes');
  await v.close();
});

test('any change is seen by the next listing: attributes of an entry, entries, the data of a file', async () => {
  const { v, dir } = await setup();
  await listAll(v, dir, ALICE);
  const f3 = await v.lookup(ALICE, dir, b('f3'));
  await v.setattr(ALICE, f3.handle, { mode: 0o600 });
  assert.equal((await listAll(v, dir, ALICE)).get('f3')!.mode & 0o777, 0o600);
  await v.write(ALICE, f3.handle, 0n, Buffer.alloc(777, 1), Stable.UNSTABLE);
  assert.equal((await listAll(v, dir, ALICE)).get('f3')!.size, 777n);
  await v.remove(ALICE, dir, b('f5'));
  await v.create(ALICE, dir, b('new'), { mode: CreateMode.GUARDED });
  const l = await listAll(v, dir, ALICE);
  assert.equal(l.has('f5'), false);
  assert.equal(l.has('new'), true);
  assert.equal(l.size, 40);
  await v.close();
});

test('a kept page is not handed to a caller without read permission, nor for a wrong cookie verifier', async () => {
  const { v, dir } = await setup();
  const first = await v.readdir(ALICE, dir, 0n, undefined, 7, true);
  await assert.rejects(v.readdir(BOB, dir, 0n, undefined, 7, true), (e: unknown) => e instanceof CoreError && e.errc === Errc.ACCES);
  const cookie = first.entries[first.entries.length - 1]!.cookie;
  await v.readdir(ALICE, dir, cookie, first.verifier, 7, true);
  const wrong = Buffer.from(first.verifier);
  wrong[0]! ^= 0xff;
  await assert.rejects(v.readdir(ALICE, dir, cookie, wrong, 7, true), (e: unknown) => e instanceof CoreError && e.errc === Errc.BAD_COOKIE);
  await v.close();
});
