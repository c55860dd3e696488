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

export async function startSmb(cfg: GatewayConfig, sources: readonly SmbShareSource[], log: Logger): Promise<SmbService> {
  const off: SmbService = { port: null, close: async () => undefined };
  if (cfg.smb.enabled === false) return off;
  const explicit = cfg.smb.enabled === true;
  const slog = log.child({ proto: 'smb' });
  const usersFile = usersFileOf(cfg);
  const users = new FileUserDb(usersFile, (msg) => slog.warn({ usersFile, err: msg }, 'smb: users file unreadable, keeping the last good copy'));

  const shares = new ShareRegistry();
  for (const s of sources) shares.add(new DiskShare({ config: s.config, fs: s.fs }));
  const pipes = new Map<string, PipeFactory>([['srvsvc', () => srvsvcPipe(() => shares.list(), cfg.smb.serverName)]]);
  shares.add(new IpcShare(pipes));

  // READ/WRITE sizes: what every volume can do in one core call, at most 8 MiB (and the config's limit).
  const coreIo = Math.min(...sources.map((s) => Math.min(s.fs.limits.maxRead, s.fs.limits.maxWrite)));
  const maxIo = Math.max(65536, Math.min(cfg.smb.maxIo, Number.isFinite(coreIo) ? coreIo : cfg.smb.maxIo));
  const server = new SmbServer({
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
  });
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
