/**
 * Sealing in the worker thread (protocols/smb2/session/seal-offload.ts) gives exactly what the inline code
 * gives: a reply sealed there opens with decryptMessage, a message sealed inline opens there to the same
 * bytes, for every cipher; a message with one byte or the tag altered is refused (DecryptError) and the
 * caller is told so; messages that are small or not in shared memory are left to the inline code.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { BufferPool } from '../../../cluster/vfs/buffer-pool';
import { AES_128_CCM, AES_128_GCM, AES_256_CCM, AES_256_GCM, SMB2_TRANSFORM_HEADER_SIZE } from '../../../protocols/smb2/constants';
import { decryptMessage, DecryptError, encryptMessage, keyBits, NonceSource } from '../../../protocols/smb2/session/encryption';
import { OFFLOAD_MIN, SealOffload } from '../../../protocols/smb2/session/seal-offload';

const MIB = 1024 * 1024;
const CIPHERS = [AES_128_GCM, AES_256_GCM, AES_128_CCM, AES_256_CCM];

describe('SMB3 sealing in a worker thread', () => {
  const sealer = new SealOffload(2 * MIB, 2);
  const pool = new BufferPool(2 * MIB, 4, true);
  const nonces = new NonceSource();
  after(() => sealer.close());

  /** A shared buffer holding `bytes`. */
  const shared = (bytes: Buffer): Buffer => {
    const b = pool.take(bytes.length);
    assert.ok(b.buffer instanceof SharedArrayBuffer);
    bytes.copy(b);
    return b;
  };

  for (const cipher of CIPHERS) {
    it(`seals a reply that opens inline, cipher ${cipher}`, async () => {
      const key = randomBytes(keyBits(cipher) / 8);
      const head = randomBytes(80); // a header part, not shared: copied into the job
      const data = shared(randomBytes(MIB + 12345));
      // More jobs than output slabs, one after the other: slabs are given back and reused.
      for (let i = 0; i < 3; i++) {
        const job = sealer.seal(cipher, key, 0x1234n, [head, data], nonces);
        assert.ok(job, 'a large shared message is sealed in the worker');
        const s = await job;
        const wire = Buffer.concat(s.parts);
        s.release();
        assert.deepEqual(decryptMessage(cipher, key, wire), Buffer.concat([head, data]));
      }
      pool.give(data);
    });

    it(`opens a message sealed inline and refuses an altered one, cipher ${cipher}`, async () => {
      const key = randomBytes(keyBits(cipher) / 8);
      const plain = randomBytes(MIB + 777);
      const msg = shared(Buffer.concat(encryptMessage(cipher, key, 0x99n, [plain], nonces)));
      const dst = pool.take(plain.length);
      await sealer.open(cipher, key, msg, dst);
      assert.deepEqual(dst, plain);

      for (const at of [SMB2_TRANSFORM_HEADER_SIZE + 1000, 4 /* the tag */, msg.length - 1]) {
        msg[at]! ^= 0x01;
        const job = sealer.open(cipher, key, msg, dst);
        assert.ok(job);
        await assert.rejects(job, DecryptError);
        msg[at]! ^= 0x01;
      }
      pool.give(msg);
      pool.give(dst);
    });
  }

  it('leaves small messages and unshared data to the inline code', () => {
    const key = randomBytes(16);
    assert.equal(sealer.seal(AES_128_GCM, key, 1n, [randomBytes(64), randomBytes(OFFLOAD_MIN / 2)], nonces), undefined);
    assert.equal(sealer.seal(AES_128_GCM, key, 1n, [randomBytes(64), Buffer.alloc(MIB)], nonces), undefined);
    const msg = Buffer.concat(encryptMessage(AES_128_GCM, key, 1n, [randomBytes(MIB)], nonces));
    const dst = pool.take(MIB);
    assert.equal(sealer.open(AES_128_GCM, key, msg, dst), undefined); // the message is not shared
    pool.give(dst);
  });
});
