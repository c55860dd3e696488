/**
 * LOCK (MS-SMB2 2.2.26, 2.2.27, 3.3.5.14): byte-range locks and unlocks on an open, held in the core's lock
 * manager (cluster/locks/byte-range.ts) with Windows semantics, so they conflict with NFS locks too.
 *
 *  - The first element decides: UNLOCK → every element is an unlock of exactly one held range
 *    (STATUS_RANGE_NOT_LOCKED otherwise; earlier unlocks of the request stay done); else every element is
 *    a shared or exclusive lock, optionally FAIL_IMMEDIATELY.
 *  - Several locks in one request must all be FAIL_IMMEDIATELY (3.3.5.14.2 SHOULD). A conflict fails the
 *    request with STATUS_LOCK_NOT_GRANTED and releases the locks this request already took, and so do
 *    invalid flags part-way through (as Windows and Samba behave; the spec would keep them).
 *  - A single blocking lock that conflicts goes asynchronous (interim STATUS_PENDING) and completes when
 *    the lock in the way goes; SMB2 CANCEL ends it with STATUS_CANCELLED, closing the file (CLOSE, tree
 *    disconnect, logoff) with STATUS_RANGE_NOT_LOCKED.
 *  - Lock sequence numbers (LockSequenceNumber/Index) matter only for resilient, durable and persistent
 *    handles and multichannel, none of which this server grants: they are ignored, as 3.3.5.14 allows.
 */
import { CoreError, Errc, isCoreError } from '../../../cluster/vfs/errors';
import type { LockOwner } from '../../../cluster/vfs/types';
import { FILE_READ_DATA, FILE_WRITE_DATA, Smb2Cmd } from '../constants';
import { asyncRefusal, ok, SmbError, type Smb2CommandSpec, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import type { SmbOpen } from '../state';
import { DecodeError, RequestView } from '../wire';
import { resolveOpen } from './files';

export const SMB2_LOCKFLAG_SHARED_LOCK = 0x01;
export const SMB2_LOCKFLAG_EXCLUSIVE_LOCK = 0x02;
export const SMB2_LOCKFLAG_UNLOCK = 0x04;
export const SMB2_LOCKFLAG_FAIL_IMMEDIATELY = 0x10;

/** Elements one request may carry: a 64 KiB request holds at most ~2,700; nothing legitimate sends more. */
export const MAX_LOCK_ELEMENTS = 2048;

const LOCK_ELEMENT_SIZE = 24;
const RANGE_END = 1n << 64n;

export interface SMB2_LOCK_ELEMENT {
  offset: bigint;
  length: bigint;
  flags: number;
}

export class SMB2_LOCK_Request extends RequestView {
  static decode(msg: Buffer): SMB2_LOCK_Request {
    const v = new SMB2_LOCK_Request(msg);
    v.structure(48);
    const n = v.lockCount;
    if (n > MAX_LOCK_ELEMENTS) throw new DecodeError(`LockCount ${n} above ${MAX_LOCK_ELEMENTS}`);
    // The fixed part includes the first element (StructureSize 48 = 24 + one 24-byte element).
    if (24 + Math.max(1, n) * LOCK_ELEMENT_SIZE > v.b.length) throw new DecodeError(`LockCount ${n} runs past the message`);
    return v;
  }
  get lockCount(): number {
    return this.u16(2);
  }
  get lockSequence(): number {
    return this.u32(4);
  }
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
  element(i: number): SMB2_LOCK_ELEMENT {
    const o = 24 + i * LOCK_ELEMENT_SIZE;
    return { offset: this.u64(o), length: this.u64(o + 8), flags: this.u32(o + 16) };
  }
}

/** The lock owner of an SMB open: locks belong to the open (FileId), not to a process. */
export function smbLockOwner(o: SmbOpen): LockOwner {
  return { protocol: 'smb', key: `open:${o.core!.id}` };
}

function lockFailure(e: unknown): unknown {
  if (isCoreError(e)) {
    // The open went away while the lock waited (CLOSE, tree disconnect, logoff).
    if (e.errc === Errc.EXPIRED) return new SmbError(NtStatus.STATUS_RANGE_NOT_LOCKED, 'open closed while the lock waited');
    if (e.errc === Errc.DELAY) return new SmbError(NtStatus.STATUS_INSUFFICIENT_RESOURCES, e.message);
  }
  return e;
}

async function handle(ctx: Smb2Context, req: SMB2_LOCK_Request) {
  const o = resolveOpen(ctx, req.fileId);
  const fs = ctx.tree!.share.fs;
  if (!fs || o.kind === 'pipe' || !o.core || !o.handle) throw new SmbError(NtStatus.STATUS_INVALID_DEVICE_REQUEST, 'LOCK on a pipe');
  if (o.kind === 'dir') throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'LOCK on a directory');
  const n = req.lockCount;
  if (n === 0) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'LockCount 0');
  const cred = ctx.tree!.cred;
  const owner = smbLockOwner(o);
  const first = req.element(0);

  if (first.flags & SMB2_LOCKFLAG_UNLOCK) {
    for (let i = 0; i < n; i++) {
      const e = req.element(i);
      // UNLOCK alone: with FAIL_IMMEDIATELY too it is invalid (Windows and Samba; 3.3.5.14.1 lets either be).
      if (e.flags !== SMB2_LOCKFLAG_UNLOCK) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `unlock element with flags 0x${e.flags.toString(16)}`);
      if (e.offset + e.length > RANGE_END) throw new SmbError(NtStatus.STATUS_INVALID_LOCK_RANGE);
      if (!(await fs.unlock(cred, o.handle, { owner, offset: e.offset, length: e.length }))) throw new SmbError(NtStatus.STATUS_RANGE_NOT_LOCKED);
    }
    return ok(responseBody());
  }

  // MS-FSA 2.1.5.7: a lock needs read or write access to the data.
  if (!(o.grantedAccess & (FILE_READ_DATA | FILE_WRITE_DATA))) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'LOCK without read or write access');
  // A byte-range lock takes the other opens' oplocks and leases, as a write does (MS-FSA 2.1.5.7).
  if (o.cachingFile) await ctx.server.caching.beforeWrite(o);
  const taken: SMB2_LOCK_ELEMENT[] = [];
  const rollback = async (): Promise<void> => {
    for (const t of taken.reverse()) await fs.unlock(cred, o.handle!, { owner, offset: t.offset, length: t.length }).catch(() => undefined);
  };
  for (let i = 0; i < n; i++) {
    const e = req.element(i);
    const kind = e.flags & ~SMB2_LOCKFLAG_FAIL_IMMEDIATELY;
    const failImmediately = (e.flags & SMB2_LOCKFLAG_FAIL_IMMEDIATELY) !== 0;
    // A bad element fails the whole request, locks already taken by it included (what Windows and Samba
    // do, and smbtorture's multiple-unlock checks; 3.3.5.14.2 would keep them).
    if ((kind !== SMB2_LOCKFLAG_SHARED_LOCK && kind !== SMB2_LOCKFLAG_EXCLUSIVE_LOCK) || (n > 1 && !failImmediately)) {
      await rollback();
      throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `lock element with flags 0x${e.flags.toString(16)}${n > 1 && !failImmediately ? ' (blocking in a multi-element request)' : ''}`);
    }
    if (e.offset + e.length > RANGE_END) {
      await rollback();
      throw new SmbError(NtStatus.STATUS_INVALID_LOCK_RANGE);
    }
    const lr = { owner, openId: o.core.id, exclusive: kind === SMB2_LOCKFLAG_EXCLUSIVE_LOCK, offset: e.offset, length: e.length };
    try {
      try {
        await fs.lock(cred, o.handle, lr);
      } catch (err) {
        if (failImmediately || !(err instanceof CoreError) || err.errc !== Errc.DENIED) throw err;
        // Blocking: answer STATUS_PENDING now and wait. In the middle of a compound it cannot go
        // asynchronous, and fails as on Windows (STATUS_INTERNAL_ERROR).
        const how = ctx.goAsync();
        if (how !== 'async') throw asyncRefusal(how);
        await fs.lock(cred, o.handle, lr, { wait: true, signal: ctx.signal });
      }
    } catch (err) {
      await rollback();
      throw lockFailure(err);
    }
    taken.push(e);
  }
  return ok(responseBody());
}

/** SMB2 LOCK Response: StructureSize 4, Reserved. */
function responseBody(): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(4, 0);
  return b;
}

export const LOCK: Smb2CommandSpec<SMB2_LOCK_Request> = {
  command: Smb2Cmd.LOCK,
  name: 'LOCK',
  scope: 'tree',
  decode: (msg) => SMB2_LOCK_Request.decode(msg),
  handle,
};
