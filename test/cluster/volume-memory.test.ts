import { MemoryKv } from '../../cluster/meta/engines/memory-engine';
import { createMemoryFileSystem } from '../../cluster/vfs/memory';
import { openVolume } from '../../cluster/vfs/open-volume';
import { defaultExport } from '../../cluster/vfs/exports';
import { volumeSuite } from './volume-suite';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALICE, b } from './helpers';
import { CreateMode } from '../../cluster/vfs/types';

volumeSuite('memory', (o) => openVolume({ engine: 'memory', exports: o?.exports ?? [defaultExport('t', 1)], chunkSize: o?.chunkSize }));

test('createMemoryFileSystem: synchronous, export 1 "export", world-writable root', async () => {
  const fs = createMemoryFileSystem();
  assert.ok(fs.kv instanceof MemoryKv);
  const root = await fs.rootHandle(1);
  const f = await fs.create(ALICE, root, b('mine'), { mode: CreateMode.GUARDED });
  assert.equal(f.attr.uid, ALICE.uid);
  await fs.close();
});
