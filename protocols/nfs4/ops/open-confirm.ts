/**
 * OP_OPEN_CONFIRM (RFC 7530 §16.18): the first OPEN of a new NFSv4.0 open-owner answers
 * OPEN4_RESULT_CONFIRM; the owner's stateids are usable once this confirms it (the stateid's seqid
 * advances). Ordered by the owner's seqid like OPEN. An owner already confirmed → NFS4ERR_BAD_STATEID.
 */
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { nextSeqid, sequencedState, stateidOf } from '../stateid';
import { nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';

/** struct OPEN_CONFIRM4args { stateid4 open_stateid; seqid4 seqid; }; */
export interface OPEN_CONFIRM4args {
  open_stateid: stateid4;
  seqid: number;
}

/** struct OPEN_CONFIRM4resok { stateid4 open_stateid; }; */
export interface OPEN_CONFIRM4resok {
  open_stateid: stateid4;
}

export const OPEN_CONFIRM: Nfs4Op<OPEN_CONFIRM4args, OPEN_CONFIRM4resok> = {
  opnum: nfs_opnum4.OP_OPEN_CONFIRM,
  name: 'OPEN_CONFIRM',
  decodeArgs: (r) => ({ open_stateid: decodeStateid4(r), seqid: r.uint32() }),
  encodeArgs: (w, a) => {
    encodeStateid4(w, a.open_stateid);
    w.uint32(a.seqid);
  },
  async handle(c, a) {
    const fh = c.curFh();
    if (fh.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_ISDIR, 'pseudo-filesystem root has no opens');
    const rec = sequencedState(c, a.open_stateid, a.seqid, nfs_opnum4.OP_OPEN_CONFIRM, fh, 'open', true);
    if (rec.ownerRec.confirmed) throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'open-owner already confirmed');
    rec.ownerRec.confirmed = true;
    rec.seqid = nextSeqid(rec.seqid);
    const s = stateidOf(rec);
    c.curStateid = s;
    return { open_stateid: s };
  },
  encodeOk: (w, r) => encodeStateid4(w, r.open_stateid),
  decodeOk: (r) => ({ open_stateid: decodeStateid4(r) }),
};
