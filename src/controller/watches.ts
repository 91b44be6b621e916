// What the operator watches and which ModelDeployments each change wakes: ModelDeployments
// themselves; the Jobs it created (their owner); the Deployments a ModelDeployment serves from.
// The mappers are pure: the informer caches are passed in as a lookup, ready to become an index.
import type { AppsV1Api, BatchV1Api, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { GROUP, KIND, type ModelDeployment } from '../api/v1alpha1/modelDeployment.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../children/names.js';
import { keyOf, type ObjectKey } from '../runtime/informer.js';

export interface WatchApis {
  batch: BatchV1Api;
  apps: AppsV1Api;
}

/** The ModelDeployments of a namespace, as the informer cache has them. */
export type ModelDeploymentLookup = (namespace: string) => readonly ModelDeployment[];

/** A watched kind of child object and the ModelDeployments a change to one of them wakes. */
export interface ChildWatch {
  /** Name of the informer, in logs and metrics (`jobs`, `deployments`). */
  name: string;
  /** API path prefix and plural of the kind: `/apis/batch/v1` + `jobs`. */
  apiPath: string;
  plural: string;
  /** Only objects with these labels are watched and cached. */
  labelSelector?: string;
  /** The list the informer starts from; namespace '' lists all namespaces. */
  list(apis: WatchApis, namespace: string): Promise<KubernetesListObject<KubernetesObject>>;
  wakes(obj: KubernetesObject, modelDeployments: ModelDeploymentLookup): ObjectKey[];
}

/** A ModelDeployment wakes itself. */
export const wakeSelf = (md: ModelDeployment): ObjectKey[] => [keyOf(md)];

/** A child wakes the ModelDeployment that owns it (build and test Jobs). */
export function wakeOwner(obj: KubernetesObject): ObjectKey[] {
  const owner = obj.metadata?.ownerReferences?.find(
    (o) => o.kind === KIND && o.apiVersion.startsWith(`${GROUP}/`),
  );
  return owner ? [`${obj.metadata?.namespace}/${owner.name}`] : [];
}

/** A serving Deployment wakes the ModelDeployments that roll it (it carries no label of ours). */
export function wakeUsersOf(
  deployment: KubernetesObject,
  modelDeployments: ModelDeploymentLookup,
): ObjectKey[] {
  const namespace = deployment.metadata?.namespace ?? '';
  return modelDeployments(namespace)
    .filter((md) => md.spec?.deployment?.name === deployment.metadata?.name)
    .map(keyOf);
}

export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;

export const childWatches: readonly ChildWatch[] = [
  {
    name: 'jobs',
    apiPath: '/apis/batch/v1',
    plural: 'jobs',
    labelSelector: MANAGED_SELECTOR,
    list: ({ batch }, namespace) =>
      namespace
        ? batch.listNamespacedJob({ namespace, labelSelector: MANAGED_SELECTOR })
        : batch.listJobForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
    wakes: wakeOwner,
  },
  {
    name: 'deployments',
    apiPath: '/apis/apps/v1',
    plural: 'deployments',
    list: ({ apps }, namespace) =>
      namespace ? apps.listNamespacedDeployment({ namespace }) : apps.listDeploymentForAllNamespaces(),
    wakes: wakeUsersOf,
  },
];
