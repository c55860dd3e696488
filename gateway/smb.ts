/**
 * SMB2/3 wiring: the config's exports become disk shares (same names, same policy), IPC$ serves the
 * srvsvc pipe for share listing, users come from the users file (`gateway user add`). The lead calls
 * `startSmb` from server.ts after the volumes are open.
 *
 * Binding: with `smb.enabled: "auto"` (the default) a port that cannot be bound (445 needs root, or
 * Samba holds it) logs a warning and the gateway serves NFS alone; with `smb.enabled: true` (or an
 * explicit --smb-port) it is an error.
 */
import * as path from 'node:path';
import type { ExportConfig } from '../cluster/vfs/exports';
import type { FileSystem } from '../cluster/vfs/types';
import { ShareRegistry } from '../protocols/smb2/shares';
import { SmbServer } from '../protocols/smb2/server';
import type { SmbObserver } from '../protocols/smb2/observer';
import { ntStatusName } from '../protocols/smb2/ntstatus';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DiskShare } from '../protocols/smb2/tree/disk';
import { IpcShare, type PipeFactory } from '../protocols/smb2/tree/ipc';
import { srvsvcPipe } from '../protocols/smb2/dcerpc/srvsvc';
import type { GatewayConfig } from './config/schema';
import type { Logger } from './log';
import { FileUserDb, USERS_FILE_NAME } from './users';

export interface SmbService {
  /** Bound port, or null when SMB is off (disabled, or "auto" and the port was not available). */
  port: number | null;
  close(graceMs: number): Promise<void>;
}

export interface SmbShareSource {
  config: ExportConfig;
  fs: FileSystem;
}

function isBindError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}

/** Where the users database lives: smb.usersFile, else <first volume's data dir>/users.json. */
export function usersFileOf(cfg: GatewayConfig): string {
  if (cfg.smb.usersFile) return path.resolve(cfg.smb.usersFile);
  return path.join(path.resolve(cfg.volumes[0]!.dataDir), USERS_FILE_NAME);
}

/**
 * SMB metrics on the gateway's registry: per-command counts by outcome, latency, bytes in and out per
 * command, and gauges for connections and sessions read at scrape time.
 */
function smbMetrics(registry: Registry, server: () => SmbServer | undefined): SmbObserver {
  const ops = new Counter({ name: 'gateway_smb_ops_total', help: 'SMB2 requests answered, by command and status', labelNames: ['command', 'status'] as const, registers: [registry] });
  const latency = new Histogram({
    name: 'gateway_smb_latency_seconds',
    help: 'SMB2 request latency from decode to reply',
    labelNames: ['command'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const bytes = new Counter({ name: 'gateway_smb_bytes_total', help: 'SMB2 message bytes by command and direction (before encryption)', labelNames: ['command', 'direction'] as const, registers: [registry] });
  new Gauge({ name: 'gateway_smb_connections', help: 'Open SMB connections', registers: [registry], collect() { this.set(server()?.connectionCount ?? 0); } });
  new Gauge({ name: 'gateway_smb_sessions', help: 'SMB sessions (authenticated or being set up)', registers: [registry], collect() { this.set(server()?.sessionCount ?? 0); } });
  return {
    request(command, status, seconds, bytesIn, bytesOut) {
      ops.inc({ command, status: ntStatusName(status) });
      latency.observe({ command }, seconds);
      bytes.inc({ command, direction: 'in' }, bytesIn);
      bytes.inc({ command, direction: 'out' }, bytesOut);
    },
  };
}

export async function startSmb(cfg: GatewayConfig, sources: readonly SmbShareSource[], log: Logger, registry?: Registry): Promise<SmbService> {
  const off: SmbService = { port: null, close: async () => undefined };
  if (cfg.smb.enabled === false) return off;
  const explicit = cfg.smb.enabled === true;
  const slog = log.child({ proto: 'smb' });
  const usersFile = usersFileOf(cfg);
  const users = new FileUserDb(usersFile, (msg) => slog.warn({ usersFile, err: msg }, 'smb: users file unreadable, keeping the last good copy'));

  const shares = new ShareRegistry();
  for (const s of sources) {
    const o = cfg.exports.find((e) => e.name === s.config.name)?.smb;
    shares.add(
      new DiskShare({
        config: s.config,
        fs: s.fs,
        ...(o
          ? { caseInsensitive: o.caseInsensitive, encryptData: o.encryptData, comment: o.comment, ...(o.users ? { allowUsers: o.users } : {}), ...(o.groups ? { allowGroups: o.groups } : {}) }
          : {}),
      }),
    );
  }
  const pipes = new Map<string, PipeFactory>([['srvsvc', () => srvsvcPipe(() => shares.list(), cfg.smb.serverName)]]);
  shares.add(new IpcShare(pipes));

  // READ/WRITE sizes: the config's limit (up to 8 MiB). The disk share splits a request larger than one
  // core call into parallel core reads/writes, so the core's own limit does not cap what SMB offers.
  const maxIo = Math.max(65536, Math.min(cfg.smb.maxIo, 8 * 1024 * 1024));
  let serverRef: SmbServer | undefined;
  const observer = registry ? smbMetrics(registry, () => serverRef) : undefined;
  const server = new SmbServer({
    ...(observer ? { observer } : {}),
    logger: slog,
    users,
    shares,
    serverName: cfg.smb.serverName,
    domain: cfg.smb.workgroup,
    signingRequired: cfg.smb.signing === 'required',
    encryption: cfg.smb.encryption,
    maxCredits: cfg.smb.maxCredits,
    maxIo,
    maxConnections: cfg.limits.maxConnections,
    oplocks: cfg.smb.oplocks,
    leases: cfg.smb.leases,
    breakTimeoutMs: cfg.smb.breakTimeoutMs,
  });
  serverRef = server;
  let port: number | null = cfg.smb.port;
  try {
    for (const host of cfg.listen) port = (await server.listen(host, cfg.smb.port)).port;
  } catch (e) {
    await server.close({ graceful: false });
    if (explicit || !isBindError(e)) throw e;
    slog.warn({ port: cfg.smb.port, err: (e as Error).message }, 'smb: port not available, serving NFS only (set smb.enabled: true to make this an error)');
    return off;
  }
  slog.info({ port, shares: shares.list().map((s) => s.name), usersFile, users: users.size }, 'smb: listening');
  return {
    port,
    close: (graceMs) => server.close({ graceful: true, timeoutMs: graceMs }),
  };
}
