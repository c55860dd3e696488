/**
 * Per-file reader/writer gate inside one process: data writes hold it shared, trims (truncate, delete
 * of a file's objects) hold it exclusive, so a trim never interleaves with a write's brick I/O and the
 * metadata update that follows it. Writer-preferring; entries vanish when idle (bounded by activity).
 */
interface GateState {
  shared: number;
  exclusive: boolean;
  waitingExclusive: number;
  waitingShared: number;
  wake: Array<() => void>;
}

export class FileGate {
  private readonly states = new Map<bigint, GateState>();

  private state(id: bigint): GateState {
    let s = this.states.get(id);
    if (!s) {
      s = { shared: 0, exclusive: false, waitingExclusive: 0, waitingShared: 0, wake: [] };
      this.states.set(id, s);
    }
    return s;
  }

  private notify(id: bigint, s: GateState): void {
    const w = s.wake.splice(0);
    for (const f of w) f();
    if (!s.shared && !s.exclusive && !s.waitingExclusive && !s.waitingShared) this.states.delete(id);
  }

  async shared<T>(id: bigint, fn: () => Promise<T>): Promise<T> {
    const s = this.state(id);
    if (s.exclusive || s.waitingExclusive) {
      s.waitingShared++;
      while (s.exclusive || s.waitingExclusive) await new Promise<void>((r) => s.wake.push(r));
      s.waitingShared--;
    }
    s.shared++;
    try {
      return await fn();
    } finally {
      s.shared--;
      this.notify(id, s);
    }
  }

  async exclusive<T>(id: bigint, fn: () => Promise<T>): Promise<T> {
    const s = this.state(id);
    s.waitingExclusive++;
    while (s.exclusive || s.shared) {
      await new Promise<void>((r) => s.wake.push(r));
    }
    s.waitingExclusive--;
    s.exclusive = true;
    try {
      return await fn();
    } finally {
      s.exclusive = false;
      this.notify(id, s);
    }
  }

  /**
   * Takes the gate exclusive at once if nobody holds or waits for it; false otherwise (then use
   * `exclusive`). The caller must `releaseExclusive` it. For batched trims: no promise per file.
   */
  tryExclusive(id: bigint): boolean {
    const s = this.states.get(id);
    if (s && (s.shared || s.exclusive || s.waitingExclusive)) return false;
    (s ?? this.state(id)).exclusive = true;
    return true;
  }

  /** Ends an exclusive hold taken with `tryExclusive`. */
  releaseExclusive(id: bigint): void {
    const s = this.states.get(id);
    if (!s) return;
    s.exclusive = false;
    // The usual case for a trim: nobody came meanwhile.
    if (!s.wake.length && !s.shared && !s.waitingExclusive && !s.waitingShared) this.states.delete(id);
    else this.notify(id, s);
  }

  /** Files with a holder or a waiter (tests). */
  size(): number {
    return this.states.size;
  }
}
