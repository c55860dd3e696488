import { redisVolumesForFile } from './redis-server';
import { volumeSuite } from './volume-suite';

// The core suite on the Redis engine, against a real redis-server on a loopback port (appendonly
// yes, appendfsync always). Each volume gets its own key prefix in the one server.
volumeSuite('redis', redisVolumesForFile('suite'));
