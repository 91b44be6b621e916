// Step 5: run the test Job against the rolled-out version; its result decides the run.
import type { V1Job } from '@kubernetes/client-node';
import { isTrue } from '../../runtime/conditions.js';
import { failedCondition, jobPods, jobState, terminatedContainers } from '../../runtime/jobs.js';
import { isConflict, isNotFound } from '../../runtime/kubeErrors.js';
import { markStep, observeStep, pipelineDeps, type ReconcileContext, type StepResult } from '../context.js';
import { renderTestJob } from '../render/testJob.js';
import { RunFailed } from '../runFailed.js';
import { TESTS_PASSED } from './planRun.js';

const TEST_POLL_MS = 3000;

export async function runTests(ctx: ReconcileContext): Promise<StepResult> {
  const { spec, status, md } = ctx;
  if (!spec.test) return { kind: 'continue' };
  ctx.phase = 'Testing';
  const { batch, core } = pipelineDeps(ctx);
  const model = status.model!;
  const namespace = md.metadata.namespace;
  const mark = markStep(ctx, TESTS_PASSED);
  // A new run (new spec, a retry) gets a Job of its own; within a run the name is stable.
  const image = status.rollout?.image ?? status.image?.ref ?? model.uri;
  const run = status.currentRun;
  const job = renderTestJob(md, model, [image, run?.specHash, run?.retryToken].filter(Boolean).join('#'));
  const name = job.metadata!.name!;

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
      reason: 'TestStarted',
      message: `Started test Job "${name}" for version ${model.version}`,
    });
  }
  status.testJob = name;

  const state = jobState(current);
  if (state === 'Running') {
    mark('False', 'Testing', `test Job "${name}" is running`);
    return {
      kind: 'wait',
      reason: 'Testing',
      message: `testing version ${model.version}`,
      requeueAfterMs: TEST_POLL_MS,
    };
  }
  if (state === 'Failed') {
    const log = terminatedContainers(await jobPods(core, namespace, name))
      .map((t) => t.message?.trim())
      .find(Boolean);
    const condition = failedCondition(current);
    const message =
      `test Job "${name}" failed${condition?.reason ? ` (${condition.reason})` : ''}${log ? `: ${log}` : ''}`.slice(
        0,
        1024,
      );
    observeStep(ctx, 'test', 'failed', current.metadata?.creationTimestamp?.toISOString());
    mark('False', 'TestsFailed', message);
    throw new RunFailed('TestsFailed', message);
  }
  if (!isTrue(status.conditions, TESTS_PASSED)) {
    observeStep(ctx, 'test', 'succeeded', current.metadata?.creationTimestamp?.toISOString());
  }
  mark('True', 'TestsPassed', `test Job "${name}" succeeded`);
  return { kind: 'continue' };
}
