/**
 * MOUNTPROC3_EXPORT: every export as "/<name>" with its groups: the client rules' match strings, or an
 * empty list when everyone may mount it (RFC 1813 Appendix I; showmount -e prints "(everyone)").
 */
import type { MountProcedure } from '../procedure';
import { MOUNTPROC3, type exports } from '../types';
import { decodeExports, encodeExports } from '../xdr';

export const EXPORT: MountProcedure<void, exports> = {
  proc: MOUNTPROC3.EXPORT,
  name: 'EXPORT',
  decodeArgs: () => undefined,
  handle: async (ctx) =>
    ctx.exports.list().map((e) => ({
      ex_dir: Buffer.from('/' + e.name, 'utf8'),
      ex_groups: e.clients.map((c) => Buffer.from(c.match, 'utf8')),
    })),
  encodeRes: encodeExports,
  encodeArgs: () => {},
  decodeRes: decodeExports,
};
