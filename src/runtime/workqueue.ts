// A keyed work queue with client-go's guarantees: a key is queued at most once however often it
// is added, a key is never processed by two workers at once (an add during processing is
// replayed after `done`), delayed adds keep only the earliest deadline, and failures back off
// exponentially per key until `forget`.
import { ExponentialBackoff } from './backoff.js';

// Node fires longer timers after 1 ms; a key due later is simply looked at early and requeued.
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WorkQueueOptions {
  backoff?: ExponentialBackoff;
  /** Injected for tests; defaults to the real clock. */
  now?: () => number;
}

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private readonly backoff: ExponentialBackoff;
  private readonly now: () => number;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.backoff = options.backoff ?? new ExponentialBackoff();
    this.now = options.now ?? Date.now;
  }

  /** Queues `key` now. A key already waiting is not queued twice. */
  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.cancelDelayed(key);
    this.dirty.add(key);
    if (this.processing.has(key)) return; // replayed by done()
    const waiter = this.waiters.shift();
    if (waiter) waiter(key);
    else this.queue.push(key);
  }

  /** Queues `key` after `delayMs`, unless it is already due sooner. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    this.cancelDelayed(key);
    const timer = setTimeout(
      () => {
        this.delayed.delete(key);
        this.add(key);
      },
      Math.min(delayMs, MAX_TIMER_MS),
    );
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Queues `key` after its next backoff delay; returns that delay. */
  addRateLimited(key: K): number {
    const delay = this.backoff.next(key);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of `key` after a success. */
  forget(key: K): void {
    this.backoff.reset(key);
  }

  failures(key: K): number {
    return this.backoff.failures(key);
  }

  /** Waits for the next key; `undefined` once the queue shuts down. Call `done(key)` after. */
  get(): Promise<K | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push((k) => resolve(k === undefined ? k : this.take(k))));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      const waiter = this.waiters.shift();
      if (waiter) waiter(key);
      else this.queue.push(key);
    }
  }

  /** Keys waiting now (not delayed, not in progress): the queue depth. */
  get length(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Stops handing out keys; workers blocked in `get` receive `undefined`. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private take(key: K): K {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private cancelDelayed(key: K): void {
    const existing = this.delayed.get(key);
    if (existing) {
      clearTimeout(existing.timer);
      this.delayed.delete(key);
    }
  }
}
