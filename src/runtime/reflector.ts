// A list + watch cache of one kind, in place of client-node's makeInformer, for three reasons:
// - client-node's Watch aborts a watch after 30 s without bytes, so every quiet watch reconnected
//   twice a minute. Here the apiserver ends each watch itself after a random 5–10 minutes
//   (client-go's reflector does the same), bookmarks keep the resourceVersion current meanwhile,
//   and the client-side inactivity limit is only a backstop beyond that.
// - Objects are stored as `transform` makes them (managed fields dropped, or a stub for objects
//   the operator does not care about), not as client-node's full model classes.
// - Lists are paged (limit) and parsed as plain JSON.
// A watch that ends cleanly resumes from the last resourceVersion; 410 Gone lists again (objects
// gone meanwhile are reported deleted); any other failure is reported through ERROR and the
// supervisor (informer.ts) starts a new reflector with backoff.
import {
  ADD,
  CONNECT,
  DELETE,
  ERROR,
  HttpMethod,
  UPDATE,
  RequestContext,
  Watch,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';

type ObjectEvent = typeof ADD | typeof UPDATE | typeof DELETE;
type ObjectCallback<T> = (obj: T) => void;
type ErrorCallback = (err?: unknown) => void;

export interface ReflectorOptions<T extends KubernetesObject> {
  /** Collection path: `/apis/apps/v1/deployments` or `/apis/apps/v1/namespaces/ml/deployments`. */
  path: string;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** What of an object is kept; by default the object without its managed fields. */
  transform?: (obj: KubernetesObject) => T;
  /** Items per list page. */
  pageSize?: number;
  /** The apiserver ends a watch after a random time in [min, 2 × min) seconds. */
  minWatchTimeoutSeconds?: number;
}

export const DEFAULT_PAGE_SIZE = 500;
export const DEFAULT_MIN_WATCH_TIMEOUT_S = 300;
/** Beyond the server's own timeout: a watch silent this much longer is dead, not quiet. */
const INACTIVITY_MARGIN_MS = 60_000;

/** Drops what no reader needs and the largest part of most objects. */
export function withoutManagedFields<T extends KubernetesObject>(obj: KubernetesObject): T {
  if (!obj.metadata?.managedFields) return obj as T;
  const metadata = { ...obj.metadata };
  delete metadata.managedFields;
  return { ...obj, metadata } as T;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubernetesObject & { code?: number; message?: string };
}

class GoneError extends Error {}

export class Reflector<T extends KubernetesObject> {
  private readonly objects = new ObjectIndex<T>();
  private readonly callbacks = {
    [ADD]: [] as ObjectCallback<T>[],
    [UPDATE]: [] as ObjectCallback<T>[],
    [DELETE]: [] as ObjectCallback<T>[],
    [CONNECT]: [] as ErrorCallback[],
    [ERROR]: [] as ErrorCallback[],
  };
  private resourceVersion = '';
  private stopped = false;
  private watchAbort: AbortController | undefined;
  private readonly transform: (obj: KubernetesObject) => T;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: ReflectorOptions<T>,
  ) {
    this.transform = options.transform ?? withoutManagedFields;
  }

  on(verb: ObjectEvent, cb: ObjectCallback<T>): void;
  on(verb: typeof CONNECT | typeof ERROR, cb: ErrorCallback): void;
  on(verb: ObjectEvent | typeof CONNECT | typeof ERROR, cb: ObjectCallback<T> | ErrorCallback): void {
    (this.callbacks[verb] as unknown[]).push(cb);
  }

  /** Lists (the cache is synced when this resolves), then watches in the background. A failed
   * list is reported through ERROR, as client-node's informer does. */
  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.relist();
    } catch (err) {
      this.emitError(err);
      return;
    }
    void this.watchLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watchAbort?.abort();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ?? '', name);
  }

  list(namespace?: string): T[] {
    return this.objects.list(namespace);
  }

  /** Lists every page and replaces the cache; what vanished meanwhile is reported deleted. */
  private async relist(): Promise<void> {
    const seen: T[] = [];
    let page: string | undefined;
    let resourceVersion = '';
    do {
      const query: Record<string, string | undefined> = {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        limit: String(this.options.pageSize ?? DEFAULT_PAGE_SIZE),
        continue: page,
      };
      const body = (await this.getJson(query)) as {
        metadata?: { resourceVersion?: string; continue?: string };
        items?: KubernetesObject[];
      };
      for (const item of body.items ?? []) seen.push(this.transform(item));
      resourceVersion = body.metadata?.resourceVersion ?? resourceVersion;
      page = body.metadata?.continue || undefined;
    } while (page && !this.stopped);
    const before = this.objects.drain();
    for (const obj of seen) {
      this.objects.set(obj);
      const key = keyOfObject(obj);
      this.emit(before.has(key) ? UPDATE : ADD, obj);
      before.delete(key);
    }
    for (const gone of before.values()) this.emit(DELETE, gone);
    this.resourceVersion = resourceVersion;
  }

  private async watchLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.watchOnce();
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof GoneError) {
          try {
            await this.relist(); // our resourceVersion is too old: start again from a list
            continue;
          } catch (listErr) {
            this.emitError(listErr);
            return;
          }
        }
        this.emitError(err);
        return;
      }
    }
  }

  /** One watch request, until the server ends it (resolves) or it fails (rejects). */
  private watchOnce(): Promise<void> {
    const min = this.options.minWatchTimeoutSeconds ?? DEFAULT_MIN_WATCH_TIMEOUT_S;
    const timeoutSeconds = Math.floor(min * (1 + Math.random()));
    const watch = new Watch(this.kc);
    // Private in its typings, read on each request: the 30 s default would end quiet watches.
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs =
      timeoutSeconds * 1000 + INACTIVITY_MARGIN_MS;
    return new Promise<void>((resolve, reject) => {
      let gone = false;
      const onEvent = (type: string, object: WatchEvent['object']) => {
        if (type === 'ERROR') {
          if (object.code === 410) gone = true;
          else reject(new Error(`watch error ${object.code ?? ''}: ${object.message ?? 'unknown'}`));
          return;
        }
        const rv = object.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        const obj = this.transform(object);
        if (type === 'DELETED') {
          this.objects.delete(obj);
          this.emit(DELETE, obj);
        } else {
          const known = this.objects.set(obj);
          this.emit(known ? UPDATE : ADD, obj);
        }
      };
      const done = (err: unknown) => {
        this.watchAbort = undefined;
        if (gone || (err as { statusCode?: number } | null)?.statusCode === 410) reject(new GoneError());
        else if (err && !this.stopped) reject(err);
        else resolve();
      };
      watch
        .watch(
          this.options.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds,
            labelSelector: this.options.labelSelector,
            fieldSelector: this.options.fieldSelector,
          },
          onEvent,
          done,
        )
        .then((abort) => {
          if (this.stopped) abort.abort();
          else {
            this.watchAbort = abort;
            for (const cb of this.callbacks[CONNECT]) cb();
          }
        }, reject);
    });
  }

  private async getJson(query: Record<string, string | undefined>): Promise<unknown> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server + this.options.path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await this.kc.applySecurityAuthentication(ctx);
    const response = await fetch(url, {
      headers: ctx.getHeaders(),
      dispatcher: ctx.getDispatcher() as Dispatcher | undefined,
    });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      const error = new Error(`list ${this.options.path}: HTTP ${response.status} ${text.slice(0, 200)}`);
      (error as Error & { statusCode?: number }).statusCode = response.status;
      throw error;
    }
    return response.json();
  }

  private emit(verb: ObjectEvent, obj: T): void {
    for (const cb of this.callbacks[verb]) cb(obj);
  }

  private emitError(err: unknown): void {
    for (const cb of this.callbacks[ERROR]) cb(err);
  }
}

const keyOfObject = (obj: KubernetesObject) => `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;

/** Objects by namespace, then name: a namespace's list costs its own size, not the cluster's. */
class ObjectIndex<T extends KubernetesObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();

  get(namespace: string, name: string): T | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    return [...this.byNamespace.values()].flatMap((m) => [...m.values()]);
  }

  /** Stores `obj`; true when it replaced a known object. */
  set(obj: T): boolean {
    const namespace = obj.metadata?.namespace ?? '';
    let names = this.byNamespace.get(namespace);
    if (!names) this.byNamespace.set(namespace, (names = new Map()));
    const name = obj.metadata?.name ?? '';
    const known = names.has(name);
    names.set(name, obj);
    return known;
  }

  delete(obj: KubernetesObject): void {
    const namespace = obj.metadata?.namespace ?? '';
    const names = this.byNamespace.get(namespace);
    names?.delete(obj.metadata?.name ?? '');
    if (names?.size === 0) this.byNamespace.delete(namespace);
  }

  /** Empties the index and returns what it held, by `namespace/name`. */
  drain(): Map<string, T> {
    const all = new Map(this.list().map((o) => [keyOfObject(o), o] as const));
    this.byNamespace.clear();
    return all;
  }
}
