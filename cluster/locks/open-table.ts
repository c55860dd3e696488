/**
 * Opens and share modes (one process's view; DESIGN invariant 10 moves this into the cluster store when
 * opens must survive a failover). An SMB CREATE (and later an NFSv4 OPEN) asks for access to a file's
 * data and name (read, write, delete) and says which of those it lets *other* opens have at the same
 * time. A new open conflicts with an existing one when either wants something the other does not share
 * (the share-access check of MS-FSA 2.1.5.1.2, reduced to the three bits that govern it).
 *
 * A file also carries "delete pending": set through an open (SMB delete-on-close, FileDispositionInformation),
 * the name is removed when the last open of the file goes away.
 */
import { CoreError, Errc } from '../vfs/errors';

/** The three kinds of access share modes govern. Attribute-only opens use none and never conflict. */
export const SHARE_READ = 1;
export const SHARE_WRITE = 2;
export const SHARE_DELETE = 4;
export const SHARE_ALL = SHARE_READ | SHARE_WRITE | SHARE_DELETE;

export interface OpenEntry {
  readonly id: bigint;
  readonly fileId: bigint;
  /** SHARE_* bits this open uses. */
  readonly access: number;
  /** SHARE_* bits this open lets other opens use. */
  readonly shareAccess: number;
  /** Who holds it (protocol, connection, session): for logs and tests. */
  readonly owner: string;
}

/** What happens to the name when the file's last open goes away. */
export interface DeletePending<T> {
  /** Opaque to the table: the volume stores the directory handle, name and credential here. */
  target: T;
}

interface FileOpens<T> {
  opens: Map<bigint, OpenEntry>;
  deletePending?: DeletePending<T>;
}

/**
 * Opens that use none of read/write/delete (attribute-only) neither check nor count: they never conflict,
 * whatever share mode they name (as Windows' IoCheckShareAccess skips them).
 */
export function shareConflict(a: { access: number; shareAccess: number }, b: { access: number; shareAccess: number }): boolean {
  if ((a.access & SHARE_ALL) === 0 || (b.access & SHARE_ALL) === 0) return false;
  return (a.access & ~b.shareAccess & SHARE_ALL) !== 0 || (b.access & ~a.shareAccess & SHARE_ALL) !== 0;
}

export class OpenTable<T> {
  private readonly files = new Map<bigint, FileOpens<T>>();
  private nextId = 1n;

  constructor(private readonly maxOpens = 1 << 20) {}

  private count = 0;

  /** Registers an open, or throws SHARING_VIOLATION if it conflicts with one already there. */
  add(fileId: bigint, access: number, shareAccess: number, owner: string): OpenEntry {
    if ((access | shareAccess) & ~SHARE_ALL) throw new CoreError(Errc.INVAL, 'unknown share bits');
    if (this.count >= this.maxOpens) throw new CoreError(Errc.DELAY, 'too many open files');
    let f = this.files.get(fileId);
    if (f) {
      for (const o of f.opens.values()) {
        if (shareConflict(o, { access, shareAccess })) throw new CoreError(Errc.SHARING_VIOLATION);
      }
    }
    const e: OpenEntry = Object.freeze({ id: this.nextId++, fileId, access, shareAccess, owner });
    if (!f) this.files.set(fileId, (f = { opens: new Map() }));
    f.opens.set(e.id, e);
    this.count++;
    return e;
  }

  /** True if the open is still registered. */
  has(e: OpenEntry): boolean {
    return this.files.get(e.fileId)?.opens.has(e.id) ?? false;
  }

  /**
   * Drops an open. Returns the pending delete when it was the file's last open (the caller removes the
   * name), else undefined. Removing an open twice is a no-op.
   */
  remove(e: OpenEntry): DeletePending<T> | undefined {
    const f = this.files.get(e.fileId);
    if (!f || !f.opens.delete(e.id)) return undefined;
    this.count--;
    if (f.opens.size > 0) return undefined;
    this.files.delete(e.fileId);
    return f.deletePending;
  }

  setDeletePending(e: OpenEntry, pending: DeletePending<T> | undefined): void {
    const f = this.files.get(e.fileId);
    if (!f || !f.opens.has(e.id)) throw new CoreError(Errc.EXPIRED, 'open no longer valid');
    f.deletePending = pending;
  }

  isDeletePending(fileId: bigint): boolean {
    return this.files.get(fileId)?.deletePending !== undefined;
  }

  /** Opens of one file (tests, diagnostics). */
  opensOf(fileId: bigint): OpenEntry[] {
    return [...(this.files.get(fileId)?.opens.values() ?? [])];
  }

  get size(): number {
    return this.count;
  }
}
