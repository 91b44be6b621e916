// Runs a reconcile function over the keys of a WorkQueue with bounded concurrency.
// The reconcile function says what happens next; an exception is a retry with backoff.
import type { Logger } from 'pino';
import { WorkQueue } from './workqueue.js';

export type Result = { requeueAfterMs?: number };

export const done = (): Result => ({});
export const requeueAfter = (ms: number): Result => ({ requeueAfterMs: ms });

export type Reconcile<K> = (key: K) => Promise<Result>;

export interface ControllerOptions<K> {
  name: string;
  queue: WorkQueue<K>;
  reconcile: Reconcile<K>;
  concurrency: number;
  log: Logger;
  /** Called after each reconcile with its result and duration (for metrics). */
  observe?: (result: 'success' | 'requeue' | 'error', seconds: number) => void;
}

export class Controller<K = string> {
  private workers: Promise<void>[] = [];

  constructor(private readonly options: ControllerOptions<K>) {}

  start(): void {
    for (let i = 0; i < this.options.concurrency; i++) this.workers.push(this.work());
  }

  /** Stops taking keys and waits for the reconciles in flight to finish. */
  async stop(): Promise<void> {
    this.options.queue.shutdown();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async work(): Promise<void> {
    const { queue, log } = this.options;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const result = await this.options.reconcile(key);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        this.options.observe?.(result.requeueAfterMs !== undefined ? 'requeue' : 'success', seconds());
      } catch (err) {
        this.options.observe?.('error', seconds());
        const delayMs = queue.addRateLimited(key);
        log.error({ err, key, retryInMs: delayMs, controller: this.options.name }, 'Reconcile failed');
      } finally {
        queue.done(key);
      }
    }
  }
}
