import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { aesCmac, AesCmac, cmacSubkeys } from '../../../protocols/smb2/crypto/cmac';
import { KDF_LABELS, smb3Kdf } from '../../../protocols/smb2/crypto/kdf';
import { md4, ntHash } from '../../../protocols/smb2/crypto/md4';
import { rc4, Rc4 } from '../../../protocols/smb2/crypto/rc4';
import { SMB30, SMB311 } from '../../fixtures/smb2/ms-key-vectors';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('MD4 (RFC 1320 A.5 test suite)', () => {
  const vectors: Array<[string, string]> = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['1234567890'.repeat(8), 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [msg, want] of vectors) {
    it(`MD4("${msg.length > 20 ? msg.slice(0, 20) + '…' : msg}")`, () => {
      assert.equal(md4(Buffer.from(msg, 'latin1')).toString('hex'), want);
    });
  }
  it('handles every length around the padding boundary without throwing, deterministically', () => {
    for (let n = 50; n < 140; n++) {
      const b = Buffer.alloc(n, n);
      assert.equal(md4(b).length, 16);
      assert.ok(md4(b).equals(md4(Buffer.from(b))));
    }
  });
  it('NTOWFv1("Password") is the MS-NLMP 4.2.2.1.2 value', () => {
    assert.equal(ntHash('Password').toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
  });
});

describe('RC4', () => {
  it('RFC 6229: 128-bit key 0102…10, first 16 bytes of keystream', () => {
    assert.equal(rc4(hex('0102030405060708090a0b0c0d0e0f10'), Buffer.alloc(16)).toString('hex'), '9ac7cc9a609d1ef7b2932899cde41b97');
  });
  it('is a running stream: two updates equal one', () => {
    const k = hex('0102030405060708090a0b0c0d0e0f10');
    const s = new Rc4(k);
    const a = Buffer.concat([s.update(Buffer.alloc(7)), s.update(Buffer.alloc(9))]);
    assert.ok(a.equals(rc4(k, Buffer.alloc(16))));
  });
});

describe('AES-CMAC (RFC 4493 section 4)', () => {
  const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
  const msg = hex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
  it('subkeys', () => {
    const { k1, k2 } = cmacSubkeys(key);
    assert.equal(k1.toString('hex'), 'fbeed618357133667c85e08f7236a8de');
    assert.equal(k2.toString('hex'), 'f7ddac306ae266ccf90bc11ee46d513b');
  });
  const cases: Array<[number, string]> = [
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ];
  for (const [len, want] of cases) {
    it(`example, ${len}-byte message`, () => {
      assert.equal(aesCmac(key, msg.subarray(0, len)).toString('hex'), want);
    });
    it(`example, ${len}-byte message fed one byte at a time and in odd pieces`, () => {
      const c = new AesCmac(key);
      for (let i = 0; i < len; i++) c.update(msg.subarray(i, i + 1));
      assert.equal(c.digest().toString('hex'), want);
      const d = new AesCmac(key);
      for (let i = 0; i < len; i += 7) d.update(msg.subarray(i, Math.min(len, i + 7)));
      assert.equal(d.digest().toString('hex'), want);
    });
  }
});

describe('SMB 3.x KDF (Microsoft key-derivation examples)', () => {
  it('3.0: signing, both cipher keys and the application key', () => {
    const k = hex(SMB30.sessionKey);
    const L = KDF_LABELS.smb30;
    assert.equal(smb3Kdf(k, L.signing[0], L.signing[1]).toString('hex').toUpperCase(), SMB30.signingKey);
    assert.equal(smb3Kdf(k, L.application[0], L.application[1]).toString('hex').toUpperCase(), SMB30.applicationKey);
    // Client's EncryptionKey = what the server decrypts with (ServerIn); client's DecryptionKey = ServerOut.
    assert.equal(smb3Kdf(k, L.serverIn[0], L.serverIn[1]).toString('hex').toUpperCase(), SMB30.clientEncryptionKey);
    assert.equal(smb3Kdf(k, L.serverOut[0], L.serverOut[1]).toString('hex').toUpperCase(), SMB30.clientDecryptionKey);
  });

  it('3.1.1: the SHA-512 preauth chain over the example messages, then the keys', () => {
    let h = Buffer.alloc(64);
    const step = (msg: string, want: string): void => {
      h = createHash('sha512').update(h).update(hex(msg)).digest();
      assert.equal(h.toString('hex').toUpperCase(), want);
    };
    step(SMB311.negotiateRequest, SMB311.hashAfterNegotiateRequest);
    step(SMB311.negotiateResponse, SMB311.hashAfterNegotiateResponse);
    step(SMB311.sessionSetupRequest1, SMB311.hashAfterSessionSetupRequest1);
    step(SMB311.sessionSetupResponse1, SMB311.hashAfterSessionSetupResponse1);
    step(SMB311.sessionSetupRequest2, SMB311.hashAfterSessionSetupRequest2);
    const k = hex(SMB311.sessionKey);
    const L = KDF_LABELS.smb311;
    assert.equal(smb3Kdf(k, L.signing, h).toString('hex').toUpperCase(), SMB311.signingKey);
    assert.equal(smb3Kdf(k, L.application, h).toString('hex').toUpperCase(), SMB311.applicationKey);
    assert.equal(smb3Kdf(k, L.serverIn, h).toString('hex').toUpperCase(), SMB311.clientEncryptionKey);
    assert.equal(smb3Kdf(k, L.serverOut, h).toString('hex').toUpperCase(), SMB311.clientDecryptionKey);
  });

  it('3.1.1: the final SESSION_SETUP response carries AES-CMAC(SigningKey, message with zeroed signature)', () => {
    const msg = hex(SMB311.sessionSetupResponse2);
    const zeroed = Buffer.from(msg);
    zeroed.fill(0, 48, 64);
    assert.equal(aesCmac(hex(SMB311.signingKey), zeroed).toString('hex').toUpperCase(), SMB311.responseSignature);
    assert.equal(msg.subarray(48, 64).toString('hex').toUpperCase(), SMB311.responseSignature);
  });

  it('AES-256 ciphers derive 32-byte keys', () => {
    assert.equal(smb3Kdf(hex(SMB311.sessionKey), KDF_LABELS.smb311.serverIn, Buffer.alloc(64), 256).length, 32);
  });
});
