/**
 * SMB durability across kill -9 of the gateway process: data an SMB client wrote and then FLUSHed, or
 * wrote through (SMB2_WRITEFLAG_WRITE_THROUGH), is there after a restart, byte for byte and with its
 * size. SMB writes start no background fsync (WriteOptions.flushBehind), so FLUSH alone must sync them.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { SMB2_WRITEFLAG_WRITE_THROUGH, Smb2Cmd } from '../../protocols/smb2/constants';
import { closeBody, createBody, fileIdOf, readBody, TestSmbClient, treeConnectBody, writeBody } from '../loopback/smb2-client';
import { freePorts, ROOT, run, startGateway } from './harness';

const USER = 'bob';
const PASS = 'Dur4ble-pw';
const PIECE = 64 * 1024;

async function connect(port: number): Promise<TestSmbClient> {
  const c = await TestSmbClient.connect(port);
  await c.negotiate([0x0210, 0x0300, 0x0302, 0x0311]);
  assert.equal((await c.login(USER, PASS)).hdr.status, 0);
  const t = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\data') });
  assert.equal(t.hdr.status, 0);
  c.treeId = t.hdr.treeId;
  return c;
}

function flushBody(fid: Buffer): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  fid.copy(b, 8);
  return b;
}

describe('e2e: SMB FLUSH and write-through survive kill -9', () => {
  it('FLUSHed and written-through data is intact after kill -9 and restart', { timeout: 90000 }, async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'gw-smbdur-'));
    const dataDir = path.join(work, 'data');
    try {
      const add = await run(process.execPath, [path.join(ROOT, 'dist', 'gateway', 'main.js'), 'user', 'add', USER, '--password', PASS, '--data', dataDir]);
      assert.equal(add.code, 0, add.stderr);
      const [smbPort] = (await freePorts(1)) as [number];
      const g = await startGateway({ dataDir, extraArgs: ['--smb-port', String(smbPort)] });
      // 5 MiB + 123 bytes: more than one 4 MiB chunk, the last one partial.
      const flushed = randomBytes(5 * 1024 * 1024 + 123);
      const through = randomBytes(PIECE + 999);
      try {
        const c = await connect(smbPort);
        const cr = await c.request({ command: Smb2Cmd.CREATE, body: createBody('flushed.bin') });
        assert.equal(cr.hdr.status, 0);
        const fid = fileIdOf(cr);
        for (let at = 0; at < flushed.length; at += PIECE) {
          const w = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, BigInt(at), flushed.subarray(at, at + PIECE)) });
          assert.equal(w.hdr.status, 0);
        }
        assert.equal((await c.request({ command: Smb2Cmd.FLUSH, body: flushBody(fid) })).hdr.status, 0);

        const cr2 = await c.request({ command: Smb2Cmd.CREATE, body: createBody('through.bin') });
        assert.equal(cr2.hdr.status, 0);
        const fid2 = fileIdOf(cr2);
        for (let at = 0; at < through.length; at += PIECE) {
          const body = writeBody(fid2, BigInt(at), through.subarray(at, at + PIECE));
          body.writeUInt32LE(SMB2_WRITEFLAG_WRITE_THROUGH, 44);
          assert.equal((await c.request({ command: Smb2Cmd.WRITE, body })).hdr.status, 0);
        }
        // Crash right after the last reply: no CLOSE, nothing gets a chance to flush.
        await g.kill9();
        c.close();
      } catch (e) {
        await g.stop().catch(() => undefined);
        throw e;
      }

      const g2 = await startGateway({ dataDir, extraArgs: ['--smb-port', String(smbPort)] });
      try {
        const c = await connect(smbPort);
        for (const [name, want] of [['flushed.bin', flushed], ['through.bin', through]] as Array<[string, Buffer]>) {
          const cr = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { disposition: 1 }) });
          assert.equal(cr.hdr.status, 0, `${name} exists after the restart`);
          const fid = fileIdOf(cr);
          assert.equal(cr.body.readBigUInt64LE(48), BigInt(want.length), `${name}: size (EndOfFile) survived`);
          const got: Buffer[] = [];
          for (let at = 0; at < want.length; at += PIECE) {
            const r = await c.request({ command: Smb2Cmd.READ, body: readBody(fid, BigInt(at), Math.min(PIECE, want.length - at)) });
            assert.equal(r.hdr.status, 0);
            const off = r.body.readUInt8(2) - 64;
            got.push(Buffer.from(r.body.subarray(off, off + r.body.readUInt32LE(4))));
          }
          assert.ok(Buffer.concat(got).equals(want), `${name}: every byte survived`);
          assert.equal((await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fid) })).hdr.status, 0);
        }
        c.close();
      } finally {
        await g2.stop();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
