/** Facts about the caller that several port mapper procedures need. */
import type { RpcCallContext } from '../rpc/types';
import { AUTH_SYS } from '../rpc/types';
import { isLoopback, netidFor } from '../rpc/uaddr';

/** SET and UNSET are only taken from this host, as rpcbind does. */
export function mayChangeMappings(ctx: RpcCallContext): boolean {
  return isLoopback(ctx.remote.address);
}

/** Owner recorded for a remote SET: rpcbind's spelling for root, else the uid, else "unknown". */
export function callerOwner(ctx: RpcCallContext): string {
  if (ctx.auth.flavor !== AUTH_SYS) return 'unknown';
  return ctx.auth.uid === 0 ? 'superuser' : String(ctx.auth.uid);
}

/** The netid of the transport the call arrived on (GETADDR's default when r_netid is empty). */
export function transportNetid(ctx: RpcCallContext): string {
  return netidFor(ctx.transport, ctx.local.address);
}
