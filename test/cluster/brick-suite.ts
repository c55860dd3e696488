/**
 * The behaviour every Brick must show, as a suite function: run against the memory brick, the local brick,
 * the checksummed brick node store and a RemoteBrick talking to a real brick process. Bricks that also
 * implement HealableBrick get the listing and checksum tests.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareObjectIds, dropMany, isHealableBrick, type Brick } from '../../cluster/bricks/brick';
import { rng } from './helpers';

export function brickSuite(name: string, make: () => Promise<Brick>, opts: { healable?: boolean } = {}): void {
  describe(`brick ${name}`, () => {
    test('sparse writes, holes read as zeros, short reads at the object end', async () => {
      const br = await make();
      const id = { fileId: 7n, chunk: 3 };
      assert.equal((await br.readRange(id, 0, 10)).length, 0, 'missing object reads empty');
      assert.equal(await br.stat(id), undefined);
      await br.writeRange(id, 100, Buffer.from('hello'));
      const r = await br.readRange(id, 90, 100);
      assert.equal(r.length, 15);
      assert.deepEqual(r.subarray(0, 10), Buffer.alloc(10));
      assert.equal(r.subarray(10).toString(), 'hello');
      assert.deepEqual(await br.stat(id), { size: 105 });
      const into = Buffer.alloc(20, 0xee);
      assert.equal(await br.readInto(id, 98, into), 7);
      assert.deepEqual(into.subarray(0, 7), Buffer.from([0, 0, 0x68, 0x65, 0x6c, 0x6c, 0x6f]));
      assert.equal(into[7], 0xee, 'bytes past the count are left alone');
      assert.equal(await br.readInto({ fileId: 7n, chunk: 4 }, 0, into), 0);
      await br.fsync(id);
      await br.close();
    });

    test('truncate cuts and extends; a missing object stays missing', async () => {
      const br = await make();
      const id = { fileId: 8n, chunk: 0 };
      await br.writeRange(id, 0, Buffer.from('abcdefgh'));
      await br.truncate(id, 3);
      assert.equal((await br.readRange(id, 0, 100)).toString(), 'abc');
      await br.truncate(id, 6);
      assert.deepEqual(await br.readRange(id, 0, 100), Buffer.from([0x61, 0x62, 0x63, 0, 0, 0]));
      await br.truncate({ fileId: 8n, chunk: 9 }, 10);
      assert.equal(await br.stat({ fileId: 8n, chunk: 9 }), undefined);
      await br.close();
    });

    test('dropFrom deletes a file\'s objects from a chunk index on', async () => {
      const br = await make();
      for (let c = 0; c < 6; c++) await br.writeRange({ fileId: 9n, chunk: c }, 0, Buffer.from([c]));
      await br.writeRange({ fileId: 10n, chunk: 0 }, 0, Buffer.from('other'));
      await br.dropFrom(9n, 4);
      for (let c = 0; c < 6; c++) assert.equal(!!(await br.stat({ fileId: 9n, chunk: c })), c < 4);
      await br.dropFrom(9n, 0);
      for (let c = 0; c < 6; c++) assert.equal(await br.stat({ fileId: 9n, chunk: c }), undefined);
      assert.ok(await br.stat({ fileId: 10n, chunk: 0 }));
      await br.delete({ fileId: 10n, chunk: 0 });
      assert.equal(await br.stat({ fileId: 10n, chunk: 0 }), undefined);
      await br.dropFrom(12345n, 0);
      const cap = await br.capacity();
      assert.ok(cap.totalBytes > 0n && cap.freeBytes > 0n && cap.freeBytes <= cap.totalBytes);
      await br.close();
    });

    test('dropMany drops several files at once (from a chunk index on), as dropFrom per file would', async () => {
      const br = await make();
      const files = [21n, 22n, 23n, 0x1_0021n];
      for (const f of files) for (const c of [0, 1, 3]) await br.writeRange({ fileId: f, chunk: c }, 0, Buffer.from(`${f}/${c}`));
      await br.writeRange({ fileId: 24n, chunk: 0 }, 0, Buffer.from('kept'));
      const errs = await dropMany(br, [
        { fileId: 21n, firstChunk: 0 },
        { fileId: 22n, firstChunk: 1 },
        { fileId: 23n, firstChunk: 0 },
        { fileId: 0x1_0021n, firstChunk: 3 },
        { fileId: 99999n, firstChunk: 0 }, // no objects at all
      ]);
      assert.deepEqual(errs, [undefined, undefined, undefined, undefined, undefined]);
      const left = async (f: bigint): Promise<number[]> => {
        const out: number[] = [];
        for (const c of [0, 1, 3]) if (await br.stat({ fileId: f, chunk: c })) out.push(c);
        return out;
      };
      assert.deepEqual(await left(21n), []);
      assert.deepEqual(await left(22n), [0]);
      assert.deepEqual(await left(23n), []);
      assert.deepEqual(await left(0x1_0021n), [0, 1]);
      assert.equal((await br.readRange({ fileId: 24n, chunk: 0 }, 0, 10)).toString(), 'kept');
      assert.deepEqual(await dropMany(br, []), []);
      // A dropped file can be written again from scratch.
      await br.writeRange({ fileId: 21n, chunk: 0 }, 2, Buffer.from('x'));
      assert.deepEqual(await br.readRange({ fileId: 21n, chunk: 0 }, 0, 10), Buffer.from([0, 0, 0x78]));
      await br.close();
    });

    test('random writes, truncates and reads agree with a byte model (unaligned, across 4 KiB blocks)', async () => {
      const br = await make();
      const r = rng(4242);
      const id = { fileId: 0xabcn, chunk: 1 };
      let model = Buffer.alloc(0);
      for (let i = 0; i < 120; i++) {
        const op = r();
        if (op < 0.6) {
          const off = Math.floor(r() * 40000);
          const len = 1 + Math.floor(r() * (r() < 0.5 ? 300 : 20000));
          const data = Buffer.alloc(len);
          for (let j = 0; j < len; j++) data[j] = Math.floor(r() * 256);
          await br.writeRange(id, off, data);
          if (off + len > model.length) model = Buffer.concat([model, Buffer.alloc(off + len - model.length)]);
          data.copy(model, off);
        } else if (op < 0.75) {
          const len = Math.floor(r() * 45000);
          await br.truncate(id, len);
          model = len <= model.length ? model.subarray(0, len) : Buffer.concat([model, Buffer.alloc(len - model.length)]);
        } else {
          const off = Math.floor(r() * 45000);
          const len = Math.floor(r() * 20000);
          const got = await br.readRange(id, off, len);
          assert.deepEqual(got, model.subarray(Math.min(off, model.length), Math.min(off + len, model.length)), `step ${i}: read ${off}+${len}`);
        }
      }
      assert.deepEqual((await br.stat(id))?.size, model.length);
      assert.deepEqual(await br.readRange(id, 0, 1 << 20), model);
      await br.close();
    });

    test('many requests in flight on one object and across objects', async () => {
      const br = await make();
      const ids = Array.from({ length: 16 }, (_, i) => ({ fileId: 0x9000n + BigInt(i % 4), chunk: i }));
      await Promise.all(ids.map((id, i) => br.writeRange(id, i * 1000, Buffer.alloc(5000, i + 1))));
      await Promise.all(ids.map((id) => br.writeRange(id, 0, Buffer.from('head'))));
      const back = await Promise.all(ids.map((id) => br.readRange(id, 0, 1 << 16)));
      back.forEach((b, i) => {
        assert.equal(b.length, i * 1000 + 5000);
        assert.equal(b.subarray(0, 4).toString(), 'head');
        assert.equal(b[i * 1000 + 4999], i + 1);
      });
      await Promise.all(ids.map((id) => br.fsync(id)));
      await br.close();
    });

    if (!opts.healable) return;
    test('healable: list in id order with sizes and paging; checksum equal iff bytes equal', async () => {
      const br = await make();
      assert.ok(isHealableBrick(br), 'implements HealableBrick');
      assert.ok(br.name.length > 0);
      const ids = [
        { fileId: 0x300n, chunk: 0 },
        { fileId: 0x2ffn, chunk: 5 },
        { fileId: 0x2ffn, chunk: 2 },
        { fileId: 0x1_0000_0001n, chunk: 0 },
        { fileId: 0x301n, chunk: 12 },
        { fileId: 0x2ffn, chunk: 10 },
      ];
      for (const [i, id] of ids.entries()) await br.writeRange(id, 0, Buffer.alloc(i * 10 + 1, 7));
      const want = [...ids].sort(compareObjectIds);
      const all = [];
      let after;
      for (;;) {
        const page = await br.list(after, 4);
        if (page.length === 0) break;
        assert.ok(page.length <= 4);
        all.push(...page);
        after = page[page.length - 1]!.id;
      }
      assert.deepEqual(all.map((o) => o.id), want);
      for (const o of all) assert.equal(o.size, ids.findIndex((i) => compareObjectIds(i, o.id) === 0) * 10 + 1);
      assert.deepEqual((await br.list({ fileId: 0x2ffn, chunk: 5 }, 2)).map((o) => o.id), [{ fileId: 0x2ffn, chunk: 10 }, { fileId: 0x300n, chunk: 0 }]);
      const a = { fileId: 0x400n, chunk: 0 };
      const b = { fileId: 0x401n, chunk: 0 };
      await br.writeRange(a, 0, Buffer.from('same bytes'));
      await br.writeRange(b, 5, Buffer.from('bytes'));
      await br.writeRange(b, 0, Buffer.from('same '));
      const ca = await br.checksum(a);
      assert.ok(ca && ca.length === 32);
      assert.deepEqual(await br.checksum(b), ca);
      await br.writeRange(b, 9, Buffer.from('S'));
      assert.notDeepEqual(await br.checksum(b), ca);
      assert.equal(await br.checksum({ fileId: 0x402n, chunk: 0 }), undefined);
      await br.close();
    });
  });
}
