/**
 * A byte-rate limit for background copies (heal, rebalance): callers report the bytes they moved and
 * wait as long as needed to stay under the rate, averaged over a one-second window, so client I/O keeps
 * most of the disks and the network. 0 = unlimited.
 */
export class Throttle {
  private windowStart = Date.now();
  private used = 0;

  constructor(public bytesPerSecond: number) {}

  async take(bytes: number): Promise<void> {
    if (!(this.bytesPerSecond > 0)) return;
    this.used += bytes;
    for (;;) {
      const now = Date.now();
      const elapsed = now - this.windowStart;
      if (elapsed >= 1000) {
        // Carry over what exceeded the previous window's allowance, so the average holds.
        this.used = Math.max(0, this.used - Math.floor((this.bytesPerSecond * elapsed) / 1000));
        this.windowStart = now;
      }
      if (this.used <= this.bytesPerSecond) return;
      await new Promise((r) => setTimeout(r, Math.max(10, 1000 - (Date.now() - this.windowStart))));
    }
  }
}
