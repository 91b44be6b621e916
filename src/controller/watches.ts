// What the operator watches, what of it the caches keep, and which ModelDeployments each change
// wakes: ModelDeployments themselves; the Jobs it created (their owner); the Deployments a
// ModelDeployment serves from. The mappers are pure: the informer caches are passed in as a lookup.
import type { KubernetesObject } from '@kubernetes/client-node';
import { GROUP, KIND, type ModelDeployment } from '../api/v1alpha1/modelDeployment.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../children/names.js';
import { keyOf, type ObjectKey } from '../runtime/informer.js';
import { withoutManagedFields } from '../runtime/reflector.js';

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
  /** What of an object the cache keeps. */
  keep(obj: KubernetesObject, modelDeployments: ModelDeploymentLookup): KubernetesObject;
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

/** A Deployment wakes the ModelDeployments that roll it (a serving Deployment carries no label of
 * ours) and the one that owns it (a blue-green preview). */
export function wakeDeploymentUsers(
  deployment: KubernetesObject,
  modelDeployments: ModelDeploymentLookup,
): ObjectKey[] {
  const users = wakeUsersOf(deployment, modelDeployments);
  const owner = wakeOwner(deployment);
  return owner.length === 0 ? users : [...new Set([...users, ...owner])];
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

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A Deployment as the cache keeps it: whole (without managed fields and kubectl's copy of the
 * manifest) when a ModelDeployment serves from it or owns it, else only what maps its events: every
 * Deployment of the cluster is watched, and most are none of the operator's business. */
export function keepDeployment(
  deployment: KubernetesObject,
  modelDeployments: ModelDeploymentLookup,
): KubernetesObject {
  if (wakeDeploymentUsers(deployment, modelDeployments).length === 0) {
    const { name, namespace, uid, resourceVersion } = deployment.metadata ?? {};
    return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, uid, resourceVersion } };
  }
  const kept = withoutManagedFields(deployment);
  const annotations = kept.metadata?.annotations;
  if (annotations && LAST_APPLIED in annotations) {
    const rest = { ...annotations };
    delete rest[LAST_APPLIED];
    return { ...kept, metadata: { ...kept.metadata, annotations: rest } };
  }
  return kept;
}

export const childWatches: readonly ChildWatch[] = [
  {
    name: 'jobs',
    apiPath: '/apis/batch/v1',
    plural: 'jobs',
    labelSelector: MANAGED_SELECTOR,
    keep: (job) => withoutManagedFields(job),
    wakes: wakeOwner,
  },
  {
    name: 'deployments',
    apiPath: '/apis/apps/v1',
    plural: 'deployments',
    keep: keepDeployment,
    wakes: wakeDeploymentUsers,
  },
];
