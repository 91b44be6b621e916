// Step 1: find the model version the spec's stage or alias points at, and record it in status.
import { ConditionType, EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import {
  followedRef,
  RECONCILE_REQUESTED_ANNOTATION,
  type ResolvedModel,
} from '../../api/v1alpha1/modelDeployment.js';
import { MlflowError, type ModelVersion } from '../../clients/mlflow.js';
import { isTrue } from '../../runtime/conditions.js';
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
import { nextPollInMs, shouldPoll } from '../policies/shouldPoll.js';

const VERSION_NOT_READY_RETRY_MS = 10_000;

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
  };
  const why = shouldPoll(pollInput);
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
  let version: ModelVersion;
  try {
    const registry = await deps.registryFor(md);
    version =
      spec.model.alias !== undefined
        ? await registry.getVersionByAlias(spec.model.name, spec.model.alias)
        : await registry.getLatestVersionInStage(spec.model.name, spec.model.stage as string); // one of the two is set
  } catch (err) {
    const failure = registryFailure(err, ctx);
    const { reason, message } =
      failure instanceof Error ? { reason: reasonFrom(failure), message: failure.message } : failure;
    markStep(ctx, ConditionType.ModelResolved)('False', reason, message);
    // A verdict the user must act on counts as a poll: look again at the next interval. Any
    // other failure does not, so the retry polls again even though this reconcile already marks
    // the generation and the reconcile request as handled.
    if (failure instanceof Stalling) deps.polls.record(ctx.key, ctx.now.getTime());
    else deps.polls.forget(ctx.key);
    if (failure instanceof Error) throw failure;
    return failure;
  }
  deps.polls.record(ctx.key, ctx.now.getTime());
  requeueNoLaterThan(ctx, intervalMs + jitter(intervalMs));

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
 * registering is waited for, the rest is retried. */
function registryFailure(err: unknown, ctx: ReconcileContext): Error | Wait {
  if (err instanceof Stalling || err instanceof Transient) return err;
  if (!(err instanceof MlflowError)) return err instanceof Error ? err : new Error(String(err));
  const { model } = ctx.spec;
  switch (err.kind) {
    case 'ModelNotFound':
      return new Stalling(
        Reason.ModelNotFound,
        `${err.message}; register it in MLflow or fix spec.model.name`,
      );
    case 'AliasNotFound':
      return new Stalling(
        Reason.AliasNotFound,
        `${err.message}; set the alias in MLflow or fix spec.model.alias`,
      );
    case 'NoVersionInStage':
      return new Stalling(
        Reason.NoVersionInStage,
        `${err.message}; transition a version to ${model.stage} or fix spec.model.stage`,
      );
    case 'Unauthorized':
      return new Stalling(Reason.RegistryUnauthorized, err.message);
    case 'BadRequest':
      return new Stalling(
        Reason.RegistryRequestRefused,
        `${err.message}; check spec.registry.trackingUri and spec.model`,
      );
    case 'VersionNotReady':
      return wait(Reason.VersionNotReady, err.message, VERSION_NOT_READY_RETRY_MS);
    case 'InvalidResponse':
      return new Transient(Reason.RegistryInvalidResponse, err.message, { cause: err });
    case 'Unreachable':
    case 'ServerError':
      return new Transient(Reason.RegistryUnavailable, err.message, { cause: err });
  }
}

// Up to 10% later, so objects created together do not poll MLflow together.
function jitter(intervalMs: number): number {
  return Math.round(Math.random() * intervalMs * 0.1);
}
