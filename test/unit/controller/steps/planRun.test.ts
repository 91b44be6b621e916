// planRun on its own: status before → the step's result, the run and history after. The
// decision itself is policies/decideRun.ts (table-tested there); this checks the step applies it.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import type { ModelDeploymentStatus } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { RETRY_ANNOTATION } from '../../../../src/api/v1alpha1/modelDeployment.js';
import type { Run } from '../../../../src/api/v1alpha1/pipeline.js';
import { pipelineHash, RunFailed } from '../../../../src/controller/run.js';
import { planRun } from '../../../../src/controller/steps/planRun.js';
import { resolvedModel } from '../../helpers/pipelineFixtures.js';
import { setupReconciler } from '../../helpers/reconcilerHarness.js';

const model = resolvedModel();
const STEP_CONDITION = {
  type: ConditionType.ImageBuilt,
  status: 'True' as const,
  reason: 'Built',
  message: '',
  lastTransitionTime: '2025-01-01T00:00:00.000Z',
};

function given(run: Partial<Run> | undefined, annotations: Record<string, string> = {}) {
  const t = setupReconciler();
  t.md().metadata.annotations = annotations;
  const ctx = t.stepContext();
  const status: ModelDeploymentStatus = {
    ...(run
      ? { currentRun: { version: '3', specHash: pipelineHash(ctx.spec), startedAt: 'earlier', ...run } }
      : {}),
    image: { ref: 'old', builtFor: '3' },
    conditions: [STEP_CONDITION],
  };
  ctx.status = structuredClone(status);
  return ctx;
}

describe('planRun', () => {
  it.each([
    [
      'no run yet: a new run, the last run’s steps forgotten',
      undefined,
      {},
      'next',
      undefined,
      0,
      ['DeploymentStarted'],
    ],
    ['a run in progress: carried on, status kept', {}, {}, 'next', undefined, 0, []],
    [
      'a new version: the run in progress is superseded',
      { version: '2' },
      {},
      'next',
      undefined,
      1,
      ['DeploymentStarted'],
    ],
    ['this version deployed: deployed', { result: 'Succeeded' }, {}, 'deployed', 'Succeeded', 0, []],
    [
      'failed, retry asked for: a new run',
      { result: 'Failed', retryToken: 'a' },
      { [RETRY_ANNOTATION]: 'b' },
      'next',
      undefined,
      0,
      ['DeploymentStarted'],
    ],
  ] as const)('%s', async (_name, run, annotations, kind, result, filed, events) => {
    const ctx = given(run, annotations);
    const out = await planRun(ctx, model);
    expect(out.kind).toBe(kind);
    expect(ctx.status.currentRun?.result).toBe(result);
    expect(ctx.status.history?.length ?? 0).toBe(filed);
    expect(ctx.events.map((e) => e.reason)).toEqual(events);
    const started = events.length > 0;
    expect(ctx.status.image).toEqual(started ? undefined : { ref: 'old', builtFor: '3' });
    expect(ctx.status.conditions).toEqual(started ? [] : [STEP_CONDITION]);
    if (out.kind === 'next')
      expect(out.value).toMatchObject({ model, run: ctx.status.currentRun, test: ctx.spec.test });
  });

  it('a superseded run is filed with its result', async () => {
    const ctx = given({ version: '2' });
    await planRun(ctx, model);
    expect(ctx.status.history?.[0]).toMatchObject({ version: '2', result: 'Superseded' });
    expect(ctx.status.currentRun).toMatchObject({ version: '3', startedAt: ctx.now.toISOString() });
  });

  it('a failed run without a retry stalls with its reason, changing nothing', async () => {
    const ctx = given({ result: 'Failed', reason: 'TestsFailed', message: 'tests failed' });
    const before = structuredClone(ctx.status);
    await expect(planRun(ctx, model)).rejects.toThrow(RunFailed);
    expect(ctx.status).toEqual(before);
  });

  it('hands later steps the narrowed build: kaniko with its context and image settings', async () => {
    const out = await planRun(given(undefined), model);
    expect(out.kind === 'next' && out.value.images).toMatchObject({
      builder: 'kaniko',
      build: { builder: 'kaniko', context: expect.any(String) },
      image: { repository: expect.any(String) },
    });
  });

  it('a resolve-only spec (no deployment) is done at once', async () => {
    const ctx = given(undefined);
    delete ctx.spec.deployment;
    expect(await planRun(ctx, model)).toEqual({ kind: 'done' });
  });
});

describe('pipelineHash', () => {
  const spec = setupReconciler().stepContext().spec;
  it('changes with what a run deploys, not with how its failure is judged', () => {
    const deployment = spec.deployment!;
    // Objects written before maxRestarts existed keep their hash: no run restarts on upgrade.
    const older = structuredClone(deployment) as Partial<typeof deployment>;
    delete older.maxRestarts;
    expect(pipelineHash({ ...spec, deployment: older as typeof deployment })).toBe(pipelineHash(spec));
    expect(pipelineHash({ ...spec, deployment: { ...deployment, maxRestarts: 9 } })).toBe(pipelineHash(spec));
    expect(pipelineHash({ ...spec, rollback: { onFailure: false } })).toBe(pipelineHash(spec));
    expect(pipelineHash({ ...spec, deployment: { ...deployment, container: 'other' } })).not.toBe(
      pipelineHash(spec),
    );
  });
});
