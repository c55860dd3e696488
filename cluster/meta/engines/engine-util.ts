/** Small pieces both transactional engines (local-kv.ts, redis-engine.ts) use the same way. */

/** Bytewise equality of two optional values (undefined = absent), as transactions validate reads. */
export function sameValue(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return a.equals(b);
}

/** A FIFO async mutex: commits that must not interleave queue behind each other in arrival order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = 0;

  get locked(): boolean {
    return this.held > 0;
  }

  async acquire(): Promise<() => void> {
    this.held++;
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    await prev;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.held--;
      release();
    };
  }

  /** Waits until nobody holds or waits for the mutex. */
  async idle(): Promise<void> {
    while (this.held > 0) await this.tail;
  }
}
