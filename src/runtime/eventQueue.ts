// A bounded queue drained in the background by a fixed number of workers. Items share a key (an
// involved object) to keep their order: one item of a key is handled at a time, in the order they
// were pushed, and keys take turns, so a burst on one object does not hold up the others.
// push() never blocks and never waits for a worker: it refuses an item when the queue is full.

export interface DrainQueueOptions<T> {
  /** Handles one item; a throw is passed to onError and the queue goes on. */
  handle(item: T): Promise<void>;
  onError(err: unknown, item: T): void;
  /** Items waiting at most; a push beyond it is refused. */
  capacity?: number;
  /** Items handled at once, each of another key. */
  concurrency?: number;
}

interface Lane<T> {
  items: T[];
  busy: boolean;
}

export class DrainQueue<T> {
  private readonly capacity: number;
  private readonly concurrency: number;
  private readonly lanes = new Map<string, Lane<T>>();
  /** Keys with an item waiting and none being handled, in turn order. */
  private readonly ready: string[] = [];
  private waiting = 0;
  private workers = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: DrainQueueOptions<T>) {
    this.capacity = options.capacity ?? 1000;
    this.concurrency = options.concurrency ?? 2;
    if (!(this.capacity >= 1)) throw new Error(`queue capacity must be at least 1, got ${this.capacity}`);
    if (!(this.concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${this.concurrency}`);
  }

  /** Items waiting, not counting those being handled. */
  get length(): number {
    return this.waiting;
  }

  get full(): boolean {
    return this.waiting >= this.capacity;
  }

  /** Queues `item` behind the other items of `key`; false (and nothing queued) when full. */
  push(key: string, item: T): boolean {
    if (this.full) return false;
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { items: [], busy: false }));
    lane.items.push(item);
    this.waiting++;
    if (!lane.busy && lane.items.length === 1) this.ready.push(key);
    this.schedule();
    return true;
  }

  /** Resolves once nothing is waiting or being handled. */
  async flush(): Promise<void> {
    if (this.idle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private idle(): boolean {
    return this.waiting === 0 && this.workers === 0 && !this.scheduled;
  }

  // Workers start in a microtask: the pusher's own code runs on before any write begins.
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      while (this.workers < this.concurrency && this.ready.length > 0) {
        this.workers++;
        void this.work();
      }
      this.settle();
    });
  }

  private async work(): Promise<void> {
    for (let key = this.ready.shift(); key !== undefined; key = this.ready.shift()) {
      const lane = this.lanes.get(key) as Lane<T>;
      const item = lane.items.shift() as T;
      this.waiting--;
      lane.busy = true;
      try {
        await this.options.handle(item);
      } catch (err) {
        try {
          this.options.onError(err, item);
        } catch {
          // a failing error handler must not stop the drain
        }
      }
      lane.busy = false;
      if (lane.items.length > 0) this.ready.push(key);
      else this.lanes.delete(key);
    }
    this.workers--;
    this.settle();
  }

  private settle(): void {
    if (!this.idle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
