/**
 * The shape of one SMB2 command: a descriptor per command file (commands/<cmd>.ts), listed in
 * dispatch.ts. Handlers get a context and a validated request view and return a response body; they never
 * touch sockets, headers, credits, signing or the status table (the dispatcher owns those).
 */
import type { Smb2Cmd } from './constants';
import type { SMB2_Header } from './header';
import type { Logger } from '../rpc/log';
import type { ConnectionState, Session, TreeConnect } from './state';
import type { SmbServerContext } from './server-context';

export class SmbError extends Error {
  constructor(
    readonly status: number,
    message?: string,
    /** Body to send with the error status (e.g. a truncated buffer with STATUS_BUFFER_OVERFLOW). */
    readonly body?: Buffer[],
  ) {
    super(message ?? `NTSTATUS 0x${(status >>> 0).toString(16)}`);
  }
}

/** The connection must be dropped (MS-SMB2 says "disconnect" for this request). */
export class DisconnectError extends Error {}

export interface ChainState {
  sessionId: bigint;
  treeId: number;
  /** FileId produced by the previous command (CREATE), used by related requests that pass all-ones. */
  fileId: Buffer | undefined;
  /** A failed CREATE fails the related requests that follow with its status. */
  failed: number | undefined;
  /** The message is still arriving (see Smb2Context.arrived). */
  arrived?: (end: number) => Promise<void>;
}

export interface ReplyOptions {
  /** SessionId / TreeId for the response header when the handler created them. */
  sessionId?: bigint;
  treeId?: number;
  /** Sign this response with the given session's keys even though the request was not signed. */
  signWith?: Session;
  /** Called with the response message as it goes out (preauth integrity hashing). */
  onEncoded?: (msg: Buffer) => void;
  /** Drop the connection after sending this response. */
  disconnect?: boolean;
}

export interface Smb2Context {
  readonly server: SmbServerContext;
  readonly conn: ConnectionState;
  readonly hdr: SMB2_Header;
  /** This command's bytes (header included). */
  readonly msg: Buffer;
  readonly session: Session | undefined;
  readonly tree: TreeConnect | undefined;
  readonly encrypted: boolean;
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly chain: ChainState;
  readonly reply: ReplyOptions;
  /**
   * Set when this message is processed while its tail is still arriving (arriving.ts; a lone unsigned
   * WRITE): resolves once bytes [0, end) of `msg` are there. A handler must await it before reading
   * any byte of its payload. Undefined: the whole message is there.
   */
  readonly arrived?: (end: number) => Promise<void>;
  /**
   * Makes this request asynchronous (MS-SMB2 3.3.4.2): the interim STATUS_PENDING response with a new
   * AsyncId goes out now and the handler's result later ('async'). Otherwise why not: 'not-last' (a
   * command in the middle of a compound: Windows fails it with STATUS_INTERNAL_ERROR, MS-SMB2 <159>),
   * 'busy' (too many outstanding: STATUS_INSUFFICIENT_RESOURCES), 'cancelled'. `signal` aborts on CANCEL
   * or connection loss either way.
   */
  goAsync(): AsyncOutcome;
}

export type AsyncOutcome = 'async' | 'not-last' | 'busy' | 'cancelled';

/** The status for a request that had to wait but could not go asynchronous. */
export function asyncRefusal(why: Exclude<AsyncOutcome, 'async'>): SmbError {
  if (why === 'busy') return new SmbError(0xc000009a /* STATUS_INSUFFICIENT_RESOURCES */, 'too many asynchronous requests');
  if (why === 'cancelled') return new SmbError(0xc0000120 /* STATUS_CANCELLED */, 'cancelled');
  return new SmbError(0xc00000e5 /* STATUS_INTERNAL_ERROR */, 'cannot wait in the middle of a compound');
}

export interface Smb2Reply {
  status: number;
  /** Response body; the first buffer holds the fixed part. */
  body: Buffer[];
  /** Called once the reply has been written (pooled READ data). */
  release?: () => void;
}

export type CommandScope = 'none' | 'session' | 'tree';

export interface Smb2CommandSpec<Req = unknown> {
  readonly command: Smb2Cmd;
  readonly name: string;
  readonly scope: CommandScope;
  /** Validating decoder (throws DecodeError). */
  decode(msg: Buffer, conn: ConnectionState): Req;
  /** Payload bytes of request and response, for the multi-credit CreditCharge check (3.3.5.2.5). */
  payload?(req: Req): number;
  handle(ctx: Smb2Context, req: Req): Promise<Smb2Reply>;
}

/** Helper for handlers: a successful reply with one body buffer. */
export function ok(...body: Buffer[]): Smb2Reply {
  return { status: 0, body };
}
