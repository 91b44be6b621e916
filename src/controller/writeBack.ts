// After the pipeline: once a run has finished, write its outcome back to MLflow (tags on its
// version, and optionally an alias on the version that serves now). It runs beside the
// deployment, never inside it: a failure only sets RegistryWriteBack=False and is retried with
// its own backoff; Ready, the run and the serving Deployment stay as they are, and a run is
// written back once (status.registryWriteBack), so a restart never repeats it.
import { ConditionType, Reason, RunResult } from '../api/v1alpha1/conditions.js';
import { MlflowError } from '../clients/mlflow.js';
import { describeError } from '../runtime/errors.js';
import { markStep, reasonFrom, type ReconcileContext } from './context.js';
import { MLFLOW_ERROR_REASON } from './registry.js';
import { runKey, writeBackTags } from './render/writeBackTags.js';

const AFTER_STATUS_WRITE_MS = 500;

/** Writes back the finished run if it is not yet; returns how soon to try again (after a failure,
 * or once the run's finish is stored). */
export async function writeBack(ctx: ReconcileContext): Promise<number | undefined> {
  const spec = ctx.spec.registry?.writeBack;
  const run = ctx.status.currentRun;
  if (!spec || !run?.result || run.result === RunResult.Superseded) return undefined;
  const key = runKey(run);
  if (ctx.status.registryWriteBack?.run === key) return undefined;
  // Only a finish the apiserver already holds is written back: a reconcile that finishes the run
  // (maybe from a stale cache, its status write then refused) must not tell MLflow a finish that
  // is not the one kept. The next reconcile, soon, writes it.
  const stored = ctx.md.status?.currentRun;
  if (!stored?.result || runKey(stored) !== key) return AFTER_STATUS_WRITE_MS;
  const mark = markStep(ctx, ConditionType.RegistryWriteBack);
  const { namespace } = ctx.md.metadata;
  const model = ctx.spec.model.name;
  const retries = ctx.deps.polls.writeBackRetries;
  try {
    const registry = await ctx.deps.registryFor(ctx.md);
    const tags = writeBackTags(spec.tagPrefix, run, { namespace, deployment: ctx.spec.deployment?.name });
    for (const [tag, value] of Object.entries(tags))
      await registry.setVersionTag(model, run.version, tag, value);
    const live = spec.liveAlias && ctx.status.serving?.version;
    if (spec.liveAlias && live) await registry.setAlias(model, spec.liveAlias, live);
    ctx.status.registryWriteBack = { run: key, writtenAt: ctx.now.toISOString() };
    retries.reset(ctx.key);
    mark(
      'True',
      Reason.WrittenBack,
      `version ${run.version} tagged ${spec.tagPrefix}.status=${run.result}` +
        (spec.liveAlias && live ? `; alias "${spec.liveAlias}" points at version ${live}` : ''),
    );
    return undefined;
  } catch (err) {
    const delay = retries.next(ctx.key);
    const reason = writeBackReason(err);
    const todo =
      reason === Reason.RegistryUnauthorized
        ? '; writing needs EDIT permission on the registered model for the credentials in spec.registry.credentialsSecretRef (or remove spec.registry.writeBack)'
        : '';
    const message =
      `writing version ${run.version}'s outcome to MLflow failed: ${describeError(err)}${todo}; ` +
      `the deployment is not affected; retried in ${Math.round(delay / 1000)} s`;
    ctx.log.warn({ err: describeError(err), retryInMs: delay }, 'Registry write-back failed');
    mark('False', reason, message);
    return delay;
  }
}

function writeBackReason(err: unknown): Reason {
  return err instanceof MlflowError ? MLFLOW_ERROR_REASON[err.kind] : reasonFrom(err);
}
