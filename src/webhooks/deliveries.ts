// Delivery ids seen recently, so a delivery replayed inside the signature window (MLflow's own
// retry, or a captured request sent again) wakes nothing twice. An id is kept for `ttlMs`, which
// must cover the window a signed delivery stays valid; the set is capped, dropping the oldest
// first. A Map keeps insertion order and ids are added with a non-decreasing clock, so the oldest
// entry is always the first: every operation is O(1) (amortised over the expiries it sweeps).
export const DEFAULT_MAX_DELIVERIES = 10_000;

export interface RecentDeliveriesOptions {
  /** How long an id is remembered. */
  ttlMs: number;
  maxEntries?: number;
  /** Milliseconds on a clock that does not go back; performance.now() by default. */
  now?: () => number;
}

export class RecentDeliveries {
  private readonly seenAt = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(o: RecentDeliveriesOptions) {
    if (!(o.ttlMs > 0)) throw new Error(`ttlMs must be greater than zero, got ${o.ttlMs}`);
    this.ttlMs = o.ttlMs;
    this.maxEntries = o.maxEntries ?? DEFAULT_MAX_DELIVERIES;
    if (!(this.maxEntries >= 1)) throw new Error(`maxEntries must be at least 1, got ${this.maxEntries}`);
    this.now = o.now ?? (() => performance.now());
  }

  /** True when `id` was remembered less than ttlMs ago. */
  has(id: string): boolean {
    this.expire();
    return this.seenAt.has(id);
  }

  /** Remembers `id` from now on (again, if it was already known). */
  add(id: string): void {
    this.expire();
    this.seenAt.delete(id); // re-inserted at the end: it is now the newest
    this.seenAt.set(id, this.now());
    if (this.seenAt.size > this.maxEntries) this.dropOldest();
  }

  get size(): number {
    this.expire();
    return this.seenAt.size;
  }

  private expire(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [id, at] of this.seenAt) {
      if (at > cutoff) return;
      this.seenAt.delete(id);
    }
  }

  private dropOldest(): void {
    const oldest = this.seenAt.keys().next();
    if (!oldest.done) this.seenAt.delete(oldest.value);
  }
}
