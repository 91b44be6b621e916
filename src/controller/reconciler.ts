// The ModelDeployment reconciler: ordered steps sharing one context, each handing its typed
// result to the next, and a summary that always runs at the end and writes status only when it
// changed.
import {
  API_VERSION,
  GROUP,
  KIND,
  ModelDeploymentSpecStrictSchema,
  nameIssue,
  PLURAL,
  VERSION,
  type ModelDeploymentStatus,
} from '../api/v1alpha1/modelDeployment.js';
import { Reason, RunResult } from '../api/v1alpha1/conditions.js';
import { parseDurationMs } from '../runtime/duration.js';
import { done, requeueAfter, type Result } from '../runtime/controller.js';
import {
  MAX_MESSAGE_LENGTH,
  Stalling,
  boundMessage,
  cleanMessage,
  describeError,
} from '../runtime/errors.js';
import { splitKey } from '../runtime/informer.js';
import {
  isConflict,
  isForbidden,
  isInvalidObject,
  isNotFound,
  kubeMessageOf,
  rejectionMessageOf,
} from '../runtime/kubeErrors.js';
import { newContext, reasonFrom, type ReconcileContext, type ReconcilerDeps, type Stop } from './context.js';
import { servingEnv } from './render/containerPatch.js';
import { finishRun, recordStable, RunFailed } from './run.js';
import { awaitApproval } from './steps/awaitApproval.js';
import { blueGreenOf, canaryOf } from '../api/v1alpha1/strategy.js';
import { deliverBlueGreen } from './steps/blueGreen.js';
import { deliverCanary } from './steps/canary.js';
import { checkMetrics } from './steps/checkMetrics.js';
import { claimTarget, releaseClaim } from './steps/claimTarget.js';
import { ensureImage } from './steps/ensureImage.js';
import { keepDeployed } from './steps/keepDeployed.js';
import { planRun } from './steps/planRun.js';
import { resolveModel } from './steps/resolveModel.js';
import { rollBack, startRollback } from './steps/rollBack.js';
import { settleSideDeployments } from './settleSideDeployments.js';
import { writeBack } from './writeBack.js';
import { rollout } from './steps/rollout.js';
import { runTests } from './steps/runTests.js';
import { scanImage } from './steps/scanImage.js';
import { summarize, transitionEvents, type Outcome } from './summarize.js';

const CONFLICT_RETRY_MS = 500;
const STALE_VIEW_RETRY_MS = 200;

/** The pipeline: each step hands its typed result to the next, or stops the reconcile. */
async function runSteps(ctx: ReconcileContext): Promise<Stop> {
  const model = await resolveModel(ctx);
  if (model.kind !== 'next') return model;
  const planned = await planRun(ctx, model.value);
  if (planned.kind === 'deployed') return keepDeployed(ctx, planned);
  if (planned.kind !== 'next') return planned;
  const plan = planned.value;
  if (plan.run.rollback) return rollBack(ctx, plan);
  const checked = await checkMetrics(ctx, plan);
  if (checked.kind !== 'next') return checked;
  const claimed = await claimTarget(ctx, plan);
  if (claimed.kind !== 'next') return claimed;
  const built = await ensureImage(ctx, plan);
  if (built.kind !== 'next') return built;
  const image = await scanImage(ctx, plan, built.value);
  if (image.kind !== 'next') return image;
  const blueGreen = blueGreenOf(ctx.spec.strategy);
  if (blueGreen) {
    // The preview is what a person approves: blue-green asks after its tests, not before.
    return deliverBlueGreen(ctx, plan, image.value, blueGreen, claimed.value);
  }
  const approved = awaitApproval(ctx, plan);
  if (approved.kind !== 'next') return approved;
  const canary = canaryOf(ctx.spec.strategy);
  if (canary) return deliverCanary(ctx, plan, image.value, canary, claimed.value);
  try {
    const rolled = await rollout(ctx, plan, image.value, claimed.value);
    if (rolled.kind !== 'next') return rolled;
    const tested = await runTests(ctx, plan, rolled.value);
    if (tested.kind !== 'next') return tested;
    const { model, deployment } = plan;
    recordStable(ctx, model.version, rolled.value.image, servingEnv(deployment.env, model));
    return { kind: 'done' };
  } catch (err) {
    // The serving container may now run the failed version: undo that first.
    if (err instanceof RunFailed) return startRollback(ctx, plan, err);
    throw err;
  }
}

export function makeReconciler(deps: ReconcilerDeps): (key: string) => Promise<Result> {
  return async (key) => {
    const md = deps.get(key);
    if (!md) {
      deps.polls.forget(key);
      const { namespace, name } = splitKey(key);
      deps.metrics.forget(namespace, name);
      deps.events.forget(namespace, name);
      return done();
    }
    if (md.metadata.deletionTimestamp) {
      await releaseClaim(deps, md); // thrown: backoff retry
      return done();
    }
    if (md.spec?.suspend) return done();
    // Our last status write is not in the cache yet: this view predates it. Acting on it could
    // create again what that write recorded as removed (a preview, a canary); look again soon.
    if (deps.ownWrites?.lagging(md.metadata.namespace, md.metadata.name))
      return requeueAfter(STALE_VIEW_RETRY_MS);
    const ctx = newContext(deps, key, md);
    const { outcome, result: pipelineResult, failure: pipelineFailure, specChecked } = await runPipeline(ctx);
    // Beside the pipeline, never inside it: its failure changes only when we look again.
    const retryWriteBackMs = specChecked && pipelineFailure === undefined ? await writeBack(ctx) : undefined;
    let settleMs: number | undefined;
    let failure = pipelineFailure;
    try {
      settleMs = specChecked ? await settleSideDeployments(ctx) : undefined;
    } catch (err) {
      failure ??= err; // backoff retry; the pipeline's own failure says more
    }
    const soonest = Math.min(retryWriteBackMs ?? Infinity, settleMs ?? Infinity);
    const result =
      soonest === Infinity
        ? pipelineResult
        : requeueAfter(Math.min(pipelineResult.requeueAfterMs ?? Infinity, soonest));
    try {
      await writeStatus(ctx, outcome, deps);
    } catch (err) {
      if (isNotFound(err)) return done(); // deleted meanwhile
      if (isConflict(err)) return requeueAfter(CONFLICT_RETRY_MS); // our view was stale; the informer has news
      throw err;
    }
    if (failure !== undefined) throw failure; // backoff retry, after the status says why
    return result;
  };
}

interface Verdict {
  outcome: Outcome;
  result: Result;
  /** A transient error to rethrow after the status is written, so the queue backs off. */
  failure?: unknown;
  /** The spec passed the strict schema (ctx.spec carries its defaults). */
  specChecked?: boolean;
}

async function runPipeline(ctx: ReconcileContext): Promise<Verdict> {
  let specChecked = false;
  try {
    // An older CRD let longer names in; their children could never be labelled.
    const badName = nameIssue(ctx.md.metadata.name);
    if (badName) throw new Stalling(Reason.InvalidSpec, `${badName}; recreate it under a shorter name`);
    const parsed = ModelDeploymentSpecStrictSchema.safeParse(ctx.md.spec);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Stalling(
        Reason.InvalidSpec,
        `spec.${issue?.path.join('.')}: ${issue?.message}; fix the ModelDeployment`,
      );
    }
    ctx.spec = parsed.data;
    specChecked = true;
    return { ...verdictOf(ctx, await runSteps(ctx)), specChecked };
  } catch (err) {
    return { ...fromError(ctx, err), specChecked };
  }
}

function verdictOf(ctx: ReconcileContext, stop: Stop): Verdict {
  switch (stop.kind) {
    case 'idle':
      return { outcome: { kind: 'idle' }, result: requeueAfter(stop.requeueAfterMs) };
    case 'wait':
      return {
        outcome: { kind: 'progressing', reason: stop.reason, message: stop.message },
        result: requeueAfter(stop.requeueAfterMs),
      };
    case 'done':
      finishRun(ctx, RunResult.Succeeded);
      return {
        outcome: { kind: 'succeeded', message: readyMessage(ctx) },
        result: ctx.requeueAfterMs !== undefined ? requeueAfter(ctx.requeueAfterMs) : done(),
      };
  }
}

function fromError(ctx: ReconcileContext, err: unknown): Verdict {
  if (isForbidden(err)) {
    // RBAC refused a call: retrying cannot help until someone grants the verb.
    return fromError(
      ctx,
      new Stalling(
        Reason.Forbidden,
        `${kubeMessageOf(err)}; grant the operator's ServiceAccount this permission`,
      ),
    );
  }
  if (isInvalidObject(err)) {
    // The apiserver refused an object rendered from the spec (400/422): the same spec gets the
    // same answer, so stall instead of retrying; its causes say what to fix.
    const hint = '; fix the ModelDeployment spec';
    return fromError(
      ctx,
      new Stalling(
        Reason.ObjectRejected,
        boundMessage(rejectionMessageOf(err), MAX_MESSAGE_LENGTH - hint.length) + hint,
      ),
    );
  }
  const reason = reasonFrom(err);
  // Written to the conditions, the history and an Event: short, the same on every attempt.
  const message = cleanMessage(describeError(err));
  if (err instanceof RunFailed) finishRun(ctx, RunResult.Failed, reason, message);
  if (err instanceof Stalling) {
    ctx.log.warn({ reason, message }, 'Stalled');
    const { pollInterval } = ctx.md.spec?.model ?? {};
    // The fix may happen outside the cluster (in MLflow), so look again once per poll interval.
    const again = ctx.requeueAfterMs ?? safeInterval(pollInterval);
    const phase = err instanceof RunFailed && err.rolledBack ? 'RolledBack' : 'Failed';
    return { outcome: { kind: 'stalled', reason, message, phase }, result: requeueAfter(again) };
  }
  return { outcome: { kind: 'retrying', reason, message }, result: done(), failure: err };
}

function readyMessage(ctx: ReconcileContext): string {
  const { model, currentRun, rollout } = ctx.status;
  if (!model) return 'Up to date';
  if (currentRun?.result === 'Succeeded' && currentRun.version === model.version) {
    return `Version ${model.version} of "${model.name}" is deployed${rollout?.image ? ` as ${rollout.image}` : ''}`;
  }
  return `Version ${model.version} of "${model.name}" resolved from ${model.resolvedFrom}`;
}

// An invalid spec can stall before the interval is known; fall back to the default.
function safeInterval(pollInterval: string | undefined): number {
  try {
    return parseDurationMs(pollInterval ?? '60s');
  } catch {
    return 60_000;
  }
}

async function writeStatus(ctx: ReconcileContext, outcome: Outcome, deps: ReconcilerDeps): Promise<void> {
  const before = ctx.md.status;
  const after: ModelDeploymentStatus = summarize({
    status: ctx.status,
    outcome,
    activePhase: ctx.phase,
    generation: ctx.md.metadata.generation,
    now: ctx.now,
  });
  const { namespace, name, resourceVersion } = ctx.md.metadata;
  deps.metrics.phase(namespace, name, after.phase);
  const wrote = await deps.statusPatcher.patch(
    { group: GROUP, version: VERSION, plural: PLURAL, namespace, name },
    resourceVersion,
    before as Record<string, unknown> | undefined,
    after as Record<string, unknown>,
  );
  if (wrote === false) return;
  deps.ownWrites?.wrote({ metadata: { namespace, name, resourceVersion: wrote } });
  ctx.log.debug({ phase: after.phase }, 'Patched status');
  for (const d of ctx.stepDurations) deps.metrics.step(d.step, d.result, d.seconds);
  for (const r of ctx.rollbacks) deps.metrics.rollback(r.reason, r.result);
  for (const g of ctx.gates) deps.metrics.gate(g.gate, g.result);
  const target = { apiVersion: API_VERSION, kind: KIND, metadata: ctx.md.metadata };
  for (const e of [...ctx.events, ...transitionEvents(before, after, ctx.events)]) {
    deps.events.record(target, e.type, e.reason, e.message); // queued, written in the background
  }
}
