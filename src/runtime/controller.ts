// Runs a reconcile function over the keys of a WorkQueue with bounded concurrency.
// The reconcile function says what happens next; an exception is a retry with backoff.
import type { Logger } from 'pino';
import { describeError, networkFailureWords, reasonOf, redactSecrets } from './errors.js';
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
        const fields = { key, retryInMs: delayMs, controller: this.options.name };
        if (isExpected(err)) {
          log.warn({ ...fields, reason: reasonOf(err), error: describeError(err) }, 'Reconcile failed');
        } else {
          log.error({ ...fields, ...loggableError(err) }, 'Reconcile failed');
        }
      } finally {
        queue.done(key);
      }
    }
  }
}

/** A failure the operator knows how to describe (a typed error, an apiserver, AWS or network
 * answer): a warning without a stack. Anything else is a bug worth its stack. */
function isExpected(err: unknown): boolean {
  if (reasonOf(err) !== undefined) return true;
  const e = err as { $metadata?: unknown; code?: unknown } | null;
  return typeof e?.code === 'number' || e?.$metadata !== undefined || networkFailureWords(err) !== undefined;
}

// Not pino's `err` serializer: it appends every cause's message ("X: X") and keeps whatever
// secret an error carries. One redacted message, the type and the stack frames instead.
function loggableError(err: unknown): { errorType: string; error: string; stack?: string } {
  const error = describeError(err);
  if (!(err instanceof Error)) return { errorType: typeof err, error };
  const frames = err.stack
    ?.split('\n')
    .filter((l) => /^\s+at /.test(l))
    .join('\n');
  return { errorType: err.name, error, ...(frames ? { stack: redactSecrets(frames) } : {}) };
}
