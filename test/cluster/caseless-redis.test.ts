import { after } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { tempDir } from './helpers';
import { redisForFile } from './redis-server';
import { caselessSuite } from './caseless-suite';

// Against a real redis-server on a loopback port (see volume-redis.test.ts).
const redis = redisForFile('caseless');
const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

caselessSuite('redis', (o) => {
  const t = tempDir('vol-caseless-redis');
  cleanups.push(t.cleanup);
  return openVolume({
    engine: 'redis',
    redis: { url: redis.url, keyPrefix: redis.prefix() },
    dataDir: t.dir,
    exports: o?.exports ?? [defaultExport('t', 1)],
    chunkSize: o?.chunkSize,
  });
});
