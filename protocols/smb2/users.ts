/**
 * What the SMB frontend needs from the user database (the gateway provides a file-backed one): the NT
 * hash to verify NTLMv2 responses with, and the identity the core sees for the session.
 */
export interface SmbAccount {
  /** The name as stored (lookups are case-insensitive). */
  name: string;
  /** NTOWFv1: MD4(UTF-16LE(password)), 16 bytes. */
  ntHash: Buffer;
  uid: number;
  gid: number;
  groups: readonly number[];
}

export interface SmbUserDb {
  lookup(name: string): SmbAccount | undefined;
}
