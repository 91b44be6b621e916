// MLflow requests that outlive a reconcile. A reconcile waits for its registry request only a
// short budget; a slow server's request goes on in the background, the worker goes back to the
// queue, and the answer wakes the object so its next reconcile takes it. One request in flight
// per object, keyed by what it asked (a spec change never consumes a stale answer), and a limit
// of requests in flight per server so one slow MLflow cannot take every socket.
import type { ModelVersion } from '../clients/mlflow.js';
import { KeyedSemaphore } from '../runtime/semaphore.js';

/** What a poll came to: MLflow's answer, its failure, or still waiting for it. */
export type PollOutcome =
  { kind: 'answer'; version: ModelVersion } | { kind: 'failed'; error: unknown } | { kind: 'pending' };

type Settled = Exclude<PollOutcome, { kind: 'pending' }>;

interface InFlight {
  /** What was asked (server, model, ref, credentials): another question ignores this answer. */
  question: string;
  promise: Promise<Settled>;
  settled?: Settled;
  /** The reconcile that started it stopped waiting: the answer must wake the object. */
  detached: boolean;
}

export interface RegistryPollOptions {
  /** How long a reconcile waits for MLflow before it returns its worker. */
  budgetMs?: number;
  /** Requests in flight to one MLflow server (tracking-URI origin); more wait their turn. */
  perServerLimit?: number;
  /** Called with the object's key when a request nobody waits for any more has settled. */
  wake?: (key: string) => void;
}

export const DEFAULT_POLL_BUDGET_MS = 1500;
export const DEFAULT_PER_SERVER_LIMIT = 4;

export class RegistryPolls {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly failures = new Map<string, { count: number; retryAtMs: number }>();
  private readonly perServer: KeyedSemaphore<string>;
  private readonly budgetMs: number;
  private readonly wake: ((key: string) => void) | undefined;

  constructor(options: RegistryPollOptions = {}) {
    this.budgetMs = options.budgetMs ?? DEFAULT_POLL_BUDGET_MS;
    this.perServer = new KeyedSemaphore(options.perServerLimit ?? DEFAULT_PER_SERVER_LIMIT);
    this.wake = options.wake;
  }

  /** A request for `question` is in flight for `key`, or its answer waits to be taken. */
  has(key: string, question: string): boolean {
    return this.inFlight.get(key)?.question === question;
  }

  /** Takes the settled answer to `question`, or starts `ask` (unless it is already in flight)
   * and waits for it at most the budget. A request still in flight is never waited for twice. */
  async poll(
    key: string,
    question: string,
    server: string,
    ask: () => Promise<ModelVersion>,
  ): Promise<PollOutcome> {
    const existing = this.inFlight.get(key);
    if (existing && existing.question === question) {
      if (!existing.settled) return { kind: 'pending' };
      this.inFlight.delete(key);
      return existing.settled;
    }
    const entry = this.start(key, question, server, ask); // replaces a stale request, if any
    const settled = await within(entry.promise, this.budgetMs);
    if (settled || entry.settled) {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
      return (settled ?? entry.settled) as Settled;
    }
    entry.detached = true;
    return { kind: 'pending' };
  }

  /** Counts a failed poll of `key`; returns how many failed in a row. */
  recordFailure(key: string, retryAtMs: number): number {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    this.failures.set(key, { count, retryAtMs });
    return count;
  }

  failureCount(key: string): number {
    return this.failures.get(key)?.count ?? 0;
  }

  /** Until when polls of `key` back off after failures. */
  retryAt(key: string): number | undefined {
    return this.failures.get(key)?.retryAtMs;
  }

  /** MLflow gave a verdict: the failure count starts again. */
  recordVerdict(key: string): void {
    this.failures.delete(key);
  }

  forget(key: string): void {
    this.inFlight.delete(key);
    this.failures.delete(key);
  }

  private start(key: string, question: string, server: string, ask: () => Promise<ModelVersion>): InFlight {
    const entry: InFlight = { question, promise: undefined as unknown as Promise<Settled>, detached: false };
    entry.promise = this.perServer
      .run(server, ask)
      .then(
        (version): Settled => ({ kind: 'answer', version }),
        (error: unknown): Settled => ({ kind: 'failed', error }),
      )
      .then((settled) => {
        entry.settled = settled;
        // An answer to a question nobody asks any more is dropped, not delivered.
        if (entry.detached && this.inFlight.get(key) === entry) this.wake?.(key);
        return settled;
      });
    this.inFlight.set(key, entry);
    return entry;
  }
}

/** `promise`'s value if it settles within `ms`, else undefined; the timer never outlives it. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
