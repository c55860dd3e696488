/**
 * A large message that is being processed while the rest of it is still arriving (SmbFrameDecoder's
 * `early` hook; only a lone, unsigned, unencrypted WRITE is taken that way, see SmbConnection.onEarly).
 *
 * Why: smbclient keeps two 8 MiB WRITEs outstanding (its 16 MiB window). Waiting for the last byte of
 * one before the first core write starts puts the whole receive time and the whole disk time of every
 * message in series; writing each arrived 1 MiB piece at once overlaps them.
 *
 * The header and the WRITE request's fixed part have arrived when the message is handed out, so the
 * command is decoded and checked (session, tree, open, access, credits) as usual; only the payload
 * is read later, piece by piece, each after `until` says its bytes are there. The response goes out
 * only once the whole message has arrived (the client sees nothing different), and the buffer goes
 * back to the pool only when the decoder no longer writes into it (`settled`).
 */
import { DisconnectError } from './command';
import type { EarlyReceiver } from './framing';

interface Waiter {
  end: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class ArrivingMessage implements EarlyReceiver {
  private have: number;
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  private settle!: () => void;
  /** Resolves once the message arrived whole or never will: the socket no longer writes into `msg`. */
  readonly settled: Promise<void>;

  constructor(
    readonly msg: Buffer,
    have: number,
  ) {
    this.have = have;
    this.settled = new Promise<void>((r) => (this.settle = r));
    if (have >= msg.length) this.settle();
  }

  /** Resolves once bytes [0, end) of `msg` have arrived; rejects if the connection goes first. */
  until(end: number): Promise<void> {
    const e = Math.min(end, this.msg.length);
    if (e <= this.have) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => this.waiters.push({ end: e, resolve, reject }));
  }

  progress(have: number): void {
    this.have = have;
    if (this.waiters.length) {
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.end <= have) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
    }
    if (have >= this.msg.length) this.settle();
  }

  abort(): void {
    if (this.have >= this.msg.length || this.failure) return;
    this.failure = new DisconnectError('connection ended before the message arrived whole');
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
    this.settle();
  }
}
