import { defaultExport } from '../../cluster/vfs/exports';
import { openVolume } from '../../cluster/vfs/open-volume';
import { caselessSuite } from './caseless-suite';

caselessSuite('memory', (o) => openVolume({ engine: 'memory', exports: o?.exports ?? [defaultExport('t', 1)], chunkSize: o?.chunkSize }));
