/**
 * What the SMB loopback tests share: test accounts, an SMB server on 127.0.0.1 over a volume, and a
 * client that is negotiated, logged in and connected to a share (each step asserted).
 */
import assert from 'node:assert/strict';
import type { ExportConfig } from '../../cluster/vfs/exports';
import type { FileSystem } from '../../cluster/vfs/types';
import { ntHash } from '../../protocols/smb2/crypto/md4';
import { Smb2Cmd } from '../../protocols/smb2/constants';
import { SmbServer } from '../../protocols/smb2/server';
import type { SmbServerOptions } from '../../protocols/smb2/server-context';
import { ShareRegistry } from '../../protocols/smb2/shares';
import { DiskShare } from '../../protocols/smb2/tree/disk';
import { IpcShare } from '../../protocols/smb2/tree/ipc';
import type { SmbAccount } from '../../protocols/smb2/users';
import { TestSmbClient, treeConnectBody } from './smb2-client';

/** Every dialect the server speaks, oldest first. */
export const ALL_DIALECTS = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311];

/** Errors are printed; the rest of the server's logging is dropped. */
export const quietLogger = { debug() {}, info() {}, warn() {}, error: (o: object, m?: string) => console.error(m, o) };

/** A test account; every test account's password is "pw". */
export function testAccount(name: string, uid = 1000, gid = uid): SmbAccount {
  return { name, ntHash: ntHash('pw'), uid, gid, groups: [] };
}

/** A user database over `accounts`, with names looked up case-insensitively as the gateway does. */
export function testUsers(...accounts: SmbAccount[]): SmbServerOptions['users'] {
  const byName = new Map(accounts.map((a) => [a.name.toLowerCase(), a]));
  return { lookup: (n: string) => byName.get(n.toLowerCase()) };
}

/** The usual share set: `config` as a disk share (named after it) and IPC$. */
export function diskAndIpc(fs: FileSystem, config: ExportConfig): ShareRegistry {
  return new ShareRegistry().add(new DiskShare({ config, fs })).add(new IpcShare(new Map()));
}

/**
 * An SMB server on 127.0.0.1 with 64 credits, user alice (uid 1000) unless `users` says otherwise,
 * and `shares`; `options` overrides anything else.
 */
export async function startTestSmb(o: {
  shares: ShareRegistry;
  users?: SmbServerOptions['users'];
  options?: Partial<SmbServerOptions>;
}): Promise<{ server: SmbServer; port: number }> {
  const server = new SmbServer({ logger: quietLogger, users: o.users ?? testUsers(testAccount('alice')), shares: o.shares, maxCredits: 64, ...o.options });
  const port = (await server.listen('127.0.0.1', 0)).port;
  return { server, port };
}

/**
 * A client on `port`: NEGOTIATE (all dialects unless told), SESSION_SETUP as `user` (password "pw"),
 * TREE_CONNECT to `share`. It is pushed on `clients`, which the test closes at the end.
 */
export async function readyClient(
  port: number,
  clients: TestSmbClient[],
  o: { dialects?: number[]; negotiate?: Parameters<TestSmbClient['negotiate']>[1]; user?: string; share?: string; sign?: boolean } = {},
): Promise<TestSmbClient> {
  const c = await TestSmbClient.connect(port);
  clients.push(c);
  await c.negotiate(o.dialects ?? ALL_DIALECTS, o.negotiate ?? {});
  assert.equal((await c.login(o.user ?? 'alice', 'pw')).hdr.status, 0);
  if (o.sign) c.sign = true;
  const t = await c.request({ command: Smb2Cmd.TREE_CONNECT, body: treeConnectBody(`\\\\127.0.0.1\\${o.share ?? 'data'}`) });
  assert.equal(t.hdr.status, 0);
  c.treeId = t.hdr.treeId;
  return c;
}
