// Per-key exponential backoff: base * 2^failures, capped, with optional jitter so that many
// objects failing on the same outage do not retry in lockstep.
export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  /** Fraction of the delay added at random, 0 for none. */
  jitter?: number;
  random?: () => number;
}

export class ExponentialBackoff<K = unknown> {
  private readonly counts = new Map<K, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 1000;
    this.maxMs = options.maxMs ?? 300_000;
    this.jitter = options.jitter ?? 0.1;
    this.random = options.random ?? Math.random;
  }

  /** Records a failure of `key` and returns how long to wait before the next try. */
  next(key: K): number {
    const failures = this.counts.get(key) ?? 0;
    this.counts.set(key, failures + 1);
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures, 30));
    return Math.round(delay * (1 + this.jitter * this.random()));
  }

  failures(key: K): number {
    return this.counts.get(key) ?? 0;
  }

  reset(key: K): void {
    this.counts.delete(key);
  }
}
