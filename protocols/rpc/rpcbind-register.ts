/**
 * Registration with a system rpcbind when the gateway cannot own port 111 itself (EADDRINUSE).
 *
 * rpcbind only takes SET/UNSET from this host: over its unix socket (tried first), or over loopback
 * (many builds also want a reserved source port there: pass `localPort` when running as root).
 * The newest protocol it speaks is used: rpcbind v4 or v3 (RPCBPROC_SET with netid and universal
 * address, IPv6 included), or portmap v2 (PMAPPROC_SET, IPv4 only) for an old portmapper.
 *
 * Stale mappings for the same (prog, vers) are removed first: a previous run that crashed leaves
 * them behind, and SET refuses to replace an existing mapping.
 *
 *   const reg = await RpcbindRegistration.register(server.registrations(), { logger });
 *   …
 *   await reg.unregister();
 */
import { existsSync } from 'node:fs';
import { XdrWriter } from '../xdr/writer';
import { RpcClient, RpcReplyError } from './client';
import { errInfo, noopLogger, type Logger } from './log';
import { PROG_MISMATCH } from './message';
import type { PortRegistration } from './types';
import { parseUaddr } from './uaddr';

// Program 100000 numbers, repeated here so protocols/rpc does not depend on protocols/portmap.
const PMAPPROG = 100000;
const PMAPPROC_NULL = 0;
const PMAPPROC_SET = 1;
const PMAPPROC_UNSET = 2;
const RPCBPROC_SET = 1;
const RPCBPROC_UNSET = 2;

export const DEFAULT_RPCBIND_SOCKETS = ['/run/rpcbind.sock', '/var/run/rpcbind.sock'];

export interface RpcbindRegisterOptions {
  /** Default 127.0.0.1:111. */
  host?: string;
  port?: number;
  /** Unix sockets tried before TCP (default: rpcbind's usual paths, only when port is 111). */
  socketPaths?: string[];
  /** Source port for the TCP connection (a reserved one needs root). */
  localPort?: number;
  timeoutMs?: number;
  logger?: Logger;
}

export interface RpcbindRegistrationResult {
  reg: PortRegistration;
  ok: boolean;
}

type Dialect = 2 | 3 | 4;

export class RpcbindRegistration {
  private constructor(
    private readonly opts: RpcbindRegisterOptions,
    readonly version: Dialect,
    readonly results: RpcbindRegistrationResult[],
  ) {}

  /** Registers every entry it can express; resolves even if some SETs were refused (see `results`). */
  static async register(regs: readonly PortRegistration[], opts: RpcbindRegisterOptions = {}): Promise<RpcbindRegistration> {
    const logger = opts.logger ?? noopLogger;
    const client = await connectRpcbind(opts);
    try {
      const version = await negotiate(client, opts.timeoutMs);
      // One mapping per (prog, vers, netid) is all rpcbind keeps; v2 can only express IPv4.
      const seen = new Set<string>();
      const usable = regs.filter((r) => {
        const key = `${r.prog}/${r.vers}/${r.netid}`;
        if (seen.has(key) || (version === 2 && r.netid !== 'tcp' && r.netid !== 'udp')) return false;
        seen.add(key);
        return true;
      });
      await unsetAll(client, version, usable, opts.timeoutMs);
      const results: RpcbindRegistrationResult[] = [];
      for (const reg of usable) {
        const ok = await setOne(client, version, reg, opts.timeoutMs);
        if (!ok) logger.warn({ prog: reg.prog, vers: reg.vers, netid: reg.netid, uaddr: reg.uaddr }, 'rpcbind refused registration');
        results.push({ reg, ok });
      }
      logger.info({ version, registered: results.filter((r) => r.ok).length, of: regs.length }, 'registered with system rpcbind');
      return new RpcbindRegistration(opts, version, results);
    } finally {
      await client.close();
    }
  }

  /** Removes what `register` added. Errors are logged, not thrown: this runs during shutdown. */
  async unregister(): Promise<void> {
    const logger = this.opts.logger ?? noopLogger;
    const done = this.results.filter((r) => r.ok).map((r) => r.reg);
    if (done.length === 0) return;
    let client: RpcClient | undefined;
    try {
      client = await connectRpcbind(this.opts);
      await unsetAll(client, this.version, done, this.opts.timeoutMs);
    } catch (e) {
      logger.warn(errInfo(e), 'rpcbind unregistration failed');
    } finally {
      await client?.close();
    }
  }
}

async function connectRpcbind(opts: RpcbindRegisterOptions): Promise<RpcClient> {
  const port = opts.port ?? 111;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const paths = opts.socketPaths ?? (port === 111 ? DEFAULT_RPCBIND_SOCKETS : []);
  for (const path of paths) {
    if (!existsSync(path)) continue;
    try {
      return await RpcClient.connect({ path, timeoutMs });
    } catch {
      // stale socket file: fall through to TCP
    }
  }
  return RpcClient.connect({
    host: opts.host ?? '127.0.0.1',
    port,
    timeoutMs,
    ...(opts.localPort !== undefined ? { localPort: opts.localPort } : {}),
  });
}

/** The newest of v4, v3, v2 that the peer serves, learnt from PROG_MISMATCH on a v4 NULL call. */
async function negotiate(client: RpcClient, timeoutMs?: number): Promise<Dialect> {
  try {
    await client.call(PMAPPROG, 4, PMAPPROC_NULL, undefined, callOpts(timeoutMs));
    return 4;
  } catch (e) {
    if (e instanceof RpcReplyError && e.reply.kind === 'accepted' && e.reply.accept.stat === PROG_MISMATCH) {
      const high = e.reply.accept.high;
      if (high >= 3) return 3;
      if (e.reply.accept.low <= 2) return 2;
    }
    throw e;
  }
}

function callOpts(timeoutMs?: number): { timeoutMs?: number } {
  return timeoutMs !== undefined ? { timeoutMs } : {};
}

function encodeRpcbArgs(w: XdrWriter, reg: PortRegistration, addr: string): void {
  w.uint32(reg.prog).uint32(reg.vers).string(reg.netid).string(addr).string(reg.owner);
}

function encodePmapArgs(w: XdrWriter, reg: PortRegistration): void {
  w.uint32(reg.prog).uint32(reg.vers).uint32(reg.prot).uint32(parseUaddr(reg.uaddr)?.port ?? reg.port);
}

/**
 * UNSET for each (prog, vers, netid) — in v2 once per (prog, vers), since PMAPPROC_UNSET drops every
 * protocol's mapping at once. Done for all entries before any SET for the same reason.
 */
async function unsetAll(client: RpcClient, version: Dialect, regs: readonly PortRegistration[], timeoutMs?: number): Promise<void> {
  const seen = new Set<string>();
  for (const reg of regs) {
    const key = version === 2 ? `${reg.prog}/${reg.vers}` : `${reg.prog}/${reg.vers}/${reg.netid}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (version === 2) await client.call(PMAPPROG, 2, PMAPPROC_UNSET, (w) => encodePmapArgs(w, reg), callOpts(timeoutMs));
    else await client.call(PMAPPROG, version, RPCBPROC_UNSET, (w) => encodeRpcbArgs(w, reg, ''), callOpts(timeoutMs));
  }
}

async function setOne(client: RpcClient, version: Dialect, reg: PortRegistration, timeoutMs?: number): Promise<boolean> {
  const r =
    version === 2
      ? await client.call(PMAPPROG, 2, PMAPPROC_SET, (w) => encodePmapArgs(w, reg), callOpts(timeoutMs))
      : await client.call(PMAPPROG, version, RPCBPROC_SET, (w) => encodeRpcbArgs(w, reg, reg.uaddr), callOpts(timeoutMs));
  return r.bool();
}
