/**
 * Turns a call's credential into an `RpcAuth`, or the auth_stat to reject it with.
 *
 * Unsupported flavors (AUTH_SHORT: we never hand out short-hand ids; AUTH_DH; RPCSEC_GSS; anything
 * unknown) are refused with AUTH_REJECTEDCRED, as the TI-RPC / NFS-Ganesha server side does. A
 * flavor we understand but a program version does not accept is the dispatcher's business
 * (AUTH_TOOWEAK). The verifier of AUTH_NONE and AUTH_SYS calls carries nothing and is ignored.
 */
import { XdrError } from '../../xdr/errors';
import { AUTH_BADCRED, AUTH_REJECTEDCRED, type OpaqueAuth } from '../message';
import { AUTH_NONE, AUTH_SYS, type RpcAuth } from '../types';
import { decodeAuthSys } from './sys';

export type AuthResult = { ok: true; auth: RpcAuth } | { ok: false; authStat: number; reason: string };

export function authenticate(cred: OpaqueAuth): AuthResult {
  switch (cred.flavor) {
    case AUTH_NONE:
      // RFC 5531 only recommends an empty body for AUTH_NONE; whatever is there is meaningless.
      return { ok: true, auth: { flavor: AUTH_NONE } };
    case AUTH_SYS:
      try {
        return { ok: true, auth: decodeAuthSys(cred.body) };
      } catch (e) {
        const reason = e instanceof XdrError ? e.message : String(e);
        return { ok: false, authStat: AUTH_BADCRED, reason: `malformed AUTH_SYS credential: ${reason}` };
      }
    default:
      return { ok: false, authStat: AUTH_REJECTEDCRED, reason: `unsupported auth flavor ${cred.flavor}` };
  }
}
