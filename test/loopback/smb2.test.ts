/**
 * The SMB2 server on 127.0.0.1 over the memory backend, driven by a client built from our own codecs:
 * framing in odd chunks, SMB1 upgrade, credits, bad input, NTLMv2 logon at 2.1 and 3.1.1 (preauth
 * integrity: the client derives the same signing key and checks the server's signatures), signing
 * enforcement, compounds (related and unrelated), share modes, names that try to leave the share.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import type { Volume } from '../../cluster/vfs/volume';
import { ntHash } from '../../protocols/smb2/crypto/md4';
import { SMB2_DIALECT_210, SMB2_DIALECT_311, SMB2_DIALECT_WILDCARD, SMB2_FLAGS_SIGNED, Smb2Cmd, AES_GMAC, AES_CMAC } from '../../protocols/smb2/constants';
import { NtStatus } from '../../protocols/smb2/ntstatus';
import { SmbServer } from '../../protocols/smb2/server';
import { ShareRegistry } from '../../protocols/smb2/shares';
import { DiskShare } from '../../protocols/smb2/tree/disk';
import { closeBody, createBody, dirNames, fileIdOf, queryDirBody, readBody, RELATED_FID, TestSmbClient, treeConnectBody, writeBody } from './smb2-client';
import { diskAndIpc, startTestSmb } from './smb2-fixture';

/** Server logs: errors always (a test must not hide a crash); SMB_TEST_LOG=1 adds warnings, =2 debug. */
const LOG = Number(process.env.SMB_TEST_LOG ?? 0);
const quiet = {
  debug: (o: object, m?: string) => (LOG >= 2 ? console.error(m, JSON.stringify(o)) : undefined),
  info() {},
  warn: (o: object, m?: string) => (LOG >= 1 ? console.error(m, o) : undefined),
  error: (o: object, m?: string) => console.error(m, o),
};

describe('loopback: SMB2 server', () => {
  let fs: Volume;
  let server: SmbServer;
  let port: number;
  const clients: TestSmbClient[] = [];
  const connect = async (): Promise<TestSmbClient> => {
    const c = await TestSmbClient.connect(port);
    clients.push(c);
    return c;
  };
  /** Negotiated, logged on, connected to \\host\data. */
  const ready = async (dialect = SMB2_DIALECT_311, sign = false): Promise<TestSmbClient> => {
    const c = await connect();
    await c.negotiate(dialect === SMB2_DIALECT_311 ? [0x0202, 0x0210, 0x0300, 0x0302, 0x0311] : [dialect], { signingAlgos: [AES_CMAC] });
    const r = await c.login('alice', 'pw');
    assert.equal(r.hdr.status, 0);
    c.sign = sign;
    const t = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\data') });
    assert.equal(t.hdr.status, 0);
    c.treeId = t.hdr.treeId;
    return c;
  };

  before(async () => {
    fs = createMemoryFileSystem([defaultExport('data', 1)]);
    ({ server, port } = await startTestSmb({ shares: diskAndIpc(fs, defaultExport('data', 1)) }));
  });

  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    await fs.close();
  });

  it('answers a NEGOTIATE fed one byte at a time', async () => {
    const c = await connect();
    const req = c.frame(
      c.build({
        command: Smb2Cmd.NEGOTIATE,
        body: (() => {
          const b = Buffer.alloc(38);
          b.writeUInt16LE(36, 0);
          b.writeUInt16LE(1, 2);
          b.writeUInt16LE(SMB2_DIALECT_210, 36);
          return b;
        })(),
      }),
    );
    for (const byte of req) c.writeRaw(Buffer.from([byte]));
    const m = (await c.next())!;
    assert.equal(m.readUInt32LE(8), 0, 'STATUS_SUCCESS');
    assert.equal(m.readUInt16LE(64 + 4), SMB2_DIALECT_210);
  });

  it('upgrades an SMB1 NEGOTIATE offering SMB 2.??? to 0x02FF, then negotiates 3.1.1 on message id 1', async () => {
    const c = await connect();
    const strings = Buffer.concat(['NT LM 0.12', 'SMB 2.002', 'SMB 2.???'].map((d) => Buffer.concat([Buffer.from([2]), Buffer.from(d + '\0', 'latin1')])));
    const h = Buffer.alloc(32);
    h.writeUInt32LE(0x424d53ff, 0);
    h[4] = 0x72;
    const bc = Buffer.alloc(3);
    bc.writeUInt16LE(strings.length, 1);
    c.writeRaw(c.frame(Buffer.concat([h, bc, strings])));
    const m = (await c.next())!;
    assert.equal(m.readUInt16LE(64 + 4), SMB2_DIALECT_WILDCARD);
    c.nextId = 1n;
    const r = await c.negotiate([0x0210, 0x0311]);
    assert.equal(r.hdr.status, 0);
    assert.equal(c.dialect, SMB2_DIALECT_311);
  });

  it('drops connections that break the protocol: requests before NEGOTIATE, bad framing, foreign protocols, reused message ids', async () => {
    const a = await connect();
    a.writeRaw(a.frame(a.build({ command: Smb2Cmd.ECHO, body: Buffer.from([4, 0, 0, 0]) })));
    assert.ok(await a.closedByServer());
    const b = await connect();
    b.writeRaw(Buffer.from([0x85, 0, 0, 0]));
    assert.ok(await b.closedByServer());
    const c = await connect();
    c.writeRaw(c.frame(Buffer.from('GET / HTTP/1.1\r\n\r\n')));
    assert.ok(await c.closedByServer());
    const d = await connect();
    await d.negotiate([SMB2_DIALECT_210]);
    d.writeRaw(d.frame(d.build({ command: Smb2Cmd.ECHO, body: Buffer.from([4, 0, 0, 0]), messageId: 0n })));
    assert.ok(await d.closedByServer(), 'message id 0 reused');
    const e = await connect();
    await e.negotiate([SMB2_DIALECT_210]);
    e.writeRaw(e.frame(e.build({ command: Smb2Cmd.ECHO, body: Buffer.from([4, 0, 0, 0]), messageId: 100000n })));
    assert.ok(await e.closedByServer(), 'message id beyond the granted credits');
    // A message longer than the limit is refused from its length alone.
    const f = await connect();
    f.writeRaw(Buffer.from([0, 0xff, 0xff, 0xff]));
    assert.ok(await f.closedByServer());
  });

  it('answers malformed bodies with STATUS_INVALID_PARAMETER and keeps the connection', async () => {
    const c = await connect();
    await c.negotiate([SMB2_DIALECT_210]);
    const short = await c.request({ command: Smb2Cmd.ECHO, body: Buffer.from([5, 0, 0, 0]) });
    assert.equal(short.hdr.status, NtStatus.STATUS_INVALID_PARAMETER);
    const unknown = await c.request({ command: 0x55, body: Buffer.alloc(8) });
    assert.equal(unknown.hdr.status, NtStatus.STATUS_INVALID_PARAMETER);
    const echo = await c.request({ command: Smb2Cmd.ECHO, body: Buffer.from([4, 0, 0, 0]) });
    assert.equal(echo.hdr.status, 0);
    const noSession = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\x\\data'), sessionId: 77n });
    assert.equal(noSession.hdr.status, NtStatus.STATUS_USER_SESSION_DELETED);
  });

  it('a wrong password is LOGON_FAILURE; an unknown share BAD_NETWORK_NAME', async () => {
    const c = await connect();
    await c.negotiate([SMB2_DIALECT_311]);
    assert.equal((await c.login('alice', 'nope')).hdr.status, NtStatus.STATUS_LOGON_FAILURE);
    const d = await connect();
    await d.negotiate([SMB2_DIALECT_311]);
    assert.equal((await d.login('alice', 'pw')).hdr.status, 0);
    d.sign = true;
    const t = await d.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\nope') });
    assert.equal(t.hdr.status, NtStatus.STATUS_BAD_NETWORK_NAME);
  });

  for (const [label, dialect, algos] of [
    ['3.1.1 AES-CMAC', SMB2_DIALECT_311, [AES_CMAC]],
    ['3.1.1 AES-GMAC', SMB2_DIALECT_311, [AES_GMAC, AES_CMAC]],
    ['2.1 HMAC-SHA256', SMB2_DIALECT_210, undefined],
  ] as Array<[string, number, number[] | undefined]>) {
    it(`${label}: the final SESSION_SETUP is signed with the key the client derives; signed requests get signed replies`, async () => {
      const c = await connect();
      await c.negotiate(dialect === SMB2_DIALECT_311 ? [SMB2_DIALECT_311] : [dialect], algos ? { signingAlgos: algos } : {});
      const r = await c.login('alice', 'pw');
      assert.equal(r.hdr.status, 0);
      assert.ok(r.hdr.flags & SMB2_FLAGS_SIGNED, 'final SESSION_SETUP response signed');
      assert.ok(c.verify(r), 'its signature verifies with the client-side key');
      c.sign = true;
      const t = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\data') });
      assert.equal(t.hdr.status, 0);
      assert.ok(c.verify(t));
      c.treeId = t.hdr.treeId;
      // A request whose signature does not verify is refused.
      const m = c.build({ command: Smb2Cmd.ECHO, body: Buffer.from([4, 0, 0, 0]) });
      m[60]! ^= 1;
      c.writeRaw(c.frame(m));
      const bad = (await c.next())!;
      assert.equal(bad.readUInt32LE(8), NtStatus.STATUS_ACCESS_DENIED);
    });
  }

  it('a session that asked for signing refuses unsigned requests', async () => {
    const c = await connect();
    await c.negotiate([SMB2_DIALECT_311], { securityMode: 2 });
    assert.equal((await c.login('alice', 'pw', { securityMode: 2 })).hdr.status, 0);
    c.sign = false;
    const t = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\data') });
    assert.equal(t.hdr.status, NtStatus.STATUS_ACCESS_DENIED);
  });

  it('create, write, read back, list, close; READ past EOF is END_OF_FILE', async () => {
    const c = await ready(SMB2_DIALECT_311, true);
    const cr = await c.request({ command: Smb2Cmd.CREATE, body: createBody('hello.txt', { disposition: 2 }) });
    assert.equal(cr.hdr.status, 0);
    assert.equal(cr.body.readUInt32LE(4), 2, 'FILE_CREATED');
    const fid = fileIdOf(cr);
    const w = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, Buffer.from('hello, smb')) });
    assert.equal(w.hdr.status, 0);
    assert.equal(w.body.readUInt32LE(4), 10);
    const r = await c.request({ command: Smb2Cmd.READ, body: readBody(fid, 0n, 100) });
    assert.equal(r.hdr.status, 0);
    assert.equal(r.body.subarray(16, 16 + r.body.readUInt32LE(4)).toString(), 'hello, smb');
    const eof = await c.request({ command: Smb2Cmd.READ, body: readBody(fid, 100n, 10) });
    assert.equal(eof.hdr.status, NtStatus.STATUS_END_OF_FILE);
    assert.equal((await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fid) })).hdr.status, 0);
    assert.equal((await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fid) })).hdr.status, NtStatus.STATUS_FILE_CLOSED);
    const dir = await c.request({ command: Smb2Cmd.CREATE, body: createBody('', { disposition: 1, options: 1, access: 0x00100081 }) });
    assert.equal(dir.hdr.status, 0);
    const q = await c.request({ command: Smb2Cmd.QUERY_DIRECTORY, body: queryDirBody(fileIdOf(dir), '*') });
    assert.equal(q.hdr.status, 0);
    const names = dirNames(q.body.subarray(8, 8 + q.body.readUInt32LE(4)));
    assert.deepEqual(names.slice(0, 2), ['.', '..']);
    assert.ok(names.includes('hello.txt'));
    const more = await c.request({ command: Smb2Cmd.QUERY_DIRECTORY, body: queryDirBody(fileIdOf(dir), '*') });
    assert.equal(more.hdr.status, NtStatus.STATUS_NO_MORE_FILES);
    const none = await c.request({ command: Smb2Cmd.QUERY_DIRECTORY, body: queryDirBody(fileIdOf(dir), 'zz*', 0x25, 1) });
    assert.equal(none.hdr.status, NtStatus.STATUS_NO_SUCH_FILE);
  });

  it('a related compound CREATE + WRITE + CLOSE uses the new FileId; a failed CREATE fails the rest', async () => {
    const c = await ready(SMB2_DIALECT_311, true);
    const rs = await c.compound(
      [
        { command: Smb2Cmd.CREATE, body: createBody('comp.txt', { disposition: 5 }) },
        { command: Smb2Cmd.WRITE, body: writeBody(RELATED_FID, 0n, Buffer.from('compound')) },
        { command: Smb2Cmd.CLOSE, body: closeBody(RELATED_FID) },
      ],
      true,
    );
    assert.deepEqual(
      rs.map((r) => r.hdr.status),
      [0, 0, 0],
    );
    for (const r of rs) assert.ok(c.verify(r), 'each compounded response is signed over its own padded bytes');
    const bad = await c.compound(
      [
        { command: Smb2Cmd.CREATE, body: createBody('missing\\x.txt', { disposition: 1 }) },
        { command: Smb2Cmd.CLOSE, body: closeBody(RELATED_FID) },
      ],
      true,
    );
    assert.deepEqual(
      bad.map((r) => r.hdr.status),
      [NtStatus.STATUS_OBJECT_PATH_NOT_FOUND, NtStatus.STATUS_OBJECT_PATH_NOT_FOUND],
    );
    const st = await fs.lookup({ uid: 0, gid: 0, groups: [] }, await fs.rootHandle(1), Buffer.from('comp.txt'));
    assert.equal(st.attr.size, 8n);
  });

  it('names that try to leave the share or smuggle separators are refused', async () => {
    const c = await ready(SMB2_DIALECT_311, true);
    const st = async (name: string): Promise<number> => (await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { disposition: 3 }) })).hdr.status;
    assert.equal(await st('..\\escape.txt'), NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.equal(await st('a\\..\\..\\x'), NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.equal(await st('\\absolute.txt'), NtStatus.STATUS_INVALID_PARAMETER);
    assert.equal(await st('sneaky/slash'), NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.equal(await st('f.txt:alt:$DATA'), NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.equal(await st('no\\such\\dir.txt'), NtStatus.STATUS_OBJECT_PATH_NOT_FOUND);
  });

  it('share modes: a second writer is refused while the first denies write sharing', async () => {
    const a = await ready(SMB2_DIALECT_311, true);
    const b = await ready(SMB2_DIALECT_311, true);
    const first = await a.request({ command: Smb2Cmd.CREATE, body: createBody('locked.txt', { disposition: 3, share: 1 }) });
    assert.equal(first.hdr.status, 0);
    const second = await b.request({ command: Smb2Cmd.CREATE, body: createBody('locked.txt', { disposition: 1, share: 7 }) });
    assert.equal(second.hdr.status, NtStatus.STATUS_SHARING_VIOLATION);
    await a.request({ command: Smb2Cmd.CLOSE, body: closeBody(fileIdOf(first)) });
    const third = await b.request({ command: Smb2Cmd.CREATE, body: createBody('locked.txt', { disposition: 1, share: 7 }) });
    assert.equal(third.hdr.status, 0);
  });

  it('multi-credit: a 128 KiB WRITE with CreditCharge 1 is refused, with 2 accepted', async () => {
    const c = await ready(SMB2_DIALECT_311, true);
    const cr = await c.request({ command: Smb2Cmd.CREATE, body: createBody('big.bin', { disposition: 5 }) });
    const fid = fileIdOf(cr);
    const data = Buffer.alloc(128 * 1024, 9);
    const one = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, data), creditCharge: 1 });
    assert.equal(one.hdr.status, NtStatus.STATUS_INVALID_PARAMETER);
    const two = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, data), creditCharge: 2 });
    assert.equal(two.hdr.status, 0);
  });

  it('8 MiB WRITE and READ in one request each (CreditCharge 128), larger than one core call', async () => {
    const big = new SmbServer({ logger: quiet, users: { lookup: (n) => (n.toLowerCase() === 'alice' ? { name: 'alice', ntHash: ntHash('pw'), uid: 1000, gid: 1000, groups: [] } : undefined) }, shares: new ShareRegistry().add(new DiskShare({ config: defaultExport('data', 1), fs })), maxCredits: 512, maxIo: 8 * 1024 * 1024 });
    const bigPort = (await big.listen('127.0.0.1', 0)).port;
    try {
      const c = await TestSmbClient.connect(bigPort);
      clients.push(c);
      const neg = await c.negotiate([0x0311], { signingAlgos: [AES_CMAC] });
      assert.equal(neg.body.readUInt32LE(32), 8 * 1024 * 1024, 'MaxWriteSize');
      await c.login('alice', 'pw');
      c.sign = true;
      const t = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\data') });
      c.treeId = t.hdr.treeId;
      const fid = fileIdOf(await c.request({ command: Smb2Cmd.CREATE, body: createBody('eight.bin', { disposition: 5 }) }));
      const data = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(i * 2654435761 >>> 0, i);
      assert.ok(8 * 1024 * 1024 > fs.limits.maxWrite, 'the request spans several core writes');
      const w = await c.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, data), creditCharge: 128 });
      assert.equal(w.hdr.status, 0);
      assert.equal(w.body.readUInt32LE(4), data.length);
      const r = await c.request({ command: Smb2Cmd.READ, body: readBody(fid, 0n, data.length), creditCharge: 128 });
      assert.equal(r.hdr.status, 0);
      assert.ok(r.body.subarray(16, 16 + r.body.readUInt32LE(4)).equals(data), '8 MiB read back identical');
      await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fid) });
    } finally {
      await big.close();
    }
  });

  const setInfoBody = (fid: Buffer, cls: number, data: Buffer): Buffer => {
    const b = Buffer.alloc(32);
    b.writeUInt16LE(33, 0);
    b[2] = 1;
    b[3] = cls;
    b.writeUInt32LE(data.length, 4);
    b.writeUInt16LE(64 + 32, 8);
    fid.copy(b, 16);
    return Buffer.concat([b, data]);
  };
  const queryInfoBody = (fid: Buffer, type: number, cls: number, outLen: number): Buffer => {
    const b = Buffer.alloc(41);
    b.writeUInt16LE(41, 0);
    b[2] = type;
    b[3] = cls;
    b.writeUInt32LE(outLen, 4);
    fid.copy(b, 24);
    return b;
  };

  it('dispositions: OPEN of a missing name, CREATE of an existing one, OVERWRITE truncates', async () => {
    const c = await ready(SMB2_DIALECT_311, true);
    const st = async (name: string, disposition: number, options = 0x40): Promise<{ status: number; action: number; fid: Buffer }> => {
      const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { disposition, options }) });
      return { status: r.hdr.status, action: r.hdr.status === 0 ? r.body.readUInt32LE(4) : -1, fid: fileIdOf(r) };
    };
    assert.equal((await st('disp.txt', 1)).status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
    assert.equal((await st('disp.txt', 4)).status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
    const made = await st('disp.txt', 2);
    assert.equal(made.action, 2);
    await c.request({ command: Smb2Cmd.WRITE, body: writeBody(made.fid, 0n, Buffer.from('0123456789')) });
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(made.fid) });
    assert.equal((await st('disp.txt', 2)).status, NtStatus.STATUS_OBJECT_NAME_COLLISION);
    const opened = await st('disp.txt', 3);
    assert.equal(opened.action, 1, 'OPEN_IF of an existing file: FILE_OPENED');
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(opened.fid) });
    const over = await st('disp.txt', 4);
    assert.equal(over.action, 3, 'FILE_OVERWRITTEN');
    const size = (await c.request({ command: Smb2Cmd.QUERY_INFO, body: queryInfoBody(over.fid, 1, 5, 24) })).body;
    assert.equal(size.readBigUInt64LE(8 + 8), 0n, 'EndOfFile after overwrite');
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(over.fid) });
    assert.equal((await st('disp.txt', 1, 0x1)).status, NtStatus.STATUS_NOT_A_DIRECTORY);
    const d = await st('adir', 2, 0x1);
    assert.equal(d.status, 0);
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(d.fid) });
    assert.equal((await st('adir', 1, 0x40)).status, NtStatus.STATUS_FILE_IS_A_DIRECTORY);
  });

  it('SET_INFO: end of file, rename (with and without replace), delete disposition; QUERY_INFO overflow', async () => {
    const c = await ready(SMB2_DIALECT_311, true);
    const open = async (name: string, disposition = 3): Promise<Buffer> => {
      const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody(name, { disposition, access: 0x001f01ff }) });
      assert.equal(r.hdr.status, 0, name);
      return fileIdOf(r);
    };
    const f = await open('si.txt', 5);
    const eof = Buffer.alloc(8);
    eof.writeBigUInt64LE(5000n);
    assert.equal((await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f, 20, eof) })).hdr.status, 0);
    const std = await c.request({ command: Smb2Cmd.QUERY_INFO, body: queryInfoBody(f, 1, 5, 24) });
    assert.equal(std.body.readBigUInt64LE(8 + 8), 5000n);
    // FileAllInformation into a buffer too small for the name: BUFFER_OVERFLOW with the fixed part.
    const all = await c.request({ command: Smb2Cmd.QUERY_INFO, body: queryInfoBody(f, 1, 18, 104) });
    assert.equal(all.hdr.status, NtStatus.STATUS_BUFFER_OVERFLOW);
    assert.equal(all.body.readUInt32LE(4), 104);
    const tiny = await c.request({ command: Smb2Cmd.QUERY_INFO, body: queryInfoBody(f, 1, 4, 39) });
    assert.equal(tiny.hdr.status, NtStatus.STATUS_INFO_LENGTH_MISMATCH);
    const rename = (to: string, replace: boolean): Buffer => {
      const n = Buffer.from(to, 'utf16le');
      const b = Buffer.alloc(20);
      b[0] = replace ? 1 : 0;
      b.writeUInt32LE(n.length, 16);
      return Buffer.concat([b, n]);
    };
    const other = await open('other.txt', 5);
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(other) });
    assert.equal((await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f, 10, rename('other.txt', false)) })).hdr.status, NtStatus.STATUS_OBJECT_NAME_COLLISION);
    assert.equal((await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f, 10, rename('..\\out.txt', true)) })).hdr.status, NtStatus.STATUS_OBJECT_NAME_INVALID);
    assert.equal((await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f, 10, rename('other.txt', true)) })).hdr.status, 0);
    const name = await c.request({ command: Smb2Cmd.QUERY_INFO, body: queryInfoBody(f, 1, 9, 100) });
    assert.equal(name.body.subarray(8 + 4, 8 + 4 + name.body.readUInt32LE(8)).toString('utf16le'), '\\other.txt');
    // Delete on close through the disposition class: gone after CLOSE.
    assert.equal((await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(f, 13, Buffer.from([1])) })).hdr.status, 0);
    const std2 = await c.request({ command: Smb2Cmd.QUERY_INFO, body: queryInfoBody(f, 1, 5, 24) });
    assert.equal(std2.body[8 + 20], 1, 'DeletePending');
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(f) });
    const gone = await c.request({ command: Smb2Cmd.CREATE, body: createBody('other.txt', { disposition: 1 }) });
    assert.equal(gone.hdr.status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
  });

  it('FILE_DELETE_ON_CLOSE on CREATE; a non-empty directory cannot be marked', async () => {
    const c = await ready(SMB2_DIALECT_311, true);
    const r = await c.request({ command: Smb2Cmd.CREATE, body: createBody('tmp.txt', { disposition: 2, access: 0x0013019f, options: 0x1040 }) });
    assert.equal(r.hdr.status, 0);
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fileIdOf(r)) });
    assert.equal((await c.request({ command: Smb2Cmd.CREATE, body: createBody('tmp.txt', { disposition: 1 }) })).hdr.status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
    const d = await c.request({ command: Smb2Cmd.CREATE, body: createBody('full', { disposition: 2, options: 1, access: 0x001f01ff }) });
    const inner = await c.request({ command: Smb2Cmd.CREATE, body: createBody('full\\x', { disposition: 2 }) });
    await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fileIdOf(inner)) });
    const mark = await c.request({ command: Smb2Cmd.SET_INFO, body: setInfoBody(fileIdOf(d), 13, Buffer.from([1])) });
    assert.equal(mark.hdr.status, NtStatus.STATUS_DIRECTORY_NOT_EMPTY);
  });

  it('FSCTL_VALIDATE_NEGOTIATE_INFO (3.0): matching values are confirmed, tampered ones drop the connection', async () => {
    const validate = async (tamper: boolean): Promise<{ c: TestSmbClient; status?: number; dialect?: number }> => {
      const c = await connect();
      await c.negotiate([0x0300], { securityMode: 1 });
      assert.equal((await c.login('alice', 'pw')).hdr.status, 0);
      c.sign = true;
      const t = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody('\\\\127.0.0.1\\IPC$') });
      c.treeId = t.hdr.treeId;
      const input = Buffer.alloc(26);
      input.writeUInt32LE(tamper ? 0 : 0x7f, 0);
      input.fill(0x11, 4, 20);
      input.writeUInt16LE(1, 20);
      input.writeUInt16LE(1, 22);
      input.writeUInt16LE(0x0300, 24);
      const b = Buffer.alloc(56);
      b.writeUInt16LE(57, 0);
      b.writeUInt32LE(0x00140204, 4);
      b.fill(0xff, 8, 24);
      b.writeUInt32LE(64 + 56, 24);
      b.writeUInt32LE(input.length, 28);
      b.writeUInt32LE(24, 44);
      b.writeUInt32LE(1, 48);
      c.writeRaw(c.frame(c.build({ command: Smb2Cmd.IOCTL, body: Buffer.concat([b, input]) })));
      const m = await c.next().catch(() => undefined);
      if (!m) return { c };
      return { c, status: m.readUInt32LE(8), dialect: m.readUInt16LE(m.readUInt32LE(64 + 32) + 22) };
    };
    const good = await validate(false);
    assert.equal(good.status, 0);
    assert.equal(good.dialect, 0x0300);
    const bad = await validate(true);
    assert.ok(bad.status === undefined && (await bad.c.closedByServer()));
  });
});
