/**
 * LOCK and CHANGE_NOTIFY codecs: the LOCK request decoder under seeded random input (every element it
 * admits is readable, LockCount never reaches past the message), and FILE_NOTIFY_INFORMATION encoding
 * (4-byte aligned entries, NextEntryOffset chain, nothing when it does not fit).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeNotifyInformation, FILE_ACTION_ADDED, FILE_ACTION_RENAMED_NEW_NAME } from '../../../protocols/smb2/commands/change-notify';
import { MAX_LOCK_ELEMENTS, SMB2_LOCK_Request } from '../../../protocols/smb2/commands/lock';
import { DecodeError } from '../../../protocols/smb2/wire';
import { rng } from '../fuzz-rng';

describe('SMB2 LOCK request decoder', () => {
  it('admits only element counts that fit the message (seeded fuzz)', () => {
    const r = rng(0x10c4);
    let decoded = 0;
    for (let n = 0; n < 5000; n++) {
      const body = Buffer.alloc(Math.floor(r() * 200));
      for (let i = 0; i < body.length; i++) body[i] = Math.floor(r() * 256);
      if (body.length >= 2 && r() < 0.8) body.writeUInt16LE(48, 0);
      if (body.length >= 4 && r() < 0.7) body.writeUInt16LE(Math.floor(r() * 8), 2);
      const msg = Buffer.concat([Buffer.alloc(64), body]);
      let req: SMB2_LOCK_Request;
      try {
        req = SMB2_LOCK_Request.decode(msg);
      } catch (e) {
        assert.ok(e instanceof DecodeError, String(e));
        continue;
      }
      decoded++;
      assert.ok(req.lockCount <= MAX_LOCK_ELEMENTS);
      for (let i = 0; i < req.lockCount; i++) {
        const el = req.element(i);
        assert.equal(typeof el.offset, 'bigint');
      }
      void req.fileId;
      void req.lockSequence;
    }
    assert.ok(decoded > 100, 'the fuzz reaches the element reads');
  });

  it('refuses a LockCount above the limit even when the bytes are there', () => {
    const n = MAX_LOCK_ELEMENTS + 1;
    const body = Buffer.alloc(24 + n * 24);
    body.writeUInt16LE(48, 0);
    body.writeUInt16LE(n, 2);
    assert.throws(() => SMB2_LOCK_Request.decode(Buffer.concat([Buffer.alloc(64), body])), DecodeError);
  });
});

describe('FILE_NOTIFY_INFORMATION', () => {
  it('chains 4-byte aligned entries and leaves the last unpadded', () => {
    const b = encodeNotifyInformation(
      [
        { action: FILE_ACTION_ADDED, name: 'a' },
        { action: FILE_ACTION_RENAMED_NEW_NAME, name: 'sub\\bc' },
      ],
      1000,
    )!;
    // Entry 1: 12 + 2 bytes of name → padded to 16.
    assert.equal(b.readUInt32LE(0), 16);
    assert.equal(b.readUInt32LE(4), FILE_ACTION_ADDED);
    assert.equal(b.readUInt32LE(8), 2);
    assert.equal(b.subarray(12, 14).toString('utf16le'), 'a');
    assert.equal(b.readUInt32LE(16), 0);
    assert.equal(b.readUInt32LE(20), FILE_ACTION_RENAMED_NEW_NAME);
    assert.equal(b.readUInt32LE(24), 12);
    assert.equal(b.subarray(28).toString('utf16le'), 'sub\\bc');
    assert.equal(b.length, 16 + 12 + 12);
  });

  it('returns nothing when the entries do not fit the client buffer', () => {
    assert.equal(encodeNotifyInformation([{ action: 1, name: 'abcdef' }], 23), undefined);
    assert.ok(encodeNotifyInformation([{ action: 1, name: 'abcdef' }], 24));
  });
});
