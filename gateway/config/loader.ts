/**
 * Config = defaults ← file (JSON) ← command-line flags. Validation errors name the field, so an
 * operator sees "exports.0.clients.1.match: Required" rather than a stack trace.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigSchema, type GatewayConfig } from './schema';

export interface ServeFlags {
  config?: string;
  data?: string;
  listen?: string[];
  nfsPort?: number;
  mountPort?: number;
  portmap?: 'auto' | 'own' | 'register' | 'off';
  portmapPort?: number;
  logLevel?: string;
  metricsPort?: number;
  /** Admin endpoint port (gateway volume/heal commands). */
  adminPort?: number;
  udp?: boolean;
  /** SMB port; giving it asks for SMB explicitly (a bind failure is then an error). */
  smbPort?: number;
}

export class ConfigError extends Error {}

export function loadConfig(flags: ServeFlags): GatewayConfig {
  let raw: Record<string, any> = {};
  if (flags.config) {
    try {
      raw = JSON.parse(readFileSync(flags.config, 'utf8'));
    } catch (e) {
      throw new ConfigError(`cannot read config ${flags.config}: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config must be a JSON object');
  }
  // --data DIR: the embedded default, one volume "data" served as export "data".
  if (flags.data) {
    const dataDir = path.resolve(flags.data);
    raw.volumes ??= [{ name: 'data', dataDir, rootMode: 0o1777 }];
    raw.exports ??= [{ name: 'data', volume: 'data', path: '/' }];
  }
  if (!raw.volumes || !raw.exports) throw new ConfigError('no volume configured: pass --data DIR or --config FILE');
  raw.nfs = { ...(raw.nfs ?? {}) };
  if (flags.nfsPort !== undefined) raw.nfs.port = flags.nfsPort;
  if (flags.mountPort !== undefined) raw.nfs.mountPort = flags.mountPort;
  if (flags.portmap !== undefined) raw.nfs.portmap = flags.portmap;
  if (flags.portmapPort !== undefined) raw.nfs.portmapPort = flags.portmapPort;
  if (flags.udp !== undefined) raw.nfs.udp = flags.udp;
  if (flags.smbPort !== undefined) raw.smb = { ...(raw.smb ?? {}), port: flags.smbPort, enabled: raw.smb?.enabled ?? true };
  if (flags.listen && flags.listen.length) raw.listen = flags.listen;
  if (flags.logLevel) raw.log = { ...(raw.log ?? {}), level: flags.logLevel };
  if (flags.metricsPort !== undefined) raw.metrics = { ...(raw.metrics ?? {}), port: flags.metricsPort };
  if (flags.adminPort !== undefined) raw.admin = { ...(raw.admin ?? {}), port: flags.adminPort };

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid config: ${msg}`);
  }
  const cfg = parsed.data;
  // Export ids default to position + 1 and must be unique: they are baked into every file handle.
  const seen = new Set<number>();
  cfg.exports.forEach((e, i) => {
    e.id ??= i + 1;
    if (seen.has(e.id)) throw new ConfigError(`exports.${i}.id ${e.id} is used twice`);
    seen.add(e.id);
    if (!cfg.volumes.some((v) => v.name === e.volume)) throw new ConfigError(`exports.${i}.volume: no volume named ${e.volume}`);
  });
  // Distributed volumes: enough bricks for the replica count, ids unique (placement hashes them).
  cfg.volumes.forEach((v, i) => {
    if (!v.bricks) {
      if (v.replica > 1) throw new ConfigError(`volumes.${i}.replica: replica ${v.replica} needs bricks (volumes.${i}.bricks)`);
      return;
    }
    if (v.bricks.length < v.replica) throw new ConfigError(`volumes.${i}.replica: replica ${v.replica} needs at least ${v.replica} bricks (have ${v.bricks.length})`);
    const ids = new Set<string>();
    v.bricks.forEach((b, j) => {
      if (ids.has(b.id)) throw new ConfigError(`volumes.${i}.bricks.${j}.id ${b.id} is used twice`);
      ids.add(b.id);
    });
  });
  const names = new Set<string>();
  for (const e of cfg.exports) {
    if (names.has(e.name)) throw new ConfigError(`export name ${e.name} is used twice`);
    names.add(e.name);
  }
  return cfg;
}
