import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VolumeSchema } from '../../../gateway/config/schema';
import { redisOptions } from '../../../gateway/redis-config';

test('volume redis block: url, sentinels as host:port or objects, defaults', () => {
  const v = VolumeSchema.parse({
    name: 'data',
    dataDir: '/tmp/x',
    engine: 'redis',
    redis: { sentinels: ['10.0.0.1:26379', { host: 'h2', port: 26380 }, '[::1]:26381'], name: 'mymaster', db: 2, keyPrefix: 'k:' },
  });
  assert.deepEqual(redisOptions(v), {
    durability: 'strict',
    minReplicas: 0,
    commandTimeoutMs: 10000,
    name: 'mymaster',
    db: 2,
    keyPrefix: 'k:',
    sentinels: [
      { host: '10.0.0.1', port: 26379 },
      { host: 'h2', port: 26380 },
      { host: '::1', port: 26381 },
    ],
  });
  const u = VolumeSchema.parse({ name: 'data', dataDir: '/tmp/x', engine: 'redis', redis: { url: 'redis://127.0.0.1:7000/1', durability: 'relaxed' } });
  assert.equal(redisOptions(u).url, 'redis://127.0.0.1:7000/1');
  assert.equal(redisOptions(u).durability, 'relaxed');
});

test('volume redis block: sentinels without a master name, bad addresses and unknown durability are refused', () => {
  assert.throws(() => VolumeSchema.parse({ name: 'data', dataDir: '/x', engine: 'redis', redis: { sentinels: ['h:1'] } }), /master group name/);
  assert.throws(() => VolumeSchema.parse({ name: 'data', dataDir: '/x', engine: 'redis', redis: { sentinels: ['nohost'], name: 'm' } }), /host:port/);
  assert.throws(() => VolumeSchema.parse({ name: 'data', dataDir: '/x', engine: 'redis', redis: { durability: 'sometimes' } }));
  assert.throws(() => VolumeSchema.parse({ name: 'data', dataDir: '/x', engine: 'etcd' }));
});
