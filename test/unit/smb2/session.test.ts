import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { AES_128_CCM, AES_128_GCM, AES_256_CCM, AES_256_GCM, AES_CMAC, AES_GMAC, HMAC_SHA256 } from '../../../protocols/smb2/constants';
import { decryptMessage, DecryptError, encryptMessage, NonceSource } from '../../../protocols/smb2/session/encryption';
import { signMessage, smb2Signature, verifySignature } from '../../../protocols/smb2/session/signing';
import { SMB311 } from '../../fixtures/smb2/ms-key-vectors';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('SMB2 signing', () => {
  it('AES-CMAC over the Microsoft 3.1.1 example reproduces its signature, fed in pieces or whole', () => {
    const m = hex(SMB311.sessionSetupResponse2);
    const key = hex(SMB311.signingKey);
    assert.equal(smb2Signature(AES_CMAC, key, [m]).toString('hex').toUpperCase(), SMB311.responseSignature);
    assert.equal(smb2Signature(AES_CMAC, key, [m.subarray(0, 70), m.subarray(70)]).toString('hex').toUpperCase(), SMB311.responseSignature);
    assert.ok(verifySignature(AES_CMAC, key, [m]));
    const t = Buffer.from(m);
    t[70]! ^= 1;
    assert.ok(!verifySignature(AES_CMAC, key, [t]));
  });

  it('HMAC-SHA256 is the first 16 bytes of HMAC over the message with a zero signature', () => {
    const m = hex(SMB311.sessionSetupResponse2);
    const key = Buffer.alloc(16, 3);
    const z = Buffer.from(m);
    z.fill(0, 48, 64);
    const want = createHmac('sha256', key).update(z).digest().subarray(0, 16);
    assert.ok(smb2Signature(HMAC_SHA256, key, [m]).equals(want));
  });

  it('AES-GMAC: signs, verifies, and binds MessageId and direction (the nonce)', () => {
    const key = Buffer.alloc(16, 9);
    const m = Buffer.from(hex(SMB311.sessionSetupResponse2));
    signMessage(AES_GMAC, key, [m]);
    assert.ok(verifySignature(AES_GMAC, key, [m]));
    const otherId = Buffer.from(m);
    otherId.writeBigUInt64LE(99n, 24);
    assert.ok(!verifySignature(AES_GMAC, key, [otherId]));
    const otherDir = Buffer.from(m);
    otherDir.writeUInt32LE(otherDir.readUInt32LE(16) ^ 1, 16);
    assert.ok(!verifySignature(AES_GMAC, key, [otherDir]));
  });
});

describe('SMB3 encryption (transform header)', () => {
  for (const [id, keyLen] of [
    [AES_128_CCM, 16],
    [AES_128_GCM, 16],
    [AES_256_CCM, 32],
    [AES_256_GCM, 32],
  ] as Array<[number, number]>) {
    it(`cipher ${id}: round trip of a compound, tamper and wrong key detected`, () => {
      const key = Buffer.alloc(keyLen, 5);
      const plain = [Buffer.alloc(64, 1), Buffer.alloc(1000, 2)];
      const nonces = new NonceSource();
      const enc = Buffer.concat(encryptMessage(id, key, 0x1234n, plain, nonces));
      assert.equal(enc.readUInt32LE(0), 0x424d53fd);
      assert.equal(enc.readUInt32LE(36), 1064);
      assert.equal(enc.readBigUInt64LE(44), 0x1234n);
      assert.ok(decryptMessage(id, key, enc).equals(Buffer.concat(plain)));
      for (const at of [10, 30, 45, 60, enc.length - 1]) {
        const t = Buffer.from(enc);
        t[at]! ^= 0x80;
        assert.throws(() => decryptMessage(id, key, t), at === 45 || at === 30 ? Error : DecryptError, `byte ${at}`);
      }
      assert.throws(() => decryptMessage(id, Buffer.alloc(keyLen, 6), enc), DecryptError);
      const again = Buffer.concat(encryptMessage(id, key, 0x1234n, plain, nonces));
      assert.ok(!again.subarray(20, 36).equals(enc.subarray(20, 36)), 'a fresh nonce per message');
    });

    it(`cipher ${id}: a multi-MiB message (READ data in several parts) round trip, into a caller's buffer`, () => {
      const key = Buffer.alloc(keyLen, 7);
      // Header + body + two data parts, the second not a multiple of the cipher's slice size.
      const data = Buffer.alloc(1024 * 1024 + 300 * 1024 + 13);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 11)) & 0xff;
      const plain = [Buffer.alloc(64, 3), Buffer.alloc(16, 4), data.subarray(0, 1024 * 1024), data.subarray(1024 * 1024)];
      const whole = Buffer.concat(plain);
      const enc = Buffer.concat(encryptMessage(id, key, 9n, plain, new NonceSource()));
      assert.equal(enc.length, 52 + whole.length);
      assert.ok(decryptMessage(id, key, enc).equals(whole), 'without a buffer');
      const slab = Buffer.alloc(whole.length + 100, 0xee);
      let asked = 0;
      const out = decryptMessage(id, key, enc, (len) => {
        asked = len;
        return slab.subarray(0, len);
      });
      assert.ok(out.equals(whole), 'into the buffer given');
      if (id === AES_128_GCM || id === AES_256_GCM) {
        assert.equal(asked, whole.length);
        assert.equal(out.buffer, slab.buffer, 'GCM writes into the caller-supplied buffer');
      }
      // A flipped byte deep in the ciphertext still fails authentication.
      const t = Buffer.from(enc);
      t[52 + 1024 * 1024 + 5]! ^= 1;
      assert.throws(() => decryptMessage(id, key, t, (len) => Buffer.alloc(len)), DecryptError);
    });
  }
});
