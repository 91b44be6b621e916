// A Deployment store that applies JSON patches the way the apiserver does, and the serving
// Deployment the pipeline rolls the model out to.
import type { V1Container, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { applyJsonPatch, type JsonPatchOp } from './jsonPatch.js';
import { NS } from './pipelineFixtures.js';
import { apiError } from './reconcilerFakes.js';

/** The image the serving container runs before the first rollout. */
export const OLD_IMAGE = 'acme/churn-api:bootstrap';

/** The serving Deployment; its api container already claimed by the churn ModelDeployment
 * unless `claimedBy` says otherwise (null: unclaimed). */
export function servingDeployment(
  containers?: V1Container[],
  claimedBy: string | null = 'churn',
): V1Deployment {
  return {
    metadata: {
      name: 'churn-api',
      namespace: NS,
      generation: 1,
      resourceVersion: '1',
      ...(claimedBy !== null ? { annotations: { 'claim.mlops.healthpredict.io/api': claimedBy } } : {}),
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'churn-api' } },
      template: {
        spec: {
          containers: containers ?? [
            { name: 'proxy', image: 'envoy:1.30' },
            { name: 'api', image: OLD_IMAGE, env: [{ name: 'LOG_LEVEL', value: 'info' }] },
          ],
        },
      },
    },
    status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
  };
}

export class FakeApps {
  readonly deployments = new Map<string, V1Deployment>();
  readonly patches: { name: string; ops: JsonPatchOp[]; fieldManager: string | undefined }[] = [];
  /** The ReplicaSets a list answers (the test sets them: nothing here plays the controller). */
  readonly replicaSets: V1ReplicaSet[] = [];
  reads = 0;

  async listNamespacedReplicaSet() {
    return { items: structuredClone(this.replicaSets) };
  }

  async readNamespacedDeployment({ namespace, name }: { namespace: string; name: string }) {
    this.reads++;
    const d = this.deployments.get(`${namespace}/${name}`);
    if (!d) throw apiError(404, `deployments.apps "${name}" not found`);
    return structuredClone(d);
  }

  async patchNamespacedDeployment({
    namespace,
    name,
    body,
    fieldManager,
  }: {
    namespace: string;
    name: string;
    body: JsonPatchOp[];
    fieldManager?: string;
  }) {
    const key = `${namespace}/${name}`;
    const current = this.deployments.get(key);
    if (!current) throw apiError(404);
    this.patches.push({ name, ops: body, fieldManager });
    const next = applyJsonPatch(current, body);
    // What a read gives back: empty strings are omitted (`value` is omitempty in EnvVar).
    for (const c of next.spec?.template.spec?.containers ?? [])
      for (const e of c.env ?? []) if (e.value === '') delete e.value;
    next.metadata = {
      ...next.metadata,
      resourceVersion: String(Number(current.metadata?.resourceVersion ?? 0) + 1),
    };
    // The generation moves only when the spec really changed.
    if (!isDeepStrictEqual(current.spec, next.spec))
      next.metadata = { ...next.metadata, generation: (current.metadata?.generation ?? 0) + 1 };
    this.deployments.set(key, next);
    return structuredClone(next);
  }

  readonly deleted: string[] = [];

  async createNamespacedDeployment({ namespace, body }: { namespace: string; body: V1Deployment }) {
    const key = `${namespace}/${body.metadata?.name}`;
    if (this.deployments.has(key))
      throw apiError(409, `deployments.apps "${body.metadata?.name}" already exists`);
    const created = {
      ...structuredClone(body),
      metadata: { ...body.metadata, generation: 1, resourceVersion: '1' },
    };
    this.deployments.set(key, created);
    return structuredClone(created);
  }

  async replaceNamespacedDeployment({
    namespace,
    name,
    body,
  }: {
    namespace: string;
    name: string;
    body: V1Deployment;
  }) {
    const key = `${namespace}/${name}`;
    const current = this.deployments.get(key);
    if (!current) throw apiError(404);
    if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) throw apiError(409);
    const next: V1Deployment = {
      ...structuredClone(body),
      metadata: {
        ...body.metadata,
        resourceVersion: String(Number(current.metadata?.resourceVersion ?? 0) + 1),
        generation:
          (current.metadata?.generation ?? 0) + (isDeepStrictEqual(current.spec, body.spec) ? 0 : 1),
      },
      ...(current.status ? { status: current.status } : {}),
    };
    this.deployments.set(key, next);
    return structuredClone(next);
  }

  async deleteNamespacedDeployment({ namespace, name }: { namespace: string; name: string }) {
    if (!this.deployments.delete(`${namespace}/${name}`))
      throw apiError(404, `deployments.apps "${name}" not found`);
    this.deleted.push(name);
    return {};
  }

  /** A Deployment as stored now: the serving one by default. */
  get(name = 'churn-api'): V1Deployment {
    return this.deployments.get(`${NS}/${name}`) as V1Deployment;
  }

  container(name = 'api'): V1Container | undefined {
    return this.get().spec?.template.spec?.containers.find((c) => c.name === name);
  }

  /** The Deployment controller's verdict on the current generation. */
  setRolledOut(name?: string): void {
    const d = this.get(name);
    const replicas = d.spec?.replicas ?? 1;
    d.status = {
      observedGeneration: d.metadata?.generation,
      replicas,
      updatedReplicas: replicas,
      availableReplicas: replicas,
      conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
    };
  }

  setDeadlineExceeded(): void {
    const d = this.get();
    d.status = {
      observedGeneration: d.metadata?.generation,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "churn-api-5f7" has timed out progressing.',
        },
      ],
    };
  }
}
