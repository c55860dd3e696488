/**
 * What the extended-attribute operations (RFC 8276: GETXATTR, SETXATTR, LISTXATTRS, REMOVEXATTR; NFSv4.2
 * only) share. Names are the "user" namespace without its prefix (the Linux client strips and adds
 * "user."); the core keeps them as bytes and enforces their limits (NAMETOOLONG, XATTR2BIG).
 *
 * The pseudo-filesystem root has no extended attributes (xattr_support is false there): NOTSUPP.
 */
import type { XdrReader } from '../../xdr/reader';
import { Nfs4Error } from '../errors';
import { nfsstat4 } from '../types';

/**
 * Decodes an xattrkey4 (component4). Decoded up to NFS4_OPAQUE_LIMIT bytes, past the core's limit, so a
 * long name is answered NFS4ERR_NAMETOOLONG by the core rather than BADXDR; an empty one is INVAL.
 */
export function decodeXattrKey4(r: XdrReader): Buffer {
  const k = Buffer.from(r.opaque(XATTR_KEY_DECODE_MAX));
  return k;
}

export function requireXattrName(name: Buffer): void {
  if (name.length === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'empty extended attribute name');
}

const XATTR_KEY_DECODE_MAX = 1024;
/**
 * Largest xattrvalue4 decoded: above the core's 64 KiB value limit, so a value the core refuses is
 * answered NFS4ERR_XATTR2BIG (RFC 8276 §8.4.2.4) rather than BADXDR. The RPC record limit bounds it too.
 */
export const XATTR_VALUE_DECODE_MAX = 1 << 20;
