// Step 1: find the model version the spec's stage or alias points at, and record it in status.
import {
  followedRef,
  RECONCILE_REQUESTED_ANNOTATION,
  type ResolvedModel,
} from '../../api/v1alpha1/modelDeployment.js';
import { MlflowError, type ModelVersion } from '../../clients/mlflow.js';
import { parseDurationMs } from '../../runtime/duration.js';
import { Stalling, Transient, Waiting, reasonOf } from '../../runtime/errors.js';
import { markStep, requeueNoLaterThan, type ReconcileContext, type StepResult } from '../context.js';
import { nextPollInMs, shouldPoll } from '../policies/shouldPoll.js';

export const MODEL_RESOLVED = 'ModelResolved';
const VERSION_NOT_READY_RETRY_MS = 10_000;

export async function resolveModel(ctx: ReconcileContext): Promise<StepResult> {
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
    const wait = nextPollInMs(pollInput) + jitter(intervalMs);
    // Not due: carry on with the version already resolved, or keep the last verdict.
    if (status.model && status.conditions?.some((c) => c.type === MODEL_RESOLVED && c.status === 'True')) {
      requeueNoLaterThan(ctx, wait);
      return { kind: 'continue' };
    }
    return { kind: 'idle', requeueAfterMs: wait };
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
        : await registry.getLatestVersionInStage(spec.model.name, spec.model.stage as string);
  } catch (err) {
    const stepError = toStepError(err, ctx);
    markStep(ctx, MODEL_RESOLVED)('False', reasonOf(stepError), stepError.message);
    // A verdict the user must act on counts as a poll: look again at the next interval. Any
    // other failure does not, so the backoff retry polls again even though this reconcile
    // already marks the generation and the reconcile request as handled.
    if (stepError instanceof Stalling) deps.polls.record(ctx.key, ctx.now.getTime());
    else deps.polls.forget(ctx.key);
    throw stepError;
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
  markStep(ctx, MODEL_RESOLVED)(
    'True',
    'Resolved',
    `${ref} of "${spec.model.name}" is version ${version.version}`,
  );
  if (changed) {
    ctx.events.push({
      type: 'Normal',
      reason: 'NewModelVersion',
      message: `Resolved version ${version.version} of "${spec.model.name}" from ${ref}${previous ? ` (was ${previous.version})` : ''}`,
    });
    ctx.log.info(
      { version: version.version, previous: previous?.version, ref },
      'Resolved new model version',
    );
  }
  return { kind: 'continue' };
}

/** Registry failures as step errors: what the user must fix stalls; the rest is retried. */
function toStepError(err: unknown, ctx: ReconcileContext): Error {
  if (err instanceof Stalling || err instanceof Transient || err instanceof Waiting) return err;
  if (!(err instanceof MlflowError)) return err instanceof Error ? err : new Error(String(err));
  const { model } = ctx.spec;
  switch (err.kind) {
    case 'ModelNotFound':
      return new Stalling('ModelNotFound', `${err.message}; register it in MLflow or fix spec.model.name`);
    case 'AliasNotFound':
      return new Stalling('AliasNotFound', `${err.message}; set the alias in MLflow or fix spec.model.alias`);
    case 'NoVersionInStage':
      return new Stalling(
        'NoVersionInStage',
        `${err.message}; transition a version to ${model.stage} or fix spec.model.stage`,
      );
    case 'Unauthorized':
      return new Stalling('RegistryUnauthorized', err.message);
    case 'BadRequest':
      return new Stalling(
        'RegistryRequestRefused',
        `${err.message}; check spec.registry.trackingUri and spec.model`,
      );
    case 'VersionNotReady':
      return new Waiting('VersionNotReady', err.message, VERSION_NOT_READY_RETRY_MS);
    case 'InvalidResponse':
      return new Transient('RegistryInvalidResponse', err.message, { cause: err });
    case 'Unreachable':
    case 'ServerError':
      return new Transient('RegistryUnavailable', err.message, { cause: err });
  }
}

// Up to 10% later, so objects created together do not poll MLflow together.
function jitter(intervalMs: number): number {
  return Math.round(Math.random() * intervalMs * 0.1);
}
