/**
 * CHANGE_NOTIFY (MS-SMB2 2.2.35, 2.2.36, 3.3.5.19; MS-FSCC 2.7.1 FILE_NOTIFY_INFORMATION), fed by the
 * core's change events (cluster/vfs/events.ts), so changes made over NFS are reported too.
 *
 * As on Windows, the first CHANGE_NOTIFY on a directory handle starts a watch that lives as long as the
 * handle: changes that happen while no request is outstanding are kept and returned by the next request
 * at once. A request with nothing to report goes asynchronous (interim STATUS_PENDING) and completes with
 * the first batch of changes (changes made in one turn of the event loop, such as a rename's old and new
 * names, go out together).
 *  - CompletionFilter selects the changes; WATCH_TREE adds subdirectories at any depth (paths relative to
 *    the watched directory). A change below whose path the core cannot name is reported as
 *    STATUS_NOTIFY_ENUM_DIR ("re-enumerate"), never dropped.
 *  - More changes than fit the request's OutputBufferLength (or than the handle keeps, MAX_KEPT) →
 *    STATUS_NOTIFY_ENUM_DIR with no data, and the kept changes are dropped.
 *  - The directory marked for deletion (delete-on-close, disposition) → STATUS_DELETE_PENDING.
 *  - SMB2 CANCEL → STATUS_CANCELLED; closing the handle (CLOSE, tree disconnect, logoff) completes the
 *    outstanding requests with STATUS_NOTIFY_CLEANUP.
 */
import type { FsEvent } from '../../../cluster/vfs/types';
import { FILE_READ_DATA, Smb2Cmd } from '../constants';
import { asyncRefusal, SmbError, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { NtStatus } from '../ntstatus';
import type { SmbOpen } from '../state';
import { RequestView } from '../wire';
import { resolveOpen } from './files';

export const SMB2_WATCH_TREE = 0x0001;

export const FILE_NOTIFY_CHANGE_FILE_NAME = 0x001;
export const FILE_NOTIFY_CHANGE_DIR_NAME = 0x002;
export const FILE_NOTIFY_CHANGE_ATTRIBUTES = 0x004;
export const FILE_NOTIFY_CHANGE_SIZE = 0x008;
export const FILE_NOTIFY_CHANGE_LAST_WRITE = 0x010;
export const FILE_NOTIFY_CHANGE_LAST_ACCESS = 0x020;
export const FILE_NOTIFY_CHANGE_CREATION = 0x040;
export const FILE_NOTIFY_CHANGE_EA = 0x080;
export const FILE_NOTIFY_CHANGE_SECURITY = 0x100;

export const FILE_ACTION_ADDED = 1;
export const FILE_ACTION_REMOVED = 2;
export const FILE_ACTION_MODIFIED = 3;
export const FILE_ACTION_RENAMED_OLD_NAME = 4;
export const FILE_ACTION_RENAMED_NEW_NAME = 5;

/** Changes a handle keeps between requests before it gives up and says "re-enumerate". */
export const MAX_KEPT = 1024;

export class SMB2_CHANGE_NOTIFY_Request extends RequestView {
  static decode(msg: Buffer): SMB2_CHANGE_NOTIFY_Request {
    const v = new SMB2_CHANGE_NOTIFY_Request(msg);
    v.structure(32);
    return v;
  }
  get flags(): number {
    return this.u16(2);
  }
  get outputBufferLength(): number {
    return this.u32(4);
  }
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
  get completionFilter(): number {
    return this.u32(24);
  }
}

interface Change {
  action: number;
  name: string;
}

interface Waiting {
  maxOut: number;
  done: (r: Smb2Reply) => void;
}

interface NotifyState {
  filter: number;
  tree: boolean;
  kept: Change[];
  /** The watched directory was marked for deletion. */
  deletePending: boolean;
  /** Encoded size of `kept`. */
  bytes: number;
  overflow: boolean;
  /**
   * OutputBufferLength of the first request: the handle's buffer size for good (as Windows and Samba keep
   * it), so more kept than that is an overflow, and a watch started with a tiny buffer always overflows.
   */
  limit: number;
  waiting: Waiting[];
  scheduled: boolean;
  stop: () => void;
}

const states = new WeakMap<SmbOpen, NotifyState>();

/** Action and completion-filter bits of a core event. */
function classify(e: FsEvent): { action: number; bits: number } {
  const nameBit = e.isDir ? FILE_NOTIFY_CHANGE_DIR_NAME : FILE_NOTIFY_CHANGE_FILE_NAME;
  switch (e.action) {
    case 'added':
      return { action: FILE_ACTION_ADDED, bits: nameBit };
    case 'removed':
      return { action: FILE_ACTION_REMOVED, bits: nameBit };
    case 'renamed-old':
      return { action: FILE_ACTION_RENAMED_OLD_NAME, bits: nameBit };
    case 'renamed-new':
      return { action: FILE_ACTION_RENAMED_NEW_NAME, bits: nameBit };
    case 'delete-pending':
      return { action: 0, bits: 0 };
    case 'modified': {
      const c = e.changed ?? {};
      let bits = 0;
      if (c.size) bits |= FILE_NOTIFY_CHANGE_SIZE;
      if (c.mtime) bits |= FILE_NOTIFY_CHANGE_LAST_WRITE;
      if (c.atime) bits |= FILE_NOTIFY_CHANGE_LAST_ACCESS;
      if (c.btime) bits |= FILE_NOTIFY_CHANGE_CREATION;
      if (c.attrs) bits |= FILE_NOTIFY_CHANGE_ATTRIBUTES;
      if (c.security) bits |= FILE_NOTIFY_CHANGE_SECURITY;
      if (c.ea) bits |= FILE_NOTIFY_CHANGE_EA;
      return { action: FILE_ACTION_MODIFIED, bits };
    }
  }
}

/** FILE_NOTIFY_INFORMATION entries, each 4-byte aligned; undefined if they do not fit `max` bytes. */
export function encodeNotifyInformation(changes: Change[], max: number): Buffer | undefined {
  const names = changes.map((c) => Buffer.from(c.name, 'utf16le'));
  let total = 0;
  const sizes = names.map((n, i) => {
    const raw = 12 + n.length;
    return i === names.length - 1 ? raw : (raw + 3) & ~3;
  });
  for (const s of sizes) total += s;
  if (total > max) return undefined;
  const b = Buffer.alloc(total);
  let off = 0;
  changes.forEach((c, i) => {
    const n = names[i]!;
    b.writeUInt32LE(i === changes.length - 1 ? 0 : sizes[i]!, off);
    b.writeUInt32LE(c.action, off + 4);
    b.writeUInt32LE(n.length, off + 8);
    n.copy(b, off + 12);
    off += sizes[i]!;
  });
  return b;
}

/** SMB2 CHANGE_NOTIFY Response: StructureSize 9, OutputBufferOffset, OutputBufferLength, Buffer. */
function reply(status: number, data?: Buffer): Smb2Reply {
  const b = Buffer.alloc(8);
  b.writeUInt16LE(9, 0);
  if (data && data.length) {
    b.writeUInt16LE(64 + 8, 2);
    b.writeUInt32LE(data.length, 4);
    return { status, body: [b, data] };
  }
  return { status, body: [b, Buffer.alloc(1)] };
}

/** What the state holds, as a reply for a request allowing `maxOut` bytes; clears it. */
function take(st: NotifyState, maxOut: number): Smb2Reply {
  const changes = st.kept;
  const overflow = st.overflow;
  st.kept = [];
  st.bytes = 0;
  st.overflow = false;
  if (overflow) return reply(NtStatus.STATUS_NOTIFY_ENUM_DIR);
  const data = encodeNotifyInformation(changes, maxOut);
  return data ? reply(0, data) : reply(NtStatus.STATUS_NOTIFY_ENUM_DIR);
}

function hasNews(st: NotifyState): boolean {
  return st.overflow || st.kept.length > 0;
}

/** Completes the oldest outstanding request with what was kept (after the current burst of events). */
function schedule(st: NotifyState): void {
  if (st.scheduled || st.waiting.length === 0) return;
  st.scheduled = true;
  setImmediate(() => {
    st.scheduled = false;
    if (!hasNews(st)) return;
    const w = st.waiting.shift();
    if (w) w.done(take(st, w.maxOut));
  });
}

function onEvent(st: NotifyState, e: FsEvent): void {
  if (e.action === 'delete-pending') {
    // The directory is being deleted: what waits ends with STATUS_DELETE_PENDING, and so will later requests.
    st.deletePending = true;
    for (const w of st.waiting.splice(0)) w.done(reply(NtStatus.STATUS_DELETE_PENDING));
    return;
  }
  const { action, bits } = classify(e);
  if ((st.filter & bits) === 0) return;
  if (st.overflow) return;
  const path = e.path;
  if (!path) st.overflow = true;
  else {
    const name = path.map((p) => p.toString('utf8')).join('\\');
    const last = st.kept[st.kept.length - 1];
    // A write followed by a SETATTR of the same file is one modification to a watcher (as on Windows).
    if (action === FILE_ACTION_MODIFIED && last && last.action === action && last.name === name) return;
    st.kept.push({ action, name });
    st.bytes += ((12 + 2 * name.length + 3) & ~3);
    if (st.kept.length > MAX_KEPT || st.bytes > st.limit) {
      st.kept = [];
      st.bytes = 0;
      st.overflow = true;
    }
  }
  schedule(st);
}

/** The handle is going away: outstanding requests complete with STATUS_NOTIFY_CLEANUP. */
export function notifyClosed(o: SmbOpen): void {
  const st = states.get(o);
  if (!st) return;
  states.delete(o);
  st.stop();
  for (const w of st.waiting.splice(0)) w.done(reply(NtStatus.STATUS_NOTIFY_CLEANUP));
}

async function handle(ctx: Smb2Context, req: SMB2_CHANGE_NOTIFY_Request): Promise<Smb2Reply> {
  const o = resolveOpen(ctx, req.fileId);
  const fs = ctx.tree!.share.fs;
  if (!fs || o.kind !== 'dir' || !o.core) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'CHANGE_NOTIFY needs a directory handle');
  if (!(o.grantedAccess & FILE_READ_DATA)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'CHANGE_NOTIFY without FILE_LIST_DIRECTORY');
  const maxOut = req.outputBufferLength;
  if (maxOut > ctx.conn.maxTransactSize) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `OutputBufferLength ${maxOut} above MaxTransactSize`);
  const tree = (req.flags & SMB2_WATCH_TREE) !== 0;
  let st = states.get(o);
  if (st && st.tree !== tree) {
    // A different scope: start over with a new watch (what was kept stays).
    st.stop();
    const s = st;
    st.stop = fs.events().watch(o.core.fileId, (e) => onEvent(s, e), { tree });
    st.tree = tree;
  }
  if (!st) {
    const s: NotifyState = { filter: 0, tree, kept: [], deletePending: false, bytes: 0, overflow: false, limit: maxOut, waiting: [], scheduled: false, stop: () => undefined };
    s.stop = fs.events().watch(o.core.fileId, (e) => onEvent(s, e), { tree });
    states.set(o, s);
    st = s;
  }
  st.filter = req.completionFilter;
  if (st.deletePending) throw new SmbError(NtStatus.STATUS_DELETE_PENDING);
  if (hasNews(st) && st.waiting.length === 0) return take(st, maxOut);

  const how = ctx.goAsync();
  if (how !== 'async') throw asyncRefusal(how);
  const signal = ctx.signal;
  const state = st;
  return new Promise<Smb2Reply>((resolve, reject) => {
    const w: Waiting = {
      maxOut,
      done: (r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      },
    };
    const onAbort = (): void => {
      const i = state.waiting.indexOf(w);
      if (i >= 0) state.waiting.splice(i, 1);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    state.waiting.push(w);
    if (hasNews(state)) schedule(state);
  });
}

export const CHANGE_NOTIFY: Smb2CommandSpec<SMB2_CHANGE_NOTIFY_Request> = {
  command: Smb2Cmd.CHANGE_NOTIFY,
  name: 'CHANGE_NOTIFY',
  scope: 'tree',
  decode: (msg) => SMB2_CHANGE_NOTIFY_Request.decode(msg),
  handle,
};
