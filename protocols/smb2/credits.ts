/**
 * Credits and the command sequence window (MS-SMB2 3.3.1.1, 3.3.5.2.3). The client may use a MessageId
 * once, and only one the server has granted; a request of CreditCharge n uses n consecutive ids. The
 * window is [low, high): ids below `high` were granted, `used` holds the ids above `low` already spent
 * (requests arrive almost in order, so it stays tiny). The number of unspent credits is bounded by
 * `max` (DESIGN invariant 11): grants never push it higher.
 */
export class CreditWindow {
  private low = 0n;
  private high = 1n;
  private readonly used = new Set<bigint>();

  constructor(readonly max: number) {
    if (max < 1) throw new RangeError('credit limit must be at least 1');
  }

  /** Credits the client holds (granted, not spent). */
  get outstanding(): number {
    return Number(this.high - this.low) - this.used.size;
  }

  /** Spends ids [id, id + charge). False (and nothing spent) if any is outside the window or used. */
  consume(id: bigint, charge: number): boolean {
    const n = BigInt(Math.max(1, charge));
    if (id < this.low || id + n > this.high) return false;
    for (let i = 0n; i < n; i++) if (this.used.has(id + i)) return false;
    for (let i = 0n; i < n; i++) this.used.add(id + i);
    while (this.used.has(this.low)) {
      this.used.delete(this.low);
      this.low++;
    }
    return true;
  }

  /**
   * Grants up to `requested` credits (at least one is asked for, so a client never ends up with none),
   * within the limit. Returns the number granted (the CreditResponse).
   */
  grant(requested: number): number {
    const room = this.max - this.outstanding;
    let g = Math.min(Math.max(requested, 1), room);
    if (g < 0) g = 0;
    // A client with no credit left could never send again: always leave it one.
    if (g === 0 && this.outstanding === 0) g = 1;
    this.high += BigInt(g);
    return g;
  }
}
