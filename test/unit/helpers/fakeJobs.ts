// A Job store (BatchV1Api) that also answers the Pod list (CoreV1Api) of a Job's Pods; the test
// finishes Jobs by hand.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
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
