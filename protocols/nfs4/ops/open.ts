/**
 * OP_OPEN (RFC 8881 §18.16): opens (and with OPEN4_CREATE creates) a regular file for an open-owner, with
 * share access and deny bits checked against the file's other opens; the file becomes the current
 * filehandle and the open stateid the current stateid.
 *
 *   claims:  CLAIM_NULL (directory + name), CLAIM_FH (4.1: the current filehandle), CLAIM_PREVIOUS (a
 *            reclaim in the grace period after a restart, by a client the reclaim records know; the
 *            current filehandle is the file). No delegations are ever granted, so the delegation claims
 *            are NFS4ERR_BAD_STATEID (CUR) or NFS4ERR_NOTSUPP (PREV).
 *   grace:   while earlier clients may reclaim, other OPENs are NFS4ERR_GRACE (server.checkGrace).
 *   4.0:     ordered by the open-owner's seqid (a retransmission gets the kept reply); a new owner's
 *            first OPEN answers OPEN4_RESULT_CONFIRM (OPEN_CONFIRM).
 *   create:  UNCHECKED4 (an existing file is opened; its attributes are ignored except a size of 0, O_TRUNC),
 *            GUARDED4 (exists → NFS4ERR_EXIST), EXCLUSIVE4 and EXCLUSIVE4_1 (a retransmission with the same
 *            verifier opens the file created before; another verifier → NFS4ERR_EXIST). 4.1 values in a 4.0
 *            COMPOUND are NFS4ERR_BADXDR.
 *   type:    a directory → NFS4ERR_ISDIR, a symlink → NFS4ERR_SYMLINK, anything else not regular (device,
 *            socket, fifo) → NFS4ERR_WRONG_TYPE from 4.1 on (RFC 8881 §18.16.3), NFS4ERR_SYMLINK in 4.0
 *            (RFC 7530 §16.16.5: 4.0 has no WRONG_TYPE, and INVAL would blame correct arguments; as knfsd).
 *   access:  an existing file needs read (or execute) permission for READ access and write permission for
 *            WRITE access; a file this OPEN created is the caller's to open as asked.
 *   order:   a 4.1 client's non-reclaim OPEN before its RECLAIM_COMPLETE is NFS4ERR_GRACE (RFC 8881 §18.51.3).
 *   courtesy: an open of a client whose lease has expired does not block others: that client is expired.
 *   result:  never a delegation: OPEN_DELEGATE_NONE, or OPEN_DELEGATE_NONE_EXT when a 4.1 client stated a
 *            "want"; rflags carry LOCKTYPE_POSIX and, in 4.1, never CONFIRM.
 *
 * Each open is also a core open (FileSystem.open), so share reservations conflict with SMB opens.
 */
import { AccessBits, CreateMode, FileType, OpenBits, type Attr, type CreateArgs, type Handle, type NodeResult, type OpenArgs, type OpenState } from '../../../cluster/vfs/types';
import { seqidVerdict } from '../state/owners';
import type { OpenStateRec } from '../state/stateids';
import { isCoreError, Errc } from '../../../cluster/vfs/errors';
import { XdrError } from '../../xdr/errors';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { decodeSetAttrs, FATTR4_SIZE, type DecodedSetAttrs } from '../attrs';
import { Nfs4Error } from '../errors';
import type { FsFh } from '../fh';
import { changeInfo, checkComponent } from '../helpers';
import type { Nfs4Compound, Nfs4Op } from '../op';
import { nextSeqid, stateidOf } from '../stateid';
import {
  OPEN4_SHARE_ACCESS_BOTH,
  OPEN4_SHARE_ACCESS_READ,
  OPEN4_SHARE_ACCESS_WANT_CANCEL,
  OPEN4_SHARE_ACCESS_WANT_DELEG_MASK,
  OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
  OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE,
  OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED,
  OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL,
  OPEN4_SHARE_ACCESS_WRITE,
  OPEN4_SHARE_DENY_BOTH,
  OPEN4_SHARE_DENY_READ,
  OPEN4_SHARE_DENY_WRITE,
  OPEN4_RESULT_CONFIRM,
  OPEN4_RESULT_LOCKTYPE_POSIX,
  createmode4,
  nfs_opnum4,
  nfsstat4,
  open_claim_type4,
  open_delegation_type4,
  opentype4,
  why_no_delegation4,
  type bitmap4,
  type change_info4,
  type fattr4,
  type open_owner4,
  type stateid4,
} from '../types';
import {
  bitmapOf,
  bitmapSize,
  decodeBitmap4,
  decodeChangeInfo4,
  decodeComponent4,
  decodeFattr4,
  decodeStateOwner4,
  decodeStateid4,
  decodeVerifier4,
  encodeBitmap4,
  encodeChangeInfo4,
  encodeComponent4,
  encodeFattr4,
  encodeStateOwner4,
  encodeStateid4,
  encodeVerifier4,
} from '../xdr';

/** union createhow4 switch (createmode4 mode) { UNCHECKED4, GUARDED4: fattr4; EXCLUSIVE4: verifier4; EXCLUSIVE4_1: creatverfattr }; */
export type createhow4 =
  | { mode: createmode4.UNCHECKED4 | createmode4.GUARDED4; createattrs: fattr4 }
  | { mode: createmode4.EXCLUSIVE4; createverf: Buffer }
  | { mode: createmode4.EXCLUSIVE4_1; cva_verf: Buffer; cva_attrs: fattr4 };

/** union openflag4 switch (opentype4 opentype) { case OPEN4_CREATE: createhow4 how; default: void; }; */
export type openflag4 = { opentype: opentype4.OPEN4_NOCREATE } | { opentype: opentype4.OPEN4_CREATE; how: createhow4 };

/** union open_claim4 switch (open_claim_type4 claim) { … }; */
export type open_claim4 =
  | { claim: open_claim_type4.CLAIM_NULL; file: Buffer }
  | { claim: open_claim_type4.CLAIM_PREVIOUS; delegate_type: number }
  | { claim: open_claim_type4.CLAIM_DELEGATE_CUR; delegate_stateid: stateid4; file: Buffer }
  | { claim: open_claim_type4.CLAIM_DELEGATE_PREV; file_delegate_prev: Buffer }
  | { claim: open_claim_type4.CLAIM_FH }
  | { claim: open_claim_type4.CLAIM_DELEG_PREV_FH }
  | { claim: open_claim_type4.CLAIM_DELEG_CUR_FH; oc_delegate_stateid: stateid4 };

/** struct OPEN4args { seqid4 seqid; uint32_t share_access; uint32_t share_deny; open_owner4 owner; openflag4 openhow; open_claim4 claim; }; */
export interface OPEN4args {
  seqid: number;
  share_access: number;
  share_deny: number;
  owner: open_owner4;
  openhow: openflag4;
  claim: open_claim4;
}

/** open_delegation4 as this server sends it: NONE, or NONE_EXT with the reason. */
export type open_delegation4 =
  | { delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE }
  | { delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE_EXT; ond_why: why_no_delegation4; ond_server_flag?: boolean };

/** struct OPEN4resok { stateid4 stateid; change_info4 cinfo; uint32_t rflags; bitmap4 attrset; open_delegation4 delegation; }; */
export interface OPEN4resok {
  stateid: stateid4;
  cinfo: change_info4;
  rflags: number;
  attrset: bitmap4;
  delegation: open_delegation4;
}

// ---- codecs ----

function decodeCreatehow4(r: XdrReader): createhow4 {
  const mode = r.uint32();
  switch (mode) {
    case createmode4.UNCHECKED4:
    case createmode4.GUARDED4:
      return { mode, createattrs: decodeFattr4(r) };
    case createmode4.EXCLUSIVE4:
      return { mode, createverf: decodeVerifier4(r) };
    case createmode4.EXCLUSIVE4_1:
      return { mode, cva_verf: decodeVerifier4(r), cva_attrs: decodeFattr4(r) };
    default:
      throw new XdrError(`bad createmode4 ${mode}`);
  }
}

function encodeCreatehow4(w: XdrWriter, h: createhow4): void {
  w.uint32(h.mode);
  if (h.mode === createmode4.EXCLUSIVE4) encodeVerifier4(w, h.createverf);
  else if (h.mode === createmode4.EXCLUSIVE4_1) {
    encodeVerifier4(w, h.cva_verf);
    encodeFattr4(w, h.cva_attrs);
  } else encodeFattr4(w, h.createattrs);
}

function decodeOpenClaim4(r: XdrReader): open_claim4 {
  const claim = r.uint32();
  switch (claim) {
    case open_claim_type4.CLAIM_NULL:
      return { claim, file: decodeComponent4(r) };
    case open_claim_type4.CLAIM_PREVIOUS:
      return { claim, delegate_type: r.uint32() };
    case open_claim_type4.CLAIM_DELEGATE_CUR:
      return { claim, delegate_stateid: decodeStateid4(r), file: decodeComponent4(r) };
    case open_claim_type4.CLAIM_DELEGATE_PREV:
      return { claim, file_delegate_prev: decodeComponent4(r) };
    case open_claim_type4.CLAIM_FH:
    case open_claim_type4.CLAIM_DELEG_PREV_FH:
      return { claim };
    case open_claim_type4.CLAIM_DELEG_CUR_FH:
      return { claim, oc_delegate_stateid: decodeStateid4(r) };
    default:
      throw new XdrError(`bad open_claim_type4 ${claim}`);
  }
}

function encodeOpenClaim4(w: XdrWriter, c: open_claim4): void {
  w.uint32(c.claim);
  switch (c.claim) {
    case open_claim_type4.CLAIM_NULL:
      encodeComponent4(w, c.file);
      break;
    case open_claim_type4.CLAIM_PREVIOUS:
      w.uint32(c.delegate_type);
      break;
    case open_claim_type4.CLAIM_DELEGATE_CUR:
      encodeStateid4(w, c.delegate_stateid);
      encodeComponent4(w, c.file);
      break;
    case open_claim_type4.CLAIM_DELEGATE_PREV:
      encodeComponent4(w, c.file_delegate_prev);
      break;
    case open_claim_type4.CLAIM_DELEG_CUR_FH:
      encodeStateid4(w, c.oc_delegate_stateid);
      break;
    default:
      break;
  }
}

function encodeDelegation(w: XdrWriter, d: open_delegation4): void {
  w.uint32(d.delegation_type);
  if (d.delegation_type === open_delegation_type4.OPEN_DELEGATE_NONE_EXT) {
    w.uint32(d.ond_why);
    if (d.ond_why === why_no_delegation4.WND4_CONTENTION || d.ond_why === why_no_delegation4.WND4_RESOURCE) w.bool(d.ond_server_flag ?? false);
  }
}

function delegationBytes(d: open_delegation4): number {
  if (d.delegation_type !== open_delegation_type4.OPEN_DELEGATE_NONE_EXT) return 4;
  return d.ond_why === why_no_delegation4.WND4_CONTENTION || d.ond_why === why_no_delegation4.WND4_RESOURCE ? 12 : 8;
}

function decodeDelegation(r: XdrReader): open_delegation4 {
  const t = r.uint32();
  if (t === open_delegation_type4.OPEN_DELEGATE_NONE) return { delegation_type: t };
  if (t === open_delegation_type4.OPEN_DELEGATE_NONE_EXT) {
    const ond_why = r.uint32() as why_no_delegation4;
    if (ond_why === why_no_delegation4.WND4_CONTENTION || ond_why === why_no_delegation4.WND4_RESOURCE) {
      return { delegation_type: t, ond_why, ond_server_flag: r.bool() };
    }
    return { delegation_type: t, ond_why };
  }
  throw new XdrError(`this client side does not decode delegation type ${t}`);
}

// ---- semantics ----

const WANT_FLAGS = OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL | OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED;

function delegationFor(minor: number, shareAccess: number): open_delegation4 {
  const want = shareAccess & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
  if (minor === 0 || want === OPEN4_SHARE_ACCESS_WANT_NO_PREFERENCE) return { delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE };
  if (want === OPEN4_SHARE_ACCESS_WANT_NO_DELEG) return { delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE_EXT, ond_why: why_no_delegation4.WND4_NOT_WANTED };
  if (want === OPEN4_SHARE_ACCESS_WANT_CANCEL) return { delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE_EXT, ond_why: why_no_delegation4.WND4_CANCELLED };
  // A delegation was wanted: this server grants none, and will not signal one later.
  return { delegation_type: open_delegation_type4.OPEN_DELEGATE_NONE_EXT, ond_why: why_no_delegation4.WND4_RESOURCE, ond_server_flag: false };
}

function checkType(minor: number, t: FileType): void {
  if (t === FileType.REG) return;
  if (t === FileType.DIR) throw new Nfs4Error(nfsstat4.NFS4ERR_ISDIR);
  if (t === FileType.LNK) throw new Nfs4Error(nfsstat4.NFS4ERR_SYMLINK);
  throw new Nfs4Error(minor >= 1 ? nfsstat4.NFS4ERR_WRONG_TYPE : nfsstat4.NFS4ERR_SYMLINK, 'not a regular file');
}

async function checkOpenAccess(fh: FsFh, h: Handle, access: number): Promise<void> {
  let want = 0;
  if (access & OPEN4_SHARE_ACCESS_READ) want |= AccessBits.READ | AccessBits.EXECUTE;
  if (access & OPEN4_SHARE_ACCESS_WRITE) want |= AccessBits.MODIFY;
  const { granted } = await fh.fs.access(fh.cred, h, want);
  if (access & OPEN4_SHARE_ACCESS_READ && !(granted & (AccessBits.READ | AccessBits.EXECUTE))) throw new Nfs4Error(nfsstat4.NFS4ERR_ACCESS, 'no read permission');
  if (access & OPEN4_SHARE_ACCESS_WRITE && !(granted & AccessBits.MODIFY)) throw new Nfs4Error(nfsstat4.NFS4ERR_ACCESS, 'no write permission');
}

function createArgsOf(how: createhow4, attrs: DecodedSetAttrs): CreateArgs {
  switch (how.mode) {
    case createmode4.UNCHECKED4:
      return { mode: CreateMode.UNCHECKED, attrs: attrs.set };
    case createmode4.GUARDED4:
      return { mode: CreateMode.GUARDED, attrs: attrs.set };
    case createmode4.EXCLUSIVE4:
      return { mode: CreateMode.EXCLUSIVE, verifier: how.createverf };
    case createmode4.EXCLUSIVE4_1:
      return { mode: CreateMode.EXCLUSIVE, verifier: how.cva_verf, attrs: attrs.set };
  }
}

interface Target {
  fh: FsFh;
  attr: Attr;
  cinfo: change_info4;
  created: boolean;
  attrset: bitmap4;
}

/** CLAIM_NULL: name in the current directory, created as `openhow` says. */
async function claimNull(c: Nfs4Compound, a: OPEN4args, name: Buffer, access: number, deny: number): Promise<Target> {
  const cur = c.curFh();
  if (cur.kind === 'pseudo') {
    if (a.openhow.opentype === opentype4.OPEN4_CREATE) throw new Nfs4Error(nfsstat4.NFS4ERR_ROFS, 'pseudo-filesystem root');
    const isExport = c.server.visibleExports(c.rpc).some((e) => e.name === name.toString('utf8'));
    throw new Nfs4Error(isExport ? nfsstat4.NFS4ERR_ISDIR : nfsstat4.NFS4ERR_NOENT);
  }
  const dir = cur;
  checkComponent(name, dir.fs.limits.maxNameBytes);
  let found: { handle: Handle; attr: Attr; dirAttr: Attr } | undefined;
  try {
    found = await dir.fs.lookup(dir.cred, dir.handle, name);
  } catch (e) {
    if (!isCoreError(e) || e.errc !== Errc.NOENT || a.openhow.opentype !== opentype4.OPEN4_CREATE) throw e;
  }
  if (found) {
    // A guarded create of an existing name fails before anything else is looked at (as knfsd).
    if (a.openhow.opentype === opentype4.OPEN4_CREATE && a.openhow.how.mode === createmode4.GUARDED4) throw new Nfs4Error(nfsstat4.NFS4ERR_EXIST);
    checkType(c.minor, found.attr.type);
    // Permission before share reservations (as knfsd): a caller who may not open it learns ACCESS.
    await checkOpenAccess({ ...dir, handle: found.handle }, found.handle, access);
    const fileKey = c.server.fileKey(dir, found.attr.fileId);
    checkShare(c, a, fileKey, access, deny);
  }
  if (a.openhow.opentype === opentype4.OPEN4_NOCREATE) {
    const f = found!;
    return {
      fh: { ...dir, handle: f.handle },
      attr: f.attr,
      cinfo: { atomic: false, before: f.dirAttr.change, after: f.dirAttr.change },
      created: false,
      attrset: [],
    };
  }
  c.writable(dir);
  const how = a.openhow.how;
  if (how.mode === createmode4.EXCLUSIVE4_1 && c.minor === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_BADXDR, 'EXCLUSIVE4_1 in NFSv4.0');
  if (how.mode === createmode4.GUARDED4 && found) throw new Nfs4Error(nfsstat4.NFS4ERR_EXIST);
  let attrs: DecodedSetAttrs = { set: {}, ids: [] };
  if (how.mode === createmode4.UNCHECKED4 || how.mode === createmode4.GUARDED4) attrs = decodeSetAttrs(how.createattrs, c.minor, c.server.idmap);
  // An UNCHECKED4 OPEN of an existing file ignores the attributes, except a size of 0 (O_TRUNC).
  if (found && how.mode === createmode4.UNCHECKED4) attrs = { set: attrs.set.size === 0n ? { size: 0n } : {}, ids: attrs.set.size === 0n ? [FATTR4_SIZE] : [] };
  else if (how.mode === createmode4.EXCLUSIVE4_1) attrs = decodeSetAttrs(how.cva_attrs, c.minor, c.server.idmap);
  const r: NodeResult = await dir.fs.create(dir.cred, dir.handle, name, createArgsOf(how, attrs));
  checkType(c.minor, r.attr.type);
  const created = !found;
  let attrset: bitmap4 = [];
  if (created) attrset = how.mode === createmode4.EXCLUSIVE4 ? [] : bitmapOf(attrs.ids);
  else if (how.mode === createmode4.UNCHECKED4 && attrs.set.size !== undefined) attrset = bitmapOf([FATTR4_SIZE]);
  else if (how.mode === createmode4.EXCLUSIVE4_1) attrset = bitmapOf(attrs.ids);
  return { fh: { ...dir, handle: r.handle }, attr: r.attr, cinfo: changeInfo(r.dir), created, attrset };
}

/**
 * NFSv4 share bits as the core's open bits: the access used, and what others may use (everything the
 * deny bits do not forbid; NFSv4 never denies delete).
 */
export function coreOpenArgs(access: number, deny: number, owner: string): OpenArgs {
  let use = 0;
  if (access & OPEN4_SHARE_ACCESS_READ) use |= OpenBits.READ;
  if (access & OPEN4_SHARE_ACCESS_WRITE) use |= OpenBits.WRITE;
  let share = OpenBits.READ | OpenBits.WRITE | OpenBits.DELETE;
  if (deny & OPEN4_SHARE_DENY_READ) share &= ~OpenBits.READ;
  if (deny & OPEN4_SHARE_DENY_WRITE) share &= ~OpenBits.WRITE;
  return { access: use, shareAccess: share, owner };
}

/**
 * The open in the core, where SMB opens see it (SHARING_VIOLATION → NFS4ERR_SHARE_DENIED). Permissions
 * were checked above with NFSv4's rules (execute counts for reading; the creator may write a file it just
 * created read-only), so the core is asked as root.
 */
async function openCore(c: Nfs4Compound, fh: FsFh, fileId: bigint, access: number, deny: number, owner: Buffer): Promise<OpenState> {
  const label = `nfs4:${c.rpc.remote.address}:${owner.toString('hex').slice(0, 32)}:${fileId}`;
  return (await fh.fs.open(ROOT_CRED, fh.handle, coreOpenArgs(access, deny, label))).open;
}

/**
 * An open upgrade: the core open is replaced by one with the union of the bits. The old one goes first
 * (an owner's opens never conflict with each other, but two core opens would); if the new one is refused
 * by an SMB open, the old one is put back.
 */
async function reopenCore(c: Nfs4Compound, rec: OpenStateRec, fh: FsFh, access: number, deny: number): Promise<void> {
  const old = rec.core;
  rec.core = undefined;
  if (old) await rec.fs.release(old);
  try {
    rec.core = await openCore(c, fh, rec.fileId, access, deny, rec.owner);
  } catch (e) {
    if (old) rec.core = await openCore(c, fh, rec.fileId, rec.access, rec.deny, rec.owner).catch(() => undefined);
    throw e;
  }
}

const ROOT_CRED = Object.freeze({ uid: 0, gid: 0, groups: [] as number[] });

/**
 * Share reservations: the new OPEN's access against every open's deny, its deny against every open's
 * access, the same owner's own open included (as knfsd counts it: an owner that denies READ cannot
 * open for READ again without a downgrade).
 */
function checkShare(c: Nfs4Compound, a: OPEN4args, fileKey: string, access: number, deny: number): void {
  void a;
  if (c.server.shareConflict(fileKey, access, deny)) throw new Nfs4Error(nfsstat4.NFS4ERR_SHARE_DENIED);
}

export const OPEN: Nfs4Op<OPEN4args, OPEN4resok> = {
  opnum: nfs_opnum4.OP_OPEN,
  name: 'OPEN',
  decodeArgs: (r) => {
    const seqid = r.uint32();
    const share_access = r.uint32();
    const share_deny = r.uint32();
    const owner = decodeStateOwner4(r);
    const opentype = r.uint32();
    let openhow: openflag4;
    if (opentype === opentype4.OPEN4_CREATE) openhow = { opentype, how: decodeCreatehow4(r) };
    else if (opentype === opentype4.OPEN4_NOCREATE) openhow = { opentype };
    else throw new XdrError(`bad opentype4 ${opentype}`);
    return { seqid, share_access, share_deny, owner, openhow, claim: decodeOpenClaim4(r) };
  },
  encodeArgs: (w, a) => {
    w.uint32(a.seqid);
    w.uint32(a.share_access);
    w.uint32(a.share_deny);
    encodeStateOwner4(w, a.owner);
    w.uint32(a.openhow.opentype);
    if (a.openhow.opentype === opentype4.OPEN4_CREATE) encodeCreatehow4(w, a.openhow.how);
    encodeOpenClaim4(w, a.claim);
  },
  async handle(c, a) {
    const client = c.clientById(a.owner.clientid);
    const owner = c.server.owners.getOrCreate('open', client, a.owner.owner, c.minor);
    if (c.minor === 0 && !owner.confirmed && owner.seqid !== undefined && seqidVerdict(owner, a.seqid, nfs_opnum4.OP_OPEN) !== 'replay') {
      // RFC 7530 §16.16.5: an OPEN by an owner whose first OPEN was never confirmed starts the owner
      // afresh; what that first OPEN opened is released.
      for (const o of c.server.states.opensOfOwner(owner)) await c.server.closeOpen(o, false);
      owner.seqid = undefined;
      owner.last = undefined;
    }
    c.sequenced(owner, a.seqid, nfs_opnum4.OP_OPEN);
    const access = a.share_access & OPEN4_SHARE_ACCESS_BOTH;
    const extra = a.share_access & ~(OPEN4_SHARE_ACCESS_BOTH | (c.minor >= 1 ? OPEN4_SHARE_ACCESS_WANT_DELEG_MASK | WANT_FLAGS : 0));
    if (access === 0 || extra !== 0) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `share_access ${a.share_access.toString(16)}`);
    if (a.share_deny & ~OPEN4_SHARE_DENY_BOTH) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, `share_deny ${a.share_deny.toString(16)}`);
    const deny = a.share_deny;

    let t: Target;
    const claim = a.claim;
    if (claim.claim >= open_claim_type4.CLAIM_FH && c.minor === 0) throw new Nfs4Error(nfsstat4.NFS4ERR_BADXDR, 'NFSv4.1 claim in NFSv4.0');
    c.server.checkGrace(c, client, claim.claim === open_claim_type4.CLAIM_PREVIOUS);
    switch (claim.claim) {
      case open_claim_type4.CLAIM_NULL:
        t = await claimNull(c, a, claim.file, access, deny);
        break;
      case open_claim_type4.CLAIM_FH: {
        if (a.openhow.opentype === opentype4.OPEN4_CREATE) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'CLAIM_FH with OPEN4_CREATE');
        const fh = c.curFs(nfsstat4.NFS4ERR_ISDIR);
        const attr = await fh.fs.getattr(fh.cred, fh.handle);
        checkType(c.minor, attr.type);
        checkShare(c, a, c.server.fileKey(fh, attr.fileId), access, deny);
        t = { fh, attr, cinfo: { atomic: false, before: 0n, after: 0n }, created: false, attrset: [] };
        break;
      }
      case open_claim_type4.CLAIM_PREVIOUS: {
        // A reclaim after a restart (checkGrace above let it through): the current filehandle is the file.
        if (a.openhow.opentype === opentype4.OPEN4_CREATE) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'CLAIM_PREVIOUS with OPEN4_CREATE');
        const fh = c.curFs(nfsstat4.NFS4ERR_ISDIR);
        const attr = await fh.fs.getattr(fh.cred, fh.handle);
        checkType(c.minor, attr.type);
        t = { fh, attr, cinfo: { atomic: false, before: 0n, after: 0n }, created: false, attrset: [] };
        break;
      }
      case open_claim_type4.CLAIM_DELEGATE_CUR:
      case open_claim_type4.CLAIM_DELEG_CUR_FH:
        throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'this server grants no delegations');
      default:
        throw new Nfs4Error(nfsstat4.NFS4ERR_NOTSUPP, `claim ${claim.claim}`);
    }

    if (access & OPEN4_SHARE_ACCESS_WRITE) c.writable(t.fh);
    if (!t.created) await checkOpenAccess(t.fh, t.fh.handle, access);

    const states = c.server.states;
    const fileKey = c.server.fileKey(t.fh, t.attr.fileId);
    let rec = states.existing(client, a.owner.owner, fileKey);
    const wantAccess = (rec?.access ?? 0) | access;
    const wantDeny = (rec?.deny ?? 0) | deny;
    checkShare(c, a, fileKey, access, deny);
    if (rec) {
      if (wantAccess !== rec.access || wantDeny !== rec.deny) {
        await reopenCore(c, rec, t.fh, wantAccess, wantDeny);
        rec.access = wantAccess;
        rec.deny = wantDeny;
      }
      rec.seqid = nextSeqid(rec.seqid);
      rec.accessModes |= 1 << access;
      rec.denyModes |= 1 << deny;
    } else {
      const core = await openCore(c, t.fh, t.attr.fileId, access, deny, owner.owner);
      rec = states.add(owner, { fileKey, fileId: t.attr.fileId, fh: t.fh.handle, fs: t.fh.fs }, access, deny, core);
    }
    // A reclaim needs no OPEN_CONFIRM (knfsd does the same; the Linux 4.0 client has no filehandle at hand
    // to confirm with during recovery).
    if (claim.claim === open_claim_type4.CLAIM_PREVIOUS) owner.confirmed = true;
    c.server.noteState(client);
    c.cur = t.fh;
    const stateid = stateidOf(rec);
    c.curStateid = stateid;
    const rflags = OPEN4_RESULT_LOCKTYPE_POSIX | (c.minor === 0 && !owner.confirmed ? OPEN4_RESULT_CONFIRM : 0);
    return { stateid: { seqid: stateid.seqid, other: stateid.other }, cinfo: t.cinfo, rflags, attrset: t.attrset, delegation: delegationFor(c.minor, a.share_access) };
  },
  // stateid4, change_info4, rflags, attrset, open_delegation4 (never a delegation: at most 12 bytes).
  resultBytes: (r) => 16 + 20 + 4 + bitmapSize(r.attrset) + delegationBytes(r.delegation),
  // attrset names settable attributes only, in at most three bitmap words.
  maxResultBytes: () => 16 + 20 + 4 + 16 + 12,
  encodeOk: (w, r) => {
    encodeStateid4(w, r.stateid);
    encodeChangeInfo4(w, r.cinfo);
    w.uint32(r.rflags);
    encodeBitmap4(w, r.attrset);
    encodeDelegation(w, r.delegation);
  },
  decodeOk: (r) => ({
    stateid: decodeStateid4(r),
    cinfo: decodeChangeInfo4(r),
    rflags: r.uint32(),
    attrset: decodeBitmap4(r),
    delegation: decodeDelegation(r),
  }),
};
