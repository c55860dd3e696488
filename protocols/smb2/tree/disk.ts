/**
 * A disk share: one export of one volume, seen through SMB. Maps CREATE dispositions, access masks, share
 * modes, reads, writes, directory enumeration and the information classes onto the core FileSystem. No
 * permission rule of its own: access is asked of the core (FileSystem.access / open), squashing and
 * read-only come from the export policy (DESIGN invariant 9).
 */
import { sharedBulkPool } from '../../../cluster/vfs/buffer-pool';
import { CoreError, Errc } from '../../../cluster/vfs/errors';
import { exportAccess, squashCred, type ExportConfig } from '../../../cluster/vfs/exports';
import { AccessBits, CreateMode, FileType, OpenBits, Stable, type Attr, type Cred, type FileSystem, type Handle, type OpenState, type ReadResult, type SetAttrs, type WriteOptions } from '../../../cluster/vfs/types';
import { SmbError, type Smb2Reply } from '../command';
import {
  ACCESS_SYSTEM_SECURITY,
  DELETE,
  FILE_ALL_ACCESS,
  FILE_APPEND_DATA,
  FILE_CREATE,
  FILE_CREATED,
  FILE_DELETE_CHILD,
  FILE_DELETE_ON_CLOSE,
  FILE_DIRECTORY_FILE,
  FILE_EXECUTE,
  FILE_GENERIC_EXECUTE,
  FILE_GENERIC_READ,
  FILE_GENERIC_WRITE,
  FILE_NON_DIRECTORY_FILE,
  FILE_OPEN,
  FILE_OPEN_BY_FILE_ID,
  FILE_OPENED,
  FILE_OVERWRITE,
  FILE_OVERWRITE_IF,
  FILE_OVERWRITTEN,
  FILE_READ_ATTRIBUTES,
  FILE_READ_DATA,
  FILE_READ_EA,
  FILE_SUPERSEDE,
  FILE_SUPERSEDED,
  FILE_WRITE_ATTRIBUTES,
  FILE_WRITE_DATA,
  FILE_WRITE_EA,
  FILE_WRITE_THROUGH,
  GENERIC_ALL,
  GENERIC_EXECUTE,
  GENERIC_READ,
  GENERIC_WRITE,
  MAXIMUM_ALLOWED,
  READ_CONTROL,
  SMB2_0_INFO_FILE,
  SMB2_0_INFO_FILESYSTEM,
  SMB2_0_INFO_QUOTA,
  SMB2_0_INFO_SECURITY,
  SMB2_INDEX_SPECIFIED,
  SMB2_REOPEN,
  SMB2_RESTART_SCANS,
  SMB2_RETURN_SINGLE_ENTRY,
  SYNCHRONIZE,
  WRITE_DAC,
  WRITE_OWNER,
  FSCTL_QUERY_NETWORK_INTERFACE_INFO,
  FSCTL_SRV_ENUMERATE_SNAPSHOTS,
  FSCTL_SRV_COPYCHUNK,
  FSCTL_SRV_COPYCHUNK_WRITE,
  FSCTL_SRV_REQUEST_RESUME_KEY,
} from '../constants';
import type { SMB2_CREATE_Request } from '../commands/create';
import { encodeCreateContexts, type CreateContext } from '../commands/create';
import type { SMB2_IOCTL_Request } from '../commands/ioctl';
import { fitInfo } from '../commands/query-info';
import type { SMB2_QUERY_DIRECTORY_Request } from '../commands/query-directory';
import type { SMB2_QUERY_INFO_Request } from '../commands/query-info';
import type { SMB2_SET_INFO_Request } from '../commands/set-info';
import { FILE_ATTRIBUTE_ARCHIVE, FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_TEMPORARY, STORED_DOS_ATTRS, filetimeFromNs, nsFromFiletime } from '../fscc/attrs';
import { encodeDirEntry, isDirInfoClass } from '../fscc/dir-info';
import {
  encodeFileInfo,
  FileAllocationInformation,
  FileAlternateNameInformation,
  FileBasicInformation,
  FileDispositionInformation,
  FileDispositionInformationEx,
  FileEndOfFileInformation,
  FileFullEaInformation,
  FileLinkInformation,
  FileModeInformation,
  FileNormalizedNameInformation,
  FilePositionInformation,
  FileRenameInformation,
} from '../fscc/file-info';
import { encodeFsInfo } from '../fscc/fs-info';
import {
  DACL_SECURITY_INFORMATION,
  decodeSecurityDescriptor,
  encodeSecurityDescriptor,
  gidOfSid,
  GROUP_SECURITY_INFORMATION,
  modeFromDacl,
  OWNER_SECURITY_INFORMATION,
  SACL_SECURITY_INFORMATION,
  SecurityDescriptorError,
  sidString,
  uidOfSid,
} from '../fscc/security';
import { compileMatcher, hasWildcards } from '../fscc/wildcard';
import { NtStatus } from '../ntstatus';
import type { CreateOutcome, ReadOutcome, ShareHandler, TreeAccess, TreeContext } from '../shares';
import type { DirEnumeration, Session, SmbOpen } from '../state';
import { decodeUtf16, Utf16Error } from '../utf16';
import { align8 } from '../wire';
import { parseSmbPath } from './paths';
import { lookupCaseless } from '../../../cluster/vfs/caseless';
import { copyRange, isSparseHost } from '../../../cluster/vfs/sparse';
import { randomBytes } from 'node:crypto';
import { smbLockOwner } from '../commands/lock';
import { notifyClosed } from '../commands/change-notify';
import { releaseCaching } from '../leases/manager';

const STATUS_NO_EAS_ON_FILE = 0xc0000052;
const STATUS_EAS_NOT_SUPPORTED = 0xc000004f;
/** Entries fetched from the core per readdir call while enumerating. */
const READDIR_BATCH = 256;
/** Mode bits of what SMB clients create (before the core applies nothing else: no umask on SMB). */
const NEW_FILE_MODE = 0o644;
const NEW_DIR_MODE = 0o755;

const INT64_MAX = 0x7fffffffffffffffn;
const STATUS_INVALID_VIEW_SIZE = 0xc000001f;
/**
 * SMB writes do not start background fsyncs (WriteOptions.flushBehind): SMB promises stability only for
 * FLUSH and write-through, which still sync everything (the volume keeps the unsynced chunks dirty).
 */
const SMB_WRITE_OPTIONS: WriteOptions = Object.freeze({ flushBehind: false });
/** Server-side copy limits we announce (Windows' values). */
const COPYCHUNK_MAX_CHUNKS = 256;
const COPYCHUNK_MAX_CHUNK_BYTES = 1024 * 1024;
const COPYCHUNK_MAX_TOTAL_BYTES = 16 * 1024 * 1024;
/** A per-process secret in every resume key, so a key cannot be forged from file ids alone. */
const RESUME_SECRET = randomBytes(8);

/** 24 opaque bytes naming an open: its volatile and persistent ids and the process secret. */
function resumeKeyOf(o: SmbOpen): Buffer {
  const k = Buffer.alloc(24);
  k.writeBigUInt64LE(o.volatileId, 0);
  k.writeBigUInt64LE(o.persistentId, 8);
  RESUME_SECRET.copy(k, 16);
  return k;
}

/** The open a resume key names, among the opens of this connection's sessions. */
function findByResumeKey(ctx: TreeContext, key: Buffer): SmbOpen | undefined {
  if (!key.subarray(16, 24).equals(RESUME_SECRET)) return undefined;
  const vid = key.readBigUInt64LE(0);
  const pid = key.readBigUInt64LE(8);
  for (const s of [ctx.session, ...ctx.conn.sessions.values()]) {
    const o = s.opens.get(vid);
    if (o && o.persistentId === pid && !o.closed) return o;
  }
  return undefined;
}
/** basic, all, network-open, attribute-tag (MS-FSCC 2.4.7, 2.4.2, 2.4.29, 2.4.6). */
const READ_ATTRIBUTE_CLASSES = new Set([4, 18, 34, 35]);
/** NTFS's largest file (16 TiB - 64 KiB); Windows refuses writes ending past it. */
const MAX_SMB_FILE_SIZE = 0xfffffff0000n;

const WRITE_BITS = FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES | DELETE | FILE_DELETE_CHILD | WRITE_DAC | WRITE_OWNER;

/** MS-SMB2 2.2.13.1 / MS-DTYP 2.4.3: generic rights → file rights. */
export function mapGenericAccess(m: number): number {
  let out = m & ~(GENERIC_ALL | GENERIC_EXECUTE | GENERIC_WRITE | GENERIC_READ);
  if (m & GENERIC_READ) out |= FILE_GENERIC_READ;
  if (m & GENERIC_WRITE) out |= FILE_GENERIC_WRITE;
  if (m & GENERIC_EXECUTE) out |= FILE_GENERIC_EXECUTE;
  if (m & GENERIC_ALL) out |= FILE_ALL_ACCESS;
  return out >>> 0;
}

/** Share-mode bits an access mask uses. */
function openBits(granted: number): number {
  let b = 0;
  if (granted & (FILE_READ_DATA | FILE_EXECUTE)) b |= OpenBits.READ;
  if (granted & (FILE_WRITE_DATA | FILE_APPEND_DATA)) b |= OpenBits.WRITE;
  if (granted & DELETE) b |= OpenBits.DELETE;
  return b;
}

function nameBuf(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

interface Located {
  handle: Handle;
  attr: Attr;
  parent: Handle | undefined;
  parentAttr: Attr | undefined;
  name: string | undefined;
}

export interface DiskShareOptions {
  config: ExportConfig;
  fs: FileSystem;
  comment?: string;
  /** Require encryption on this share (3.x sessions only). */
  encryptData?: boolean;
  /** Names are found whatever their case (the core's lookupCaseless); default on, as Windows expects. */
  caseInsensitive?: boolean;
  /** When set, only these users (names from the user database) may connect. */
  allowUsers?: readonly string[];
  /** When set, only members of these gids (primary or supplementary) may connect. */
  allowGroups?: readonly number[];
}

export class DiskShare implements ShareHandler {
  readonly type = 'disk' as const;
  readonly name: string;
  readonly comment: string;
  private readonly cfg: ExportConfig;
  /** The volume behind the share (LOCK and CHANGE_NOTIFY work on it directly). */
  readonly fs: FileSystem;
  private readonly encryptData: boolean;
  readonly caseInsensitive: boolean;
  private readonly allowUsers: ReadonlySet<string> | undefined;
  private readonly allowGroups: readonly number[] | undefined;
  /** Rename parent-directory checks in progress, by directory handle (checkParentSharing). */
  private readonly parentChecks = new Map<string, Promise<void>>();

  constructor(o: DiskShareOptions) {
    this.cfg = o.config;
    this.fs = o.fs;
    this.name = o.config.name;
    this.comment = o.comment ?? '';
    this.encryptData = o.encryptData ?? false;
    this.caseInsensitive = o.caseInsensitive ?? true;
    this.allowUsers = o.allowUsers ? new Set(o.allowUsers.map((u) => u.toLowerCase())) : undefined;
    this.allowGroups = o.allowGroups;
  }

  /** One name in a directory, case-insensitively when the share says so; `name` is the stored name. */
  private async lookupName(cred: Cred, dir: Handle, name: string): Promise<{ handle: Handle; attr: Attr; name: string }> {
    if (!this.caseInsensitive) {
      const l = await this.fs.lookup(cred, dir, nameBuf(name));
      return { handle: l.handle, attr: l.attr, name };
    }
    const l = await lookupCaseless(this.fs, cred, dir, nameBuf(name));
    return { handle: l.handle, attr: l.attr, name: l.name.toString('utf8') };
  }

  private root(): Promise<Handle> {
    return this.fs.rootHandle(this.cfg.id);
  }

  async connect(session: Session, clientAddress: string): Promise<TreeAccess> {
    if (session.isAnonymous) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'anonymous sessions reach IPC$ only');
    if (this.allowUsers && !this.allowUsers.has(session.userName.toLowerCase())) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, `user ${session.userName} not allowed on ${this.name}`);
    if (this.allowGroups && !this.allowGroups.some((g) => g === session.cred.gid || session.cred.groups.includes(g))) {
      throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, `no group of ${session.userName} is allowed on ${this.name}`);
    }
    const acc = exportAccess(this.cfg, clientAddress);
    if (!acc.allowed) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, `client ${clientAddress} not allowed on ${this.name}`);
    const cred = squashCred(this.cfg, session.cred);
    const root = await this.root();
    const attr = await this.fs.getattr(cred, root);
    const maximalAccess = await this.maximalAccess(cred, root, attr, undefined, acc.readOnly);
    return { readOnly: acc.readOnly, maximalAccess, cred, encryptData: this.encryptData };
  }

  /** Rights the caller has on an object, from the core's access answer (and the parent's, for DELETE). */
  private async maximalAccess(cred: Cred, h: Handle, attr: Attr, parent: Handle | undefined, readOnly: boolean): Promise<number> {
    const all = AccessBits.READ | AccessBits.LOOKUP | AccessBits.MODIFY | AccessBits.EXTEND | AccessBits.DELETE | AccessBits.EXECUTE;
    const g = (await this.fs.access(cred, h, all)).granted;
    let m = FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE | FILE_READ_EA;
    const dir = attr.type === FileType.DIR;
    if (g & AccessBits.READ) m |= FILE_READ_DATA;
    // A file's FILE_EXECUTE only lets the client read it to run it locally: whoever may read may execute
    // (Samba's "acl allow execute always"), else SEC_RIGHTS_FILE_ALL opens of 0644 files fail. For the
    // same reason FILE_DELETE_CHILD, meaningless on a file, comes with write access.
    if (g & (dir ? AccessBits.LOOKUP : AccessBits.EXECUTE | AccessBits.READ)) m |= FILE_EXECUTE;
    if (g & AccessBits.MODIFY) m |= FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_DELETE_CHILD;
    if (cred.uid === 0 || cred.uid === attr.uid) m |= FILE_WRITE_ATTRIBUTES | WRITE_DAC | WRITE_OWNER | FILE_WRITE_EA;
    if (parent && (await this.fs.access(cred, parent, AccessBits.DELETE)).granted & AccessBits.DELETE) m |= DELETE;
    if (readOnly) m &= ~WRITE_BITS;
    return m >>> 0;
  }

  // ---- CREATE ---------------------------------------------------------------------------------------------

  /** Walks the directories of a path; missing or non-directory intermediates are OBJECT_PATH_NOT_FOUND. */
  private async walk(cred: Cred, from: Handle, comps: string[]): Promise<{ handle: Handle; attr: Attr }> {
    let h = from;
    let a = await this.fs.getattr(cred, h);
    for (const c of comps) {
      try {
        const l = await this.lookupName(cred, h, c);
        h = l.handle;
        a = l.attr;
      } catch (e) {
        if (e instanceof CoreError && (e.errc === Errc.NOENT || e.errc === Errc.NOTDIR)) throw new SmbError(NtStatus.STATUS_OBJECT_PATH_NOT_FOUND);
        throw e;
      }
      if (a.type !== FileType.DIR) throw new SmbError(NtStatus.STATUS_OBJECT_PATH_NOT_FOUND);
    }
    return { handle: h, attr: a };
  }

  private async locate(cred: Cred, comps: string[]): Promise<{ found?: Located; parent: Handle; parentAttr: Attr | undefined; name: string | undefined }> {
    const root = await this.root();
    if (comps.length === 0) {
      const attr = await this.fs.getattr(cred, root);
      return { found: { handle: root, attr, parent: undefined, parentAttr: undefined, name: undefined }, parent: root, parentAttr: undefined, name: undefined };
    }
    const p = await this.walk(cred, root, comps.slice(0, -1));
    const name = comps[comps.length - 1]!;
    try {
      const l = await this.lookupName(cred, p.handle, name);
      return { found: { handle: l.handle, attr: l.attr, parent: p.handle, parentAttr: p.attr, name: l.name }, parent: p.handle, parentAttr: p.attr, name };
    } catch (e) {
      if (e instanceof CoreError && e.errc === Errc.NOENT) return { parent: p.handle, parentAttr: p.attr, name };
      throw e;
    }
  }

  async create(ctx: TreeContext, req: SMB2_CREATE_Request): Promise<CreateOutcome> {
    const tree = ctx.tree;
    const cred = tree.cred;
    const disp = req.createDisposition;
    const opts = req.createOptions;
    if (opts & FILE_OPEN_BY_FILE_ID) throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED, 'open by file id');
    let desired = mapGenericAccess(req.desiredAccess);
    if (desired & ACCESS_SYSTEM_SECURITY) throw new SmbError(NtStatus.STATUS_PRIVILEGE_NOT_HELD);
    if (desired === 0) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'DesiredAccess is 0');
    if (opts & FILE_DELETE_ON_CLOSE && !(desired & (DELETE | MAXIMUM_ALLOWED))) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'delete-on-close without DELETE access');
    const path = parseSmbPath(req.name);
    const wantDir = (opts & FILE_DIRECTORY_FILE) !== 0 || path.trailingSlash;
    const wantFile = (opts & FILE_NON_DIRECTORY_FILE) !== 0;
    const overwrite = disp === FILE_OVERWRITE || disp === FILE_OVERWRITE_IF || disp === FILE_SUPERSEDE;
    if (overwrite) desired |= FILE_WRITE_DATA;

    for (let attempt = 0; ; attempt++) {
      const loc = await this.locate(cred, path.components);
      if (loc.found) {
        const f = loc.found;
        const isDir = f.attr.type === FileType.DIR;
        if (disp === FILE_CREATE) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_COLLISION);
        if (wantDir && !isDir) throw new SmbError(NtStatus.STATUS_NOT_A_DIRECTORY);
        if (wantFile && isDir) throw new SmbError(NtStatus.STATUS_FILE_IS_A_DIRECTORY);
        if (isDir && overwrite) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'overwrite of a directory');
        if (this.fs.isDeletePending(f.attr.fileId)) throw new SmbError(NtStatus.STATUS_DELETE_PENDING);
        const max = await this.maximalAccess(cred, f.handle, f.attr, f.parent, tree.readOnly);
        const granted = this.grant(desired, max);
        if (opts & FILE_DELETE_ON_CLOSE && f.attr.dosAttrs & FILE_ATTRIBUTE_READONLY) throw new SmbError(NtStatus.STATUS_CANNOT_DELETE);
        const open = await this.openCore(ctx, f, granted, req.shareAccess, path.components, isDir, opts, req);
        // Share modes first (openCore), then the oplocks and leases of other opens that this one conflicts
        // with are broken and acknowledged before the CREATE completes (leases/manager.ts).
        if (!isDir) {
          try {
            await ctx.server.caching.beforeOpen(ctx, this.fs, f.attr.fileId, req, granted, overwrite);
          } catch (e) {
            await this.fs.release(open.core!).catch(() => undefined);
            throw e;
          }
        }
        let attr = f.attr;
        let action = FILE_OPENED;
        try {
          if (overwrite) {
            const set: SetAttrs = { size: 0n, dosAttrs: (req.fileAttributes & STORED_DOS_ATTRS) | FILE_ATTRIBUTE_ARCHIVE };
            attr = (await this.fs.setattr(cred, f.handle, set)).after;
            action = disp === FILE_SUPERSEDE ? FILE_SUPERSEDED : FILE_OVERWRITTEN;
          }
          if (opts & FILE_DELETE_ON_CLOSE) await this.setDelete(open, true);
        } catch (e) {
          await this.fs.release(open.core!).catch(() => undefined);
          throw e;
        }
        return { open, action, attr, contexts: await this.responseContexts(req, attr, granted) };
      }
      // Not there.
      if (disp === FILE_OPEN || disp === FILE_OVERWRITE) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND);
      if (loc.name === undefined) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID);
      if (tree.readOnly) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'read-only share');
      // A new file is marked for archiving, as NTFS does (directories are not).
      const dos = (req.fileAttributes & STORED_DOS_ATTRS) | (wantDir ? 0 : FILE_ATTRIBUTE_ARCHIVE);
      let made;
      try {
        made = wantDir
          ? await this.fs.mkdir(cred, loc.parent, nameBuf(loc.name), { mode: NEW_DIR_MODE, ...(dos ? { dosAttrs: dos } : {}) })
          : await this.fs.create(cred, loc.parent, nameBuf(loc.name), { mode: CreateMode.GUARDED, attrs: { mode: NEW_FILE_MODE, ...(dos ? { dosAttrs: dos } : {}) } });
      } catch (e) {
        // Created by someone else in between: OPEN_IF / OVERWRITE_IF / SUPERSEDE open it instead.
        if (e instanceof CoreError && e.errc === Errc.EXIST && attempt === 0 && disp !== FILE_CREATE) continue;
        throw e;
      }
      const secd = req.context('SecD');
      if (secd) made = { ...made, attr: await this.applyCreateSecurity(cred, made.handle, made.attr, secd.data) };
      // The creator gets what it asked for (as a POSIX open(O_CREAT) does, whatever the new mode).
      const max = await this.maximalAccess(cred, made.handle, made.attr, loc.parent, false);
      const granted = desired & MAXIMUM_ALLOWED ? max : desired;
      const f: Located = { handle: made.handle, attr: made.attr, parent: loc.parent, parentAttr: loc.parentAttr, name: loc.name };
      const open = await this.openCore(ctx, f, granted, req.shareAccess, path.components, wantDir, opts);
      if (opts & FILE_DELETE_ON_CLOSE) {
        try {
          await this.setDelete(open, true);
        } catch (e) {
          await this.fs.release(open.core!).catch(() => undefined);
          throw e;
        }
      }
      return { open, action: FILE_CREATED, attr: made.attr, contexts: await this.responseContexts(req, made.attr, granted) };
    }
  }

  /**
   * SMB2_CREATE_SD_BUFFER ("SecD") on a new file: its owner, group and mode, as a SET_INFO would set them.
   * An owner the caller may not give the file to (the core says PERM) leaves the caller as owner and
   * still applies the mode, as a Windows server would with the creator as owner.
   */
  private async applyCreateSecurity(cred: Cred, h: Handle, attr: Attr, sd: Buffer): Promise<Attr> {
    const all = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    const set = this.securityToSetAttrs(sd, all, attr);
    if (!Object.keys(set).length) return attr;
    try {
      return (await this.fs.setattr(cred, h, set)).after;
    } catch (e) {
      if (!(e instanceof CoreError && e.errc === Errc.PERM) || set.mode === undefined) throw e;
      return (await this.fs.setattr(cred, h, { mode: set.mode })).after;
    }
  }

  /** Checks `desired` against what the user may do; MAXIMUM_ALLOWED grants all of that. */
  private grant(desired: number, max: number): number {
    const need = desired & ~(MAXIMUM_ALLOWED | SYNCHRONIZE);
    if (need & ~max) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, `wants 0x${(need & ~max).toString(16)}`);
    return (desired & MAXIMUM_ALLOWED ? max | need : desired) >>> 0;
  }

  private async openCore(ctx: TreeContext, f: Located, granted: number, shareAccess: number, comps: string[], isDir: boolean, opts: number, req?: SMB2_CREATE_Request): Promise<SmbOpen> {
    const args = {
      access: openBits(granted),
      shareAccess: shareAccess & 7,
      owner: `smb:${ctx.conn.id}:${ctx.session.id.toString(16)}`,
      cachingBroken: true,
    };
    let core: OpenState;
    try {
      core = (await this.fs.open(ctx.tree.cred, f.handle, args)).open;
    } catch (e) {
      // A share-mode conflict with opens whose client caches handles: break handle caching, then retry once.
      if (!(req && e instanceof CoreError && e.errc === Errc.SHARING_VIOLATION && (await ctx.server.caching.breakHandles(ctx, this.fs, f.attr.fileId, req)))) throw e;
      core = (await this.fs.open(ctx.tree.cred, f.handle, args)).open;
    }
    const id = ctx.server.nextFileId();
    const o: SmbOpen = {
      persistentId: id,
      volatileId: id,
      tree: ctx.tree,
      kind: isDir ? 'dir' : 'file',
      grantedAccess: granted,
      path: comps.join('\\'),
      core,
      handle: f.handle,
      ...(f.parent ? { parent: f.parent } : {}),
      ...(f.name !== undefined ? { name: nameBuf(f.name) } : {}),
      writeThrough: (opts & FILE_WRITE_THROUGH) !== 0,
      position: 0n,
      closed: false,
    };
    return o;
  }

  private async responseContexts(req: SMB2_CREATE_Request, attr: Attr, granted: number): Promise<Buffer> {
    const out: CreateContext[] = [];
    if (req.context('MxAc')) {
      // SMB2_CREATE_QUERY_MAXIMAL_ACCESS_RESPONSE: QueryStatus, MaximalAccess.
      const d = Buffer.alloc(8);
      d.writeUInt32LE(0, 0);
      d.writeUInt32LE(granted >>> 0, 4);
      out.push({ name: 'MxAc', data: d });
    }
    if (req.context('QFid')) {
      // SMB2_CREATE_QUERY_ON_DISK_ID: DiskFileId (8) + VolumeId (8) + Reserved (16).
      const d = Buffer.alloc(32);
      d.writeBigUInt64LE(BigInt.asUintN(64, attr.fileId), 0);
      d.writeBigUInt64LE(BigInt.asUintN(64, attr.fsid), 8);
      out.push({ name: 'QFid', data: d });
    }
    return out.length ? encodeCreateContexts(out) : Buffer.alloc(0);
  }

  private async setDelete(o: SmbOpen, on: boolean): Promise<void> {
    if (!o.parent || !o.name) throw new SmbError(NtStatus.STATUS_CANNOT_DELETE, 'the share root cannot be deleted');
    if (!(o.grantedAccess & DELETE)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    await this.fs.setDeletePending(o.tree.cred, o.core!, o.parent, o.name, on);
  }

  // ---- CLOSE / READ / WRITE / FLUSH -------------------------------------------------------------------------

  async close(_ctx: TreeContext | undefined, o: SmbOpen): Promise<Attr | undefined> {
    notifyClosed(o);
    releaseCaching(o);
    let attr: Attr | undefined;
    try {
      attr = await this.fs.getattr(o.tree.cred, o.handle!);
    } catch {
      attr = undefined;
    }
    if (o.core) await this.fs.release(o.core);
    return attr;
  }

  async read(ctx: TreeContext, o: SmbOpen, offset: bigint, length: number, minCount: number): Promise<ReadOutcome> {
    if (o.kind === 'dir') throw new SmbError(NtStatus.STATUS_INVALID_DEVICE_REQUEST, 'READ on a directory');
    if (!(o.grantedAccess & (FILE_READ_DATA | FILE_EXECUTE))) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    // Offsets are signed 64-bit on Windows: negative, or a range ending past INT64_MAX, is invalid.
    if (offset > INT64_MAX || offset + BigInt(length) > INT64_MAX) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'read range beyond INT64_MAX');
    // Byte-range locks are mandatory for SMB I/O: STATUS_FILE_LOCK_CONFLICT (LOCKED) when one is in the way.
    this.fs.checkIo(o.core!.fileId, { write: false, offset, length: BigInt(length), openId: o.core!.id, owner: smbLockOwner(o) });
    const max = this.fs.limits.maxRead;
    if (length <= max) {
      const r = await this.fs.read(ctx.tree.cred, o.handle!, offset, length, ctx.signal, { pool: sharedBulkPool });
      if ((r.data.length === 0 && length > 0) || r.data.length < minCount) {
        r.release?.();
        throw new SmbError(NtStatus.STATUS_END_OF_FILE);
      }
      // FilePositionInformation follows synchronous I/O, as on Windows.
      o.position = offset + BigInt(r.data.length);
      return { data: [r.data], ...(r.release ? { release: r.release } : {}) };
    }
    // Larger than one core read: the pieces are read in parallel and sent as they are (pooled buffers,
    // no joining copy), up to the first short one.
    const pieces: Promise<ReadResult>[] = [];
    for (let done = 0; done < length; done += max) {
      pieces.push(this.fs.read(ctx.tree.cred, o.handle!, offset + BigInt(done), Math.min(max, length - done), ctx.signal, { pool: sharedBulkPool, readAhead: false }));
    }
    const settled = await Promise.allSettled(pieces);
    const got = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const releaseAll = (): void => {
      for (const r of got) r.release?.();
    };
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      releaseAll();
      throw failed.reason;
    }
    let n = 0;
    const keep: Buffer[] = [];
    for (const r of got) {
      if (r.data.length) keep.push(r.data);
      n += r.data.length;
      if (r.data.length < max) break;
    }
    if ((n === 0 && length > 0) || n < minCount) {
      releaseAll();
      throw new SmbError(NtStatus.STATUS_END_OF_FILE);
    }
    o.position = offset + BigInt(n);
    return { data: keep, release: releaseAll };
  }

  async write(ctx: TreeContext, o: SmbOpen, offsetIn: bigint, data: Buffer, writeThrough: boolean, ready?: (end: number) => Promise<void>): Promise<number> {
    if (o.kind === 'dir') throw new SmbError(NtStatus.STATUS_INVALID_DEVICE_REQUEST, 'WRITE on a directory');
    if (!(o.grantedAccess & (FILE_WRITE_DATA | FILE_APPEND_DATA))) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    const offset = offsetIn;
    // As Windows: a negative offset (all ones included: SMB2 has no "write at end of file") or a range
    // past the largest NTFS file size is invalid; an empty write anywhere below 2^63 succeeds.
    if (offset > INT64_MAX || (data.length > 0 && offset + BigInt(data.length) > MAX_SMB_FILE_SIZE)) {
      throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'write range beyond the largest file size');
    }
    if (data.length === 0) return 0;
    this.fs.checkIo(o.core!.fileId, { write: true, offset, length: BigInt(data.length), openId: o.core!.id, owner: smbLockOwner(o) });
    // Other opens' oplocks and leases on the file are broken first (leases/manager.ts).
    if (o.cachingFile) await ctx.server.caching.beforeWrite(o);
    const stable = writeThrough || o.writeThrough ? Stable.FILE_SYNC : Stable.UNSTABLE;
    const max = this.fs.limits.maxWrite;
    // Up to 8 MiB in one SMB WRITE: the core pieces go out together (the core coalesces their metadata).
    // Pieces of maxWrite (1 MiB) also suit the page cache here: pwrites of 2-4 MiB into new chunk files
    // (one per chunk, as Samba's 8 MiB ones) cost 1.5-5x the CPU per byte on the bench machine (kernel
    // 6.18 ext4 large folios in a VM; 512 KiB-1 MiB was cheapest; session-5 report smbio).
    const pieces: Promise<number>[] = [];
    for (let at = 0; at < data.length; at += max) {
      const part = data.subarray(at, Math.min(data.length, at + max));
      const write = (): Promise<number> => this.fs.write(ctx.tree.cred, o.handle!, offset + BigInt(at), part, stable, SMB_WRITE_OPTIONS).then((r) => r.count);
      // Each piece starts once its bytes have arrived, while the rest of the message is still coming.
      pieces.push(ready ? ready(at + part.length).then(write) : write());
    }
    // Every piece has finished before the reply, failed or not: the payload's buffer is reused once the
    // WRITE is answered, so no core write may still be reading it then.
    const settled = await Promise.allSettled(pieces);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const counts = settled.map((s) => (s as PromiseFulfilledResult<number>).value);
    // Bytes written contiguously from the start (a short piece ends the count).
    let done = 0;
    for (let i = 0; i < counts.length; i++) {
      done += counts[i]!;
      if (counts[i]! < Math.min(max, data.length - i * max)) break;
    }
    o.position = offset + BigInt(done);
    return done;
  }

  async flush(ctx: TreeContext, o: SmbOpen): Promise<void> {
    if (o.kind === 'dir') return;
    if (!(o.grantedAccess & (FILE_WRITE_DATA | FILE_APPEND_DATA))) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    await this.fs.commit(ctx.tree.cred, o.handle!, 0n, 0);
  }

  // ---- QUERY_DIRECTORY ---------------------------------------------------------------------------------

  async queryDirectory(ctx: TreeContext, o: SmbOpen, req: SMB2_QUERY_DIRECTORY_Request): Promise<Buffer> {
    if (o.kind !== 'dir') throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'QUERY_DIRECTORY on a file');
    if (!(o.grantedAccess & FILE_READ_DATA)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    const cls = req.fileInformationClass;
    if (!isDirInfoClass(cls)) throw new SmbError(NtStatus.STATUS_INVALID_INFO_CLASS);
    const flags = req.flags;
    if (flags & SMB2_INDEX_SPECIFIED && req.fileIndex !== 0) throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED, 'resume by FileIndex');
    const pattern = req.fileName;
    if (!o.enumeration || flags & (SMB2_RESTART_SCANS | SMB2_REOPEN)) {
      o.enumeration = { pattern: pattern || '*', cookie: 0n, verifier: undefined, eof: false, queue: [], dots: 2, returnedAny: false };
    }
    const en = o.enumeration;
    const matches = compileMatcher(en.pattern);
    const max = req.outputBufferLength;
    const single = (flags & SMB2_RETURN_SINGLE_ENTRY) !== 0;
    const out: Buffer[] = [];
    let used = 0;
    let lastLen = 0;
    let count = 0;
    const fits = (len: number): boolean => (count === 0 ? len <= max : align8(used) + len <= max);
    const push = (b: Buffer): void => {
      if (count > 0) {
        const prev = out[out.length - 1]!;
        const padded = align8(lastLen);
        if (padded > prev.length) out[out.length - 1] = Buffer.concat([prev, Buffer.alloc(padded - prev.length)]);
        out[out.length - 1]!.writeUInt32LE(padded, 0);
        used = align8(used);
      }
      out.push(b);
      used += b.length;
      lastLen = b.length;
      count++;
    };
    const cred = ctx.tree.cred;

    // "." and "..", as Windows and Samba list them, when the pattern wants them.
    while (en.dots > 0) {
      const name = en.dots === 2 ? '.' : '..';
      if (!matches(name)) {
        en.dots--;
        continue;
      }
      let a: Attr;
      if (en.dots === 2) a = await this.fs.getattr(cred, o.handle!);
      else a = o.parent ? await this.fs.getattr(cred, o.parent) : await this.fs.getattr(cred, o.handle!);
      const e = encodeDirEntry(cls, name, a, a.fileId);
      if (!fits(e.length)) return this.finishEnumeration(en, out, count);
      push(e);
      en.dots--;
      en.returnedAny = true;
      if (single) return this.finishEnumeration(en, out, count);
    }

    // An exact name is a lookup, not a scan.
    if (!hasWildcards(en.pattern)) {
      if (!en.eof) {
        en.eof = true;
        try {
          const l = await this.lookupName(cred, o.handle!, en.pattern);
          en.queue.push({ name: l.name, attr: l.attr, fileId: l.attr.fileId });
        } catch (e) {
          if (!(e instanceof CoreError && (e.errc === Errc.NOENT || e.errc === Errc.INVAL || e.errc === Errc.NAMETOOLONG))) throw e;
        }
      }
    }
    for (;;) {
      if (en.queue.length === 0) {
        if (en.eof) break;
        const r = await this.fs.readdir(cred, o.handle!, en.cookie, en.verifier, READDIR_BATCH, true);
        en.verifier = r.verifier;
        en.eof = r.eof;
        for (const d of r.entries) {
          en.cookie = d.cookie;
          if (!d.attr) continue;
          let name: string;
          try {
            name = decodeUtf16(Buffer.from(d.name.toString('utf8'), 'utf16le'));
          } catch (e) {
            if (e instanceof Utf16Error) continue;
            throw e;
          }
          // Names that are not valid UTF-8 (written by NFS clients) cannot be shown to SMB clients faithfully.
          if (!Buffer.from(name, 'utf8').equals(d.name)) continue;
          if (matches(name)) en.queue.push({ name, attr: d.attr, fileId: d.fileId });
        }
        continue;
      }
      const next = en.queue[0]!;
      const e = encodeDirEntry(cls, next.name, next.attr, next.fileId);
      if (!fits(e.length)) break;
      en.queue.shift();
      push(e);
      en.returnedAny = true;
      if (single) break;
    }
    return this.finishEnumeration(en, out, count);
  }

  private finishEnumeration(en: DirEnumeration, out: Buffer[], count: number): Buffer {
    if (count === 0) {
      if (en.queue.length || en.dots > 0) {
        // The next entry alone does not fit the client's buffer.
        throw new SmbError(NtStatus.STATUS_INFO_LENGTH_MISMATCH);
      }
      throw new SmbError(en.returnedAny ? NtStatus.STATUS_NO_MORE_FILES : NtStatus.STATUS_NO_SUCH_FILE);
    }
    return Buffer.concat(out);
  }

  // ---- QUERY_INFO / SET_INFO ---------------------------------------------------------------------------

  async queryInfo(ctx: TreeContext, o: SmbOpen, req: SMB2_QUERY_INFO_Request): Promise<Smb2Reply> {
    const cred = ctx.tree.cred;
    switch (req.infoType) {
      case SMB2_0_INFO_FILE: {
        if (req.fileInfoClass === FileFullEaInformation) {
          if (!(o.grantedAccess & FILE_READ_EA)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
          throw new SmbError(STATUS_NO_EAS_ON_FILE);
        }
        // No 8.3 short names here: an empty name, as Samba answers with "mangled names = no" (directory
        // listings carry an empty ShortName too).
        if (req.fileInfoClass === FileAlternateNameInformation) return fitInfo(Buffer.alloc(4), 8, req.outputBufferLength);
        // MS-FSA 2.1.5.12: the attribute classes need FILE_READ_ATTRIBUTES on the open.
        if (READ_ATTRIBUTE_CLASSES.has(req.fileInfoClass) && !(o.grantedAccess & FILE_READ_ATTRIBUTES)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
        const attr = await this.fs.getattr(cred, o.handle!);
        const enc = encodeFileInfo(req.fileInfoClass, {
          attr,
          deletePending: this.fs.isDeletePending(attr.fileId),
          accessFlags: o.grantedAccess,
          position: o.position,
          mode: o.writeThrough ? FILE_WRITE_THROUGH : 0,
          // The share root's normalized name is empty; its other names are "\".
          path: req.fileInfoClass === FileNormalizedNameInformation && o.path === '' ? '' : '\\' + o.path,
        });
        if (!enc) throw new SmbError(NtStatus.STATUS_INVALID_INFO_CLASS);
        return fitInfo(enc.data, enc.fixed, req.outputBufferLength);
      }
      case SMB2_0_INFO_FILESYSTEM: {
        const root = await this.root();
        const st = await this.fs.statfs(cred, o.handle!);
        const rootAttr = await this.fs.getattr(cred, root);
        const enc = encodeFsInfo(req.fileInfoClass, {
          stat: st.stat,
          limits: { ...this.fs.limits, caseInsensitive: this.caseInsensitive },
          created: filetimeFromNs(rootAttr.birthTime),
          serial: Number(rootAttr.fsid & 0xffffffffn),
          label: this.name,
          fsName: 'NTFS',
        });
        if (!enc) throw new SmbError(NtStatus.STATUS_INVALID_INFO_CLASS);
        return fitInfo(enc.data, enc.fixed, req.outputBufferLength);
      }
      case SMB2_0_INFO_SECURITY: {
        if (!(o.grantedAccess & READ_CONTROL)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
        const attr = await this.fs.getattr(cred, o.handle!);
        const sd = encodeSecurityDescriptor(attr, req.additionalInformation);
        if (sd.length > req.outputBufferLength) {
          // 3.3.5.20.3: the required size goes back in the error data.
          const need = Buffer.alloc(4);
          need.writeUInt32LE(sd.length);
          const eb = Buffer.alloc(12);
          eb.writeUInt16LE(9, 0);
          eb.writeUInt32LE(4, 4);
          need.copy(eb, 8);
          throw new SmbError(NtStatus.STATUS_BUFFER_TOO_SMALL, 'security descriptor does not fit', [eb]);
        }
        return fitInfo(sd, sd.length, req.outputBufferLength);
      }
      case SMB2_0_INFO_QUOTA:
        throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED);
      default:
        throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, `InfoType ${req.infoType}`);
    }
  }

  async setInfo(ctx: TreeContext, o: SmbOpen, req: SMB2_SET_INFO_Request): Promise<void> {
    const cred = ctx.tree.cred;
    if (req.infoType !== SMB2_0_INFO_FILE) {
      if (req.infoType === SMB2_0_INFO_SECURITY) return this.setSecurity(ctx, o, req.buffer, req.additionalInformation);
      throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED);
    }
    const b = req.buffer;
    const need = (n: number): void => {
      if (b.length < n) throw new SmbError(NtStatus.STATUS_INFO_LENGTH_MISMATCH);
    };
    const writable = (): void => {
      if (ctx.tree.readOnly) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'read-only share');
    };
    switch (req.fileInfoClass) {
      case FileBasicInformation: {
        need(36);
        if (!(o.grantedAccess & FILE_WRITE_ATTRIBUTES)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
        writable();
        const set: SetAttrs = {};
        // 0 = leave alone; -1 / -2 = (stop / resume) automatic updates, which the core does not model.
        const t = (off: number): bigint | undefined => {
          const v = b.readBigInt64LE(off);
          return v > 0n ? nsFromFiletime(v) : undefined;
        };
        const c = t(0);
        const la = t(8);
        const lw = t(16);
        if (c !== undefined) set.birthTime = c;
        if (la !== undefined) set.atime = la;
        if (lw !== undefined) set.mtime = lw;
        const ch = t(24);
        if (ch !== undefined) set.changeTime = ch;
        const fa = b.readUInt32LE(32);
        // TEMPORARY is a file's hint; on a directory Windows refuses it.
        if (fa & FILE_ATTRIBUTE_TEMPORARY && o.kind === 'dir') throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'TEMPORARY on a directory');
        if (fa !== 0) set.dosAttrs = fa & STORED_DOS_ATTRS;
        if (Object.keys(set).length) await this.fs.setattr(cred, o.handle!, set);
        return;
      }
      case FileEndOfFileInformation:
      case FileAllocationInformation: {
        need(8);
        if (o.kind === 'dir') throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
        if (!(o.grantedAccess & FILE_WRITE_DATA)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
        writable();
        const v = b.readBigInt64LE(0);
        if (v < 0n) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
        // A size change takes other opens' oplocks and leases, as a write does.
        if (o.cachingFile) await ctx.server.caching.beforeWrite(o);
        if (req.fileInfoClass === FileAllocationInformation) {
          // Allocation below the end of file truncates; above it is a hint the core does not need.
          const cur = await this.fs.getattr(cred, o.handle!);
          if (v < cur.size) await this.fs.setattr(cred, o.handle!, { size: v });
          return;
        }
        await this.fs.setattr(cred, o.handle!, { size: v });
        return;
      }
      case FileDispositionInformation:
      case FileDispositionInformationEx: {
        let del: boolean;
        if (req.fileInfoClass === FileDispositionInformation) {
          need(1);
          del = b[0] !== 0;
        } else {
          need(4);
          del = (b.readUInt32LE(0) & 0x1) !== 0; // FILE_DISPOSITION_DELETE
        }
        writable();
        if (del) {
          const a = await this.fs.getattr(cred, o.handle!);
          if (a.dosAttrs & FILE_ATTRIBUTE_READONLY) throw new SmbError(NtStatus.STATUS_CANNOT_DELETE);
        }
        await this.setDelete(o, del);
        return;
      }
      case FileRenameInformation:
      case FileLinkInformation:
        writable();
        return this.renameOrLink(ctx, o, b, req.fileInfoClass === FileLinkInformation);
      case FilePositionInformation:
        need(8);
        o.position = b.readBigUInt64LE(0);
        return;
      case FileModeInformation:
        need(4);
        o.writeThrough = (b.readUInt32LE(0) & FILE_WRITE_THROUGH) !== 0;
        return;
      case FileFullEaInformation:
        throw new SmbError(STATUS_EAS_NOT_SUPPORTED);
      default:
        throw new SmbError(NtStatus.STATUS_INVALID_INFO_CLASS);
    }
  }

  /**
   * SET_INFO security (3.3.5.21.3): owner → chown, group → chgrp, DACL → chmod, in one core setattr so the
   * core's POSIX rules decide (only root gives a file away; the owner chmods). The open needs WRITE_OWNER
   * for owner/group and WRITE_DAC for the DACL. A SACL needs a privilege nobody here holds.
   */
  async setSecurity(ctx: TreeContext, o: SmbOpen, buf: Buffer, what: number): Promise<void> {
    if (what & SACL_SECURITY_INFORMATION) throw new SmbError(NtStatus.STATUS_PRIVILEGE_NOT_HELD, 'SACL');
    if (what & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION) && !(o.grantedAccess & WRITE_OWNER)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    if (what & DACL_SECURITY_INFORMATION && !(o.grantedAccess & WRITE_DAC)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    if (ctx.tree.readOnly) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'read-only share');
    const set = this.securityToSetAttrs(buf, what, await this.fs.getattr(ctx.tree.cred, o.handle!));
    if (Object.keys(set).length) await this.fs.setattr(ctx.tree.cred, o.handle!, set);
  }

  /** The chown/chmod a descriptor asks for, relative to the current attributes. */
  private securityToSetAttrs(buf: Buffer, what: number, cur: Attr): SetAttrs {
    let sd;
    try {
      sd = decodeSecurityDescriptor(buf);
    } catch (e) {
      if (!(e instanceof SecurityDescriptorError)) throw e;
      throw new SmbError(e.what === 'acl' ? NtStatus.STATUS_INVALID_ACL : NtStatus.STATUS_INVALID_SECURITY_DESCR, e.message);
    }
    const set: SetAttrs = {};
    let uid = cur.uid;
    let gid = cur.gid;
    if (what & OWNER_SECURITY_INFORMATION && sd.owner) {
      const u = uidOfSid(sd.owner);
      if (u === undefined) throw new SmbError(NtStatus.STATUS_INVALID_OWNER, `owner ${sidString(sd.owner)} maps to no uid`);
      if (u !== cur.uid) set.uid = u;
      uid = u;
    }
    if (what & GROUP_SECURITY_INFORMATION && sd.group) {
      const g = gidOfSid(sd.group);
      if (g === undefined) throw new SmbError(NtStatus.STATUS_INVALID_PRIMARY_GROUP, `group ${sidString(sd.group)} maps to no gid`);
      if (g !== cur.gid) set.gid = g;
      gid = g;
    }
    if (what & DACL_SECURITY_INFORMATION && sd.dacl !== undefined) {
      const m = modeFromDacl(sd.dacl, uid, gid, cur.mode);
      if (m !== (cur.mode & 0o7777)) set.mode = m;
    }
    return set;
  }

  /**
   * A rename changes the source's directory: as Windows (and Samba) do, it is a sharing violation while
   * another open of that directory holds DELETE access or does not share DELETE. Checked in the core's
   * open table (so opens from every protocol count) by a momentary open using DELETE and sharing
   * read/write only, which conflicts with exactly those opens.
   */
  private async checkParentSharing(cred: Cred, dir: Handle): Promise<void> {
    // Checks of one directory run one at a time, so two concurrent renames never trip over each other's
    // momentary open.
    const key = dir.toString('hex');
    const run = (this.parentChecks.get(key) ?? Promise.resolve()).then(async () => {
      const { open } = await this.fs.open(cred, dir, { access: OpenBits.DELETE, shareAccess: OpenBits.READ | OpenBits.WRITE, owner: 'smb:rename-parent-check', cachingBroken: true });
      await this.fs.release(open);
    });
    const tail = run.catch(() => undefined);
    this.parentChecks.set(key, tail);
    try {
      await run;
    } finally {
      if (this.parentChecks.get(key) === tail) this.parentChecks.delete(key);
    }
  }

  /** FILE_RENAME_INFORMATION_TYPE_2 / FILE_LINK_INFORMATION_TYPE_2 (MS-FSCC 2.4.42.2, 2.4.27.2). */
  /**
   * Whether any SMB open of this share (any session on this gateway) is below directory `dir`: MS-FSA
   * 2.1.5.14.11 refuses to rename a directory with open files inside (ACCESS_DENIED), as Windows and
   * Samba do. Paths are compared as clients name them (case-insensitively).
   */
  private openBelow(ctx: TreeContext, dir: SmbOpen): boolean {
    const prefix = dir.path.toLowerCase() + '\\';
    for (const { session } of ctx.server.sessionsById.values()) {
      for (const other of session.opens.values()) {
        if (other !== dir && !other.closed && other.tree.share === this && other.path.toLowerCase().startsWith(prefix)) return true;
      }
    }
    return false;
  }

  private async renameOrLink(ctx: TreeContext, o: SmbOpen, b: Buffer, link: boolean): Promise<void> {
    const cred = ctx.tree.cred;
    if (b.length < 20) throw new SmbError(NtStatus.STATUS_INFO_LENGTH_MISMATCH);
    const replace = b[0] !== 0;
    const root = b.readBigUInt64LE(8);
    const len = b.readUInt32LE(16);
    if (root !== 0n) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'RootDirectory must be 0');
    if (len % 2 || 20 + len > b.length || len === 0) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'bad FileNameLength');
    let target: string;
    try {
      target = decodeUtf16(b.subarray(20, 20 + len));
    } catch (e) {
      if (e instanceof Utf16Error) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID, e.message);
      throw e;
    }
    if (!o.parent || !o.name) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'the share root cannot be renamed');
    if (!link && !(o.grantedAccess & DELETE)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED);
    const p = parseSmbPath(target, true);
    if (p.components.length === 0) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_INVALID);
    const dest = await this.locate(cred, p.components);
    let newName = p.components[p.components.length - 1]!;
    if (dest.found) {
      const sameFile = dest.found.attr.fileId === (await this.fs.getattr(cred, o.handle!)).fileId;
      if (!sameFile) {
        if (!replace) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_COLLISION);
        // Found under another case: replace that entry (never leave two names differing only in case).
        newName = dest.found.name!;
        if (dest.found.attr.type === FileType.DIR) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'cannot replace a directory');
        if (link) await this.fs.remove(cred, dest.parent, nameBuf(newName));
      } else if (link) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_COLLISION);
    }
    if (link) {
      await this.fs.link(cred, o.handle!, dest.parent, nameBuf(newName));
      return;
    }
    if (o.kind === 'dir' && this.openBelow(ctx, o)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'a file below the directory is open');
    await this.checkParentSharing(cred, o.parent);
    await this.fs.rename(cred, o.parent, o.name, dest.parent, nameBuf(newName));
    o.parent = dest.parent;
    o.name = nameBuf(newName);
    o.path = p.components.join('\\');
  }

  // ---- IOCTL -------------------------------------------------------------------------------------------

  /**
   * FSCTL_SRV_COPYCHUNK(_WRITE) (MS-SMB2 3.3.5.15.6): chunks copied in order from the open named by the
   * resume key to this open, through the core (cluster/vfs/sparse.ts copyRange, as NFSv4.2 COPY). Over the limits: INVALID_PARAMETER
   * with the limits in the response, as the spec asks, so the client can retry smaller.
   */
  private async copyChunk(ctx: TreeContext, dst: SmbOpen, req: SMB2_IOCTL_Request): Promise<{ status: number; output: Buffer }> {
    const inp = req.inputBuffer;
    if (inp.length < 32 || req.maxOutputResponse < 12) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'SRV_COPYCHUNK_COPY too short');
    const response = (chunks: number, chunkBytes: number, total: number): Buffer => {
      const b = Buffer.alloc(12);
      b.writeUInt32LE(chunks, 0);
      b.writeUInt32LE(chunkBytes, 4);
      b.writeUInt32LE(total, 8);
      return b;
    };
    const count = inp.readUInt32LE(24);
    const limits = { status: NtStatus.STATUS_INVALID_PARAMETER, output: response(COPYCHUNK_MAX_CHUNKS, COPYCHUNK_MAX_CHUNK_BYTES, COPYCHUNK_MAX_TOTAL_BYTES) };
    if (count > COPYCHUNK_MAX_CHUNKS) return limits;
    if (inp.length < 32 + 24 * count) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'chunks run past the input');
    const chunks: Array<{ src: bigint; dst: bigint; len: number }> = [];
    let total = 0;
    for (let i = 0; i < count; i++) {
      const at = 32 + 24 * i;
      const c = { src: inp.readBigUInt64LE(at), dst: inp.readBigUInt64LE(at + 8), len: inp.readUInt32LE(at + 16) };
      if (c.len === 0 || c.len > COPYCHUNK_MAX_CHUNK_BYTES) return limits;
      total += c.len;
      chunks.push(c);
    }
    if (total > COPYCHUNK_MAX_TOTAL_BYTES) return limits;
    if (dst.kind !== 'file') throw new SmbError(NtStatus.STATUS_INVALID_DEVICE_REQUEST);
    // COPYCHUNK (not _WRITE) also needs read access on the target, as the spec says.
    const needDst = FILE_WRITE_DATA | (req.ctlCode === FSCTL_SRV_COPYCHUNK ? FILE_READ_DATA : 0);
    if ((dst.grantedAccess & needDst) !== needDst) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'copychunk target access');
    if (ctx.tree.readOnly) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'read-only share');
    const src = findByResumeKey(ctx, inp.subarray(0, 24));
    if (!src) throw new SmbError(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, 'no open with that resume key');
    // The source may be on another share of the same volume, not on another volume.
    if (!(src.tree.share instanceof DiskShare) || src.tree.share.fs !== this.fs || src.kind !== 'file') throw new SmbError(NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, 'source on another volume');
    if (!(src.grantedAccess & FILE_READ_DATA)) throw new SmbError(NtStatus.STATUS_ACCESS_DENIED, 'copychunk source access');
    const fs = this.fs;
    if (!isSparseHost(fs)) throw new SmbError(NtStatus.STATUS_NOT_SUPPORTED, 'volume without server-side copy');
    let written = 0;
    let done = 0;
    for (const c of chunks) {
      if (c.src > INT64_MAX || c.dst + BigInt(c.len) > MAX_SMB_FILE_SIZE) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'chunk range');
      this.fs.checkIo(src.core!.fileId, { write: false, offset: c.src, length: BigInt(c.len), openId: src.core!.id, owner: smbLockOwner(src) });
      this.fs.checkIo(dst.core!.fileId, { write: true, offset: c.dst, length: BigInt(c.len), openId: dst.core!.id, owner: smbLockOwner(dst) });
      // The core's copy (shared with NFSv4.2 COPY): brick → gateway → brick, committed before it returns.
      const n = Number(await copyRange(fs, ctx.tree.cred, src.handle!, c.src, dst.handle!, c.dst, BigInt(c.len)));
      written += n;
      if (n < c.len) {
        // The source ended inside this chunk: Windows answers STATUS_INVALID_VIEW_SIZE with the counts.
        return { status: STATUS_INVALID_VIEW_SIZE, output: response(done, n, written) };
      }
      done++;
    }
    return { status: 0, output: response(done, 0, written) };
  }

  async ioctl(ctx: TreeContext, o: SmbOpen | undefined, req: SMB2_IOCTL_Request): Promise<{ status: number; output: Buffer }> {
    if (req.ctlCode === FSCTL_SRV_REQUEST_RESUME_KEY) {
      if (!o || o.kind !== 'file') throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER, 'resume key of a non-file');
      if (req.maxOutputResponse < 32) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
      // SRV_REQUEST_RESUME_KEY: ResumeKey (24), ContextLength (4) = 0, 4 bytes of padding.
      const out = Buffer.alloc(32);
      resumeKeyOf(o).copy(out, 0);
      return { status: 0, output: out };
    }
    if (req.ctlCode === FSCTL_SRV_COPYCHUNK || req.ctlCode === FSCTL_SRV_COPYCHUNK_WRITE) {
      if (!o) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
      return this.copyChunk(ctx, o, req);
    }
    if (req.ctlCode === FSCTL_SRV_ENUMERATE_SNAPSHOTS) {
      if (!o) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
      // SRV_SNAPSHOT_ARRAY with no snapshots: NumberOfSnapShots, NumberOfSnapShotsReturned, SnapShotArraySize.
      if (req.maxOutputResponse < 16) throw new SmbError(NtStatus.STATUS_INVALID_PARAMETER);
      const out = Buffer.alloc(16);
      out.writeUInt32LE(2, 8);
      return { status: 0, output: out };
    }
    // Without a usable FileId the handle is what is wrong (FILE_CLOSED), except for the one FSCTL
    // clients send with none on purpose (the all-ones FileId): QUERY_NETWORK_INTERFACE_INFO, a
    // multichannel request this server does not support.
    if (!o && req.ctlCode !== FSCTL_QUERY_NETWORK_INTERFACE_INFO) throw new SmbError(NtStatus.STATUS_FILE_CLOSED, `FSCTL 0x${req.ctlCode.toString(16)} without an open`);
    throw new SmbError(o ? NtStatus.STATUS_INVALID_DEVICE_REQUEST : NtStatus.STATUS_NOT_SUPPORTED, `FSCTL 0x${req.ctlCode.toString(16)}`);
  }
}

