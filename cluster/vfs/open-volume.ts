/**
 * Opens (creating on first use) a volume on this machine: metadata in `<dataDir>/meta` (lmdb), in
 * memory, or in Redis (shared by several gateways), chunk objects in `<dataDir>/brick`. Replays brick
 * trims a crash left behind.
 */
import { join } from 'node:path';
import type { Brick } from '../bricks/brick';
import { checkChunkSize, DEFAULT_CHUNK_SIZE } from '../bricks/chunks';
import { LocalBrick } from '../bricks/local-brick';
import { MemoryBrick } from '../bricks/memory-brick';
import type { Kv } from '../meta/kv';
import { LmdbKv } from '../meta/engines/lmdb-engine';
import { MemoryKv } from '../meta/engines/memory-engine';
import { RedisKv, type RedisKvLogger, type RedisKvOptions } from '../meta/engines/redis-engine';
import { Namespace } from '../meta/namespace';
import { CoreError, Errc } from './errors';
import type { ExportConfig } from './exports';
import type { FsLimits } from './types';
import { DEFAULT_LIMITS, Volume } from './volume';

export interface OpenVolumeOptions {
  /** Required for engine 'lmdb'; with engine 'memory' the chunks still go to `<dataDir>/brick` if given. */
  dataDir?: string;
  exports: ExportConfig[];
  /** Bytes per chunk object, a power of two (default 4 MiB). Fixed when the volume is created; later opens use the stored size. */
  chunkSize?: number;
  engine: 'lmdb' | 'memory' | 'redis';
  /**
   * Engine 'redis': where the shared metadata lives (url, host/port or sentinels + name, db). keyPrefix
   * defaults to `gw:{<volumeName>}:`; every gateway serving this volume must use the same one.
   */
  redis?: Omit<RedisKvOptions, 'keyPrefix' | 'log'> & { keyPrefix?: string };
  /** The volume's name (default Redis key prefix). */
  volumeName?: string;
  log?: RedisKvLogger;
  /** Namespace changes wait for the disk before returning (default true). */
  durableNamespace?: boolean;
  /** Owner and mode of the root directory of a new volume (default root:root 0755). */
  root?: { mode?: number; uid?: number; gid?: number };
  /** Open fds kept by the local brick (default 256). */
  maxOpenFiles?: number;
  limits?: Partial<FsLimits>;
  /** See VolumeOptions.writeBehindBytes (default 0: off, as callers other than the gateway expect). */
  writeBehindBytes?: number;
  /**
   * Use this brick instead of a local or memory one (tests, remote bricks); a function is called with the
   * volume's metadata store once it is open (the replicated brick set keeps its heal journal there).
   */
  brick?: Brick | ((kv: Kv) => Promise<Brick>);
}

export async function openVolume(opts: OpenVolumeOptions): Promise<Volume> {
  const chunkSize = checkChunkSize(opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  if (opts.engine === 'lmdb' && !opts.dataDir) throw new CoreError(Errc.INVAL, 'lmdb engine needs a dataDir');
  let kv: Kv;
  if (opts.engine === 'lmdb') kv = new LmdbKv({ path: join(opts.dataDir!, 'meta') });
  else if (opts.engine === 'memory') kv = new MemoryKv();
  else if (opts.engine === 'redis') {
    const r = opts.redis ?? {};
    kv = await RedisKv.open({ ...r, keyPrefix: r.keyPrefix ?? `gw:{${opts.volumeName ?? 'data'}}:`, ...(opts.log ? { log: opts.log } : {}) });
  }
  else throw new CoreError(Errc.INVAL, `unknown metadata engine ${String(opts.engine)}`);
  let brick: Brick | undefined;
  try {
    brick = typeof opts.brick === 'function' ? await opts.brick(kv) : opts.brick ?? (opts.dataDir ? await LocalBrick.open(join(opts.dataDir, 'brick'), { maxOpenFiles: opts.maxOpenFiles }) : new MemoryBrick());
    const init: { chunkSize: number; root?: { mode?: number; uid?: number; gid?: number } } = { chunkSize };
    if (opts.root) init.root = opts.root;
    const vol = await Namespace.init(kv, init);
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const ns = new Namespace(kv, vol, { durable: opts.durableNamespace ?? true, maxLink: limits.maxLink });
    const v = new Volume(kv, brick, ns, { exports: opts.exports, limits, ...(opts.writeBehindBytes ? { writeBehindBytes: opts.writeBehindBytes } : {}) });
    await v.recover();
    return v;
  } catch (e) {
    await brick?.close().catch(() => undefined);
    await kv.close().catch(() => undefined);
    throw e;
  }
}
