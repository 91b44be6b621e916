// Step 1: find the model version the spec's stage or alias points at, and record it in status.
import { ConditionType, EventReason, Reason, RunResult } from '../../api/v1alpha1/conditions.js';
import {
  followedRef,
  RECONCILE_REQUESTED_ANNOTATION,
  type ResolvedModel,
} from '../../api/v1alpha1/modelDeployment.js';
import { MlflowError } from '../../clients/mlflow.js';
import { MLFLOW_ERROR_REASON } from '../registry.js';
import { findCondition, isTrue } from '../../runtime/conditions.js';
import { parseDurationMs } from '../../runtime/duration.js';
import { Stalling, Transient } from '../../runtime/errors.js';
import {
  markStep,
  next,
  reasonFrom,
  requeueNoLaterThan,
  wait,
  type ReconcileContext,
  type StepResult,
  type Wait,
} from '../context.js';
import { nextPollInMs, pollRetryMs, shouldPoll } from '../policies/shouldPoll.js';
import { DEFAULT_POLL_BUDGET_MS } from '../registryPolls.js';

const VERSION_NOT_READY_RETRY_MS = 10_000;
/** Polls that may take an answer another follower got moments ago. */
const SHARED_POLL_REASONS = new Set(['FirstPoll', 'IntervalElapsed', 'RegistryNews']);

export async function resolveModel(ctx: ReconcileContext): Promise<StepResult<ResolvedModel>> {
  ctx.phase = 'Resolving';
  const { spec, md, status, deps } = ctx;
  const intervalMs = parseDurationMs(spec.model.pollInterval);
  const ref = followedRef(spec.model);
  const pollInput = {
    nowMs: ctx.now.getTime(),
    lastPolledAtMs: deps.polls.get(ctx.key),
    intervalMs,
    generation: md.metadata.generation,
    observedGeneration: status.observedGeneration,
    reconcileRequestedAt: md.metadata.annotations?.[RECONCILE_REQUESTED_ANNOTATION],
    lastHandledReconcileAt: status.lastHandledReconcileAt,
    followed: { name: spec.model.name, ref },
    resolved: status.model ? { name: status.model.name, ref: status.model.resolvedFrom } : undefined,
    retryAtMs: deps.polls.requests.retryAt(ctx.key),
  };
  // What this poll asks: an answer to another question (the spec changed meanwhile) is not taken.
  // Followers of the same question share one request: credentials name their namespace, so an
  // answer is shared only between objects that could each have fetched it.
  const secret = spec.registry.credentialsSecretRef?.name;
  const question = JSON.stringify([
    spec.registry.trackingUri,
    secret === undefined ? null : `${md.metadata.namespace}/${secret}`,
    spec.registry.timeoutSeconds,
    spec.model.name,
    ref,
  ]);
  // A request in flight for this object, or an answer newer than its last, is looked at
  // whatever the schedule says.
  const why = deps.polls.requests.has(ctx.key, question, pollInput.lastPolledAtMs)
    ? { reason: 'RegistryNews' }
    : shouldPoll(pollInput);
  if (!why) {
    const due = nextPollInMs(pollInput) + jitter(intervalMs);
    // Not due: carry on with the version already resolved, or keep the last verdict.
    if (status.model && isTrue(status.conditions, ConditionType.ModelResolved)) {
      requeueNoLaterThan(ctx, due);
      return next(status.model);
    }
    return { kind: 'idle', requeueAfterMs: due };
  }

  ctx.log.debug({ reason: why.reason }, 'Polling MLflow');
  if (pollInput.reconcileRequestedAt !== undefined)
    status.lastHandledReconcileAt = pollInput.reconcileRequestedAt;
  const outcome = await deps.polls.requests.poll(ctx.key, {
    question,
    server: serverOf(spec.registry.trackingUri),
    ask: async () => {
      const registry = await deps.registryFor(md);
      return spec.model.alias !== undefined
        ? registry.getVersionByAlias(spec.model.name, spec.model.alias)
        : registry.getLatestVersionInStage(spec.model.name, spec.model.stage as string); // one of the two is set
    },
    // An answer given since this object's last verdict and within one interval is as good as
    // its own poll at that time: its next poll is counted from then.
    maxAgeMs: intervalMs,
    notBeforeMs: pollInput.lastPolledAtMs,
    // Routine polls share; after a spec change or a requested reconcile the user expects a new look.
    fresh: !SHARED_POLL_REASONS.has(why.reason),
  });
  // The version to go on with while MLflow cannot answer: resolved before for what the spec
  // still follows (after a change of model or ref, the old answer says nothing).
  const known =
    status.model &&
    status.model.name === spec.model.name &&
    status.model.resolvedFrom === ref &&
    isTrue(status.conditions, ConditionType.ModelResolved)
      ? status.model
      : undefined;
  if (outcome.kind === 'pending') {
    const message = `MLflow has not answered within ${POLL_BUDGET_TEXT}; the request goes on and its answer is taken when it comes`;
    markReachable(
      ctx,
      'False',
      Reason.RegistrySlow,
      known ? `${message}; ${carriesOn(ctx, known)}` : message,
    );
    // The answer wakes the object; this requeue is only a safety net.
    const safetyMs = (spec.registry.timeoutSeconds ?? 10) * 1000 + 1000;
    if (known) {
      requeueNoLaterThan(ctx, safetyMs);
      return next(known);
    }
    markStep(ctx, ConditionType.ModelResolved)('False', Reason.RegistrySlow, message);
    return wait(Reason.RegistrySlow, message, safetyMs);
  }
  if (outcome.kind === 'failed') {
    const failure = registryFailure(outcome.error, ctx, known && stillServing(ctx, known));
    const { reason, message } =
      failure instanceof Error ? { reason: reasonFrom(failure), message: failure.message } : failure;
    if (failure instanceof Transient && isRegistryOutage(failure)) {
      markReachable(
        ctx,
        'False',
        reason,
        known ? `${message}; ${carriesOn(ctx, known)}` : message,
        known !== undefined,
      );
      if (known) {
        // An outage is not a verdict: go on with the known version and poll again with backoff.
        const failures = deps.polls.requests.failureCount(ctx.key) + 1;
        const retryMs = pollRetryMs(failures, intervalMs);
        deps.polls.requests.recordFailure(ctx.key, ctx.now.getTime() + retryMs);
        deps.polls.forgetVerdict(ctx.key); // due again once the backoff is over
        ctx.log.warn(
          { reason, failures, retryInMs: retryMs },
          'MLflow unavailable; going on with the known version',
        );
        requeueNoLaterThan(ctx, retryMs);
        return next(known);
      }
    } else if (answered(outcome.error)) {
      markReachable(ctx, 'True', Reason.RegistryAnswered, answeredMessage(spec.registry.trackingUri));
    }
    markStep(ctx, ConditionType.ModelResolved)('False', reason, message);
    // A verdict the user must act on counts as a poll: look again at the next interval. Any
    // other failure does not, so the retry polls again even though this reconcile already marks
    // the generation and the reconcile request as handled.
    if (failure instanceof Stalling) {
      deps.polls.record(ctx.key, outcome.atMs);
      deps.polls.requests.recordVerdict(ctx.key);
    } else deps.polls.forgetVerdict(ctx.key);
    if (failure instanceof Error) throw failure;
    return failure;
  }
  const version = outcome.version;
  deps.polls.requests.recordVerdict(ctx.key);
  markReachable(ctx, 'True', Reason.RegistryAnswered, answeredMessage(spec.registry.trackingUri));
  // Counted from when MLflow answered, so followers sharing the answer stay in one wave.
  deps.polls.record(ctx.key, outcome.atMs);
  requeueNoLaterThan(ctx, Math.max(0, outcome.atMs + intervalMs - ctx.now.getTime()) + jitter(intervalMs));

  const previous = status.model;
  const changed = previous?.version !== version.version || previous.name !== spec.model.name;
  const resolved: ResolvedModel = {
    name: spec.model.name,
    version: version.version,
    ...(version.run_id ? { runId: version.run_id } : {}),
    ...(version.source ? { source: version.source } : {}),
    uri: `models:/${spec.model.name}/${version.version}`,
    resolvedFrom: ref,
    resolvedAt: changed || !previous ? ctx.now.toISOString() : previous.resolvedAt,
  };
  status.model = resolved;
  markStep(ctx, ConditionType.ModelResolved)(
    'True',
    Reason.Resolved,
    `${ref} of "${spec.model.name}" is version ${version.version}`,
  );
  if (changed) {
    ctx.events.push({
      type: 'Normal',
      reason: EventReason.NewModelVersion,
      message: `Resolved version ${version.version} of "${spec.model.name}" from ${ref}${previous ? ` (was ${previous.version})` : ''}`,
    });
    ctx.log.info(
      { version: version.version, previous: previous?.version, ref },
      'Resolved new model version',
    );
  }
  return next(resolved);
}

/** Registry failures as step results: what the user must fix stalls, a version MLflow is still
 * registering is waited for, the rest is retried. A verdict the user must act on says what still
 * runs (`still`), before what to do. */
function registryFailure(err: unknown, ctx: ReconcileContext, still?: string): Error | Wait {
  const say = (what: string, todo?: string) => [what, still, todo].filter(Boolean).join('; ');
  if (err instanceof Stalling) return still ? new Stalling(err.reason, say(err.message)) : err;
  if (err instanceof Transient) return err;
  if (!(err instanceof MlflowError)) return err instanceof Error ? err : new Error(String(err));
  const { model } = ctx.spec;
  const reason = MLFLOW_ERROR_REASON[err.kind];
  switch (err.kind) {
    case 'ModelNotFound':
      return new Stalling(reason, say(err.message, 'register it in MLflow or fix spec.model.name'));
    case 'AliasNotFound':
      return new Stalling(reason, say(err.message, 'set the alias in MLflow or fix spec.model.alias'));
    case 'NoVersionInStage':
      return new Stalling(
        reason,
        say(err.message, `transition a version to ${model.stage} or fix spec.model.stage`),
      );
    case 'Unauthorized':
      return new Stalling(reason, say(err.message));
    case 'BadRequest':
    case 'NotFound':
      return new Stalling(reason, say(err.message, 'check spec.registry.trackingUri and spec.model'));
    case 'VersionNotReady':
      return wait(reason, err.message, VERSION_NOT_READY_RETRY_MS);
    case 'InvalidResponse':
    case 'Unreachable':
    case 'ServerError':
      return new Transient(reason, err.message, { cause: err });
  }
}

// Up to 10% later, so objects created together do not poll MLflow together.
function jitter(intervalMs: number): number {
  return Math.round(Math.random() * intervalMs * 0.1);
}

// Said by the RegistryReachable condition: the origin only, never credentials in a URI.
const POLL_BUDGET_TEXT = `${DEFAULT_POLL_BUDGET_MS / 1000} s`;

/** The server a tracking URI names, for the per-server request limit. */
function serverOf(trackingUri: string): string {
  try {
    return new URL(trackingUri).origin;
  } catch {
    return trackingUri;
  }
}

function answeredMessage(trackingUri: string): string {
  return `MLflow at ${serverOf(trackingUri)} answered the last poll`;
}

/** MLflow itself failed or could not be reached, as opposed to saying something about the model. */
function isRegistryOutage(err: Transient): boolean {
  return err.reason === Reason.RegistryUnavailable || err.reason === Reason.RegistryInvalidResponse;
}

/** MLflow answered, even if with a refusal: the registry is reachable. */
function answered(err: unknown): boolean {
  return (
    err instanceof MlflowError &&
    err.kind !== 'Unreachable' &&
    err.kind !== 'ServerError' &&
    err.kind !== 'InvalidResponse'
  );
}

// A Warning when the registry becomes unreachable under a known version: Ready stays as it was,
// so its transition Events say nothing (without a known version they do, with this reason).
function markReachable(
  ctx: ReconcileContext,
  status: 'True' | 'False',
  reason: Reason,
  message: string,
  announce = false,
): void {
  const before = findCondition(ctx.status.conditions, ConditionType.RegistryReachable);
  markStep(ctx, ConditionType.RegistryReachable)(status, reason, message);
  if (announce && status === 'False' && before?.status !== 'False')
    ctx.events.push({ type: 'Warning', reason, message });
}

/** The version that goes on while MLflow cannot say otherwise, as the user sees it. */
function servedVersion(ctx: ReconcileContext): string | undefined {
  const { currentRun, history, serving } = ctx.status;
  if (serving) return serving.version;
  if (currentRun?.result === RunResult.Succeeded) return currentRun.version;
  return history?.find((r) => r.result === RunResult.Succeeded)?.version;
}

function carriesOn(ctx: ReconcileContext, known: ResolvedModel): string {
  const deployment = ctx.spec.deployment?.name;
  const served = servedVersion(ctx);
  if (deployment && served !== undefined)
    return `the Deployment "${deployment}" keeps serving version ${served}; polled again with backoff`;
  return `going on with version ${known.version} resolved before; polled again with backoff`;
}

/** What still runs after a verdict the user must act on: nothing is torn down. */
function stillServing(ctx: ReconcileContext, known: ResolvedModel): string {
  const deployment = ctx.spec.deployment?.name;
  const served = servedVersion(ctx);
  return deployment && served !== undefined
    ? `the Deployment "${deployment}" keeps serving version ${served} (nothing was removed)`
    : `status.model keeps version ${known.version}, resolved before (nothing was removed)`;
}
