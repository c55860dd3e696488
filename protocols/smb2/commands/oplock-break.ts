/**
 * OPLOCK_BREAK acknowledgments (MS-SMB2 2.2.24.1, 2.2.24.2, 3.3.5.22). This server grants no oplock and
 * no lease (CREATE answers SMB2_OPLOCK_LEVEL_NONE without a lease context, and NEGOTIATE does not offer
 * SMB2_GLOBAL_CAP_LEASING), so it never sends a break and no acknowledgment can be right:
 *  - an oplock break acknowledgment (StructureSize 24) on a known open is STATUS_INVALID_OPLOCK_PROTOCOL
 *    (3.3.5.22.1: the open's oplock is not breaking), on an unknown one STATUS_FILE_CLOSED;
 *  - a lease break acknowledgment (StructureSize 36) names a lease key the server does not know:
 *    STATUS_OBJECT_NAME_NOT_FOUND (3.3.5.22.2).
 */
import { Smb2Cmd } from '../constants';
import { SmbError, type Smb2CommandSpec, type Smb2Context, type Smb2Reply } from '../command';
import { NtStatus } from '../ntstatus';
import { DecodeError, RequestView } from '../wire';
import { resolveOpen } from './files';

const STATUS_INVALID_OPLOCK_PROTOCOL = 0xc00000e3;

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
  /** Oplock acknowledgment: the open. */
  get fileId(): Buffer {
    return this.bytes(8, 16);
  }
}

async function handle(ctx: Smb2Context, req: SMB2_OPLOCK_BREAK_Acknowledgment): Promise<Smb2Reply> {
  if (req.isLease) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, 'no lease was granted');
  resolveOpen(ctx, req.fileId);
  throw new SmbError(STATUS_INVALID_OPLOCK_PROTOCOL, 'no oplock was granted');
}

export const OPLOCK_BREAK: Smb2CommandSpec<SMB2_OPLOCK_BREAK_Acknowledgment> = {
  command: Smb2Cmd.OPLOCK_BREAK,
  name: 'OPLOCK_BREAK',
  scope: 'tree',
  decode: (msg) => SMB2_OPLOCK_BREAK_Acknowledgment.decode(msg),
  handle,
};
