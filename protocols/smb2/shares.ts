/**
 * Shares: the config's exports are disk shares (same name, same policy: read-only, client rules,
 * squashing), plus IPC$ for named pipes (srvsvc, so `smbclient -L` and Explorer can list shares).
 * Tree-scoped commands go to the share's handler; each share type implements the operations it supports.
 */
import type { Attr } from '../../cluster/vfs/types';
import type { Smb2Context, Smb2Reply } from './command';
import type { Session, SmbOpen, TreeConnect } from './state';
import type { SMB2_CREATE_Request } from './commands/create';
import type { SMB2_QUERY_DIRECTORY_Request } from './commands/query-directory';
import type { SMB2_QUERY_INFO_Request } from './commands/query-info';
import type { SMB2_SET_INFO_Request } from './commands/set-info';
import type { SMB2_IOCTL_Request } from './commands/ioctl';
import type { Cred, FileSystem } from '../../cluster/vfs/types';

/** The context of a tree-scoped command: session and tree are known. */
export type TreeContext = Smb2Context & { readonly session: Session; readonly tree: TreeConnect };

export interface TreeAccess {
  readOnly: boolean;
  maximalAccess: number;
  cred: Cred;
  encryptData: boolean;
}

export interface CreateOutcome {
  open: SmbOpen;
  action: number;
  /** Attributes for the response (pipes: undefined, all zero). */
  attr: Attr | undefined;
  /** Encoded create contexts for the response (may be empty). */
  contexts: Buffer;
}

export interface ReadOutcome {
  /** The data read, in order; several pieces when the read spanned several core reads (sent as they are). */
  data: readonly Buffer[];
  release?: () => void;
}

export interface ShareHandler {
  readonly type: 'disk' | 'pipe';
  readonly name: string;
  readonly comment: string;
  /** Disk shares: the volume behind the share (LOCK, CHANGE_NOTIFY). */
  readonly fs?: FileSystem;
  /** Admission: throws SmbError(ACCESS_DENIED) if this session may not use the share. */
  connect(session: Session, clientAddress: string): Promise<TreeAccess>;
  create(ctx: TreeContext, req: SMB2_CREATE_Request): Promise<CreateOutcome>;
  /** Ends the open; returns the attributes after close (for POSTQUERY_ATTRIB) when available. */
  close(ctx: TreeContext | undefined, open: SmbOpen): Promise<Attr | undefined>;
  read(ctx: TreeContext, open: SmbOpen, offset: bigint, length: number, minCount: number): Promise<ReadOutcome>;
  /** `ready(end)`, when given, resolves once data[0, end) has arrived (Smb2Context.arrived). */
  write(ctx: TreeContext, open: SmbOpen, offset: bigint, data: Buffer, writeThrough: boolean, ready?: (end: number) => Promise<void>): Promise<number>;
  flush(ctx: TreeContext, open: SmbOpen): Promise<void>;
  queryDirectory(ctx: TreeContext, open: SmbOpen, req: SMB2_QUERY_DIRECTORY_Request): Promise<Buffer>;
  queryInfo(ctx: TreeContext, open: SmbOpen, req: SMB2_QUERY_INFO_Request): Promise<Smb2Reply>;
  setInfo(ctx: TreeContext, open: SmbOpen, req: SMB2_SET_INFO_Request): Promise<void>;
  ioctl(ctx: TreeContext, open: SmbOpen | undefined, req: SMB2_IOCTL_Request): Promise<{ status: number; output: Buffer }>;
}

export interface ShareInfo {
  name: string;
  /** STYPE_DISKTREE (0) or STYPE_IPC | STYPE_SPECIAL. */
  type: 'disk' | 'ipc';
  comment: string;
}

export class ShareRegistry {
  private readonly byName = new Map<string, ShareHandler>();

  /** Names are matched case-insensitively, as Windows does. */
  add(h: ShareHandler): this {
    const k = h.name.toLowerCase();
    if (this.byName.has(k)) throw new Error(`duplicate share name ${h.name}`);
    this.byName.set(k, h);
    return this;
  }

  get(name: string): ShareHandler | undefined {
    return this.byName.get(name.toLowerCase());
  }

  list(): ShareInfo[] {
    return [...this.byName.values()].map((h) => ({ name: h.name, type: h.type === 'disk' ? 'disk' : 'ipc', comment: h.comment }));
  }
}
