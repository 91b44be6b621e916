// MLflow requests shared by every ModelDeployment that asks the same question, and outliving a
// reconcile.
//
// A question is (server, credentials, timeout, model, stage or alias); the credentials part names
// the Secret with its namespace, so objects only share an answer they could each have fetched
// themselves. One request per question is in flight at a time (single flight), and its answer is
// reused by followers that ask within `maxAgeMs` (their poll interval) and after their own last
// verdict: a follower that takes it counts its poll from when MLflow answered, as if it had asked
// then, so followers of one question fall into one wave and one request serves them all each
// interval, however slowly a cold start of thousands of objects gets to each of them.
//
// A reconcile waits for its request only a short budget; a slow server's request goes on and its
// answer wakes the objects that stopped waiting. An answer that differs from the last one for its
// question (a new version, or MLflow back after an outage) wakes every follower at once. A
// server that is down backs off as a whole: no request to it until its retry time, and every
// follower gets the last failure meanwhile. A limit of requests in flight per server keeps one
// slow MLflow from taking every socket.
import { MlflowError, type ModelVersion } from '../clients/mlflow.js';
import { ExponentialBackoff } from '../runtime/backoff.js';
import { KeyedSemaphore } from '../runtime/semaphore.js';

/** What a poll came to: MLflow's answer (and when it was given), its failure, or still waiting. */
export type PollOutcome =
  | { kind: 'answer'; version: ModelVersion; atMs: number }
  | { kind: 'failed'; error: unknown; atMs: number }
  | { kind: 'pending' };

type Settled = Exclude<PollOutcome, { kind: 'pending' }>;

interface Flight {
  server: string;
  promise: Promise<Settled>;
  settled?: Settled;
  /** Followers that stopped waiting for this request: its answer wakes them and is theirs. */
  owed: Set<string>;
  /** Followers waiting for it within their budget right now: they take the answer directly. */
  waiting: Set<string>;
}

export interface RegistryPollOptions {
  /** How long a reconcile waits for MLflow before it returns its worker. */
  budgetMs?: number;
  /** Requests in flight to one MLflow server (tracking-URI origin); more wait their turn. */
  perServerLimit?: number;
  /** Called with an object's key when news for it came outside its reconcile. */
  wake?: (key: string) => void;
  /** Backoff of a whole server after outage failures (MLflow unreachable or 5xx). */
  serverBackoff?: { baseMs?: number; maxMs?: number };
  now?: () => number;
}

export interface PollRequest {
  /** What is asked: see the module comment. Only followers of the same question share. */
  question: string;
  server: string;
  ask: () => Promise<ModelVersion>;
  /** The oldest answer the caller takes from another follower's request. */
  maxAgeMs: number;
  /** The caller's last verdict: only an answer given after it is taken from the cache. */
  notBeforeMs?: number | undefined;
  /** The user asked for a new look (a spec change, a requested reconcile): an answer given
   * before does not do. */
  fresh?: boolean;
}

export const DEFAULT_POLL_BUDGET_MS = 1500;
export const DEFAULT_PER_SERVER_LIMIT = 4;

export class RegistryPolls {
  private readonly flights = new Map<string, Flight>();
  /** Who follows which question, and the reverse, to wake them and to prune. */
  private readonly followers = new Map<string, Set<string>>();
  private readonly following = new Map<string, string>();
  private readonly failures = new Map<string, { count: number; retryAtMs: number }>();
  private readonly serverDown = new Map<string, { retryAtMs: number; failure: Settled }>();
  private readonly serverBackoff: ExponentialBackoff<string>;
  private readonly perServer: KeyedSemaphore<string>;
  private readonly budgetMs: number;
  private readonly wake: (key: string) => void;
  private readonly now: () => number;

  constructor(options: RegistryPollOptions = {}) {
    this.budgetMs = options.budgetMs ?? DEFAULT_POLL_BUDGET_MS;
    this.perServer = new KeyedSemaphore(options.perServerLimit ?? DEFAULT_PER_SERVER_LIMIT);
    this.wake = options.wake ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.serverBackoff = new ExponentialBackoff({
      baseMs: options.serverBackoff?.baseMs ?? 1000,
      maxMs: options.serverBackoff?.maxMs ?? 30_000,
      jitter: 0, // one operator decides for all its followers: nothing to spread
    });
  }

  /** Whether `key` has news to take for `question` whatever its schedule says: an answer it
   * stopped waiting for (or is still waiting for), or an answer given since its last verdict
   * (none after failures: MLflow answering again ends its own backoff too). */
  has(key: string, question: string, lastPolledAtMs: number | undefined): boolean {
    const flight = this.flights.get(question);
    if (!flight) return false;
    if (flight.owed.has(key)) return true;
    return flight.settled?.kind === 'answer' && flight.settled.atMs > (lastPolledAtMs ?? -Infinity);
  }

  /** Takes an answer owed to `key` or a recent enough one; else joins the request in flight or
   * starts one, and waits for it at most the budget. */
  async poll(key: string, request: PollRequest): Promise<PollOutcome> {
    const { question, server, maxAgeMs, fresh = false } = request;
    this.follow(key, question);
    const flight = this.flights.get(question);
    if (flight?.settled) {
      if (flight.owed.delete(key)) return flight.settled;
      const { atMs } = flight.settled;
      const recent = this.now() - atMs < maxAgeMs && atMs > (request.notBeforeMs ?? -Infinity);
      if (!fresh && recent && reusable(flight.settled)) return flight.settled;
    }
    if (flight && !flight.settled)
      return flight.owed.has(key) ? { kind: 'pending' } : this.await(key, flight); // never waited for twice
    const down = this.serverDown.get(server);
    if (down && this.now() < down.retryAtMs) return down.failure;
    return this.await(key, this.start(question, server, request.ask));
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

  /** MLflow said (a webhook) that what `key` follows changed: no answer given before, nor a
   * request already under way, is taken for it again; its followers' next poll asks anew. */
  expire(key: string): void {
    const question = this.following.get(key);
    if (question !== undefined) this.flights.delete(question); // a late answer is dropped
  }

  /** The object is gone: it follows nothing, is owed nothing and is never woken. */
  forget(key: string): void {
    this.unfollow(key);
    this.failures.delete(key);
  }

  /** Questions with a request or an answer kept, for tests and metrics. */
  get size(): number {
    return this.flights.size;
  }

  private async await(key: string, flight: Flight): Promise<PollOutcome> {
    flight.waiting.add(key);
    try {
      const settled = await within(flight.promise, this.budgetMs);
      if (settled) return settled;
    } finally {
      flight.waiting.delete(key);
    }
    if (flight.settled) return flight.settled; // settled in the same tick as the timeout
    flight.owed.add(key);
    return { kind: 'pending' };
  }

  private start(question: string, server: string, ask: () => Promise<ModelVersion>): Flight {
    const previous = this.flights.get(question)?.settled;
    const flight: Flight = {
      server,
      promise: undefined as unknown as Promise<Settled>,
      owed: new Set(),
      waiting: new Set(),
    };
    flight.promise = this.perServer
      .run(server, ask)
      .then(
        (version): Settled => ({ kind: 'answer', version, atMs: this.now() }),
        (error: unknown): Settled => ({ kind: 'failed', error, atMs: this.now() }),
      )
      .then((settled) => {
        flight.settled = settled;
        this.noteServer(server, settled);
        if (this.flights.get(question) === flight) this.deliver(question, flight, previous);
        return settled;
      });
    this.flights.set(question, flight);
    return flight;
  }

  /** Wakes who stopped waiting and, when the answer is news, every other follower too. */
  private deliver(question: string, flight: Flight, previous: Settled | undefined): void {
    const settled = flight.settled as Settled;
    const news =
      settled.kind === 'answer' &&
      previous !== undefined &&
      (previous.kind === 'failed' || previous.version.version !== settled.version.version);
    const woken = news ? [...(this.followers.get(question) ?? [])] : [...flight.owed];
    for (const key of woken) if (!flight.waiting.has(key)) this.wake(key);
  }

  private noteServer(server: string, settled: Settled): void {
    if (settled.kind === 'failed' && isOutage(settled.error)) {
      this.serverDown.set(server, {
        retryAtMs: settled.atMs + this.serverBackoff.next(server),
        failure: settled,
      });
    } else {
      this.serverDown.delete(server);
      this.serverBackoff.reset(server);
    }
  }

  private follow(key: string, question: string): void {
    if (this.following.get(key) === question) return;
    this.unfollow(key);
    this.following.set(key, question);
    let set = this.followers.get(question);
    if (!set) this.followers.set(question, (set = new Set()));
    set.add(key);
  }

  private unfollow(key: string): void {
    const question = this.following.get(key);
    if (question === undefined) return;
    this.following.delete(key);
    const set = this.followers.get(question);
    set?.delete(key);
    this.flights.get(question)?.owed.delete(key);
    if (set && set.size === 0) {
      this.followers.delete(question);
      this.flights.delete(question); // an answer still to come is dropped: nobody follows it
    }
  }
}

/** MLflow's word about the model: the same for every follower that asks the same question. */
const VERDICTS: ReadonlySet<string> = new Set([
  'ModelNotFound',
  'AliasNotFound',
  'NoVersionInStage',
  'BadRequest',
  'Unauthorized',
]);

/** What another follower may take: an answer, or MLflow's verdict about the model. A server that
 * is down or answers garbage is asked again (its backoff decides when, for an outage). */
function reusable(settled: Settled): boolean {
  return (
    settled.kind === 'answer' || (settled.error instanceof MlflowError && VERDICTS.has(settled.error.kind))
  );
}

/** MLflow down or failing as a server, as opposed to answering about a model. */
function isOutage(err: unknown): boolean {
  return err instanceof MlflowError && (err.kind === 'Unreachable' || err.kind === 'ServerError');
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
