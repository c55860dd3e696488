/**
 * OP_TEST_STATEID (RFC 8881 §18.48): the validity of each stateid for this client, one status each
 * (NFS4_OK, NFS4ERR_BAD_STATEID, NFS4ERR_OLD_STATEID…); special stateids are BAD_STATEID.
 */
import { Nfs4Error } from '../errors';
import type { Nfs4Op } from '../op';
import { anyState } from '../stateid';
import { NFS4_LIST_MAX, NFS4_OTHER_SIZE, nfs_opnum4, nfsstat4, type stateid4 } from '../types';
import { decodeStateid4, encodeStateid4 } from '../xdr';

/** struct TEST_STATEID4args { stateid4 ts_stateids<>; }; */
export interface TEST_STATEID4args {
  ts_stateids: stateid4[];
}

/** struct TEST_STATEID4resok { nfsstat4 tsr_status_codes<>; }; */
export interface TEST_STATEID4resok {
  tsr_status_codes: nfsstat4[];
}

const ZERO = Buffer.alloc(NFS4_OTHER_SIZE);
const ONES = Buffer.alloc(NFS4_OTHER_SIZE, 0xff);

export const TEST_STATEID: Nfs4Op<TEST_STATEID4args, TEST_STATEID4resok> = {
  opnum: nfs_opnum4.OP_TEST_STATEID,
  name: 'TEST_STATEID',
  decodeArgs: (r) => ({ ts_stateids: r.array(NFS4_LIST_MAX, decodeStateid4, 16) }),
  encodeArgs: (w, a) => {
    w.uint32(a.ts_stateids.length);
    for (const s of a.ts_stateids) encodeStateid4(w, s);
  },
  async handle(c, a) {
    c.client();
    const codes = a.ts_stateids.map((s) => {
      if (s.other.equals(ZERO) || s.other.equals(ONES)) return nfsstat4.NFS4ERR_BAD_STATEID;
      try {
        anyState(c, s);
        return nfsstat4.NFS4_OK;
      } catch (e) {
        if (e instanceof Nfs4Error) return e.status;
        throw e;
      }
    });
    return { tsr_status_codes: codes };
  },
  resultBytes: (r) => 4 + 4 * r.tsr_status_codes.length,
  encodeOk: (w, r) => {
    w.uint32(r.tsr_status_codes.length);
    for (const s of r.tsr_status_codes) w.uint32(s);
  },
  decodeOk: (r) => ({ tsr_status_codes: r.array(NFS4_LIST_MAX, (x) => x.uint32() as nfsstat4) }),
};
