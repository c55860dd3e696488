/**
 * SECINFO4resok (RFC 8881 §18.29): the security flavors for an object. This server serves AUTH_SYS only
 * (RPCSEC_GSS is a later issue), so every answer is [AUTH_SYS].
 */
import { XdrError } from '../../xdr/errors';
import type { XdrReader } from '../../xdr/reader';
import type { XdrWriter } from '../../xdr/writer';
import { AUTH_SYS, RPCSEC_GSS } from '../../rpc/types';
import { NFS4_LIST_MAX } from '../types';
import { pad4 } from '../xdr';

/** union secinfo4 switch (uint32_t flavor) { case RPCSEC_GSS: rpcsec_gss_info flavor_info; default: void; }; */
export interface secinfo4 {
  flavor: number;
  flavor_info?: { oid: Buffer; qop: number; service: number };
}

export type SECINFO4resok = secinfo4[];

export const SERVER_FLAVORS: SECINFO4resok = [{ flavor: AUTH_SYS }];

/** The encoded size of `list` (Nfs4Op.resultBytes). */
export function secinfo4resokBytes(list: SECINFO4resok): number {
  let n = 4;
  for (const s of list) n += s.flavor === RPCSEC_GSS && s.flavor_info ? 4 + 4 + pad4(s.flavor_info.oid.length) + 8 : 4;
  return n;
}

export function encodeSecinfo4resok(w: XdrWriter, list: SECINFO4resok): void {
  w.uint32(list.length);
  for (const s of list) {
    w.uint32(s.flavor);
    if (s.flavor === RPCSEC_GSS) {
      if (!s.flavor_info) throw new Error('RPCSEC_GSS secinfo4 needs flavor_info');
      w.opaque(s.flavor_info.oid);
      w.uint32(s.flavor_info.qop);
      w.uint32(s.flavor_info.service);
    }
  }
}

export function decodeSecinfo4resok(r: XdrReader): SECINFO4resok {
  return r.array(NFS4_LIST_MAX, (x) => {
    const flavor = x.uint32();
    if (flavor !== RPCSEC_GSS) return { flavor };
    const oid = Buffer.from(x.opaque(1024));
    const qop = x.uint32();
    const service = x.uint32();
    if (service < 1 || service > 3) throw new XdrError(`bad rpc_gss_svc_t ${service}`);
    return { flavor, flavor_info: { oid, qop, service } };
  });
}
