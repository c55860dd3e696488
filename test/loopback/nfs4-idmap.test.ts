/**
 * Owner names over the wire: a gateway started from a config with `nfs4.idmapDomain` (and
 * `numericIdsForAuthSys: false`) sends GETATTR owner "root@<domain>", and SETATTR owner "name@domain"
 * changes the file's uid to that user's (read back as a number through NFSv3 on the same port). Names
 * come from the gateway's user database (users.json) and the host's /etc/passwd; the default config
 * still sends numbers to AUTH_SYS clients (what the Linux client without idmapd needs).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '../../gateway/config/schema';
import { createLogger } from '../../gateway/log';
import { startGateway, type Gateway } from '../../gateway/server';
import { UserStore, USERS_FILE_NAME } from '../../gateway/users';
import { GETATTR } from '../../protocols/nfs3/procs/getattr';
import { nfsstat3 } from '../../protocols/nfs3/types';
import { decodeFattr4Values, FATTR4_OWNER, FATTR4_OWNER_GROUP } from '../../protocols/nfs4/attrs';
import { decodeCOMPOUND4res, encodeCOMPOUND4args, type ArgOp } from '../../protocols/nfs4/compound';
import type { CREATE_SESSION4resok } from '../../protocols/nfs4/ops/create-session';
import type { EXCHANGE_ID4resok } from '../../protocols/nfs4/ops/exchange-id';
import type { GETATTR4resok } from '../../protocols/nfs4/ops/getattr';
import type { GETFH4resok } from '../../protocols/nfs4/ops/getfh';
import { nfsstat4, type COMPOUND4res } from '../../protocols/nfs4/types';
import { RpcClient } from '../../protocols/rpc/client';
import type { AuthSys } from '../../protocols/rpc/types';
import { DEFAULT_FORE, op } from '../proc/nfs4/harness';

const auth: AuthSys = { stamp: 1, machineName: 'loopback', uid: 0, gid: 0, gids: [] };
const DOMAIN = 'idmap.test';

interface Client {
  compound(ops: readonly ArgOp[]): Promise<COMPOUND4res>;
  owners(fh: Buffer): Promise<[string, string]>;
  uidOf(fh: Buffer): Promise<number>;
  close(): Promise<void>;
}

async function start(dataDir: string, nfs4: Record<string, unknown>): Promise<{ gw: Gateway; c: Client }> {
  const cfg = ConfigSchema.parse({
    listen: ['127.0.0.1'],
    volumes: [{ name: 'data', dataDir, rootMode: 0o1777 }],
    exports: [{ id: 1, name: 'data', volume: 'data', path: '/' }],
    nfs: { port: 0, mountPort: 0, portmap: 'off', udp: false },
    smb: { enabled: false },
    nfs4,
  });
  const gw = await startGateway(cfg, createLogger('silent'));
  const client = await RpcClient.connect({ host: '127.0.0.1', port: gw.nfsPort, timeoutMs: 10_000 });
  let sessionid: Buffer = Buffer.alloc(0);
  let seq = 0;
  const raw = async (ops: readonly ArgOp[]) => decodeCOMPOUND4res(await client.call(100003, 4, 1, (w) => encodeCOMPOUND4args(w, 'idmap', 1, ops), { auth }));
  const compound = (ops: readonly ArgOp[]) => raw([op.sequence(sessionid, ++seq, 0, false), ...ops]);
  const eid = (await raw([op.exchangeId(`idmap-${dataDir}`)])).resarray[0]!.res as EXCHANGE_ID4resok;
  const cs = (await raw([op.createSession(eid.eir_clientid, eid.eir_sequenceid, DEFAULT_FORE)])).resarray[0]!.res as CREATE_SESSION4resok;
  sessionid = cs.csr_sessionid;
  assert.equal((await compound([op.reclaimComplete()])).status, nfsstat4.NFS4_OK);
  const c: Client = {
    compound,
    async owners(fh) {
      const r = await compound([op.putfh(fh), op.getattr(FATTR4_OWNER, FATTR4_OWNER_GROUP)]);
      assert.equal(r.status, nfsstat4.NFS4_OK);
      const v = decodeFattr4Values((r.resarray[2]!.res as GETATTR4resok).obj_attributes);
      return [String(v.get(FATTR4_OWNER)), String(v.get(FATTR4_OWNER_GROUP))];
    },
    async uidOf(fh) {
      // NFSv3 on the same port: the uid as a number, whatever the NFSv4 strings say.
      const g = GETATTR.decodeRes(await client.call(100003, 3, GETATTR.proc, (w) => GETATTR.encodeArgs(w, { object: fh }), { auth }));
      assert.equal(g.status, nfsstat3.NFS3_OK);
      return g.status === nfsstat3.NFS3_OK ? g.resok.obj_attributes.uid : -1;
    },
    close: () => client.close(),
  };
  return { gw, c };
}

async function createFile(c: Client, name: string): Promise<Buffer> {
  const r = await c.compound([op.putrootfh(), op.lookup('data'), op.createUnchecked(name), op.getfh()]);
  assert.equal(r.status, nfsstat4.NFS4_OK);
  return (r.resarray[4]!.res as GETFH4resok).object;
}

function setOwner(owner: string): ArgOp {
  return op.setattr({ uid: owner });
}

describe('NFSv4 owners as name@domain (configured id-mapping domain)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nfs4-idmap-'));
  let gw: Gateway;
  let c: Client;

  before(async () => {
    // The gateway's own user database (the SMB users, with uids): default <dataDir>/users.json.
    new UserStore(path.join(dir, USERS_FILE_NAME)).add('alice', { password: 'pw', uid: 4321, gid: 4321 });
    ({ gw, c } = await start(dir, { idmapDomain: DOMAIN, numericIdsForAuthSys: false }));
  });

  after(async () => {
    await c?.close();
    await gw?.close(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('GETATTR names the owner "root@<domain>" and the group "root@<domain>"', async () => {
    const fh = await createFile(c, 'f1');
    assert.deepEqual(await c.owners(fh), [`root@${DOMAIN}`, `root@${DOMAIN}`]);
  });

  it('SETATTR owner "alice@<domain>" gives the file alice\'s uid (from users.json), and GETATTR names her', async () => {
    const fh = await createFile(c, 'f2');
    assert.equal((await c.compound([op.putfh(fh), setOwner(`alice@${DOMAIN}`)])).status, nfsstat4.NFS4_OK);
    assert.equal(await c.uidOf(fh), 4321);
    assert.equal((await c.owners(fh))[0], `alice@${DOMAIN}`);
    // A host user from /etc/passwd ("daemon" is uid 1 on Debian-like systems).
    assert.equal((await c.compound([op.putfh(fh), setOwner(`daemon@${DOMAIN.toUpperCase()}`)])).status, nfsstat4.NFS4_OK);
    assert.equal(await c.uidOf(fh), 1);
    assert.equal((await c.owners(fh))[0], `daemon@${DOMAIN}`);
  });

  it('a decimal owner is taken as the uid; an id without a name is sent as a number', async () => {
    const fh = await createFile(c, 'f3');
    assert.equal((await c.compound([op.putfh(fh), setOwner('4321')])).status, nfsstat4.NFS4_OK);
    assert.equal((await c.owners(fh))[0], `alice@${DOMAIN}`);
    assert.equal((await c.compound([op.putfh(fh), setOwner('777777')])).status, nfsstat4.NFS4_OK);
    assert.equal((await c.owners(fh))[0], '777777');
  });

  it('an unknown name or a foreign domain is NFS4ERR_BADOWNER, and the owner stays', async () => {
    const fh = await createFile(c, 'f4');
    for (const bad of [`mallory@${DOMAIN}`, 'alice@other.domain', '4321@other.domain']) {
      const r = await c.compound([op.putfh(fh), setOwner(bad)]);
      assert.equal(r.status, nfsstat4.NFS4ERR_BADOWNER, bad);
    }
    assert.equal(await c.uidOf(fh), 0);
  });
});

describe('NFSv4 owners with a domain but the default numericIdsForAuthSys', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nfs4-idmap-num-'));
  let gw: Gateway;
  let c: Client;

  before(async () => {
    new UserStore(path.join(dir, USERS_FILE_NAME)).add('alice', { password: 'pw', uid: 4321, gid: 4321 });
    ({ gw, c } = await start(dir, { idmapDomain: DOMAIN }));
  });

  after(async () => {
    await c?.close();
    await gw?.close(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends AUTH_SYS clients numbers, and still accepts "name@domain"', async () => {
    const fh = await createFile(c, 'n1');
    assert.deepEqual(await c.owners(fh), ['0', '0']);
    assert.equal((await c.compound([op.putfh(fh), setOwner(`alice@${DOMAIN}`)])).status, nfsstat4.NFS4_OK);
    assert.deepEqual(await c.owners(fh), ['4321', '0']);
  });
});
