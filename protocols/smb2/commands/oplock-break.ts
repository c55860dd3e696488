/**
 * OPLOCK_BREAK acknowledgments (MS-SMB2 2.2.24.1, 2.2.24.2, 3.3.5.22), checked and applied by the caching
 * manager (leases/manager.ts):
 *  - an oplock break acknowledgment (StructureSize 24) on an open whose oplock is not breaking is
 *    STATUS_INVALID_OPLOCK_PROTOCOL (3.3.5.22.1), on an unknown open STATUS_FILE_CLOSED;
 *  - a lease break acknowledgment (StructureSize 36) naming a lease key the server does not know for this
 *    client is STATUS_OBJECT_NAME_NOT_FOUND, one not breaking STATUS_UNSUCCESSFUL (3.3.5.22.2).
 */
import { Smb2Cmd } from '../constants';
import { ok, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { DecodeError, RequestView } from '../wire';
import { resolveOpen } from './files';

export class SMB2_OPLOCK_BREAK_Acknowledgment extends RequestView {
  static decode(msg: Buffer): SMB2_OPLOCK_BREAK_Acknowledgment {
    const v = new SMB2_OPLOCK_BREAK_Acknowledgment(msg);
    if (v.b.length < 2) throw new DecodeError('OPLOCK_BREAK body too short');
    const size = v.b.readUInt16LE(0);
    if (size !== 24 && size !== 36) throw new DecodeError(`OPLOCK_BREAK StructureSize ${size}`);
    v.structure(size);
    return v;
  }
  get isLease(): boolean {
    return this.u16(0) === 36;
  }
  /** Oplock acknowledgment: the level the client keeps. */
  get oplockLevel(): number {
    return this.u8(2);
  }
  /** Lease acknowledgment: the key and the state the client keeps. */
  get leaseKey(): Buffer {
    return this.isLease ? this.bytes(8, 16) : Buffer.alloc(16);
  }
  get leaseState(): number {
    return this.isLease ? this.u32(24) : 0;
  }
  /** Oplock acknowledgment: the open. */
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_OPLOCK_BREAK_Acknowledgment): Promise<Smb2Reply> {
  if (req.isLease) return ok(ctx.server.caching.ackLease(ctx.conn, req.leaseKey, req.leaseState));
  const o = resolveOpen(ctx, req.fileId);
  return ok(ctx.server.caching.ackOplock(o, req.oplockLevel));
}

export const OPLOCK_BREAK: Smb2CommandSpec<SMB2_OPLOCK_BREAK_Acknowledgment> = {
  command: Smb2Cmd.OPLOCK_BREAK,
  name: 'OPLOCK_BREAK',
  scope: 'tree',
  decode: (msg) => SMB2_OPLOCK_BREAK_Acknowledgment.decode(msg),
  handle,
};
