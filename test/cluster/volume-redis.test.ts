import { after } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { tempDir } from './helpers';
import { redisForFile } from './redis-server';
import { volumeSuite } from './volume-suite';

// The core suite on the Redis engine, against a real redis-server on a loopback port (appendonly
// yes, appendfsync always). Each volume gets its own key prefix in the one server.
const redis = redisForFile('suite');
const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

volumeSuite('redis', (o) => {
  const t = tempDir('vol-redis');
  cleanups.push(t.cleanup);
  return openVolume({
    engine: 'redis',
    redis: { url: redis.url, keyPrefix: redis.prefix() },
    dataDir: t.dir,
    exports: o?.exports ?? [defaultExport('t', 1)],
    chunkSize: o?.chunkSize,
  });
});
