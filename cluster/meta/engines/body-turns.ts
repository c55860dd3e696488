/**
 * Turns for transaction bodies of an in-process engine (local-kv.ts): one body at a time, as long as
 * bodies finish without waiting for I/O.
 *
 * Why: a body of a local engine only awaits reads that are already answered, yet each `await` lets the
 * bodies of other transactions started in the same event-loop turn run in between. Sixteen REMOVEs of
 * one directory that arrive together (one socket read) then all read the same directory inode, the first
 * to commit wins and fifteen fail validation and run again: about twice the work per operation. Taking
 * turns costs nothing when there is no contention and removes those conflicts.
 *
 * Never a deadlock: a turn that is still held when the event loop comes round (its body awaits real I/O,
 * or another transaction) is given up, and everybody waiting runs optimistically, validated as before.
 * The turn only orders work; correctness still comes from validation.
 */
export class BodyTurns {
  private owner = 0;
  private nextToken = 1;
  private readonly waiters: Array<() => void> = [];
  private watchdog: NodeJS.Immediate | undefined;

  /** Resolves with a token once it is this body's turn (or turns were given up); pass it to `release`. */
  take(): number | Promise<number> {
    if (this.owner === 0) return (this.owner = this.nextToken++);
    return this.wait();
  }

  private async wait(): Promise<number> {
    while (this.owner !== 0) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.watchdog ??= setImmediate(() => this.giveUp(this.owner));
      });
      if (this.owner === -1) return 0; // turns given up: run optimistically
    }
    return (this.owner = this.nextToken++);
  }

  /** Ends the turn `token` (0: none) and wakes the next waiter. */
  release(token: number): void {
    if (token === 0 || this.owner !== token) return;
    this.owner = 0;
    this.wakeNext();
  }

  private wakeNext(): void {
    const w = this.waiters.shift();
    if (w) w();
    else if (this.watchdog) {
      clearImmediate(this.watchdog);
      this.watchdog = undefined;
    }
  }

  /** The event loop came round with `stuck` still holding the turn: let everybody waiting run. */
  private giveUp(stuck: number): void {
    this.watchdog = undefined;
    if (this.owner !== stuck || stuck === 0 || this.waiters.length === 0) {
      if (this.waiters.length > 0) this.watchdog = setImmediate(() => this.giveUp(this.owner));
      return;
    }
    const all = this.waiters.splice(0);
    this.owner = -1;
    for (const w of all) w();
    // Once the woken bodies have started, turns are taken again by whoever comes next.
    queueMicrotask(() => {
      if (this.owner === -1) this.owner = 0;
    });
  }
}
