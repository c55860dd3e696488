import { after, before } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { tempDir } from './helpers';
import { startRedis, type RedisProc } from './redis-server';
import { volumeSuite } from './volume-suite';

// The core suite on the Redis engine, against a real redis-server on a loopback port (appendonly
// yes, appendfsync always). Each volume gets its own key prefix in the one server.
let redis: RedisProc | undefined;
before(async () => {
  redis = await startRedis();
});
const cleanups: Array<() => void> = [];
after(async () => {
  cleanups.forEach((c) => c());
  await redis?.cleanup();
});

let n = 0;
volumeSuite('redis', (o) => {
  const t = tempDir('vol-redis');
  cleanups.push(t.cleanup);
  return openVolume({
    engine: 'redis',
    redis: { url: redis!.url, keyPrefix: `suite:${process.pid}:${n++}:` },
    dataDir: t.dir,
    exports: o?.exports ?? [defaultExport('t', 1)],
    chunkSize: o?.chunkSize,
  });
});
