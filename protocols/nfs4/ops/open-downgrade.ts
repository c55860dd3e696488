/**
 * OP_OPEN_DOWNGRADE (RFC 8881 §18.18): narrows an open's share access/deny to a subset of what it holds
 * (anything else is NFS4ERR_INVAL); the stateid's seqid advances.
 */
import { Nfs4Error } from '../errors';
import { fixedResult, type Nfs4Op } from '../op';
import { nextSeqid, sequencedState, stateidOf } from '../stateid';
import { coreOpenArgs } from './open';
import { OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_ACCESS_WANT_DELEG_MASK, OPEN4_SHARE_DENY_BOTH, nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';

/** struct OPEN_DOWNGRADE4args { stateid4 open_stateid; seqid4 seqid; uint32_t share_access; uint32_t share_deny; }; */
export interface OPEN_DOWNGRADE4args {
  open_stateid: stateid4;
  seqid: number;
  share_access: number;
  share_deny: number;
}

/** struct OPEN_DOWNGRADE4resok { stateid4 open_stateid; }; */
export interface OPEN_DOWNGRADE4resok {
  open_stateid: stateid4;
}

export const OPEN_DOWNGRADE: Nfs4Op<OPEN_DOWNGRADE4args, OPEN_DOWNGRADE4resok> = {
  opnum: nfs_opnum4.OP_OPEN_DOWNGRADE,
  name: 'OPEN_DOWNGRADE',
  decodeArgs: (r) => ({ open_stateid: decodeStateid4(r), seqid: r.uint32(), share_access: r.uint32(), share_deny: r.uint32() }),
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.open_stateid);
    w.uint32(a.seqid);
    w.uint32(a.share_access);
    w.uint32(a.share_deny);
  },
  async handle(c, a) {
    const fh = c.curFh();
    if (fh.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'pseudo-filesystem root has no opens');
    if (c.minor >= 1) c.client();
    const rec = sequencedState(c, a.open_stateid, a.seqid, nfs_opnum4.OP_OPEN_DOWNGRADE, fh, 'open');
    const access = a.share_access & ~(c.minor >= 1 ? OPEN4_SHARE_ACCESS_WANT_DELEG_MASK : 0);
    const deny = a.share_deny;
    if (access === 0 || access & ~OPEN4_SHARE_ACCESS_BOTH || deny & ~OPEN4_SHARE_DENY_BOTH) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL);
    if (access & ~rec.access || deny & ~rec.deny) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'not a subset of the open');
    // RFC 7530 §16.19.4: only to a mode some OPEN of this state asked for.
    if (!(rec.accessModes & (1 << access)) || !(rec.denyModes & (1 << deny))) throw new Nfs4Error(nfsstat4.NFS4ERR_INVAL, 'a mode never opened');
    if (access !== rec.access || deny !== rec.deny) {
      // The core open (SMB share modes) narrows too: released and taken again with fewer bits.
      const old = rec.core;
      rec.core = undefined;
      if (old) await rec.fs.release(old);
      rec.core = (await fh.fs.open({ uid: 0, gid: 0, groups: [] }, fh.handle, coreOpenArgs(access, deny, old?.owner ?? 'nfs4'))).open;
    }
    rec.access = access;
    rec.deny = deny;
    rec.accessModes = 1 << access;
    rec.denyModes = 1 << deny;
    rec.seqid = nextSeqid(rec.seqid);
    const s = stateidOf(rec);
    c.curStateid = s;
    return { open_stateid: { seqid: s.seqid, other: s.other } };
  },
  ...fixedResult(16),
  encodeOk: (w, r) => encodeStateid4(w, r.open_stateid),
  decodeOk: (r) => ({ open_stateid: decodeStateid4(r) }),
};
