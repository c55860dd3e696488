/** MOUNTPROC3_DUMP: the advisory list of (client, dirpath) mounts this gateway has seen. */
import type { MountProcedure } from '../procedure';
import { MOUNTPROC3, type mountlist } from '../types';
import { decodeMountlist, encodeMountlist } from '../xdr';

export const DUMP: MountProcedure<void, mountlist> = {
  proc: MOUNTPROC3.DUMP,
  name: 'DUMP',
  decodeArgs: () => undefined,
  handle: async (ctx) =>
    ctx.mounts.list().map((m) => ({ ml_hostname: Buffer.from(m.host, 'utf8'), ml_directory: Buffer.from(m.dirpath, 'utf8') })),
  encodeRes: encodeMountlist,
  encodeArgs: () => {},
  decodeRes: decodeMountlist,
};
