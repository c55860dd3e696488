/**
 * Requests in progress on one connection, for SMB2 CANCEL and asynchronous replies (MS-SMB2 3.3.4.2,
 * 3.3.5.16).
 *
 * Every request that runs gets a `RunningRequest`, found by MessageId (Connection.RequestList). A handler
 * that may wait indefinitely (a blocking LOCK, CHANGE_NOTIFY) asks to go asynchronous: it gets a nonzero
 * AsyncId unique on the connection (Connection.AsyncCommandList), the connection sends the interim
 * STATUS_PENDING response at once, and the final response goes out later with the AsyncId and no credits.
 *
 * Cancellation is one AbortSignal per request: SMB2 CANCEL (by AsyncId, or by MessageId for a request that
 * has not gone asynchronous yet), loss of the connection, or the handler's own owner (closing the file
 * ends a CHANGE_NOTIFY) abort it. The abort reason is an SmbError, so a handler that rejects with it
 * answers with the right status (STATUS_CANCELLED unless the aborter chose another).
 */
import { SmbError } from './command';
import { NtStatus } from './ntstatus';

export class RunningRequest {
  /** Nonzero once the request went asynchronous. */
  asyncId = 0n;
  private controller: AbortController | undefined;
  private reason: SmbError | undefined;
  private detachConn: (() => void) | undefined;

  constructor(
    readonly messageId: bigint,
    readonly sessionId: bigint,
    private readonly connSignal: AbortSignal,
  ) {}

  /** Aborted on cancel or connection loss; created on first use (most requests never look). */
  get signal(): AbortSignal {
    if (!this.controller) {
      const c = new AbortController();
      this.controller = c;
      if (this.reason) c.abort(this.reason);
      else if (this.connSignal.aborted) c.abort(new SmbError(NtStatus.STATUS_CANCELLED, 'connection closed'));
      else {
        const onConn = (): void => c.abort(new SmbError(NtStatus.STATUS_CANCELLED, 'connection closed'));
        this.connSignal.addEventListener('abort', onConn, { once: true });
        this.detachConn = () => this.connSignal.removeEventListener('abort', onConn);
      }
    }
    return this.controller.signal;
  }

  /** Ends the request with `status` (STATUS_CANCELLED for SMB2 CANCEL). Idempotent. */
  cancel(status: number = NtStatus.STATUS_CANCELLED, why = 'cancelled'): void {
    if (this.reason) return;
    this.reason = new SmbError(status, why);
    this.controller?.abort(this.reason);
  }

  get cancelled(): boolean {
    return this.reason !== undefined;
  }

  dispose(): void {
    this.detachConn?.();
    this.detachConn = undefined;
  }
}

export class RequestRegistry {
  private readonly byMessage = new Map<bigint, RunningRequest>();
  private readonly byAsync = new Map<bigint, RunningRequest>();
  private nextAsyncId = 1n;

  constructor(
    private readonly connSignal: AbortSignal,
    /** Outstanding asynchronous requests allowed on the connection (DESIGN invariant 11). */
    readonly maxAsync = 1024,
  ) {}

  start(messageId: bigint, sessionId: bigint): RunningRequest {
    const r = new RunningRequest(messageId, sessionId, this.connSignal);
    this.byMessage.set(messageId, r);
    return r;
  }

  finish(r: RunningRequest): void {
    if (this.byMessage.get(r.messageId) === r) this.byMessage.delete(r.messageId);
    if (r.asyncId) this.byAsync.delete(r.asyncId);
    r.dispose();
  }

  /** Gives `r` an AsyncId; false when the connection already has `maxAsync` of them. */
  makeAsync(r: RunningRequest): boolean {
    if (r.asyncId) return true;
    if (this.byAsync.size >= this.maxAsync) return false;
    r.asyncId = this.nextAsyncId++;
    this.byAsync.set(r.asyncId, r);
    return true;
  }

  /** The request an SMB2 CANCEL names: by AsyncId when it has the async flag, else by MessageId. */
  find(byAsync: boolean, id: bigint): RunningRequest | undefined {
    return byAsync ? this.byAsync.get(id) : this.byMessage.get(id);
  }

  get asyncCount(): number {
    return this.byAsync.size;
  }
}
