/**
 * Shared/exclusive locks per chunk object, inside one gateway. Writes take an object shared; a heal or a
 * rebalance move takes it exclusively, so no write lands between the copy's read of the source and its
 * write to the target (which would otherwise put old bytes over new ones). Entries exist only while held.
 */
interface State {
  readers: number;
  writer: boolean;
  queue: Array<{ exclusive: boolean; wake: () => void }>;
}

export class ObjectLock {
  private readonly locks = new Map<string, State>();

  private state(key: string): State {
    let s = this.locks.get(key);
    if (!s) this.locks.set(key, (s = { readers: 0, writer: false, queue: [] }));
    return s;
  }

  async shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const s = this.state(key);
    if (s.writer || s.queue.length) await new Promise<void>((wake) => s.queue.push({ exclusive: false, wake }));
    else s.readers++;
    try {
      return await fn();
    } finally {
      s.readers--;
      this.pump(key, s);
    }
  }

  async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const s = this.state(key);
    if (s.writer || s.readers || s.queue.length) await new Promise<void>((wake) => s.queue.push({ exclusive: true, wake }));
    else s.writer = true;
    try {
      return await fn();
    } finally {
      s.writer = false;
      this.pump(key, s);
    }
  }

  /** Hands the lock to the next waiters (a run of shared ones together, or one exclusive). */
  private pump(key: string, s: State): void {
    while (s.queue.length && !s.writer) {
      const next = s.queue[0]!;
      if (next.exclusive) {
        if (s.readers) break;
        s.queue.shift();
        s.writer = true;
        next.wake();
        break;
      }
      s.queue.shift();
      s.readers++;
      next.wake();
    }
    if (!s.writer && !s.readers && !s.queue.length) this.locks.delete(key);
  }

  get held(): number {
    return this.locks.size;
  }
}
