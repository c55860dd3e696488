/**
 * AUTH_SYS credentials (RFC 5531 appendix A):
 *
 *   struct authsys_parms {
 *     unsigned int stamp;
 *     string machinename<255>;
 *     unsigned int uid;
 *     unsigned int gid;
 *     unsigned int gids<16>;
 *   };
 */
import { XdrError } from '../../xdr/errors';
import { XdrReader } from '../../xdr/reader';
import { XdrWriter } from '../../xdr/writer';
import { AUTH_SYS, type AuthSys } from '../types';
import type { OpaqueAuth } from '../message';

export const MAX_MACHINE_NAME = 255;
export const MAX_AUTH_SYS_GIDS = 16;

/** Decodes an AUTH_SYS credential body. Short, oversized or trailing bytes → XdrError (→ AUTH_BADCRED). */
export function decodeAuthSysParms(body: Buffer): AuthSys {
  const r = new XdrReader(body);
  const stamp = r.uint32();
  const machineName = r.string(MAX_MACHINE_NAME).toString('utf8');
  const uid = r.uint32();
  const gid = r.uint32();
  const gids = r.array(MAX_AUTH_SYS_GIDS, (x) => x.uint32());
  // The credential is exactly this structure; anything after it means a garbled credential.
  if (r.remaining() !== 0) throw new XdrError(`${r.remaining()} trailing bytes in authsys_parms`);
  return { stamp, machineName, uid, gid, gids };
}

export function encodeAuthSysParms(w: XdrWriter, a: AuthSys): void {
  if (a.gids.length > MAX_AUTH_SYS_GIDS) throw new RangeError(`AUTH_SYS carries at most ${MAX_AUTH_SYS_GIDS} gids`);
  const name = Buffer.from(a.machineName, 'utf8');
  if (name.length > MAX_MACHINE_NAME) throw new RangeError('AUTH_SYS machine name too long');
  w.uint32(a.stamp).opaque(name).uint32(a.uid).uint32(a.gid).uint32(a.gids.length);
  for (const g of a.gids) w.uint32(g);
}

/** The opaque_auth a client sends for these AUTH_SYS parameters. */
export function authSysCred(a: AuthSys): OpaqueAuth {
  const w = new XdrWriter(128);
  encodeAuthSysParms(w, a);
  return { flavor: AUTH_SYS, body: w.toBuffer() };
}
