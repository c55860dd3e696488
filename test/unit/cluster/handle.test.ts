import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreError, Errc } from '../../../cluster/vfs/errors';
import { HandleCodec, type HandleFields } from '../../../cluster/vfs/handle';
import { FileType } from '../../../cluster/vfs/types';

const secret = Buffer.alloc(32, 7);
const fields = (id: number, gen = 5): HandleFields => ({ kind: FileType.REG, exportId: 1, fileId: BigInt(id), gen });

/** A codec whose MAC computations are counted (the MAC is what the caches save). */
function counted(): { codec: HandleCodec; macs: () => number } {
  const codec = new HandleCodec(secret);
  let n = 0;
  const c = codec as unknown as { mac(h: Buffer): Buffer };
  const orig = c.mac.bind(codec);
  c.mac = (h: Buffer): Buffer => {
    n++;
    return orig(h);
  };
  return { codec, macs: () => n };
}

const errc = (f: () => unknown): Errc | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof CoreError) return e.errc;
    throw e;
  }
  return undefined;
};

describe('HandleCodec', () => {
  it('parses what it minted; a changed byte or a handle of another secret is BADHANDLE', () => {
    const { codec } = counted();
    const h = codec.mint(fields(42));
    assert.deepEqual({ ...codec.parse(h) }, fields(42));
    for (const at of [1, 4, 8, 15, 16, 20, 27]) {
      const bad = Buffer.from(h);
      bad[at]! ^= 1;
      assert.equal(errc(() => codec.parse(bad)), Errc.BADHANDLE, `byte ${at} changed`);
    }
    const other = new HandleCodec(Buffer.alloc(32, 8)).mint(fields(42));
    assert.equal(errc(() => codec.parse(other)), Errc.BADHANDLE);
  });

  it('a handle minted for a new file (known) is not verified again; a listed one is, once', () => {
    const { codec, macs } = counted();
    const created = codec.mint(fields(10), true);
    assert.equal(macs(), 1);
    codec.parse(created);
    assert.equal(macs(), 1, 'the handle of a file just created comes back without a second MAC');
    const listed = codec.mint(fields(11));
    assert.equal(macs(), 2);
    codec.parse(listed);
    assert.equal(macs(), 3, 'a handle minted for a listing entry is verified when it first comes back');
    codec.parse(listed);
    assert.equal(macs(), 3, '... and remembered after that');
    assert.equal(codec.mint(fields(11)), listed, 'a second mint of the same inode is the same handle');
    assert.equal(macs(), 3);
  });

  it('stays bounded and correct past its cache size: old handles still parse, a new generation mints anew', () => {
    const { codec } = counted();
    const first = codec.mint(fields(2), true);
    const n = 135_000; // more than twice the caches' 65,536 entries
    for (let i = 3; i < n; i++) codec.parse(codec.mint(fields(i), i % 2 === 0));
    const inner = codec as unknown as { minted: { size: number }; verified: { size: number } };
    assert.ok(inner.minted.size <= 65_536, `minted cache ${inner.minted.size}`);
    assert.ok(inner.verified.size <= 65_536, `verified cache ${inner.verified.size}`);
    assert.deepEqual({ ...codec.parse(first) }, fields(2), 'a handle pushed out of the caches is verified again');
    const regen = codec.mint(fields(2, 6));
    assert.notDeepEqual(regen, first);
    assert.equal(codec.parse(regen).gen, 6);
  });
});
