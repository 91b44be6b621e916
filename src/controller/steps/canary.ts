// Canary delivery of a run (spec.strategy.type Canary), after its image is built, scanned and
// approved: the version runs in a canary Deployment beside the serving one, whose Pods the user's
// Service selects too (replica-weighted, no mesh), and goes through spec.strategy.canary.steps:
// setWeight sizes the canary, pause waits (for a duration, or for approval), analysis runs the test
// Job against the canary Service. After the last step the serving Deployment is rolled to the
// version and the canary removed; a failed step removes the canary, and the serving Deployment
// was never changed. status.canary.step is where the run is, so a restarted operator carries on
// from the last step it recorded: every step is idempotent (a size, a deadline, a test Job with a
// fixed name).
import type { V1Deployment } from '@kubernetes/client-node';
import { ConditionType, EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import type { CanaryStatus } from '../../api/v1alpha1/pipeline.js';
import type { CanarySpec, CanaryStep } from '../../api/v1alpha1/strategy.js';
import { sideName } from '../../children/names.js';
import type { PrometheusAnalysis } from '../../api/v1alpha1/analysis.js';
import { parseDurationMs } from '../../runtime/duration.js';
import { renderQuery } from '../policies/judgeMeasurements.js';
import { runPrometheusAnalysis } from './prometheusAnalysis.js';
import {
  markStep,
  next,
  reasonFrom,
  wait,
  type ReconcileContext,
  type StepResult,
  type Stop,
} from '../context.js';
import { servingEnv } from '../render/containerPatch.js';
import { recordStable, RunFailed } from '../run.js';
import { awaitApproval } from './awaitApproval.js';
import type { ServingImage } from './ensureImage.js';
import type { RunPlan } from './planRun.js';
import { startRollback } from './rollBack.js';
import { judgeServing, readServing, rollout } from './rollout.js';
import { runTests } from './runTests.js';
import { applySide, readNamesakeService, removeSide, renderSide } from './sideDeployments.js';

const CANARY_POLL_MS = 2000;

export async function deliverCanary(
  ctx: ReconcileContext,
  plan: RunPlan,
  image: ServingImage,
  canary: CanarySpec,
  claimed: V1Deployment | undefined,
): Promise<Stop> {
  const { model, deployment } = plan;
  const { steps } = canary;
  try {
    const state = canaryState(ctx, model.version, steps);
    while (state.step < steps.length) {
      ctx.phase = 'Canary';
      const done = await runStep(ctx, plan, image, claimed, steps[state.step] as CanaryStep, state);
      if (done.kind !== 'next') return done;
      state.step++;
      state.stepStartedAt = ctx.now.toISOString();
      state.progress = progressOf(steps, state.step);
    }
    markStep(ctx, ConditionType.CanaryPassed)(
      'True',
      Reason.CanaryStepsPassed,
      `all ${steps.length} canary steps passed`,
    );
    const rolled = await rollout(ctx, plan, image, claimed);
    if (rolled.kind !== 'next') return rolled;
    // A testJob analysis step tested the version already; without one, test it as a rolling
    // update does (a Prometheus analysis is no test of the API).
    if (!steps.some((s) => s.analysis?.testJob)) {
      const tested = await runTests(ctx, plan, rolled.value);
      if (tested.kind !== 'next') return tested;
    }
    recordStable(ctx, model.version, rolled.value.image, servingEnv(deployment.env, model));
    await removeCanary(ctx);
    return { kind: 'done' };
  } catch (err) {
    if (!(err instanceof RunFailed)) throw err;
    // Abort: the canary goes; the serving Deployment is rolled back only if promotion changed it.
    if (ctx.status.canary) await removeCanary(ctx);
    return startRollback(ctx, plan, err);
  }
}

/** Removes the canary and forgets it. */
export async function removeCanary(ctx: ReconcileContext): Promise<void> {
  const name = ctx.status.canary?.name ?? sideName(ctx.md.metadata.name, 'canary');
  await removeSide(ctx, 'canary', name);
  delete ctx.status.canary;
}

/** status.canary of this run, started at the first step for a new version. */
function canaryState(ctx: ReconcileContext, version: string, steps: readonly CanaryStep[]): CanaryStatus {
  const current = ctx.status.canary;
  if (current?.version === version) return current;
  const state: CanaryStatus = {
    version,
    name: sideName(ctx.md.metadata.name, 'canary'),
    step: 0,
    progress: progressOf(steps, 0),
    weight: current?.weight ?? 0,
    replicas: current?.replicas ?? 0,
    stepStartedAt: ctx.now.toISOString(),
  };
  ctx.status.canary = state;
  return state;
}

async function runStep(
  ctx: ReconcileContext,
  plan: RunPlan,
  image: ServingImage,
  claimed: V1Deployment | undefined,
  step: CanaryStep,
  state: CanaryStatus,
): Promise<StepResult<void>> {
  const mark = markStep(ctx, ConditionType.CanaryPassed);
  if (step.setWeight !== undefined) return setWeight(ctx, plan, image, claimed, step.setWeight, state);
  if (step.pause?.duration !== undefined) {
    const left = Date.parse(state.stepStartedAt) + parseDurationMs(step.pause.duration) - ctx.now.getTime();
    if (left <= 0) return next(undefined);
    const message = `${state.progress}: ${Math.ceil(left / 1000)} s left`;
    mark('False', Reason.CanaryPaused, message);
    return wait(Reason.CanaryPaused, message, left);
  }
  if (step.pause) return awaitApproval(ctx, plan, true);
  if (step.analysis?.prometheus) return measure(ctx, plan.model.version, step.analysis.prometheus, state);
  // analysis: the test Job against the canary Service, one Job per step.
  mark('False', Reason.CanaryProgressing, `${state.progress}: testing the canary`);
  const rolled = { image: image.ref ?? '', revision: `canary-step-${state.step}`, service: state.name };
  try {
    const tested = await runTests(ctx, plan, rolled);
    state.lastAnalysis = {
      step: state.step,
      testJob: ctx.status.testJob ?? '',
      result: tested.kind === 'next' ? 'Passed' : 'Running',
    };
    if (tested.kind === 'next') ctx.phase = 'Canary';
    return tested;
  } catch (err) {
    state.lastAnalysis = { step: state.step, testJob: ctx.status.testJob ?? '', result: 'Failed' };
    if (err instanceof RunFailed) mark('False', reasonFrom(err), `${state.progress}: ${err.message}`);
    throw err;
  }
}

/** The canary step's Prometheus analysis, counted in status.canary.lastAnalysis. */
async function measure(
  ctx: ReconcileContext,
  version: string,
  check: PrometheusAnalysis,
  state: CanaryStatus,
): Promise<StepResult<void>> {
  const previous = state.lastAnalysis;
  const record =
    previous?.step === state.step && previous.measurements !== undefined
      ? previous
      : { step: state.step, result: 'Running' as const, measurements: 0, failed: 0 };
  state.lastAnalysis = record;
  const query = renderQuery(check.query, {
    namespace: ctx.md.metadata.namespace,
    canary: state.name,
    version,
  });
  return runPrometheusAnalysis(ctx, check, query, record, {
    what: state.progress,
    field: `spec.strategy.canary.steps[${state.step}].analysis.prometheus.query`,
    mark: markStep(ctx, ConditionType.CanaryPassed),
  });
}

/** Sizes the canary to `weight` percent of the serving replicas (at least one Pod) and waits
 * until it is available. */
async function setWeight(
  ctx: ReconcileContext,
  plan: RunPlan,
  image: ServingImage,
  claimed: V1Deployment | undefined,
  weight: number,
  state: CanaryStatus,
): Promise<StepResult<void>> {
  const { deployment: target, model } = plan;
  const mark = markStep(ctx, ConditionType.CanaryPassed);
  const serving = claimed ?? (await readServing(ctx, target));
  const replicas = Math.max(1, Math.ceil(((serving.spec?.replicas ?? 1) * weight) / 100));
  const userService = await readNamesakeService(ctx, target.name);
  const side = renderSide(ctx, 'canary', plan, image, serving, replicas, userService);
  const live = await applySide(ctx, side);
  if (!live) return wait(Reason.CanaryProgressing, state.progress, CANARY_POLL_MS);
  if (state.weight !== weight || state.replicas !== replicas) {
    state.weight = weight;
    state.replicas = replicas;
    ctx.events.push({
      type: 'Normal',
      reason: EventReason.CanaryScaled,
      message: `Canary "${state.name}" of version ${model.version} runs ${replicas} Pod(s), ${weight}% of "${target.name}"'s replicas`,
    });
  }
  const verdict = await judgeServing(
    ctx,
    live,
    { ...target, name: state.name },
    new Date(state.stepStartedAt),
  );
  switch (verdict.kind) {
    case 'progressing':
      mark('False', Reason.CanaryProgressing, `${state.progress}: ${verdict.message}`);
      return wait(Reason.CanaryProgressing, `${state.progress}: ${verdict.message}`, CANARY_POLL_MS);
    case 'failed':
      mark('False', verdict.reason, `${state.progress}: ${verdict.message}`);
      throw new RunFailed(verdict.reason, `canary of version ${model.version}: ${verdict.message}`);
    case 'done':
      return next(undefined);
  }
}

/** "2/5: setWeight 50" for the step at `index` (its count once all passed). */
export function progressOf(steps: readonly CanaryStep[], index: number): string {
  const step = steps[index];
  if (!step) return `${steps.length}/${steps.length}: promoting`;
  const what =
    step.setWeight !== undefined
      ? `setWeight ${step.setWeight}`
      : step.pause
        ? `pause ${step.pause.duration ?? 'until approved'}`
        : step.analysis?.prometheus
          ? 'analysis (prometheus)'
          : 'analysis';
  return `${index + 1}/${steps.length}: ${what}`;
}
