/**
 * uid/gid ⇄ name tables for protocols that name owners (NFSv4 owner/owner_group, protocols/nfs4/idmap.ts).
 *
 * Sources, first match wins per id and per name: the gateway's own user database (users.json, when it gives
 * uids), then the host's /etc/passwd and /etc/group. Every lookup is a Map read: the files are read
 * asynchronously at `start()` and again when a periodic stat sees a change (mtime, size or inode), so no
 * request ever waits on the disk. A file that is missing counts as empty; one that cannot be parsed keeps
 * the last good copy (the error is reported once per change).
 */
import { promises as fsp } from 'node:fs';

/** Read side, what the protocol codecs use. */
export interface IdNames {
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
  uid(name: string): number | undefined;
  gid(name: string): number | undefined;
}

/** One table of names: name → id and id → name (the first name seen for an id). */
export class NameTable {
  private readonly byName = new Map<string, number>();
  private readonly byId = new Map<number, string>();

  add(name: string, id: number): void {
    if (!this.byName.has(name)) this.byName.set(name, id);
    if (!this.byId.has(id)) this.byId.set(id, name);
  }

  name(id: number): string | undefined {
    return this.byId.get(id);
  }

  id(name: string): number | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }
}

/** What one source file yields. */
export interface ParsedNames {
  users?: Array<[name: string, id: number]>;
  groups?: Array<[name: string, id: number]>;
}

export interface NameSource {
  file: string;
  parse(text: string): ParsedNames;
}

const MAX_ID = 0xffff_fffe;
/** Larger files are not read (a name database is not gigabytes; this bounds memory). */
const MAX_FILE_BYTES = 16 << 20;

/** `name:x:id:...` lines (passwd(5), group(5)): field 0 is the name, field 2 the id. */
export function parseColonFile(text: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const name = f[0];
    const idText = f[2];
    // NIS "+" / "-" entries and malformed lines carry no local mapping.
    if (!name || name.startsWith('+') || name.startsWith('-') || idText === undefined || !/^[0-9]{1,10}$/.test(idText)) continue;
    const id = Number(idText);
    if (id <= MAX_ID) out.push([name, id]);
  }
  return out;
}

export const passwdSource = (file = '/etc/passwd'): NameSource => ({ file, parse: (t) => ({ users: parseColonFile(t) }) });
export const groupSource = (file = '/etc/group'): NameSource => ({ file, parse: (t) => ({ groups: parseColonFile(t) }) });

interface Loaded {
  stamp: string;
  names: ParsedNames;
}

export interface FileIdNamesOptions {
  /** How often the files are stat'ed for changes (default 10 s). */
  checkEveryMs?: number;
  onError?: (msg: string) => void;
}

/** `IdNames` answered from a user table and a group table (the subclasses fill them). */
abstract class TableIdNames implements IdNames {
  protected users = new NameTable();
  protected groups = new NameTable();

  userName(uid: number): string | undefined {
    return this.users.name(uid);
  }
  groupName(gid: number): string | undefined {
    return this.groups.name(gid);
  }
  uid(name: string): number | undefined {
    return this.users.id(name);
  }
  gid(name: string): number | undefined {
    return this.groups.id(name);
  }
}

/** `IdNames` over files (see the module comment). */
export class FileIdNames extends TableIdNames {
  private readonly loaded: Array<Loaded | undefined>;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    readonly sources: readonly NameSource[],
    private readonly opts: FileIdNamesOptions = {},
  ) {
    super();
    this.loaded = sources.map(() => undefined);
  }

  /** First load, then the periodic check (its timer does not keep the process alive). */
  async start(): Promise<this> {
    await this.refresh();
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.opts.checkEveryMs ?? 10_000);
      this.timer.unref();
    }
    return this;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the sources whose files changed and rebuilds the tables (one refresh at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    let changed = false;
    for (let i = 0; i < this.sources.length; i++) {
      const src = this.sources[i]!;
      let stamp: string;
      let size = 0;
      try {
        const st = await fsp.stat(src.file);
        stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
        size = st.size;
      } catch {
        stamp = 'missing';
      }
      const prev = this.loaded[i];
      if (prev && prev.stamp === stamp) continue;
      if (stamp === 'missing') {
        this.loaded[i] = { stamp, names: {} };
        changed = true;
        continue;
      }
      try {
        if (size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
        const names = src.parse(await fsp.readFile(src.file, 'utf8'));
        this.loaded[i] = { stamp, names };
        changed = true;
      } catch (e) {
        this.opts.onError?.(`${src.file}: ${(e as Error).message}`);
        // Keep the last good copy; do not retry until the file changes again.
        this.loaded[i] = { stamp, names: prev?.names ?? {} };
      }
    }
    if (!changed) return;
    const users = new NameTable();
    const groups = new NameTable();
    for (const l of this.loaded) {
      for (const [n, id] of l?.names.users ?? []) users.add(n, id);
      for (const [n, id] of l?.names.groups ?? []) groups.add(n, id);
    }
    this.users = users;
    this.groups = groups;
  }

}

/** Fixed tables (tests, and a server without files). */
export class StaticIdNames extends TableIdNames {
  constructor(users: Iterable<[string, number]> = [], groups: Iterable<[string, number]> = []) {
    super();
    for (const [n, id] of users) this.users.add(n, id);
    for (const [n, id] of groups) this.groups.add(n, id);
  }

}
