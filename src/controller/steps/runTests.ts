// Step 5: run the test Job against the rolled-out version; its result decides the run.
import type { V1Job } from '@kubernetes/client-node';
import { ConditionType, EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import { isTrue } from '../../runtime/conditions.js';
import { failedCondition, jobPods, jobState, terminatedContainers } from '../../runtime/jobs.js';
import { withLogTail } from '../../runtime/errors.js';
import { isConflict, isNotFound } from '../../runtime/kubeErrors.js';
import { markStep, next, observeStep, wait, type ReconcileContext, type StepResult } from '../context.js';
import { renderTestJob } from '../render/testJob.js';
import { RunFailed } from '../run.js';
import type { RunPlan } from './planRun.js';
import type { RolledOut } from './rollout.js';

const TEST_POLL_MS = 3000;

export async function runTests(
  ctx: ReconcileContext,
  plan: RunPlan,
  rolled: RolledOut,
): Promise<StepResult<void>> {
  const { status, md } = ctx;
  const { model, run, test } = plan;
  if (!test) return next(undefined);
  ctx.phase = 'Testing';
  const { batch, core } = ctx.deps.pipeline;
  const namespace = md.metadata.namespace;
  const mark = markStep(ctx, ConditionType.TestsPassed);
  // A new run (new spec, a retry, a rollback) gets a Job of its own; within a run the name is
  // stable. The Deployment's revision tells runs of the same image apart and, unlike anything
  // in memory, survives a crash: a rollback bumps it, a restarted operator reads it back.
  const job = renderTestJob({
    md,
    model,
    test,
    serviceName: rolled.service ?? plan.deployment.name,
    runKey: [rolled.image, run.specHash, run.retryToken, rolled.revision].filter(Boolean).join('#'),
  });
  const { name } = job.metadata;

  let current: V1Job | undefined;
  try {
    current = await batch.readNamespacedJob({ namespace, name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!current) {
    try {
      current = await batch.createNamespacedJob({ namespace, body: job });
    } catch (err) {
      if (!isConflict(err)) throw err;
      current = await batch.readNamespacedJob({ namespace, name });
    }
  }
  // The Event goes with the status write that first records this Job, so a write lost to a
  // conflict or a crash after the create still announces it on the next reconcile.
  if (status.testJob !== name) {
    ctx.events.push({
      type: 'Normal',
      reason: EventReason.TestStarted,
      message: `Started test Job "${name}" for version ${model.version}`,
    });
  }
  status.testJob = name;

  const state = jobState(current);
  if (state === 'Running') {
    mark('False', Reason.Testing, `test Job "${name}" is running`);
    return wait(Reason.Testing, `testing version ${model.version}`, TEST_POLL_MS);
  }
  if (state === 'Failed') {
    const log = terminatedContainers(await jobPods(core, namespace, name))
      .map((t) => t.message?.trim())
      .find(Boolean);
    const condition = failedCondition(current);
    const message = withLogTail(
      `test Job "${name}" failed${condition?.reason ? ` (${condition.reason})` : ''}`,
      log,
    );
    observeStep(ctx, 'test', 'failed', current.metadata?.creationTimestamp?.toISOString());
    mark('False', Reason.TestsFailed, message);
    throw new RunFailed(Reason.TestsFailed, message);
  }
  if (!isTrue(status.conditions, ConditionType.TestsPassed)) {
    observeStep(ctx, 'test', 'succeeded', current.metadata?.creationTimestamp?.toISOString());
  }
  mark('True', Reason.TestsPassed, `test Job "${name}" succeeded`);
  return next(undefined);
}
