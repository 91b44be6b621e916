// Reads of children from the informer caches instead of the apiserver, as controller-runtime's
// delegating client does, with read-your-writes kept: after the operator writes an object, the
// cache serves it again only once the watch has delivered that write (or a while has passed);
// until then, and for objects the cache lacks or holds only as a stub, the read goes live. A
// cache miss always goes live, so a NotFound is the apiserver's, never the cache's.
//
// Cached objects are plain JSON; a read hands back a fresh typed copy (dates as Date, like the
// generated client's), so no caller can change the cache and no caller sees another type.
import {
  AppsV1Api,
  BatchV1Api,
  type KubernetesObject,
  type V1Deployment,
  type V1Job,
} from '@kubernetes/client-node';
// Not in the package's index; the same (de)serializer the generated API clients use.
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';

/** How long a write of ours may go unseen by the watch before the cache is trusted again. */
const WRITE_VISIBLE_WITHIN_MS = 30_000;
const DELETED = '(deleted)';

export interface CacheView<T> {
  get(name: string, namespace?: string): T | undefined;
}

/** What the informers tell a read-through cache, whatever its kind. */
export interface CacheFeed {
  attach(cache: CacheView<KubernetesObject>): void;
  observed(obj: KubernetesObject, event: 'add' | 'update' | 'delete' | 'resync'): void;
}

/** Writes of ours a watch has not delivered yet, per object: what read-your-writes waits for.
 * A write counts as seen once the watch delivers its resourceVersion (or its deletion), or after
 * 30 s, whichever comes first. */
export class UnseenWrites {
  private readonly unseen = new Map<string, { resourceVersion: string; atMs: number }>();
  /** The resourceVersion the watch last delivered per object: the watch may deliver a write
   * before the write's own response is handled, and that write must not then wait for itself. */
  private readonly delivered = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The operator wrote `obj` (its response): the cache lags until the watch shows it. */
  wrote(obj: KubernetesObject | undefined): void {
    const { namespace, name, resourceVersion } = obj?.metadata ?? {};
    if (!name || !resourceVersion) return;
    const key = `${namespace ?? ''}/${name}`;
    if (this.delivered.get(key) === resourceVersion) return;
    this.unseen.set(key, { resourceVersion, atMs: this.now() });
  }

  /** The operator deleted the object: the cache lags until the watch shows it gone. */
  deleted(namespace: string, name: string): void {
    this.unseen.set(`${namespace}/${name}`, { resourceVersion: DELETED, atMs: this.now() });
  }

  /** The watch delivered `obj`: a write of ours it carries is now in the cache. */
  observed(obj: KubernetesObject, event: 'add' | 'update' | 'delete' | 'resync'): void {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const seen = event === 'delete' ? DELETED : obj.metadata?.resourceVersion;
    if (seen === undefined) return;
    // Kept per live object only (a deletion that outruns its response just reads live a while).
    if (event === 'delete') this.delivered.delete(key);
    else this.delivered.set(key, seen);
    if (this.unseen.get(key)?.resourceVersion === seen) this.unseen.delete(key);
  }

  /** Whether the cache has yet to show a write of ours to this object. */
  lagging(namespace: string, name: string): boolean {
    const key = `${namespace}/${name}`;
    const pending = this.unseen.get(key);
    if (pending && this.now() - pending.atMs > WRITE_VISIBLE_WITHIN_MS) this.unseen.delete(key);
    return this.unseen.has(key);
  }
}

export class ReadThrough<T extends KubernetesObject> implements CacheFeed {
  private readonly writes: UnseenWrites;
  private cache: CacheView<T> | undefined;
  hits = 0;
  misses = 0;

  constructor(
    private readonly modelType: string,
    /** Whether the cached object is whole (not a stub kept only to map events). */
    private readonly complete: (obj: T) => boolean = () => true,
    now: () => number = Date.now,
  ) {
    this.writes = new UnseenWrites(now);
  }

  /** The informer cache to read from; without one every read goes live. */
  attach(cache: CacheView<KubernetesObject>): void {
    this.cache = cache as CacheView<T>; // the informer of this kind: its objects are T
  }

  /** A typed copy of the cached object, or the live read when the cache cannot answer. */
  async read<R>(namespace: string, name: string, live: () => Promise<R>): Promise<R> {
    const cached = this.cache?.get(name, namespace);
    if (cached && this.complete(cached) && !this.writes.lagging(namespace, name)) {
      this.hits++;
      return ObjectSerializer.deserialize(structuredClone(cached), this.modelType, '') as R;
    }
    this.misses++;
    return live();
  }

  wrote(obj: KubernetesObject | undefined): void {
    this.writes.wrote(obj);
  }

  deleted(namespace: string, name: string): void {
    this.writes.deleted(namespace, name);
  }

  observed(obj: KubernetesObject, event: 'add' | 'update' | 'delete' | 'resync'): void {
    this.writes.observed(obj, event);
  }
}

type Options = Parameters<AppsV1Api['readNamespacedDeployment']>[1];
type BatchOptions = Parameters<BatchV1Api['readNamespacedJob']>[1];

/** AppsV1Api whose Deployment reads come from the cache when they can, and whose Deployment
 * writes are remembered until the watch shows them. Made by KubeConfig.makeApiClient. */
export class CachingAppsV1Api extends AppsV1Api {
  readonly deployments = new ReadThrough<V1Deployment>('V1Deployment', (d) => d.spec !== undefined);

  override readNamespacedDeployment(
    param: Parameters<AppsV1Api['readNamespacedDeployment']>[0],
    options?: Options,
  ): Promise<V1Deployment> {
    return this.deployments.read(param.namespace, param.name, () =>
      super.readNamespacedDeployment(param, options),
    );
  }

  override patchNamespacedDeployment(
    param: Parameters<AppsV1Api['patchNamespacedDeployment']>[0],
    options?: Options,
  ): Promise<V1Deployment> {
    return this.remember(super.patchNamespacedDeployment(param, options));
  }

  override replaceNamespacedDeployment(
    param: Parameters<AppsV1Api['replaceNamespacedDeployment']>[0],
    options?: Options,
  ): Promise<V1Deployment> {
    return this.remember(super.replaceNamespacedDeployment(param, options));
  }

  override createNamespacedDeployment(
    param: Parameters<AppsV1Api['createNamespacedDeployment']>[0],
    options?: Options,
  ): Promise<V1Deployment> {
    return this.remember(super.createNamespacedDeployment(param, options));
  }

  override deleteNamespacedDeployment(
    param: Parameters<AppsV1Api['deleteNamespacedDeployment']>[0],
    options?: Options,
  ): ReturnType<AppsV1Api['deleteNamespacedDeployment']> {
    return forgetOnDelete(this.deployments, param, super.deleteNamespacedDeployment(param, options));
  }

  private async remember(write: Promise<V1Deployment>): Promise<V1Deployment> {
    const written = await write;
    this.deployments.wrote(written);
    return written;
  }
}

/** BatchV1Api whose Job reads come from the cache when they can. Jobs the operator creates are
 * missing from the cache until the watch shows them, so those reads go live by themselves. */
export class CachingBatchV1Api extends BatchV1Api {
  readonly jobs = new ReadThrough<V1Job>('V1Job');

  override readNamespacedJob(
    param: Parameters<BatchV1Api['readNamespacedJob']>[0],
    options?: BatchOptions,
  ): Promise<V1Job> {
    return this.jobs.read(param.namespace, param.name, () => super.readNamespacedJob(param, options));
  }

  override async createNamespacedJob(
    param: Parameters<BatchV1Api['createNamespacedJob']>[0],
    options?: BatchOptions,
  ): Promise<V1Job> {
    const created = await super.createNamespacedJob(param, options);
    this.jobs.wrote(created); // a Job of the same name deleted before may still be cached
    return created;
  }

  override deleteNamespacedJob(
    param: Parameters<BatchV1Api['deleteNamespacedJob']>[0],
    options?: BatchOptions,
  ): ReturnType<BatchV1Api['deleteNamespacedJob']> {
    return forgetOnDelete(this.jobs, param, super.deleteNamespacedJob(param, options));
  }
}

/** A delete the operator made: the cache lags until the watch shows the object gone. */
async function forgetOnDelete<R>(
  cache: ReadThrough<KubernetesObject>,
  { namespace, name }: { namespace: string; name: string },
  deletion: Promise<R>,
): Promise<R> {
  const status = await deletion;
  cache.deleted(namespace, name);
  return status;
}
