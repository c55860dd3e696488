/**
 * The memory backend: a complete volume (memory KV + memory brick, the same core code as on disk),
 * built synchronously for protocol tests. Default: one export, id 1, name "export", path "/", root
 * directory root:root 0777 so unprivileged test credentials can create at the top.
 */
import { MemoryBrick } from '../../bricks/memory-brick';
import { DEFAULT_CHUNK_SIZE } from '../../bricks/chunks';
import { MemoryKv } from '../../meta/engines/memory-engine';
import { Namespace } from '../../meta/namespace';
import { defaultExport, type ExportConfig } from '../exports';
import { Volume } from '../volume';

export interface MemoryFileSystemOptions {
  chunkSize?: number;
  root?: { mode?: number; uid?: number; gid?: number };
}

export function createMemoryFileSystem(exports?: ExportConfig[], opts: MemoryFileSystemOptions = {}): Volume {
  const kv = new MemoryKv();
  const { vol, records } = Namespace.initialRecords({ chunkSize: opts.chunkSize ?? DEFAULT_CHUNK_SIZE, root: opts.root ?? { mode: 0o777 } });
  for (const [k, v] of records) kv.putSync(k, v);
  const ns = new Namespace(kv, vol, { durable: false, maxLink: 65000 });
  return new Volume(kv, new MemoryBrick(), ns, { exports: exports ?? [defaultExport('export', 1)] });
}
