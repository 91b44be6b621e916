// Counting semaphores: at most `limit` holders at once, the rest wait in arrival order. Keyed
// semaphores give each key (e.g. a server's origin) its own limit, so one slow server cannot take
// every slot.
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`semaphore limit must be at least 1, got ${limit}`);
  }

  get inUse(): number {
    return this.held;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with a release function once a slot is free; call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.held < this.limit) this.held++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const nextInLine = this.waiting.shift();
      if (nextInLine) nextInLine();
      else this.held--;
    };
  }

  /** Runs `fn` holding a slot. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

export class KeyedSemaphore<K = string> {
  private readonly byKey = new Map<K, Semaphore>();

  constructor(readonly limit: number) {}

  /** Runs `fn` holding one of `key`'s slots; a key's semaphore is dropped once it is idle. */
  async run<T>(key: K, fn: () => Promise<T>): Promise<T> {
    let sem = this.byKey.get(key);
    if (!sem) this.byKey.set(key, (sem = new Semaphore(this.limit)));
    try {
      return await sem.run(fn);
    } finally {
      if (sem.inUse === 0 && sem.queued === 0 && this.byKey.get(key) === sem) this.byKey.delete(key);
    }
  }

  /** Slots in use for `key`. */
  inUse(key: K): number {
    return this.byKey.get(key)?.inUse ?? 0;
  }

  /** Keys with a semaphore (held or waited for). */
  get size(): number {
    return this.byKey.size;
  }
}
