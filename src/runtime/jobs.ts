// Reading (and deleting) batch/v1 Jobs the way the Job controller reports them: shared by the build and test
// steps, which both run one Job and judge it by its conditions and its Pods' termination messages.
import type {
  BatchV1Api,
  CoreV1Api,
  V1ContainerStateTerminated,
  V1Job,
  V1JobCondition,
  V1Pod,
} from '@kubernetes/client-node';
import { isNotFound } from './kubeErrors.js';

export type JobState = 'Running' | 'Complete' | 'Failed';

export function jobState(job: V1Job): JobState {
  const done = (type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  if (done('Complete')) return 'Complete';
  if (done('Failed')) return 'Failed';
  return 'Running';
}

/** The condition that says why a Job failed, if it did. */
export function failedCondition(job: V1Job): V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
}

/** The Pods the Job controller created for the Job. */
export async function jobPods(
  core: Pick<CoreV1Api, 'listNamespacedPod'>,
  namespace: string,
  name: string,
): Promise<V1Pod[]> {
  const pods = await core.listNamespacedPod({
    namespace,
    labelSelector: `batch.kubernetes.io/job-name=${name}`,
  });
  return pods.items;
}

/** How the containers of these Pods ended, in Pod order; only `container` when given. */
export function terminatedContainers(pods: V1Pod[], container?: string): V1ContainerStateTerminated[] {
  return pods
    .flatMap((p) => p.status?.containerStatuses ?? [])
    .filter((c) => container === undefined || c.name === container)
    .map((c) => c.state?.terminated)
    .filter((t) => t !== undefined);
}

/** Deletes a Job and, in the background, its Pods (the kubelet stops their containers); a Job
 * already gone is fine. */
export async function deleteJob(
  batch: Pick<BatchV1Api, 'deleteNamespacedJob'>,
  namespace: string,
  name: string,
): Promise<void> {
  try {
    await batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
