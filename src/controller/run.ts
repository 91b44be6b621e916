// The life of a deployment run: one attempt to deploy one (version, pipeline spec). It starts in
// planRun, may be superseded by a newer one, finishes Succeeded or Failed, and is then filed in
// the bounded status.history. Its outcome is remembered, so a failed version is not rebuilt or
// redeployed in a loop.
import { ConditionType, RunResult } from '../api/v1alpha1/conditions.js';
import type { ModelDeploymentSpec, ResolvedModel } from '../api/v1alpha1/modelDeployment.js';
import type { Run } from '../api/v1alpha1/pipeline.js';
import { shortHash } from '../children/names.js';
import { removeCondition } from '../runtime/conditions.js';
import { Stalling } from '../runtime/errors.js';
import type { ReconcileContext } from './context.js';

/** The conditions of a run's steps: a new run starts without them. */
const RUN_STEP_CONDITIONS = [ConditionType.ImageBuilt, ConditionType.Deployed, ConditionType.TestsPassed];

/** A run that failed (build, rollout or tests). The user must act, so it stalls like any
 * Stalling error, and the reconciler records the run as failed. */
export class RunFailed extends Stalling {}

/** Everything in the spec that changes what a run does. */
export const pipelineHash = (spec: ModelDeploymentSpec): string =>
  shortHash({ image: spec.image, build: spec.build, deployment: spec.deployment, test: spec.test });

/** Starts a run of `model`, superseding one still in progress, and forgets the last run's steps. */
export function startRun(
  ctx: ReconcileContext,
  model: ResolvedModel,
  specHash: string,
  retryToken: string | undefined,
): Run {
  const { status } = ctx;
  const previous = status.currentRun;
  if (previous && previous.result === undefined) {
    fileRun(ctx, { ...previous, result: RunResult.Superseded, finishedAt: ctx.now.toISOString() });
  }
  const run: Run = {
    version: model.version,
    ...(model.runId ? { runId: model.runId } : {}),
    specHash,
    startedAt: ctx.now.toISOString(),
    ...(retryToken !== undefined ? { retryToken } : {}),
  };
  status.currentRun = run;
  delete status.image;
  delete status.build;
  delete status.rollout;
  delete status.testJob;
  for (const type of RUN_STEP_CONDITIONS) status.conditions = removeCondition(status.conditions ?? [], type);
  ctx.log.info({ version: model.version, specHash }, 'Started deployment run');
  return run;
}

/** Closes the run in progress, if any, and files it in history. */
export function finishRun(
  ctx: ReconcileContext,
  result: typeof RunResult.Succeeded | typeof RunResult.Failed,
  reason?: string,
  message?: string,
): void {
  const run = ctx.status.currentRun;
  if (!run || run.result !== undefined) return;
  const image = ctx.status.rollout?.image ?? ctx.status.image?.ref;
  const finished: Run = {
    ...run,
    result,
    finishedAt: ctx.now.toISOString(),
    ...(image ? { image } : {}),
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  };
  ctx.status.currentRun = finished;
  fileRun(ctx, finished);
  ctx.log.info({ version: run.version, result, reason }, 'Finished deployment run');
}

/** status.history: finished runs, newest first, bounded by spec.historyLimit. */
function fileRun(ctx: ReconcileContext, run: Run): void {
  ctx.status.history = [run, ...(ctx.status.history ?? [])].slice(0, ctx.spec.historyLimit ?? 10);
}
