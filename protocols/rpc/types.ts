/**
 * What an RPC program (portmap, MOUNT, NFS, NLM) gives the ONC RPC server, and what the server
 * hands each call. Procedures never see sockets, record marking, RPC headers or auth parsing.
 */
import type { XdrReader } from '../xdr/reader';
import type { XdrWriter } from '../xdr/writer';
import type { RpcBackchannel } from './backchannel';

export const AUTH_NONE = 0;
export const AUTH_SYS = 1;
export const AUTH_SHORT = 2;
export const AUTH_DH = 3;
export const RPCSEC_GSS = 6;

/** Parsed caller identity (RFC 5531 §14, authsys_parms). */
export interface AuthSys {
  stamp: number;
  machineName: string;
  uid: number;
  gid: number;
  gids: number[];
}

export type RpcAuth = { flavor: typeof AUTH_NONE } | ({ flavor: typeof AUTH_SYS } & AuthSys);

export interface RpcPeer {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export interface RpcCallContext {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  auth: RpcAuth;
  remote: RpcPeer;
  local: { address: string; port: number };
  transport: 'tcp' | 'udp';
  /** Aborted when the connection closes or the server shuts down. */
  signal: AbortSignal;
  /** Per-connection id for logs. */
  connId: number;
  /**
   * Registers `fn` to run once the reply has been handed to the kernel (or the call ended without
   * one). Procedures that lend memory to the reply (pooled READ buffers) give it back here.
   */
  onReplySent(fn: () => void): void;
  /**
   * Keeps the request's memory (the record the arguments were decoded from, e.g. a WRITE's data) alive
   * past the reply; returns the function that gives it back (once). Absent where the transport does not
   * reuse request memory: there the GC keeps what is still referenced.
   */
  retainRequest?: () => () => void;
  /**
   * TCP only: calls from the server to the client on this call's connection (the NFSv4.1 back channel),
   * made on first use. Absent over UDP.
   */
  backchannel?: () => RpcBackchannel;
}

/** One procedure: decode → handle → encode. The dispatcher owns everything else. */
export interface RpcProcedure<A = unknown, R = unknown> {
  proc: number;
  name: string;
  decodeArgs(r: XdrReader): A;
  handle(ctx: RpcCallContext, args: A): Promise<R>;
  encodeRes(w: XdrWriter, res: R): void;
  /**
   * Non-idempotent procedures (CREATE, REMOVE, RENAME, LINK, MKDIR, RMDIR, SYMLINK, MKNOD, SETATTR…)
   * go through the duplicate-request cache: a retransmission gets the original reply.
   */
  nonIdempotent?: boolean;
}

export interface RpcProgramVersion {
  prog: number;
  vers: number;
  /** Sparse table indexed by procedure number. */
  procs: ReadonlyMap<number, RpcProcedure<any, any>>;
  /**
   * Auth flavors this version accepts (default: AUTH_NONE and AUTH_SYS). Others get
   * AUTH_ERROR/AUTH_TOOWEAK or AUTH_REJECTEDCRED as RFC 5531 says.
   */
  flavors?: ReadonlySet<number>;
  /**
   * Optional admission hook run after auth parsing and before decoding (e.g. export rules that need
   * only the peer). Return an auth_stat (> 0) to reject with AUTH_ERROR.
   */
  admit?(ctx: RpcCallContext): number;
}

/** A registry the portmapper reads: which (prog, vers, proto) is served on which port. */
export interface PortRegistration {
  prog: number;
  vers: number;
  /** IPPROTO_TCP = 6, IPPROTO_UDP = 17 */
  prot: 6 | 17;
  port: number;
  /** rpcbind v3/v4 netid ("tcp", "udp", "tcp6", "udp6"). */
  netid: string;
  /** Universal address "h1.h2.h3.h4.p1.p2" for v3/v4 GETADDR. */
  uaddr: string;
  owner: string;
}
