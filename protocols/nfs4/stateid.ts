/**
 * Stateid checks for the operations that carry one (READ, WRITE, SETATTR, CLOSE, TEST_STATEID…):
 * RFC 8881 §8.2 (special stateids §8.2.3, seqid rules §8.2.2) and RFC 7530 §9.1.4.
 *
 *   special "current" (4.1)   → the COMPOUND's current stateid, else BAD_STATEID
 *   anonymous (all zero)      → no open state (READ, WRITE, SETATTR); anything else: BAD_STATEID
 *   READ bypass (all ones)    → READ only
 *   unknown `other`           → STALE_STATEID if minted by an earlier instance (4.0; 4.1 says BAD_STATEID),
 *                               else BAD_STATEID
 *   another client's, or another file's → BAD_STATEID
 *   seqid 0 (4.1)             → "the current seqid"; older → OLD_STATEID; newer → BAD_STATEID
 */
import { Nfs4Error } from './errors';
import type { FsFh } from './fh';
import type { Nfs4Compound } from './op';
import type { OpenStateRec } from './state/stateids';
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

export type StateidUse = 'read' | 'write' | 'setattr' | 'close';

/** The open state an operation's stateid names, or undefined for the anonymous / bypass stateids. */
export function checkStateid(c: Nfs4Compound, s: stateid4, fh: FsFh, use: StateidUse): OpenStateRec | undefined {
  if (c.minor >= 1 && stateidEquals(s, CURRENT_STATEID)) {
    if (!c.curStateid) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'no current stateid');
    s = c.curStateid;
  }
  if (s.other.equals(ZERO_OTHER)) {
    if (s.seqid === 0 && use !== 'close') return undefined;
    throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'special stateid not usable here');
  }
  if (s.other.equals(ONES_OTHER)) {
    if (s.seqid === NFS4_UINT32_MAX && use === 'read') return undefined;
    throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'READ bypass stateid not usable here');
  }
  const rec = openState(c, s);
  if (!rec.fh.equals(fh.handle)) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'stateid is for another file');
  if (use === 'write' && !(rec.access & OPEN4_SHARE_ACCESS_WRITE)) {
    throw new Nfs4Error(nfsstat4.NFS4ERR_OPENMODE, 'open does not allow writing');
  }
  return rec;
}

/** Looks up an open stateid and checks its owner and seqid (not the file). */
export function openState(c: Nfs4Compound, s: stateid4): OpenStateRec {
  const found = c.server.states.lookup(s.other);
  if (found.kind === 'stale') {
    throw new Nfs4Error(c.minor === 0 ? nfsstat4.NFS4ERR_STALE_STATEID : nfsstat4.NFS4ERR_BAD_STATEID, 'stateid of an earlier server instance');
  }
  if (found.kind === 'bad') throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID);
  const rec = found.rec;
  if (c.session && rec.client !== c.session.client) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, "another client's stateid");
  checkSeqid(c, s, rec.seqid);
  return rec;
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

export function stateidOf(rec: OpenStateRec): stateid4 {
  return { seqid: rec.seqid, other: rec.other };
}
