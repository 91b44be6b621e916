// The plugin's only I/O with the cluster: the apiserver, through the user's kubeconfig, as
// kubectl would reach it. Everything else in src/cli works on what these calls return.
import {
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type ModelDeployment } from '../api/v1alpha1/modelDeployment.js';
import { messageOf, networkFailureWords } from '../runtime/errors.js';
import { PooledKubeConfig } from '../runtime/kubeConfig.js';
import { kubeMessageOf, statusCodeOf } from '../runtime/kubeErrors.js';
import type { Target } from './args.js';

/** A failure the user can act on, already in words: printed as is, exit 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface Listed {
  md: ModelDeployment | undefined;
  resourceVersion: string;
}

/** How a watch ended: closed by the server or for idleness (watch again from where it was),
 * expired (410 Gone: list again), or failed. */
export type WatchEnd = { kind: 'closed' } | { kind: 'expired' } | { kind: 'failed'; message: string };

/** One watch's callbacks: `event` for each event, then `done` once. */
export interface WatchHandlers {
  event(type: string, object: unknown): void;
  done(end: WatchEnd): void;
}

/** What the commands need from the apiserver, in one namespace. */
export interface MdApi {
  readonly namespace: string;
  get(name: string): Promise<ModelDeployment>;
  /** Sets annotations with a JSON merge patch; returns the object as patched. */
  annotate(name: string, annotations: Record<string, string>): Promise<ModelDeployment>;
  /** The object (if it exists) and the resourceVersion to watch from. */
  list(name: string): Promise<Listed>;
  watch(name: string, resourceVersion: string, handlers: WatchHandlers): Promise<AbortController>;
}

// The apiserver ends a watch after this long, before client-node's own 30 s idle timer would
// abort a quiet one; the follower then watches again from the last resourceVersion.
const WATCH_SECONDS = 25;

export function connect(target: Target): MdApi {
  const kc = new PooledKubeConfig();
  try {
    if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CliError(`cannot load the kubeconfig: ${messageOf(err)}`, { cause: err });
  }
  if (target.context) {
    if (!kc.getContextObject(target.context))
      throw new CliError(`context "${target.context}" is not in the kubeconfig`);
    kc.setCurrentContext(target.context);
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new CliError(`the kubeconfig names no cluster for context "${kc.getCurrentContext()}"`);
  const namespace = target.namespace ?? (kc.getContextObject(kc.getCurrentContext())?.namespace || 'default');
  const api = kc.makeApiClient(CustomObjectsApi);
  const watcher = new Watch(kc);
  const ref = { group: GROUP, version: VERSION, namespace, plural: PLURAL };
  const fieldSelector = (name: string) => `metadata.name=${name}`;
  const call = <T>(what: Promise<T>): Promise<T> =>
    what.catch((err: unknown) => {
      throw new CliError(describeFailure(err, server), { cause: err });
    });

  return {
    namespace,
    get: (name) => call(api.getNamespacedCustomObject({ ...ref, name }) as Promise<ModelDeployment>),
    annotate: (name, annotations) =>
      call(
        api.patchNamespacedCustomObject(
          { ...ref, name, body: { metadata: { annotations } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ) as Promise<ModelDeployment>,
      ),
    list: async (name) => {
      const list = (await call(
        api.listNamespacedCustomObject({ ...ref, fieldSelector: fieldSelector(name) }),
      )) as {
        items: ModelDeployment[];
        metadata: { resourceVersion: string };
      };
      return { md: list.items[0], resourceVersion: list.metadata.resourceVersion };
    },
    watch: (name, resourceVersion, { event, done }) =>
      watcher
        .watch(
          `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`,
          {
            fieldSelector: fieldSelector(name),
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: WATCH_SECONDS,
          },
          event,
          (err: unknown) => done(watchEnd(err, server)),
        )
        // Failing before the request (credentials, no cluster), it never calls `done` itself.
        .catch((err: unknown) => {
          done(watchEnd(err, server));
          return new AbortController();
        }),
  };
}

export function watchEnd(err: unknown, server: string | undefined): WatchEnd {
  // client-node aborts a watch that sent nothing for 30 s: a quiet object, not a failure.
  if (!err || (err as { name?: unknown }).name === 'TimeoutError') return { kind: 'closed' };
  const code = statusCodeOf(err) ?? (err as { statusCode?: unknown }).statusCode;
  if (code === 410) return { kind: 'expired' };
  return { kind: 'failed', message: describeFailure(err, server) };
}

/** One line on what went wrong, from the apiserver's own words where it answered. */
export function describeFailure(err: unknown, server: string | undefined): string {
  if (err instanceof CliError) return err.message;
  const code = statusCodeOf(err) ?? (err as { statusCode?: number } | null)?.statusCode;
  if (err instanceof ApiException) {
    const message = kubeMessageOf(err);
    if (code === 401) return `the apiserver refused the credentials of the kubeconfig (401 ${message})`;
    // Without a name in it, a 404 is about the resource type, not the object.
    if (code === 404 && !/"[^"]+"/.test(message))
      return `${message}: is the ModelDeployment CRD (${PLURAL}.${GROUP}) installed?`;
    return message;
  }
  // undici's fetch says only "fetch failed"; the reason is its cause.
  const cause = (err as { cause?: unknown } | null)?.cause;
  const words =
    networkFailureWords(err) ??
    (err instanceof TypeError && cause instanceof Error ? cause.message : undefined);
  if (words) return `cannot reach the apiserver${server ? ` at ${server}` : ''}: ${words}`;
  if (typeof code === 'number') return `the apiserver answered ${code} ${messageOf(err)}`;
  return messageOf(err);
}
