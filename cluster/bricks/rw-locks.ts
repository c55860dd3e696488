/**
 * Keyed reader/writer locks, FIFO per key (a waiting writer is not starved by a stream of readers). A key's
 * state exists only while someone holds or waits for it, so the map stays as small as the work in flight.
 */

interface Waiter {
  excl: boolean;
  wake: () => void;
}

interface LockState {
  readers: number;
  writer: boolean;
  queue: Waiter[];
}

export type Release = () => void;

export class RwLocks<K> {
  private readonly locks = new Map<K, LockState>();

  /** Resolves with a release function once the lock is held (shared, or exclusive with `excl`). */
  acquire(key: K, excl: boolean): Promise<Release> {
    let s = this.locks.get(key);
    if (!s) this.locks.set(key, (s = { readers: 0, writer: false, queue: [] }));
    const st = s;
    if (st.queue.length === 0 && this.grantable(st, excl)) {
      this.take(st, excl);
      return Promise.resolve(this.releaser(key, st, excl));
    }
    return new Promise<Release>((resolve) => {
      st.queue.push({ excl, wake: () => resolve(this.releaser(key, st, excl)) });
    });
  }

  /** Keys held or waited for right now (tests check that nothing leaks). */
  get size(): number {
    return this.locks.size;
  }

  private grantable(s: LockState, excl: boolean): boolean {
    return excl ? !s.writer && s.readers === 0 : !s.writer;
  }

  private take(s: LockState, excl: boolean): void {
    if (excl) s.writer = true;
    else s.readers++;
  }

  private releaser(key: K, s: LockState, excl: boolean): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (excl) s.writer = false;
      else s.readers--;
      while (s.queue.length > 0 && this.grantable(s, s.queue[0]!.excl)) {
        const w = s.queue.shift()!;
        this.take(s, w.excl);
        w.wake();
      }
      if (!s.writer && s.readers === 0 && s.queue.length === 0 && this.locks.get(key) === s) this.locks.delete(key);
    };
  }
}
