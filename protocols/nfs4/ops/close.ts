/**
 * OP_CLOSE (RFC 8881 §18.2): releases an open stateid and its share reservation. NFSv4.1 answers with the
 * invalid special stateid (RFC 8881 §18.2.4: the closed stateid must not be reused); 4.0 with the
 * stateid's next seqid. In 4.0 the open-owner's seqid orders it (a retransmission gets the kept reply).
 * The locks the open's lock-owners hold on the file, and the core open (SMB share modes), end with it.
 */
import { Nfs4Error } from '../errors';
import { fixedResult, type Nfs4Op } from '../op';
import { INVALID_STATEID, nextSeqid, sequencedState } from '../stateid';
import { nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';

/** struct CLOSE4args { seqid4 seqid; stateid4 open_stateid; }; */
export interface CLOSE4args {
  seqid: number;
  open_stateid: stateid4;
}

/** union CLOSE4res switch (nfsstat4 status) { case NFS4_OK: stateid4 open_stateid; default: void; }; */
export interface CLOSE4resok {
  open_stateid: stateid4;
}

export const CLOSE: Nfs4Op<CLOSE4args, CLOSE4resok> = {
  opnum: nfs_opnum4.OP_CLOSE,
  name: 'CLOSE',
  decodeArgs: (r) => ({ seqid: r.uint32(), open_stateid: decodeStateid4(r) }),
  encodeArgs: (w, a) => {
    w.uint32(a.seqid);
    encodeStateid4(w, a.open_stateid);
  },
  async handle(c, a) {
    const fh = c.curFh();
    if (fh.kind === 'pseudo') throw new Nfs4Error(nfsstat4.NFS4ERR_BAD_STATEID, 'pseudo-filesystem root has no opens');
    if (c.minor >= 1) c.client();
    const rec = sequencedState(c, a.open_stateid, a.seqid, nfs_opnum4.OP_CLOSE, fh, 'open');
    const out = c.minor >= 1 ? INVALID_STATEID : { seqid: nextSeqid(rec.seqid), other: rec.other };
    await c.server.closeOpen(rec, c.minor === 0);
    c.curStateid = out;
    return { open_stateid: out };
  },
  ...fixedResult(16),
  encodeOk: (w, r) => encodeStateid4(w, r.open_stateid),
  decodeOk: (r) => ({ open_stateid: decodeStateid4(r) }),
};
