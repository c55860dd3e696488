import { redisVolumesForFile } from './redis-server';
import { caselessSuite } from './caseless-suite';

// Against a real redis-server on a loopback port (see volume-redis.test.ts).
caselessSuite('redis', redisVolumesForFile('caseless'));
