// Step 2: decide whether the resolved version needs a deployment run. A run is one attempt to
// deploy one (version, pipeline spec); its outcome is remembered, so a failed version is not
// rebuilt or redeployed in a loop: only a new version, a spec change or the retry annotation
// starts another.
import { RETRY_ANNOTATION, type ModelDeploymentSpec } from '../../api/v1alpha1/modelDeployment.js';
import type { Run } from '../../api/v1alpha1/pipeline.js';
import { removeCondition } from '../../runtime/conditions.js';
import type { ReconcileContext, StepResult } from '../context.js';
import { recordRun } from '../history.js';
import { shortHash } from '../render/names.js';
import { RunFailed } from '../runFailed.js';

export const IMAGE_BUILT = 'ImageBuilt';
export const DEPLOYED = 'Deployed';
export const TESTS_PASSED = 'TestsPassed';

/** Everything in the spec that changes what a run does. */
export const pipelineHash = (spec: ModelDeploymentSpec): string =>
  shortHash({ image: spec.image, build: spec.build, deployment: spec.deployment, test: spec.test });

export async function planRun(ctx: ReconcileContext): Promise<StepResult> {
  const { spec, status, md } = ctx;
  if (!spec.deployment) return { kind: 'done' }; // resolve-only ModelDeployment
  const model = status.model!;
  const specHash = pipelineHash(spec);
  const retry = md.metadata.annotations?.[RETRY_ANNOTATION];
  const run = status.currentRun;
  const same = run !== undefined && run.version === model.version && run.specHash === specHash;
  const retryRequested = retry !== undefined && retry !== run?.retryToken;

  if (same && run.result === 'Succeeded') return { kind: 'done' };
  if (same && run.result === 'Failed' && !retryRequested) {
    throw new RunFailed(
      run.reason ?? 'RunFailed',
      `${run.message ?? `deploying version ${run.version} failed`}; deploy a new version, change the spec, ` +
        `or set the annotation ${RETRY_ANNOTATION} to a new value to retry`,
    );
  }
  if (same && run.result === undefined) return { kind: 'continue' }; // in progress: carry on

  // A new run. One still in progress for another version or spec is superseded.
  if (run && run.result === undefined) {
    recordRun(status, { ...run, result: 'Superseded', finishedAt: ctx.now.toISOString() }, spec.historyLimit);
  }
  const next: Run = {
    version: model.version,
    ...(model.runId ? { runId: model.runId } : {}),
    specHash,
    startedAt: ctx.now.toISOString(),
    ...(retry !== undefined ? { retryToken: retry } : {}),
  };
  status.currentRun = next;
  delete status.image;
  delete status.build;
  delete status.rollout;
  delete status.testJob;
  for (const type of [IMAGE_BUILT, DEPLOYED, TESTS_PASSED])
    status.conditions = removeCondition(status.conditions ?? [], type);
  ctx.events.push({
    type: 'Normal',
    reason: 'DeploymentStarted',
    message: `Deploying version ${model.version} of "${model.name}"${retryRequested && same ? ' again (retry requested)' : ''}`,
  });
  ctx.log.info({ version: model.version, specHash }, 'Started deployment run');
  return { kind: 'continue' };
}
