/**
 * Stateid checks for the operations that carry one (READ, WRITE, SETATTR, CLOSE, LOCK…):
 * RFC 8881 §8.2 (special stateids §8.2.3, seqid rules §8.2.2) and RFC 7530 §9.1.4.
 *
 *   special "current" (4.1)   → the COMPOUND's current stateid, else BAD_STATEID
 *   anonymous (all zero)      → no open state (READ, WRITE, SETATTR); anything else: BAD_STATEID
 *   READ bypass (all ones)    → READ, WRITE, SETATTR (as anonymous; knfsd does the same)
 *   anonymous / bypass I/O against an open that denies it → NFS4ERR_LOCKED (server.anonymousIoCheck)
 *   unknown `other`           → STALE_STATEID if minted by an earlier instance (4.0; 4.1 says BAD_STATEID),
 *                               else BAD_STATEID
 *   another client's, or another file's → BAD_STATEID
 *   seqid 0 (4.1)             → "the current seqid"; older → OLD_STATEID; newer → BAD_STATEID
 *   4.0: an open of an owner not yet confirmed (OPEN_CONFIRM) → BAD_STATEID
 *
 * A lock stateid serves I/O as its open does. In 4.0 a stateid that names live state renews its client's
 * lease (RFC 7530 §9.5); 4.1 renews through SEQUENCE.
 *
 * The seqid-ordered 4.0 operations (CLOSE, OPEN_CONFIRM, OPEN_DOWNGRADE, LOCK, LOCKU) check in the order
 * knfsd does: the stateid must exist (BAD/STALE_STATEID, which do not advance the owner's seqid), then the
 * owner's seqid (replay or BAD_SEQID), then the stateid's file and seqid.
 */
import { Nfs4Error } from './errors';
import type { FsFh } from './fh';
import { SeqidReplay, type Nfs4Compound } from './op';
import { seqidVerdict } from './state/owners';
import type { LockStateRec, OpenStateRec, StateRec } from './state/stateids';
import { NFS4_OTHER_SIZE, NFS4_UINT32_MAX, OPEN4_SHARE_ACCESS_WRITE, nfsstat4, type stateid4 } from './types';

const ZERO_OTHER = Buffer.alloc(NFS4_OTHER_SIZE);
const ONES_OTHER = Buffer.alloc(NFS4_OTHER_SIZE, 0xff);

export const ANONYMOUS_STATEID: stateid4 = Object.freeze({ seqid: 0, other: ZERO_OTHER }) as stateid4;
export const BYPASS_STATEID: stateid4 = Object.freeze({ seqid: NFS4_UINT32_MAX, other: ONES_OTHER }) as stateid4;
export const CURRENT_STATEID: stateid4 = Object.freeze({ seqid: 1, other: ZERO_OTHER }) as stateid4;
export const INVALID_STATEID: stateid4 = Object.freeze({ seqid: NFS4_UINT32_MAX, other: ZERO_OTHER }) as stateid4;

export function stateidEquals(a: stateid4, b: stateid4): boolean {
  return a.seqid === b.seqid && a.other.equals(b.other);
}

export function isSpecialStateid(s: stateid4): boolean {
  return s.other.equals(ZERO_OTHER) || s.other.equals(ONES_OTHER);
}

export type StateidUse = 'read' | 'write' | 'setattr' | 'close';

/** The special "current" stateid replaced by the COMPOUND's current one (4.1). */
export function resolveCurrent(c: Nfs4Compound, s: stateid4): stateid4 {
  if (c.minor >= 1 && stateidEquals(s, CURRENT_STATEID)) {
    if (!c.curStateid) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'no current stateid');
    return c.curStateid;
  }
  return s;
}

/**
 * The open state an I/O operation's stateid names (the open behind a lock stateid), or undefined for the
 * anonymous / bypass stateids. `lock` is the lock stateid when one was used.
 */
export function checkStateid(c: Nfs4Compound, s: stateid4, fh: FsFh, use: StateidUse): OpenStateRec | undefined {
  return checkIoStateid(c, s, fh, use)?.open;
}

export function checkIoStateid(c: Nfs4Compound, s: stateid4, fh: FsFh, use: StateidUse): { open: OpenStateRec; lock?: LockStateRec } | undefined {
  s = resolveCurrent(c, s);
  if (s.other.equals(ZERO_OTHER)) {
    if (s.seqid === 0 && use !== 'close') return undefined;
    throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'special stateid not usable here');
  }
  if (s.other.equals(ONES_OTHER)) {
    // The "READ bypass" stateid; knfsd takes it for WRITE and SETATTR too, as the anonymous one.
    if (s.seqid === NFS4_UINT32_MAX && use !== 'close') return undefined;
    throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'bypass stateid not usable here');
  }
  const rec = anyState(c, s);
  const open = rec.kind === 'open' ? rec : rec.open;
  if (!rec.fh.equals(fh.handle)) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'stateid is for another file');
  if (use === 'write' && !(open.access & OPEN4_SHARE_ACCESS_WRITE)) {
    throw new Nfs4Error(nfsstat4.NFS4ERR_OPENMODE, 'open does not allow writing');
  }
  // A READ through a write-only open is allowed, as knfsd does (RFC 7530 §16.23.4 lets a server refuse it).
  return rec.kind === 'lock' ? { open, lock: rec } : { open };
}

function lookupLive(c: Nfs4Compound, s: stateid4): StateRec {
  const found = c.server.states.lookup(s.other);
  if (found.kind === 'stale') {
    throw new Nfs4Error(c.minor === 0 ? nfsstat4.NFS4ERR_STALE_STATEID : nfsstat4.NFS4ERR_BAD_STATEID, 'stateid of an earlier server instance');
  }
  if (found.kind === 'expired') throw new Nfs4Error(nfsstat4.NFS4ERR_EXPIRED, "its client's lease expired");
  if (found.kind === 'bad' || found.kind === 'closed') throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID);
  const rec = found.rec;
  if (c.session && rec.client !== c.session.client) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, "another client's stateid");
  return rec;
}

/** Any open or lock stateid: looked up, owner confirmed (4.0), seqid checked, lease renewed (4.0). */
export function anyState(c: Nfs4Compound, s: stateid4): StateRec {
  const rec = lookupLive(c, s);
  const open = rec.kind === 'open' ? rec : rec.open;
  if (!open.ownerRec.confirmed) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'open not confirmed (OPEN_CONFIRM)');
  checkSeqid(c, s, rec.seqid);
  if (c.minor === 0) c.server.renew(rec.client);
  return rec;
}

/** Looks up an open stateid and checks its owner and seqid (not the file). */
export function openState(c: Nfs4Compound, s: stateid4): OpenStateRec {
  const rec = anyState(c, s);
  if (rec.kind !== 'open') throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'a lock stateid where an open stateid belongs');
  return rec;
}

/**
 * The state a seqid-ordered operation names (4.0 order: stateid exists → owner seqid → file → stateid seqid).
 * In 4.1 the owner seqid is not looked at. `allowUnconfirmed`: OPEN_CONFIRM itself.
 */
export function sequencedState<K extends 'open' | 'lock'>(
  c: Nfs4Compound,
  s: stateid4,
  seqid: number,
  opnum: number,
  fh: FsFh,
  kind: K,
  allowUnconfirmed = false,
): K extends 'open' ? OpenStateRec : LockStateRec {
  s = resolveCurrent(c, s);
  if (isSpecialStateid(s)) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'special stateid');
  const found = c.server.states.lookup(s.other);
  if (found.kind === 'closed' && c.minor === 0) {
    // A retransmission of the request that closed it gets its kept reply; anything else is BAD_STATEID.
    if (seqidVerdict(found.owner, seqid, opnum) === 'replay') throw new SeqidReplay(found.owner.last!);
    throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID);
  }
  const rec = lookupLive(c, s);
  if (rec.kind !== kind) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, `not a ${kind} stateid`);
  c.sequenced(rec.ownerRec, seqid, opnum);
  const open = rec.kind === 'open' ? rec : rec.open;
  if (!allowUnconfirmed && !open.ownerRec.confirmed) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'open not confirmed (OPEN_CONFIRM)');
  if (!rec.fh.equals(fh.handle)) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'stateid is for another file');
  checkSeqid(c, s, rec.seqid);
  if (c.minor === 0) c.server.renew(rec.client);
  return rec as K extends 'open' ? OpenStateRec : LockStateRec;
}

export function checkSeqid(c: Nfs4Compound, s: stateid4, current: number): void {
  if (c.minor >= 1 && s.seqid === 0) return;
  if (s.seqid === current) return;
  // seqids only grow (and wrap past 2^32 - 1 to 1); one below the current one is old.
  if (((current - s.seqid) >>> 0) < 0x8000_0000) throw new Nfs4Error(nfsstat4.NFS4ERR_OLD_STATEID);
  throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'stateid seqid from the future');
}

/** The next seqid of a stateid: 1 … 2^32 - 1, then 1 again (0 is reserved in 4.1). */
export function nextSeqid(n: number): number {
  return n >= NFS4_UINT32_MAX ? 1 : n + 1;
}

export function stateidOf(rec: StateRec): stateid4 {
  return { seqid: rec.seqid, other: rec.other };
}
