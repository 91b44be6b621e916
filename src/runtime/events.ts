// Records core/v1 Events on an object, the kind `kubectl describe` and `kubectl events` show, off
// the reconcile path: record() only queues, and a background drain (runtime/eventQueue.ts) writes,
// a few at a time, so a burst of Events cannot hold up reconciles or take their share of the
// apiserver's rate limit. What client-go's recorder does, it does too:
//   - identical Events (same object, type, reason, message) within a window become one Event with
//     a count: a repeat that comes while the first is still queued only raises the queued count,
//     a later one is a merge patch of count and lastTimestamp;
//   - a token bucket per object (runtime/eventSpamFilter.ts) drops Events beyond a burst;
//   - the queue is bounded, and a record() that finds it full is dropped.
// Every drop is reported to onDropped; a failed write is logged, never thrown: Events are best
// effort. Each map is bounded, and forget() drops what is kept about an object that is gone.
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { cleanMessage, describeError } from './errors.js';
import { DrainQueue } from './eventQueue.js';
import { EventSpamFilter, type SpamFilterOptions } from './eventSpamFilter.js';
import { isConflict, isNotFound } from './kubeErrors.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

/** Why an Event was not recorded. */
export type EventDropReason = 'spam' | 'queue-full';

/** The calls the recorder makes; CoreV1Api is the implementation. */
export type EventsApi = Pick<CoreV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

export interface EventRecorderOptions {
  /** The clock, in milliseconds. */
  now?: () => number;
  /** How long after its last occurrence a repeat is still folded into an Event. */
  foldWindowMs?: number;
  /** Events remembered for folding; the least recently repeated is forgotten first. */
  maxFolds?: number;
  /** Writes waiting at most; a record() beyond it is dropped. */
  queueSize?: number;
  /** Writes in flight at once. */
  concurrency?: number;
  spam?: SpamFilterOptions;
  onDropped?: (reason: EventDropReason) => void;
}

/** One Event as the apiserver has it (or will): what repeats fold into. */
interface Fold {
  key: string;
  eventName: string;
  involvedObject: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string };
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstMs: number;
  lastMs: number;
  /** The apiserver has it: the next write is a patch. */
  created: boolean;
  /** A write of it waits in the queue and will carry the latest count. */
  queued: boolean;
}

export class EventRecorder {
  private readonly now: () => number;
  private readonly foldWindowMs: number;
  private readonly maxFolds: number;
  private readonly onDropped: (reason: EventDropReason) => void;
  /** By fold key, in order of last occurrence: the first is the oldest. */
  private readonly folds = new Map<string, Fold>();
  private readonly spam: EventSpamFilter;
  private readonly queue: DrainQueue<Fold>;
  private stopped = false;

  constructor(
    private readonly api: EventsApi,
    private readonly component: string,
    private readonly log: Logger,
    options: EventRecorderOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.foldWindowMs = options.foldWindowMs ?? 10 * 60_000;
    this.maxFolds = Math.max(1, options.maxFolds ?? 4096);
    this.onDropped = options.onDropped ?? (() => {});
    this.spam = new EventSpamFilter(options.spam);
    this.queue = new DrainQueue<Fold>({
      handle: (fold) => this.write(fold),
      onError: (err, fold) =>
        this.log.warn(
          { error: describeError(err), reason: fold.reason, object: objectName(fold), count: fold.count },
          'Failed to record Event',
        ),
      capacity: options.queueSize ?? 1000,
      concurrency: options.concurrency ?? 2,
    });
  }

  /** Queues the Event and returns at once; it is written in the background (see flush()). */
  record(target: EventTarget, type: EventType, reason: string, text: string): void {
    if (this.stopped) return;
    const now = this.now();
    const { apiVersion, kind, metadata } = target;
    const { namespace, name, uid } = metadata;
    const involved = `${objectPrefix(namespace, name)}${apiVersion}\u0000${kind}\u0000${uid ?? ''}`;
    const message = cleanMessage(text);
    const key = [involved, type, reason, message].join('\u0000');
    const seen = this.folds.get(key);
    const fold = seen && now - seen.lastMs < this.foldWindowMs ? seen : undefined;
    // Checked first: an Event the queue has no room for must not spend a token.
    if (!fold?.queued && this.queue.full) return this.drop('queue-full', target, reason);
    if (!this.spam.allow(involved, now)) return this.drop('spam', target, reason);
    if (fold) {
      fold.count++;
      fold.lastMs = now;
      this.folds.delete(key); // re-inserted: most recently repeated last
      this.folds.set(key, fold);
      if (!fold.queued) this.enqueue(fold);
      return;
    }
    const fresh: Fold = {
      key,
      eventName: `${name}.${randomBytes(8).toString('hex')}`,
      involvedObject: { apiVersion, kind, namespace, name, ...(uid ? { uid } : {}) },
      type,
      reason,
      message,
      count: 1,
      firstMs: now,
      lastMs: now,
      created: false,
      queued: false,
    };
    this.remember(fresh, now);
    this.enqueue(fresh);
  }

  /** Forgets the folds and spam buckets of every object named `namespace/name` (it is gone).
   * Writes already queued for it still happen. */
  forget(namespace: string, name: string): void {
    const prefix = objectPrefix(namespace, name);
    for (const key of this.folds.keys()) if (key.startsWith(prefix)) this.folds.delete(key);
    this.spam.forget(prefix);
  }

  /** Resolves once every queued Event is written (or failed). */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /** Takes no more Events; resolves once the queued ones are written. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.flush();
  }

  /** Writes waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  private enqueue(fold: Fold): void {
    const { namespace, name } = fold.involvedObject;
    fold.queued = this.queue.push(objectPrefix(namespace, name), fold); // room was checked
  }

  private remember(fold: Fold, now: number): void {
    this.folds.delete(fold.key); // an expired one under the same key
    for (const [key, old] of this.folds) {
      if (now - old.lastMs < this.foldWindowMs && this.folds.size < this.maxFolds) break;
      this.folds.delete(key);
    }
    this.folds.set(fold.key, fold);
  }

  private drop(why: EventDropReason, target: EventTarget, reason: string): void {
    const { namespace, name } = target.metadata;
    this.log.debug({ why, reason, object: `${namespace}/${name}` }, 'Dropped Event');
    this.onDropped(why);
  }

  /** Creates the Event, or patches its count; what a repeat queued meanwhile is carried too. */
  private async write(fold: Fold): Promise<void> {
    fold.queued = false;
    const { count, lastMs } = fold;
    if (fold.created) {
      try {
        await this.patchCount(fold, count, lastMs);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // Expired (the apiserver keeps Events an hour by default) or deleted: create it again.
      }
    }
    try {
      await this.create(fold, count, lastMs);
    } catch (err) {
      // An earlier create that seemed to fail (a timeout) did land under this name.
      if (!isConflict(err)) throw err;
      await this.patchCount(fold, count, lastMs);
    }
    fold.created = true;
  }

  private async create(fold: Fold, count: number, lastMs: number): Promise<void> {
    const { namespace } = fold.involvedObject;
    await this.api.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: fold.eventName, namespace },
        involvedObject: fold.involvedObject,
        type: fold.type,
        reason: fold.reason,
        message: fold.message,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.component,
        firstTimestamp: new Date(fold.firstMs),
        lastTimestamp: new Date(lastMs),
        count,
      },
    });
  }

  private async patchCount(fold: Fold, count: number, lastMs: number): Promise<void> {
    await this.api.patchNamespacedEvent(
      {
        namespace: fold.involvedObject.namespace,
        name: fold.eventName,
        body: { count, lastTimestamp: new Date(lastMs) },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

// Object names and namespaces have no NUL: keys of one object share this prefix.
function objectPrefix(namespace: string, name: string): string {
  return `${namespace}/${name}\u0000`;
}

function objectName(fold: Fold): string {
  return `${fold.involvedObject.namespace}/${fold.involvedObject.name}`;
}
