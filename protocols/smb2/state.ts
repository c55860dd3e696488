/**
 * Per-connection, per-session, per-tree and per-open state of the SMB2 server (MS-SMB2 3.3.1).
 * The protocol's own bookkeeping only: file state (opens and share modes) lives in the core.
 */
import type { Cred, Handle, OpenState, Attr } from '../../cluster/vfs/types';
import type { SmbAccount } from './users';
import type { GssAcceptor } from './session/spnego';
import type { SigningAlgorithm } from './session/signing';
import type { ShareHandler } from './shares';
import type { BreakSender, CachingHolder, FileCaching } from './leases/manager';

export interface ConnectionState {
  readonly id: number;
  readonly clientAddress: string;
  /** 0 before NEGOTIATE; 0x02FF after an SMB1 negotiate that asked for "SMB 2.???". */
  dialect: number;
  clientGuid: Buffer;
  clientCapabilities: number;
  clientSecurityMode: number;
  /** As offered (FSCTL_VALIDATE_NEGOTIATE_INFO checks them). */
  clientDialects: number[];
  serverCapabilities: number;
  serverSecurityMode: number;
  /** 3.1.1 preauth integrity: SHA-512 over NEGOTIATE request and response. */
  preauthHash: Buffer | undefined;
  cipherId: number;
  signingAlgorithm: SigningAlgorithm;
  supportsMultiCredit: boolean;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  sessions: Map<bigint, Session>;
  /** Sends an unsolicited oplock or lease break on this connection (set by connection.ts). */
  sendBreak?: BreakSender;
}

export type SessionState = 'in-progress' | 'valid' | 'expired';

export interface Session {
  readonly id: bigint;
  state: SessionState;
  gss: GssAcceptor | undefined;
  /** 3.1.1: the connection hash, then each SESSION_SETUP request and non-final response. */
  preauthHash: Buffer | undefined;
  account: SmbAccount | undefined;
  cred: Cred;
  userName: string;
  isAnonymous: boolean;
  isGuest: boolean;
  sessionKey: Buffer | undefined;
  signingKey: Buffer | undefined;
  /** Server → client. */
  encryptionKey: Buffer | undefined;
  /** Client → server. */
  decryptionKey: Buffer | undefined;
  applicationKey: Buffer | undefined;
  signingRequired: boolean;
  encryptData: boolean;
  trees: Map<number, TreeConnect>;
  nextTreeId: number;
  opens: Map<bigint, SmbOpen>;
}

export interface TreeConnect {
  readonly id: number;
  readonly session: Session;
  readonly share: ShareHandler;
  readonly shareName: string;
  /** The share's policy or the client address rule made it read-only. */
  readOnly: boolean;
  /** Access the user has on the share root (TREE_CONNECT MaximalAccess). */
  maximalAccess: number;
  readonly encryptData: boolean;
  /** The session's credential after the share's squash rules (redone when a re-authentication changes the user). */
  cred: Cred;
}

export interface DirEnumeration {
  pattern: string;
  /** Next core readdir cookie; 0 = start. */
  cookie: bigint;
  verifier: Buffer | undefined;
  eof: boolean;
  /** Entries read from the core but not yet sent (they did not fit). */
  queue: Array<{ name: string; attr: Attr; fileId: bigint }>;
  /** "." and ".." still to send (2, 1, 0). */
  dots: number;
  /** Some entry has been returned since the last restart (NO_SUCH_FILE vs NO_MORE_FILES). */
  returnedAny: boolean;
}

export interface SmbOpen {
  readonly persistentId: bigint;
  readonly volatileId: bigint;
  readonly tree: TreeConnect;
  readonly kind: 'file' | 'dir' | 'pipe';
  /** Access mask granted at CREATE. */
  readonly grantedAccess: number;
  /** Share-relative path with backslashes ("" for the root), for FileNameInformation. */
  path: string;
  /** Disk opens: the core open, the object, its directory and name in it. */
  core?: OpenState;
  handle?: Handle;
  parent?: Handle;
  name?: Buffer;
  writeThrough: boolean;
  enumeration?: DirEnumeration;
  /** FilePositionInformation (kept, never used by READ/WRITE which carry offsets). */
  position: bigint;
  /** Named pipe state (IPC$). */
  pipe?: unknown;
  closed: boolean;
  /** Oplock or lease held through this open, its file's caching record, its connection (leases/manager.ts). */
  caching?: CachingHolder | undefined;
  cachingFile?: FileCaching | undefined;
  conn?: ConnectionState;
}

export function fileIdBytes(o: { persistentId: bigint; volatileId: bigint }): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(o.persistentId, 0);
  b.writeBigUInt64LE(o.volatileId, 8);
  return b;
}
