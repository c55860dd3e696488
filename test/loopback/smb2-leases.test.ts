/**
 * SMB2 oplocks and leases on 127.0.0.1 (protocols/smb2/leases), with an NFSv3 server on the same memory
 * volume: RWH to a lone opener, a second client's open breaking it to RH (CREATE answered STATUS_PENDING
 * until the acknowledgment or the break timeout), an NFSv3 WRITE waiting for the break of an SMB lease,
 * batch and Level II oplocks for a client without leases, and nothing granted when switched off.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { ROOT_CRED } from '../../cluster/vfs/types';
import type { Volume } from '../../cluster/vfs/volume';
import { WRITE } from '../../protocols/nfs3/procs/write';
import { NFS_PROGRAM, NFS_V3, nfsstat3, stable_how } from '../../protocols/nfs3/types';
import { RpcClient } from '../../protocols/rpc/client';
import type { AuthSys } from '../../protocols/rpc/types';
import { SMB2_FLAGS_ASYNC_COMMAND, SMB2_GLOBAL_CAP_LEASING, Smb2Cmd } from '../../protocols/smb2/constants';
import { decodeCreateContexts } from '../../protocols/smb2/commands/create';
import { decodeHeader } from '../../protocols/smb2/header';
import { NtStatus } from '../../protocols/smb2/ntstatus';
import { SmbServer } from '../../protocols/smb2/server';
import { closeBody, createBody, fileIdOf, readBody, TestSmbClient, writeBody, type Reply } from './smb2-client';
import { ALL_DIALECTS, diskAndIpc, readyClient, startTestSmb } from './smb2-fixture';
import { mountRoot, startNfsLoopback, type NfsLoopback } from './nfs-loopback';

const auth: AuthSys = { stamp: 1, machineName: 'loopback', uid: 1000, gid: 1000, gids: [] };
const R = 1;
const H = 2;
const W = 4;
const ALL_ONES = 0xffffffffffffffffn;

function parse(m: Buffer | undefined): Reply {
  if (!m) throw new Error('connection closed');
  return { hdr: decodeHeader(m), msg: m, body: m.subarray(64) };
}

function key(n: number): Buffer {
  return Buffer.alloc(16, n);
}

/** CREATE with SMB2_CREATE_REQUEST_LEASE_V2 (or v1). */
function leaseCreate(name: string, k: Buffer, state: number, o: { v1?: boolean; epoch?: number; access?: number; disposition?: number } = {}): Buffer {
  const base = createBody(name, { ...(o.access !== undefined ? { access: o.access } : {}), disposition: o.disposition ?? 3 });
  const fixedAndName = base.subarray(0, 56 + Buffer.byteLength(name, 'utf16le'));
  const pad = Buffer.alloc(((fixedAndName.length + 7) & ~7) - fixedAndName.length);
  const data = Buffer.alloc(o.v1 ? 32 : 52);
  k.copy(data, 0);
  data.writeUInt32LE(state, 16);
  if (!o.v1) data.writeUInt16LE(o.epoch ?? 0, 48);
  const ctx = Buffer.alloc(24 + data.length);
  ctx.writeUInt16LE(16, 4);
  ctx.writeUInt16LE(4, 6);
  ctx.writeUInt16LE(24, 10);
  ctx.writeUInt32LE(data.length, 12);
  ctx.write('RqLs', 16, 'latin1');
  data.copy(ctx, 24);
  const b = Buffer.concat([fixedAndName, pad, ctx]);
  b[3] = 0xff; // SMB2_OPLOCK_LEVEL_LEASE
  b.writeUInt32LE(64 + fixedAndName.length + pad.length, 48);
  b.writeUInt32LE(ctx.length, 52);
  return b;
}

function oplockCreate(name: string, level: number, o: { access?: number } = {}): Buffer {
  const b = createBody(name, { ...(o.access !== undefined ? { access: o.access } : {}), disposition: 3 });
  b[3] = level;
  return b;
}

/** The granted lease in a CREATE response: state, flags, epoch (v2). */
function leaseOf(r: Reply): { state: number; flags: number; epoch: number; key: Buffer } | undefined {
  const off = r.body.readUInt32LE(80);
  const len = r.body.readUInt32LE(84);
  if (!len) return undefined;
  const c = decodeCreateContexts(r.msg.subarray(off, off + len)).find((x) => x.name === 'RqLs');
  if (!c) return undefined;
  return { key: c.data.subarray(0, 16), state: c.data.readUInt32LE(16), flags: c.data.readUInt32LE(20), epoch: c.data.length >= 52 ? c.data.readUInt16LE(48) : 0 };
}

function leaseAck(k: Buffer, state: number): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt16LE(36, 0);
  k.copy(b, 8);
  b.writeUInt32LE(state, 24);
  return b;
}

function oplockAck(fid: Buffer, level: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt16LE(24, 0);
  b[2] = level;
  fid.copy(b, 8);
  return b;
}

describe('loopback: SMB2 oplocks and leases', () => {
  let fs: Volume;
  let smb: SmbServer;
  let off: SmbServer;
  let nfsServer: NfsLoopback;
  let nfsClient: RpcClient;
  let port: number;
  let offPort: number;
  const clients: TestSmbClient[] = [];

  // Each test client is its own SMB client (leases belong to a ClientGuid; breaks go to its connections).
  const ready = (dialects = ALL_DIALECTS, p = port): Promise<TestSmbClient> =>
    readyClient(p, clients, { dialects, negotiate: { clientGuid: randomBytes(16) } });
  /** The next unsolicited OPLOCK_BREAK on `c`. */
  const nextBreak = async (c: TestSmbClient): Promise<Reply> => {
    const b = parse(await c.next(5000));
    assert.equal(b.hdr.command, Smb2Cmd.OPLOCK_BREAK);
    assert.equal(b.hdr.messageId, ALL_ONES);
    return b;
  };
  /** Sends a request without waiting; returns its interim response (must be STATUS_PENDING). */
  const sendPending = async (c: TestSmbClient, body: Buffer): Promise<Reply> => {
    c.writeRaw(c.frame(c.build({ command: Smb2Cmd.CREATE, body })));
    const r = parse(await c.next(5000));
    assert.equal(r.hdr.status, NtStatus.STATUS_PENDING);
    assert.ok(r.hdr.flags & SMB2_FLAGS_ASYNC_COMMAND);
    return r;
  };

  before(async () => {
    const configs = [defaultExport('data', 1)];
    fs = createMemoryFileSystem(configs);
    ({ server: smb, port } = await startTestSmb({ shares: diskAndIpc(fs, configs[0]!), options: { leases: true, oplocks: true, breakTimeoutMs: 1500 } }));
    ({ server: off, port: offPort } = await startTestSmb({ shares: diskAndIpc(fs, configs[0]!) }));
    nfsServer = await startNfsLoopback({ fs });
    nfsClient = nfsServer.client;
    await mountRoot(nfsClient, auth);
  });

  after(async () => {
    for (const c of clients) c.close();
    await nfsServer.close();
    await smb.close();
    await off.close();
    await fs.close();
  });

  it('announces leasing and grants RWH (v2, epoch + 1) to a lone opener; v1 on 2.1', async () => {
    const c = await ready();
    const r = await c.request({ command: Smb2Cmd.CREATE, body: leaseCreate('lone.txt', key(1), R | W | H, { epoch: 7 }) });
    assert.equal(r.hdr.status, 0);
    assert.equal(r.body[2], 0xff);
    const l = leaseOf(r)!;
    assert.equal(l.state, R | W | H);
    assert.equal(l.epoch, 8);
    assert.ok(l.key.equals(key(1)));
    // A second open with the same key shares the lease and breaks nothing.
    const r2 = await c.request({ command: Smb2Cmd.CREATE, body: leaseCreate('lone.txt', key(1), R | W | H, { epoch: 7 }) });
    assert.equal(r2.hdr.status, 0);
    assert.equal(leaseOf(r2)!.state, R | W | H);
    // The key names one file.
    const r3 = await c.request({ command: Smb2Cmd.CREATE, body: leaseCreate('other.txt', key(1), R | W | H) });
    assert.equal(r3.hdr.status, NtStatus.STATUS_INVALID_PARAMETER);
    // Invalid states (H or W without R) are granted nothing.
    const r4 = await c.request({ command: Smb2Cmd.CREATE, body: leaseCreate('lone2.txt', key(2), W | H) });
    assert.equal(r4.hdr.status, 0);
    assert.equal(leaseOf(r4)!.state, 0);
    for (const x of [r, r2, r4]) assert.equal((await c.request({ command: Smb2Cmd.CLOSE, body: closeBody(fileIdOf(x)) })).hdr.status, 0);

    const neg = await TestSmbClient.connect(port);
    clients.push(neg);
    assert.ok((await neg.negotiate([0x0311])).body.readUInt32LE(24) & SMB2_GLOBAL_CAP_LEASING);
    const c21 = await ready([0x0210]);
    const v1 = await c21.request({ command: Smb2Cmd.CREATE, body: leaseCreate('v1.txt', key(3), R | H, { v1: true }) });
    assert.equal(v1.hdr.status, 0);
    assert.equal(leaseOf(v1)!.state, R | H);
  });

  it('a second client breaks RWH to RH: its CREATE pends until the acknowledgment', async () => {
    const a = await ready();
    const b = await ready();
    const ra = await a.request({ command: Smb2Cmd.CREATE, body: leaseCreate('shared.txt', key(10), R | W | H) });
    assert.equal(leaseOf(ra)!.state, R | W | H);
    const interim = await sendPending(b, leaseCreate('shared.txt', key(11), R | W | H));
    const brk = await nextBreak(a);
    assert.equal(brk.body.readUInt16LE(0), 44);
    assert.equal(brk.body.readUInt32LE(4) & 1, 1, 'ack required');
    assert.ok(brk.body.subarray(8, 24).equals(key(10)));
    assert.equal(brk.body.readUInt32LE(24), R | W | H);
    assert.equal(brk.body.readUInt32LE(28), R | H);
    // Acknowledging more than the break leaves is refused.
    const ack = await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: leaseAck(key(10), R | H) });
    assert.equal(ack.hdr.status, 0);
    assert.equal(ack.body.readUInt32LE(24), R | H);
    const fin = parse(await b.next(5000));
    assert.equal(fin.hdr.status, 0);
    assert.equal(fin.hdr.asyncId, interim.hdr.asyncId);
    assert.equal(leaseOf(fin)!.state, R | H);
    // Not breaking any more: a further acknowledgment is refused.
    assert.equal((await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: leaseAck(key(10), R | H) })).hdr.status, 0xc0000001);
    // Unknown key.
    assert.equal((await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: leaseAck(key(99), 0) })).hdr.status, NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
  });

  it('an unacknowledged break times out and the waiting CREATE completes', async () => {
    const a = await ready();
    const b = await ready();
    const ra = await a.request({ command: Smb2Cmd.CREATE, body: leaseCreate('slow.txt', key(20), R | W | H) });
    assert.equal(leaseOf(ra)!.state, R | W | H);
    await sendPending(b, leaseCreate('slow.txt', key(21), R | H));
    const brk = await nextBreak(a);
    assert.equal(brk.body.readUInt32LE(28), R | H);
    // No acknowledgment: the (1.5 s) break timer ends it; the holder keeps nothing.
    const fin = parse(await b.next(10_000));
    assert.equal(fin.hdr.status, 0);
    assert.equal(leaseOf(fin)!.state, R | H);
    assert.equal((await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: leaseAck(key(20), R | H) })).hdr.status, 0xc0000001);
  });

  it('an NFSv3 WRITE to a file leased RWH over SMB waits for the break and its acknowledgment', async () => {
    const a = await ready();
    const ra = await a.request({ command: Smb2Cmd.CREATE, body: leaseCreate('nfsw.txt', key(30), R | W | H) });
    assert.equal(leaseOf(ra)!.state, R | W | H);
    const fid = fileIdOf(ra);
    // The holder's own writes and reads break nothing.
    assert.equal((await a.request({ command: Smb2Cmd.WRITE, body: writeBody(fid, 0n, Buffer.from('smb data')) })).hdr.status, 0);
    assert.equal((await a.request({ command: Smb2Cmd.READ, body: readBody(fid, 0n, 8) })).hdr.status, 0);
    const fh = (await fs.lookup(ROOT_CRED, await fs.rootHandle(1), Buffer.from('nfsw.txt'))).handle;
    let done = false;
    const w = nfsClient
      .call(NFS_PROGRAM, NFS_V3, WRITE.proc, (x) => WRITE.encodeArgs(x, { file: fh, offset: 0n, count: 3, stable: stable_how.FILE_SYNC, data: Buffer.from('NFS') }), { auth })
      .then((r) => {
        done = true;
        return WRITE.decodeRes(r);
      });
    const brk = await nextBreak(a);
    assert.equal(brk.body.readUInt32LE(24), R | W | H);
    assert.equal(brk.body.readUInt32LE(28), 0);
    assert.equal(done, false, 'the NFS WRITE waits for the acknowledgment');
    assert.equal((await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: leaseAck(key(30), 0) })).hdr.status, 0);
    const res = await w;
    assert.equal(res.status, nfsstat3.NFS3_OK);
    const rd = await a.request({ command: Smb2Cmd.READ, body: readBody(fid, 0n, 8) });
    assert.equal(rd.hdr.status, 0);
    assert.equal(rd.body.subarray(rd.body[2]! - 64, rd.body[2]! - 64 + 8).toString(), 'NFS data');
  });

  it('grants a batch oplock to a client without leases and breaks it to Level II for a second opener', async () => {
    const a = await ready([0x0202]);
    const b = await ready([0x0202]);
    const ra = await a.request({ command: Smb2Cmd.CREATE, body: oplockCreate('batch.txt', 9) });
    assert.equal(ra.hdr.status, 0);
    assert.equal(ra.body[2], 9);
    const fa = fileIdOf(ra);
    const interim = await sendPending(b, oplockCreate('batch.txt', 9));
    const brk = await nextBreak(a);
    assert.equal(brk.body.readUInt16LE(0), 24);
    assert.equal(brk.body[2], 1, 'break to Level II');
    assert.ok(brk.body.subarray(8, 24).equals(fa));
    const ack = await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: oplockAck(fa, 1) });
    assert.equal(ack.hdr.status, 0);
    assert.equal(ack.body[2], 1);
    const fin = parse(await b.next(5000));
    assert.equal(fin.hdr.status, 0);
    assert.equal(fin.hdr.asyncId, interim.hdr.asyncId);
    assert.equal(fin.body[2], 1, 'the second opener gets Level II');
    // Acknowledging an oplock that is not breaking.
    assert.equal((await a.request({ command: Smb2Cmd.OPLOCK_BREAK, body: oplockAck(fa, 0) })).hdr.status, 0xc00000e3);
    // A write by the second opener takes the first one's Level II away (no acknowledgment needed).
    assert.equal((await b.request({ command: Smb2Cmd.WRITE, body: writeBody(fileIdOf(fin), 0n, Buffer.from('x')) })).hdr.status, 0);
    const brk2 = await nextBreak(a);
    assert.equal(brk2.body[2], 0);
  });

  it('grants nothing when oplocks and leases are off (the default)', async () => {
    const c = await ready(undefined, offPort);
    const neg = await TestSmbClient.connect(offPort);
    clients.push(neg);
    const nr = await neg.negotiate([0x0311]);
    assert.equal(nr.body.readUInt32LE(24) & SMB2_GLOBAL_CAP_LEASING, 0);
    const r = await c.request({ command: Smb2Cmd.CREATE, body: leaseCreate('offl.txt', key(40), R | W | H) });
    assert.equal(r.hdr.status, 0);
    assert.equal(r.body[2], 0);
    assert.equal(leaseOf(r), undefined);
    const o = await c.request({ command: Smb2Cmd.CREATE, body: oplockCreate('offo.txt', 9) });
    assert.equal(o.body[2], 0);
  });
});
