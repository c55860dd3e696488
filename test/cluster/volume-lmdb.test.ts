import { after } from 'node:test';
import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { tempDir } from './helpers';
import { volumeSuite } from './volume-suite';

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

volumeSuite('lmdb', (o) => {
  const t = tempDir('vol');
  cleanups.push(t.cleanup);
  return openVolume({ engine: 'lmdb', dataDir: t.dir, exports: o?.exports ?? [defaultExport('t', 1)], chunkSize: o?.chunkSize });
});
