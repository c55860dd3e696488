/** MOUNTPROC3_UMNTALL: drop every mount-list entry of the calling client. void result. */
import { normaliseAddress } from '../../../cluster/vfs/exports';
import type { MountProcedure } from '../procedure';
import { MOUNTPROC3 } from '../types';

export const UMNTALL: MountProcedure<void, void> = {
  proc: MOUNTPROC3.UMNTALL,
  name: 'UMNTALL',
  decodeArgs: () => undefined,
  async handle(ctx) {
    ctx.mounts.removeHost(normaliseAddress(ctx.rpc.remote.address));
  },
  encodeRes: () => {},
  encodeArgs: () => {},
  decodeRes: () => undefined,
};
