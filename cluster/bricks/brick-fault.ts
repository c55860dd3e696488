/**
 * A brick-level failure that replication must tell apart from an ordinary file-system error:
 *
 *   unreachable  the brick cannot be reached (connection refused or lost, process down). The request may or
 *                may not have been applied; skip this replica and record the chunk for heal.
 *   timeout      no reply within the request timeout. Same treatment as unreachable (the brick may be slow
 *                or hung; the request's effect is unknown).
 *   corrupt      the brick holds the object but a block's contents disagree with its checksum (bitrot, a
 *                torn write after a crash). This copy must be repaired from a good replica; other replicas
 *                are unaffected.
 *   refused      the brick answered but will not serve this request (protocol version, frame too large,
 *                a brick directory of another layout, shutting down). Not retried on the same brick.
 *
 * It is a CoreError with errc IO, so a layer that does not care (or a client that sees it in the end)
 * gets a plain I/O error.
 */
import { CoreError, Errc } from '../vfs/errors';

export type BrickFaultKind = 'unreachable' | 'timeout' | 'corrupt' | 'refused';

export class BrickFault extends CoreError {
  constructor(
    readonly kind: BrickFaultKind,
    /** Brick name (RemoteBrick: "host:port" unless named; local bricks: their directory). */
    readonly brick: string,
    message?: string,
  ) {
    super(Errc.IO, `brick ${brick} ${kind}${message ? `: ${message}` : ''}`);
    this.name = 'BrickFault';
  }
}

export function isBrickFault(e: unknown, kind?: BrickFaultKind): e is BrickFault {
  return e instanceof BrickFault && (kind === undefined || e.kind === kind);
}

/** True for the faults after which a replica is skipped and its chunk recorded for heal. */
export function isBrickDown(e: unknown): e is BrickFault {
  return e instanceof BrickFault && (e.kind === 'unreachable' || e.kind === 'timeout');
}
