/** MOUNTPROC3_UMNT: drop (client, dirpath) from the mount list. void result, never fails. */
import { normaliseAddress } from '../../../cluster/vfs/exports';
import { decodeExportPath, type MountProcedure } from '../procedure';
import { MOUNTPROC3, type dirpath } from '../types';
import { decodeDirpath, encodeDirpath } from '../xdr';

export const UMNT: MountProcedure<dirpath, void> = {
  proc: MOUNTPROC3.UMNT,
  name: 'UMNT',
  decodeArgs: decodeDirpath,
  async handle(ctx, p) {
    ctx.mounts.remove(normaliseAddress(ctx.rpc.remote.address), '/' + decodeExportPath(p).join('/'));
  },
  encodeRes: () => {},
  encodeArgs: encodeDirpath,
  decodeRes: () => undefined,
};
