// Builds with a Kaniko Job in the ModelDeployment's namespace. The Job name is deterministic,
// so a restarted operator finds the Job it created instead of starting a second build. The
// digest comes back in the container's termination message (--digest-file=/dev/termination-log).
import type { BatchV1Api, CoreV1Api, V1Job, V1Pod } from '@kubernetes/client-node';
import { buildJobName } from '../children/names.js';
import {
  deleteJob,
  failedCondition,
  jobPods,
  jobState,
  terminatedContainers,
  type JobState,
} from '../runtime/jobs.js';
import { withLogTail } from '../runtime/errors.js';
import { isConflict, isNotFound } from '../runtime/kubeErrors.js';
import { Reason } from '../api/v1alpha1/conditions.js';
import type { KanikoBuildSpec } from '../api/v1alpha1/pipeline.js';
import { DIGEST, type Builder, type BuildRequest, type BuildState, type CancelTarget } from './builder.js';
import { KANIKO_CONTAINER, renderBuildJob } from './kanikoJob.js';

export class KanikoBuilder implements Builder<KanikoBuildSpec> {
  readonly kind = 'kaniko' as const;
  readonly pollIntervalMs = 0; // the Job informer wakes the reconciler

  constructor(
    private readonly batch: BatchV1Api,
    private readonly core: CoreV1Api,
  ) {}

  async start(req: BuildRequest<KanikoBuildSpec>): Promise<string> {
    const job = renderBuildJob({
      md: req.md,
      model: req.model,
      build: req.build,
      destination: `${req.repo.uri}:${req.tag}`,
      buildHash: req.buildHash,
      region: req.repo.region,
    });
    try {
      await this.batch.createNamespacedJob({ namespace: req.md.metadata.namespace, body: job });
    } catch (err) {
      if (!isConflict(err)) throw err; // 409: our Job from an earlier reconcile; observe it
    }
    return job.metadata.name;
  }

  async observe(req: BuildRequest<KanikoBuildSpec>, name: string): Promise<BuildState> {
    const namespace = req.md.metadata.namespace;
    let job: V1Job;
    try {
      job = await this.batch.readNamespacedJob({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) return { phase: 'Missing' };
      throw err;
    }
    const state = jobState(job);
    if (state === 'Running') return { phase: 'Running', message: `build Job "${name}" is running` };
    return buildOutcome(name, state, job, await jobPods(this.core, namespace, name));
  }

  async find(req: BuildRequest<KanikoBuildSpec>): Promise<{ name: string; startedAt: string } | undefined> {
    const name = buildJobName(req.md.metadata.name, req.model.version, req.buildHash);
    try {
      const job = await this.batch.readNamespacedJob({ namespace: req.md.metadata.namespace, name });
      const created = job.metadata?.creationTimestamp;
      return { name, startedAt: (created ? new Date(created) : new Date()).toISOString() };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async cancel({ namespace }: CancelTarget, name: string): Promise<void> {
    await deleteJob(this.batch, namespace, name);
  }
}

/** A finished build Job and its Pods as a build result. Pure. */
export function buildOutcome(
  name: string,
  state: Exclude<JobState, 'Running'>,
  job: V1Job,
  pods: V1Pod[],
): BuildState {
  const terminated = terminatedContainers(pods, KANIKO_CONTAINER);
  if (state === 'Complete') {
    const digest = terminated.find((t) => t.exitCode === 0)?.message?.trim() ?? '';
    if (DIGEST.test(digest)) return { phase: 'Succeeded', digest };
    return {
      phase: 'Failed',
      reason: Reason.BuildDigestMissing,
      message: `build Job "${name}" completed without an image digest in its termination message`,
    };
  }
  const condition = failedCondition(job);
  const log = terminated.find((t) => t.exitCode !== 0)?.message;
  const why = [condition?.reason, condition?.message].filter(Boolean).join(': ');
  return {
    phase: 'Failed',
    reason: Reason.BuildFailed,
    message: withLogTail(`build Job "${name}" failed${why ? `: ${why}` : ''}`, log),
  };
}
