// The metric gate, first step of a run: before anything is built or touched, the metrics the
// candidate version's MLflow run logged must pass spec.analysis.mlflowMetrics, alone and against
// the version that serves. What the numbers mean is a pure policy (policies/judgeMetrics.ts).
// Judged once per run (the MetricsPassed condition, which a new run clears): MLflow is not asked
// again while the run builds, rolls out and tests.
import { ConditionType, Reason } from '../../api/v1alpha1/conditions.js';
import type { ResolvedModel } from '../../api/v1alpha1/modelDeployment.js';
import { MlflowError } from '../../clients/mlflow.js';
import { isTrue } from '../../runtime/conditions.js';
import { Stalling, Transient } from '../../runtime/errors.js';
import { markStep, next, type ModelRegistry, type ReconcileContext, type StepResult } from '../context.js';
import { judgeMetrics, type VersionMetrics } from '../policies/judgeMetrics.js';
import { MLFLOW_ERROR_REASON } from '../registry.js';
import { RunFailed } from '../run.js';
import type { RunPlan } from './planRun.js';

export async function checkMetrics(ctx: ReconcileContext, plan: RunPlan): Promise<StepResult<void>> {
  const checks = ctx.spec.analysis?.mlflowMetrics ?? [];
  if (checks.length === 0 || isTrue(ctx.status.conditions, ConditionType.MetricsPassed))
    return next(undefined);
  const { model } = plan;
  const mark = markStep(ctx, ConditionType.MetricsPassed);
  const registry = await ctx.deps.registryFor(ctx.md);
  const servingVersion = ctx.status.serving?.version;
  const needsServing = servingVersion !== undefined && servingVersion !== model.version;
  const compares = checks.some((c) => c.notWorseThanServing !== undefined);
  const [candidate, serving] = await Promise.all([
    metricsOf(registry, model.name, model.version, model.runId),
    needsServing && compares ? metricsOf(registry, model.name, servingVersion) : undefined,
  ]);
  const verdict = judgeMetrics({ checks, candidate, serving });
  if (verdict.kind === 'failed') {
    const message = `${verdict.message}; register a better version in MLflow, or change spec.analysis.mlflowMetrics`;
    mark('False', Reason.MetricsFailed, message);
    ctx.gates.push({ gate: 'metrics', result: 'failed' });
    throw new RunFailed(Reason.MetricsFailed, message);
  }
  mark('True', Reason.MetricsPassed, verdict.message);
  ctx.gates.push({ gate: 'metrics', result: 'passed' });
  ctx.log.info({ version: model.version }, 'Metrics passed');
  return next(undefined);
}

/** The metrics of a version's run; a version or run MLflow does not have is a missing number for
 * the policy, any other failure is thrown as the resolve step throws it. */
async function metricsOf(
  registry: ModelRegistry,
  name: string,
  version: string,
  knownRunId?: ResolvedModel['runId'],
): Promise<VersionMetrics> {
  try {
    const runId = knownRunId ?? (await registry.getVersion(name, version)).run_id;
    if (!runId) return { version, missing: 'was registered without an MLflow run, so it has no metrics' };
    return { version, runId, metrics: await registry.getRunMetrics(runId) };
  } catch (err) {
    if (err instanceof MlflowError && err.kind === 'NotFound')
      return { version, missing: `cannot be read: ${err.message}` };
    throw asStepError(err);
  }
}

function asStepError(err: unknown): unknown {
  if (!(err instanceof MlflowError)) return err;
  const reason = MLFLOW_ERROR_REASON[err.kind];
  if (err.kind === 'Unauthorized' || err.kind === 'BadRequest') return new Stalling(reason, err.message);
  return new Transient(reason, `reading the version's metrics: ${err.message}`, { cause: err });
}
