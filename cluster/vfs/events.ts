/**
 * Namespace and attribute change events of one volume (the core's `events()` upcall), so a frontend can
 * tell its clients about changes made by any protocol: SMB2 CHANGE_NOTIFY is fed from here, and an NFS
 * client's CREATE shows up in an Explorer window because it went through the same core.
 *
 *   const stop = fs.events().watch(dirFileId, (e) => ..., { tree: false });   // stop() unsubscribes
 *
 * Events name the directory the change happened in (`dirId`) and the entry name in it:
 *  - added / removed: an entry appeared or went away (create, mkdir, link, symlink, mknod; remove, rmdir,
 *    delete-on-close).
 *  - renamed-old / renamed-new: a rename inside one directory. A rename across directories is removed in
 *    the old one and added in the new one (what a watcher of either directory can use).
 *  - delete-pending: the watched directory itself was marked for deletion (delivered to its own direct
 *    watchers only, with `dirId` = `fileId` = the directory and an empty name).
 *  - modified: data or attributes of an entry changed (`changed` says which). The core knows files by id
 *    only, so it names a modified file only when it has seen the name: through a lookup, create, listing
 *    or rename in a watched directory since the watch began (every protocol looks a name up before it
 *    writes, so in practice this is every change; a file reached only through an old NFS handle is missed).
 *
 * Tree watches (`tree: true`) also get the events of every directory below, with `path` holding the
 * names from the watched directory down (["sub", "f.txt"]). The ancestry comes from the directories'
 * parent pointers; a directory name the core has not seen is looked for in its parent (a bounded scan);
 * one still not found is reported as `path: undefined` ("something changed below, names unknown"), which a
 * frontend answers with "re-enumerate" (STATUS_NOTIFY_ENUM_DIR).
 *
 * Delivery is synchronous, after the change is committed, in the caller's turn of the event loop;
 * listeners must be quick and must not throw (errors are swallowed so a frontend bug cannot fail a write).
 * Everything is bounded: the name caches are LRU maps of at most `maxNames` entries.
 */

export type FsEventAction = 'added' | 'removed' | 'modified' | 'renamed-old' | 'renamed-new' | 'delete-pending';

export interface FsChanged {
  size?: boolean;
  /** Data written / last write time. */
  mtime?: boolean;
  atime?: boolean;
  ctime?: boolean;
  btime?: boolean;
  /** DOS attributes. */
  attrs?: boolean;
  /** Owner, group or mode bits (SMB maps these to the security descriptor). */
  security?: boolean;
  /** Extended attributes. */
  ea?: boolean;
}

export interface FsEvent {
  action: FsEventAction;
  /** The directory the entry is in. */
  dirId: bigint;
  name: Buffer;
  fileId: bigint;
  isDir: boolean;
  changed?: FsChanged;
  /**
   * For tree watchers only: names from the watched directory down to the entry (the last one is `name`),
   * or undefined when a directory between them is unknown by name.
   */
  path?: Buffer[] | undefined;
}

export type FsEventListener = (e: FsEvent) => void;

export interface FsEvents {
  /** Watches one directory (and, with `tree`, everything below it). Returns the unsubscribe function. */
  watch(dirId: bigint, listener: FsEventListener, opts?: { tree?: boolean }): () => void;
}

interface Watcher {
  listener: FsEventListener;
  tree: boolean;
}

interface NameRec {
  dirId: bigint;
  name: Buffer;
}

const MAX_DEPTH = 64;

export class EventHub implements FsEvents {
  private readonly watchers = new Map<bigint, Set<Watcher>>();
  private treeWatchers = 0;
  /** fileId → where it was last seen (only for entries of watched directories, or directories when tree watches exist). */
  private readonly names = new Map<bigint, NameRec>();

  constructor(
    /** Parent of a directory (from its inode), for tree watches; undefined if gone. */
    private readonly parentOf: (dirId: bigint) => Promise<bigint | undefined>,
    /** Name of directory `dirId` in `parent` by a bounded scan of the parent, for tree watches; undefined if not found. */
    private readonly nameIn: (parent: bigint, dirId: bigint) => Promise<Buffer | undefined> = async () => undefined,
    private readonly maxNames = 65536,
  ) {}

  watch(dirId: bigint, listener: FsEventListener, opts: { tree?: boolean } = {}): () => void {
    const w: Watcher = { listener, tree: opts.tree ?? false };
    let set = this.watchers.get(dirId);
    if (!set) this.watchers.set(dirId, (set = new Set()));
    set.add(w);
    if (w.tree) this.treeWatchers++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      set!.delete(w);
      if (w.tree) this.treeWatchers--;
      if (set!.size === 0) this.watchers.delete(dirId);
      if (this.watchers.size === 0) this.names.clear();
    };
  }

  /** True when some watcher could care about entries of `dirId` (cheap; the hot paths ask first). */
  interested(dirId: bigint): boolean {
    return this.treeWatchers > 0 || this.watchers.has(dirId);
  }

  get active(): boolean {
    return this.watchers.size > 0;
  }

  /** Remembers the name of an entry (lookup, create, listing) when some watcher might need it later. */
  noteName(dirId: bigint, name: Buffer, fileId: bigint, isDir: boolean): void {
    if (this.watchers.size === 0) return;
    if (!this.watchers.has(dirId) && !(isDir && this.treeWatchers > 0)) return;
    const cur = this.names.get(fileId);
    if (cur && cur.dirId === dirId && cur.name.equals(name)) {
      // Refresh its LRU position.
      this.names.delete(fileId);
      this.names.set(fileId, cur);
      return;
    }
    this.names.delete(fileId);
    this.names.set(fileId, { dirId, name: Buffer.from(name) });
    if (this.names.size > this.maxNames) this.names.delete(this.names.keys().next().value as bigint);
  }

  forget(fileId: bigint): void {
    this.names.delete(fileId);
  }

  /** Where the core last saw a file (for 'modified' events), if anywhere. */
  whereIs(fileId: bigint): NameRec | undefined {
    return this.names.get(fileId);
  }

  emit(e: FsEvent): void {
    if (this.watchers.size === 0) return;
    if (e.action === 'added' || e.action === 'renamed-new') this.noteName(e.dirId, e.name, e.fileId, e.isDir);
    else if (e.action === 'removed' || e.action === 'renamed-old') {
      const cur = this.names.get(e.fileId);
      if (cur && cur.dirId === e.dirId && cur.name.equals(e.name)) this.names.delete(e.fileId);
    }
    const direct = this.watchers.get(e.dirId);
    if (direct) for (const w of [...direct]) this.deliver(w, { ...e, path: [e.name] });
    if (this.treeWatchers > 0) void this.climb(e);
  }

  /** The watched directory itself is going away (delete pending): tell its own watchers. */
  emitSelf(dirId: bigint): void {
    const ws = this.watchers.get(dirId);
    if (!ws) return;
    const e: FsEvent = { action: 'delete-pending', dirId, name: Buffer.alloc(0), fileId: dirId, isDir: true, path: [] };
    for (const w of [...ws]) this.deliver(w, e);
  }

  /** Delivers `e` to tree watchers of the directories above its directory. */
  private async climb(e: FsEvent): Promise<void> {
    const path: Buffer[] | undefined = [e.name];
    let known = true;
    let dir = e.dirId;
    try {
      for (let depth = 0; depth < MAX_DEPTH && this.treeWatchers > 0; depth++) {
        const rec = this.names.get(dir);
        const parent = rec?.dirId ?? (await this.parentOf(dir));
        if (parent === undefined || parent === dir) return; // the root is its own parent
        let name = rec?.name;
        if (!name && known) {
          name = await this.nameIn(parent, dir);
          if (name) this.noteName(parent, name, dir, true);
        }
        if (name) path.unshift(name);
        else known = false;
        dir = parent;
        const ws = this.watchers.get(dir);
        if (ws) for (const w of [...ws]) if (w.tree) this.deliver(w, { ...e, path: known ? [...path] : undefined });
      }
    } catch {
      // An inode read failed: tree watchers above miss this one (best effort, never fails the change).
    }
  }

  private deliver(w: Watcher, e: FsEvent): void {
    try {
      w.listener(e);
    } catch {
      // see the file comment
    }
  }
}
