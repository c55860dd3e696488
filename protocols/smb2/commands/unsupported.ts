/**
 * Commands this server does not implement yet: OPLOCK_BREAK (no oplock or lease is ever granted). They are recognised
 * (so their StructureSize is checked and the session/tree rules apply) and answered STATUS_NOT_SUPPORTED.
 */
import { Smb2Cmd } from '../constants';
import { SmbError, type Smb2CommandSpec } from '../command';
import { NtStatus } from '../ntstatus';
import { RequestView } from '../wire';

class AnyRequest extends RequestView {
  static decodeWith(size: number, msg: Buffer): AnyRequest {
    const v = new AnyRequest(msg);
    v.structure(size);
    return v;
  }
}

function notSupported(command: Smb2Cmd, name: string, size: number): Smb2CommandSpec<AnyRequest> {
  return {
    command,
    name,
    scope: 'tree',
    decode: (msg) => AnyRequest.decodeWith(size, msg),
    handle: async () => {
      throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED, `${name} is not implemented`);
    },
  };
}

export const OPLOCK_BREAK = notSupported(Smb2Cmd.OPLOCK_BREAK, 'OPLOCK_BREAK', 24);
