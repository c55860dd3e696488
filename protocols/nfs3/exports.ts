/**
 * The export registry the NFSv3 and MOUNT programs read: export policy by id (from a handle) or by name
 * (from a MOUNT dirpath), and the FileSystem serving each export. The gateway builds one from its config;
 * `createNfsExports` is the plain in-memory version (tests, single node).
 */
import type { ExportConfig } from '../../cluster/vfs/exports';
import type { FileSystem } from '../../cluster/vfs/types';

export interface NfsExports {
  byId(id: number): ExportConfig | undefined;
  byName(name: string): ExportConfig | undefined;
  /** The FileSystem that serves `exportId`. Only called for ids `byId` knows. */
  fsFor(exportId: number): FileSystem;
  /** Every export, in the order MOUNT EXPORT lists them. */
  list(): readonly ExportConfig[];
}

export interface NfsExportEntry {
  config: ExportConfig;
  fs: FileSystem;
}

export function createNfsExports(entries: readonly NfsExportEntry[]): NfsExports {
  const ids = new Map<number, NfsExportEntry>();
  const names = new Map<string, NfsExportEntry>();
  for (const e of entries) {
    if (ids.has(e.config.id)) throw new Error(`duplicate export id ${e.config.id}`);
    if (names.has(e.config.name)) throw new Error(`duplicate export name ${e.config.name}`);
    ids.set(e.config.id, e);
    names.set(e.config.name, e);
  }
  const configs = entries.map((e) => e.config);
  return {
    byId: (id) => ids.get(id)?.config,
    byName: (name) => names.get(name)?.config,
    fsFor: (id) => {
      const e = ids.get(id);
      if (!e) throw new Error(`no file system for export ${id}`);
      return e.fs;
    },
    list: () => configs,
  };
}
