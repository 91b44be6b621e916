// Keeps a client-node informer alive. client-node re-lists on 410 Gone by itself but stops for
// good on any other watch or list error, never resyncs, and a silent dead watch looks healthy;
// this supervisor restarts it with backoff, re-delivers every cached object on restart and on
// a resync period (client-node does not replay known objects after a restart), and restarts a
// watch that has been quiet for longer than the watchdog allows.
import { ADD, CONNECT, DELETE, ERROR, UPDATE } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ExponentialBackoff } from './backoff.js';
import { describeError } from './errors.js';
import { MAX_TIMER_MS } from './workqueue.js';

export type ObjectKey = string;

export function keyOf(obj: KubernetesObject): ObjectKey {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

export function splitKey(key: ObjectKey): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** What of an object, when it changes, is worth a reconcile: its generation (the spec), labels,
 * annotations and deletion; not status, resourceVersion or managedFields. controller-runtime's
 * GenerationChanged | LabelChanged | AnnotationChanged predicates, as a comparable string. */
export function wakeFingerprint(obj: KubernetesObject): string {
  const { generation, labels, annotations, deletionTimestamp } = obj.metadata ?? {};
  const sorted = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([generation ?? null, sorted(labels), sorted(annotations), deletionTimestamp ? 1 : 0]);
}

/** Whether an update from `previous` (undefined: not seen before) to `next` fingerprint wakes. */
export const updateWakes = (previous: string | undefined, next: string): boolean => previous !== next;

/** A list + watch cache: reflector.ts, or client-node's makeInformer. */
export interface WatchedCache<T extends KubernetesObject> {
  on(verb: typeof ADD | typeof UPDATE | typeof DELETE, cb: (obj: T) => void): void;
  on(verb: typeof CONNECT | typeof ERROR, cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}

export interface SupervisedInformerOptions<T extends KubernetesObject> {
  name: string;
  makeInformer: () => WatchedCache<T>;
  /** Called with every object added, changed, deleted or resynced (that wakes, see
   * ignoreStatusOnlyUpdates). */
  onObject: (obj: T, event: 'add' | 'update' | 'delete' | 'resync') => void;
  /** Called with every event the cache takes, before any filtering: what a read-your-writes
   * tracker must see (our own status writes included). */
  onCached?: (obj: T, event: 'add' | 'update' | 'delete') => void;
  resyncPeriodMs: number;
  /** Restart when no event or reconnect was seen for this long. */
  watchdogMs: number;
  log: Logger;
  backoff?: ExponentialBackoff<string>;
  /** Called on every restart (for metrics). */
  onRestart?: () => void;
  /** Drop updates that change nothing of wakeFingerprint (our own status writes): a status write
   * must not wake its reconciler at once, or the queue's backoff is bypassed. client-node gives
   * no old object on update, so the last fingerprint seen of each object is kept. */
  ignoreStatusOnlyUpdates?: boolean;
}

export class SupervisedInformer<T extends KubernetesObject> {
  private informer: WatchedCache<T> | undefined;
  private readonly backoff: ExponentialBackoff<string>;
  private timers: NodeJS.Timeout[] = [];
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private synced = false;
  private lastActivity = 0;
  private readonly fingerprints = new Map<ObjectKey, string>();
  /** Number of restarts after errors or a silent watch; exported as a metric later. */
  restarts = 0;

  constructor(private readonly options: SupervisedInformerOptions<T>) {
    this.backoff = options.backoff ?? new ExponentialBackoff({ baseMs: 1000, maxMs: 30_000 });
  }

  /** Starts watching; resolves after the first list succeeded (the cache is synced). */
  async start(): Promise<void> {
    this.stopped = false;
    this.timers.push(
      setInterval(() => this.resync(), Math.min(this.options.resyncPeriodMs, MAX_TIMER_MS)).unref(),
    );
    this.timers.push(
      setInterval(() => this.checkWatchdog(), Math.min(this.options.watchdogMs, 10_000)).unref(),
    );
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    this.timers = [];
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer?.stop();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Milliseconds since the watch last showed life; for health checks. */
  get idleMs(): number {
    return Date.now() - this.lastActivity;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer?.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer?.list(namespace) ?? [];
  }

  private async run(): Promise<void> {
    const { log } = this.options;
    const onObject = (obj: T, event: 'add' | 'update' | 'delete') => {
      this.options.onCached?.(obj, event);
      if (this.wakes(obj, event)) this.options.onObject(obj, event);
    };
    const informer = this.options.makeInformer();
    this.informer = informer;
    const alive = () => {
      this.lastActivity = Date.now();
    };
    informer.on(ADD, (o) => (alive(), onObject(o, 'add')));
    informer.on(UPDATE, (o) => (alive(), onObject(o, 'update')));
    informer.on(DELETE, (o) => (alive(), onObject(o, 'delete')));
    informer.on(CONNECT, alive);
    // client-node reports a failed list through ERROR and still resolves start().
    let failed = false;
    informer.on(ERROR, (err) => {
      failed = true;
      this.scheduleRestart(err);
    });
    alive();
    try {
      await informer.start();
      if (failed) return;
      this.synced = true;
      this.backoff.reset(this.options.name);
      log.info({ informer: this.options.name }, 'Started informer');
    } catch (err) {
      this.scheduleRestart(err);
    }
  }

  private scheduleRestart(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    const delay = this.backoff.next(this.options.name);
    this.restarts++;
    this.options.onRestart?.();
    this.options.log.warn(
      { error: describeError(err), informer: this.options.name, retryInMs: delay },
      'Informer stopped; restarting',
    );
    const old = this.informer;
    this.restartTimer = setTimeout(async () => {
      this.restartTimer = undefined;
      await old?.stop().catch(() => undefined);
      if (this.stopped) return;
      await this.run();
      this.resync();
    }, delay);
    this.restartTimer.unref();
  }

  private resync(): void {
    for (const obj of this.list()) this.options.onObject(obj, 'resync');
  }

  private wakes(obj: T, event: 'add' | 'update' | 'delete'): boolean {
    if (!this.options.ignoreStatusOnlyUpdates) return true;
    const key = keyOf(obj);
    if (event === 'delete') {
      this.fingerprints.delete(key);
      return true;
    }
    const next = wakeFingerprint(obj);
    const previous = this.fingerprints.get(key);
    this.fingerprints.set(key, next);
    return event === 'add' || updateWakes(previous, next);
  }

  private checkWatchdog(): void {
    if (!this.stopped && !this.restartTimer && this.idleMs > this.options.watchdogMs) {
      this.scheduleRestart(new Error(`no watch activity for ${this.idleMs} ms`));
    }
  }
}
