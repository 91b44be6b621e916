// The life of a deployment run: one attempt to deploy one (version, pipeline spec). It starts in
// planRun, may be superseded by a newer one, finishes Succeeded, Failed or RolledBack, and is
// then filed in the bounded status.history; what serves and what is stable are recorded here. Its outcome is remembered, so a failed version is not rebuilt or
// redeployed in a loop.
import { isDeepStrictEqual } from 'node:util';
import { ConditionType, EventReason, RunResult } from '../api/v1alpha1/conditions.js';
import type { ModelDeploymentSpec, ResolvedModel } from '../api/v1alpha1/modelDeployment.js';
import type { Run } from '../api/v1alpha1/pipeline.js';
import type { CancelTarget } from '../builders/builder.js';
import { BUILD_COMPONENT } from '../builders/kanikoJob.js';
import {
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  shortHash,
} from '../children/names.js';
import { removeCondition } from '../runtime/conditions.js';
import { Stalling } from '../runtime/errors.js';
import { deleteJob, jobState } from '../runtime/jobs.js';
import type { ReconcileContext } from './context.js';

/** The conditions of a run's steps: a new run starts without them. */
const RUN_STEP_CONDITIONS = [
  ConditionType.MetricsPassed,
  ConditionType.ImageBuilt,
  ConditionType.ImageScanned,
  ConditionType.Approved,
  ConditionType.Previewed,
  ConditionType.AnalysisPassed,
  ConditionType.CanaryPassed,
  ConditionType.Deployed,
  ConditionType.TestsPassed,
  ConditionType.RolledBack,
];

/** A run that failed (build, rollout or tests). The user must act, so it stalls like any
 * Stalling error, and the reconciler records the run as failed (unless it was rolled back,
 * which the rollback step records itself). */
export class RunFailed extends Stalling {
  constructor(
    reason: string,
    message: string,
    readonly rolledBack = false,
  ) {
    super(reason, message);
  }
}

/** Everything in the spec that changes what a run deploys, or which versions it lets through
 * (analysis: a relaxed check gives a refused version a new run). How a rollout's failure is judged
 * does not (maxRestarts). shortHash drops what is unset, so objects written before a field
 * existed keep their hash. */
export function pipelineHash(spec: ModelDeploymentSpec): string {
  const { image, build, test, analysis, strategy } = spec;
  const deployment = spec.deployment && { ...spec.deployment, maxRestarts: undefined };
  return shortHash({ image, build, deployment, test, analysis, strategy });
}

/** status.serving: the version whose rollout (or rollback) just finished; `since` moves only
 * when what serves changes. */
export function recordServing(ctx: ReconcileContext, version: string, image: string): void {
  const { serving } = ctx.status;
  if (serving?.version === version && serving.image === image) return;
  ctx.status.serving = { version, image, since: ctx.now.toISOString() };
}

/** status.stable: the run of this version passed every step; a later failed run returns here. */
export function recordStable(
  ctx: ReconcileContext,
  version: string,
  image: string,
  env: Record<string, string>,
  since = ctx.now.toISOString(),
): void {
  const { stable } = ctx.status;
  if (stable?.version === version && stable.image === image && isDeepStrictEqual(stable.env, env)) return;
  ctx.status.stable = { version, image, env, since };
}

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
    // What it had built is kept: a later reuse of the tag is checked against its build hash.
    const { image } = status;
    fileRun(ctx, {
      ...previous,
      result: RunResult.Superseded,
      finishedAt: ctx.now.toISOString(),
      ...(image?.builtFor === previous.version ? { image: image.ref, buildHash: image.buildHash } : {}),
    });
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
  delete status.scan;
  delete status.rollout;
  delete status.testJob;
  // The preview stays (the new run updates it, or the next settle removes it); its promotion was
  // the old run's.
  if (status.preview) {
    delete status.preview.promotedAt;
    delete status.preview.analysis;
  }
  // A canary's steps were the old run's: the new run starts them over (the canary itself stays
  // until the new run resizes it, or the next settle removes it).
  if (status.canary) status.canary = { ...status.canary, step: 0, stepStartedAt: ctx.now.toISOString() };
  for (const type of RUN_STEP_CONDITIONS) status.conditions = removeCondition(status.conditions ?? [], type);
  ctx.log.info({ version: model.version, specHash }, 'Started deployment run');
  return run;
}

/** Closes the run in progress, if any, and files it in history. */
export function finishRun(
  ctx: ReconcileContext,
  result: typeof RunResult.Succeeded | typeof RunResult.Failed | typeof RunResult.RolledBack,
  reason?: string,
  message?: string,
): void {
  const run = ctx.status.currentRun;
  if (!run || run.result !== undefined) return;
  const image = ctx.status.rollout?.image ?? ctx.status.image?.ref;
  const buildHash = ctx.status.image?.buildHash;
  const finished: Run = {
    ...run,
    result,
    finishedAt: ctx.now.toISOString(),
    ...(image ? { image } : {}),
    ...(buildHash ? { buildHash } : {}),
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

/** What a new run must not cancel: its own build, when a crash after its start left it. */
export interface OwnWork {
  buildJob: string | undefined;
  /** The registry's region: where a CodeBuild build of the superseded run runs. */
  region: string | undefined;
}

/** Stops and deletes the unfinished work of runs a new run supersedes: every unfinished build
 * and test Job of this object but the new run's own, found by label so that a crash between a
 * run's start and its status write still cancels, and the CodeBuild build status.build names
 * (build ids are random: only status knows it). Call before startRun. Idempotent: what is
 * already gone is fine; any other failure is thrown, so the start is retried with it. */
export async function cancelSupersededWork(ctx: ReconcileContext, own: OwnWork): Promise<void> {
  const { batch, builders } = ctx.deps.pipeline;
  const namespace = ctx.md.metadata.namespace;
  const cancelled: string[] = [];
  const jobs = await batch.listNamespacedJob({
    namespace,
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_INSTANCE}=${ctx.md.metadata.name}`,
  });
  for (const job of jobs.items) {
    const name = job.metadata?.name;
    if (!name || name === own.buildJob || job.metadata?.deletionTimestamp || jobState(job) !== 'Running')
      continue;
    const isBuild = job.metadata?.labels?.[LABEL_COMPONENT] === BUILD_COMPONENT;
    if (isBuild) await builders.kaniko.cancel({ namespace, region: own.region ?? '' }, name);
    else await deleteJob(batch, namespace, name);
    cancelled.push(`${isBuild ? 'build' : 'test'} Job "${name}"`);
  }
  const { build, currentRun } = ctx.status;
  if (build?.builder === 'codebuild' && currentRun?.result === undefined && own.region) {
    const target: CancelTarget = { namespace, region: own.region };
    await builders.codebuild.cancel(target, build.name);
    cancelled.push(`CodeBuild build "${build.name}"`);
  }
  if (cancelled.length === 0) return;
  ctx.log.info({ cancelled }, 'Cancelled superseded work');
  ctx.events.push({
    type: 'Normal',
    reason: EventReason.WorkCancelled,
    message: `Stopped and deleted the unfinished work of the superseded run: ${cancelled.join(', ')}`,
  });
}
