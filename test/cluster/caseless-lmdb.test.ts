import { after } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { tempDir } from './helpers';
import { caselessSuite } from './caseless-suite';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

caselessSuite('lmdb', (o) => {
  const t = tempDir('vol-caseless');
  cleanups.push(t.cleanup);
  return openVolume({ engine: 'lmdb', dataDir: t.dir, exports: o?.exports ?? [defaultExport('t', 1)], chunkSize: o?.chunkSize });
});
