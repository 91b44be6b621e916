// A Job store (BatchV1Api) that also answers the Pod list (CoreV1Api) of a Job's Pods and keeps
// Services (CoreV1Api, JSON patches applied as the apiserver does); the test finishes Jobs by hand.
import type { V1Job, V1Pod, V1Service } from '@kubernetes/client-node';
import { applyJsonPatch, type JsonPatchOp } from './jsonPatch.js';
import { NS } from './pipelineFixtures.js';
import { apiError } from './reconcilerFakes.js';

export class FakeBatch {
  readonly jobs = new Map<string, V1Job>();
  readonly created: V1Job[] = [];
  readonly pods = new Map<string, V1Pod[]>();

  async createNamespacedJob({ namespace, body }: { namespace: string; body: V1Job }) {
    const key = `${namespace}/${body.metadata?.name}`;
    if (this.jobs.has(key)) throw apiError(409, `jobs.batch "${body.metadata?.name}" already exists`);
    this.created.push(structuredClone(body));
    this.jobs.set(key, structuredClone(body));
    return structuredClone(body);
  }

  async readNamespacedJob({ namespace, name }: { namespace: string; name: string }) {
    const job = this.jobs.get(`${namespace}/${name}`);
    if (!job) throw apiError(404, `jobs.batch "${name}" not found`);
    return structuredClone(job);
  }

  readonly deleted: string[] = [];

  async listNamespacedJob({ namespace, labelSelector }: { namespace: string; labelSelector: string }) {
    const wanted = labelSelector.split(',').map((kv) => kv.split('=') as [string, string]);
    const items = [...this.jobs.entries()]
      .filter(([key]) => key.startsWith(`${namespace}/`))
      .map(([, job]) => job)
      .filter((job) => wanted.every(([k, v]) => job.metadata?.labels?.[k] === v));
    return { items: structuredClone(items) };
  }

  async deleteNamespacedJob({ namespace, name }: { namespace: string; name: string }) {
    if (!this.jobs.delete(`${namespace}/${name}`)) throw apiError(404, `jobs.batch "${name}" not found`);
    this.deleted.push(name);
    return {};
  }

  async listNamespacedPod({ labelSelector }: { namespace: string; labelSelector: string }) {
    const name = labelSelector.replace('batch.kubernetes.io/job-name=', '');
    return { items: this.pods.get(name) ?? [] };
  }

  readonly services = new Map<string, V1Service>();
  readonly servicePatches: { name: string; ops: JsonPatchOp[] }[] = [];

  async readNamespacedService({ namespace, name }: { namespace: string; name: string }) {
    const service = this.services.get(`${namespace}/${name}`);
    if (!service) throw apiError(404, `services "${name}" not found`);
    return structuredClone(service);
  }

  async createNamespacedService({ namespace, body }: { namespace: string; body: V1Service }) {
    const key = `${namespace}/${body.metadata?.name}`;
    if (this.services.has(key)) throw apiError(409, `services "${body.metadata?.name}" already exists`);
    this.services.set(key, {
      ...structuredClone(body),
      metadata: { ...body.metadata, resourceVersion: '1' },
    });
    return structuredClone(this.services.get(key) as V1Service);
  }

  async replaceNamespacedService({
    namespace,
    name,
    body,
  }: {
    namespace: string;
    name: string;
    body: V1Service;
  }) {
    const key = `${namespace}/${name}`;
    const current = this.services.get(key);
    if (!current) throw apiError(404);
    if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) throw apiError(409);
    const next = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: bump(current) } };
    this.services.set(key, next);
    return structuredClone(next);
  }

  async patchNamespacedService({
    namespace,
    name,
    body,
  }: {
    namespace: string;
    name: string;
    body: JsonPatchOp[];
  }) {
    const key = `${namespace}/${name}`;
    const current = this.services.get(key);
    if (!current) throw apiError(404);
    this.servicePatches.push({ name, ops: body });
    const next = applyJsonPatch(current, body);
    next.metadata = { ...next.metadata, resourceVersion: bump(current) };
    this.services.set(key, next);
    return structuredClone(next);
  }

  async deleteNamespacedService({ namespace, name }: { namespace: string; name: string }) {
    if (!this.services.delete(`${namespace}/${name}`)) throw apiError(404, `services "${name}" not found`);
    return {};
  }

  /** Ends a Job; a failed one leaves a Pod whose container says why. */
  finish(name: string, result: 'Complete' | 'Failed', terminationMessage?: string): void {
    const job = this.jobs.get(`${NS}/${name}`);
    if (!job) throw new Error(`no Job ${name}`);
    job.status = {
      conditions: [
        result === 'Complete'
          ? { type: 'Complete', status: 'True' }
          : {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
      ],
    };
    const containerName = job.spec?.template.spec?.containers[0]?.name ?? 'test';
    this.pods.set(name, [
      {
        status: {
          containerStatuses: [
            {
              name: containerName,
              image: '',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode: result === 'Complete' ? 0 : 1,
                  ...(terminationMessage !== undefined ? { message: terminationMessage } : {}),
                },
              },
            },
          ],
        },
      },
    ]);
  }

  /** The test Jobs created so far (build Jobs left out). */
  testJobs(): V1Job[] {
    return this.created.filter((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'model-test');
  }
}

const bump = (obj: { metadata?: { resourceVersion?: string } }) =>
  String(Number(obj.metadata?.resourceVersion ?? 0) + 1);
