/**
 * FileId → open, shared by the commands that take a FileId (MS-SMB2 3.3.5.2.7 for related compounds:
 * an all-ones FileId names the open the previous command produced).
 */
import { RELATED_FILE_ID, SMB2_FLAGS_RELATED_OPERATIONS } from '../constants';
import { SmbError, type Smb2Context } from '../command';
import { NtStatus } from '../ntstatus';
import { fileIdBytes, type SmbOpen } from '../state';

export function resolveOpen(ctx: Smb2Context, fileId: Buffer): SmbOpen {
  let id = fileId;
  if (id.equals(RELATED_FILE_ID)) {
    if (!(ctx.hdr.flags & SMB2_FLAGS_RELATED_OPERATIONS) || !ctx.chain.fileId) throw new SmbError(NtStatus.STATUS_FILE_CLOSED, 'related FileId without a previous open');
    id = ctx.chain.fileId;
  }
  const persistent = id.readBigUInt64LE(0);
  const volatile = id.readBigUInt64LE(8);
  const o = ctx.session?.opens.get(volatile);
  if (!o || o.persistentId !== persistent || o.closed || o.tree !== ctx.tree) throw new SmbError(NtStatus.STATUS_FILE_CLOSED);
  ctx.chain.fileId = fileIdBytes(o);
  return o;
}
