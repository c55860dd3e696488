/** ECHO (MS-SMB2 2.2.28-29, 3.3.5.17). */
import { Smb2Cmd } from '../constants';
import { ok, type Smb2CommandSpec } from '../command';
import { RequestView } from '../wire';

class SMB2_ECHO_Request extends RequestView {
  static decode(msg: Buffer): SMB2_ECHO_Request {
    const v = new SMB2_ECHO_Request(msg);
    v.structure(4);
    return v;
  }
}

export const ECHO: Smb2CommandSpec<SMB2_ECHO_Request> = {
  command: Smb2Cmd.ECHO,
  name: 'ECHO',
  scope: 'none',
  decode: (msg) => SMB2_ECHO_Request.decode(msg),
  handle: async () => {
    const b = Buffer.alloc(4);
    b.writeUInt16LE(4, 0);
    return ok(b);
  },
};
