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

/** The last machine name decoded, as bytes and string: a client sends the same one on every call. */
let lastNameBytes: Buffer = Buffer.alloc(0);
let lastName = '';

function machineNameOf(b: Buffer): string {
  if (!b.equals(lastNameBytes)) {
    lastName = b.toString('utf8');
    lastNameBytes = Buffer.from(b); // b is a view of the request record, which is reused
  }
  return lastName;
}

/** Decodes an AUTH_SYS credential body. Short, oversized or trailing bytes → XdrError (→ AUTH_BADCRED). */
export function decodeAuthSysParms(body: Buffer): AuthSys {
  const { stamp, machineName, uid, gid, gids } = decodeAuthSys(body);
  return { stamp, machineName, uid, gid, gids };
}

/** `decodeAuthSysParms` as the dispatcher's RpcAuth, built in one object (every AUTH_SYS call pays for this). */
export function decodeAuthSys(body: Buffer): { flavor: typeof AUTH_SYS } & AuthSys {
  const r = new XdrReader(body);
  const stamp = r.uint32();
  const machineName = machineNameOf(r.string(MAX_MACHINE_NAME));
  const uid = r.uint32();
  const gid = r.uint32();
  const n = r.uint32();
  if (n > MAX_AUTH_SYS_GIDS) throw new XdrError(`array length ${n} over maximum ${MAX_AUTH_SYS_GIDS}`);
  if (n * 4 > r.remaining()) throw new XdrError(`array length ${n} exceeds input`);
  const gids: number[] = new Array(n);
  for (let i = 0; i < n; i++) gids[i] = r.uint32();
  // The credential is exactly this structure; anything after it means a garbled credential.
  if (r.remaining() !== 0) throw new XdrError(`${r.remaining()} trailing bytes in authsys_parms`);
  return { flavor: AUTH_SYS, stamp, machineName, uid, gid, gids };
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
