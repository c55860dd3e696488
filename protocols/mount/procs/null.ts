/** MOUNTPROC3_NULL: void → void. */
import type { MountProcedure } from '../procedure';
import { MOUNTPROC3 } from '../types';

export const NULL: MountProcedure<void, void> = {
  proc: MOUNTPROC3.NULL,
  name: 'NULL',
  decodeArgs: () => undefined,
  handle: async () => undefined,
  encodeRes: () => {},
  encodeArgs: () => {},
  decodeRes: () => undefined,
};
