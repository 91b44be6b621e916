// A token bucket per involved object, as client-go's EventSourceObjectSpamFilter keeps one per
// (source, object): `burst` Events at once, then one more per `refillMs`. An object whose
// reconcile goes wrong in a loop gets a short burst of Events and then a trickle, instead of
// taking the apiserver's write budget from everything else.
//
// A bucket is kept as the time it will be full again (each Event pushes that time `refillMs` on;
// an Event is let through while it stays within `burst * refillMs` of now): whole milliseconds,
// so no rounding of fractional tokens decides whether an Event passes.

export interface SpamFilterOptions {
  /** Events an object may get at once (client-go: 25). */
  burst?: number;
  /** Time to earn one more Event (client-go: one per 5 minutes). */
  refillMs?: number;
  /** Buckets kept; the least recently used goes first (client-go: 4096). */
  maxKeys?: number;
}

export class EventSpamFilter {
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly maxKeys: number;
  /** When each bucket is full again, in order of last use: the first is the one to evict. */
  private readonly fullAt = new Map<string, number>();

  constructor({ burst = 25, refillMs = 5 * 60_000, maxKeys = 4096 }: SpamFilterOptions = {}) {
    if (!(burst >= 1)) throw new Error(`spam filter burst must be at least 1, got ${burst}`);
    if (!(refillMs > 0)) throw new Error(`spam filter refill must be positive, got ${refillMs}`);
    this.burst = burst;
    this.refillMs = refillMs;
    this.maxKeys = Math.max(1, maxKeys);
  }

  /** Takes a token from `key`'s bucket: false when it has none (the Event is spam). */
  allow(key: string, nowMs: number): boolean {
    const fullAt = Math.max(this.fullAt.get(key) ?? nowMs, nowMs);
    // One token short of full until fullAt; with one more Event, at most `burst` short.
    const allowed = fullAt + this.refillMs - nowMs <= this.burst * this.refillMs;
    this.fullAt.delete(key); // re-inserted: most recently used last
    this.fullAt.set(key, allowed ? fullAt + this.refillMs : fullAt);
    // An evicted bucket starts full again: eviction can only let an object have more Events.
    while (this.fullAt.size > this.maxKeys) this.fullAt.delete(this.fullAt.keys().next().value as string);
    return allowed;
  }

  /** Drops the buckets whose key starts with `prefix` (an object that is gone). */
  forget(prefix: string): void {
    for (const key of this.fullAt.keys()) if (key.startsWith(prefix)) this.fullAt.delete(key);
  }

  get size(): number {
    return this.fullAt.size;
  }
}
