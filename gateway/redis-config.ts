/**
 * The `redis` block of a volume in the config file → the Redis metadata engine's options
 * (cluster/meta/engines/redis-engine.ts). Sentinels may be written "host:port".
 */
import type { RedisKvOptions } from '../cluster/meta/engines/redis-engine';
import type { VolumeEntry } from './config/schema';

export type VolumeRedisOptions = Omit<RedisKvOptions, 'keyPrefix' | 'log'> & { keyPrefix?: string };

export function redisOptions(v: VolumeEntry): VolumeRedisOptions {
  const r = v.redis;
  if (!r) return {};
  const out: VolumeRedisOptions = { durability: r.durability, minReplicas: r.minReplicas, commandTimeoutMs: r.commandTimeoutMs };
  if (r.url !== undefined) out.url = r.url;
  if (r.host !== undefined) out.host = r.host;
  if (r.port !== undefined) out.port = r.port;
  if (r.name !== undefined) out.name = r.name;
  if (r.db !== undefined) out.db = r.db;
  if (r.username !== undefined) out.username = r.username;
  if (r.password !== undefined) out.password = r.password;
  if (r.keyPrefix !== undefined) out.keyPrefix = r.keyPrefix;
  if (r.cacheEntries !== undefined) out.cacheEntries = r.cacheEntries;
  if (r.leaseTtlMs !== undefined) out.leaseTtlMs = r.leaseTtlMs;
  if (r.sentinels?.length) {
    out.sentinels = r.sentinels.map((s) => {
      if (typeof s !== 'string') return s;
      const i = s.lastIndexOf(':');
      return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(i + 1)) };
    });
  }
  return out;
}
