// planRun through the reconciler: when there is nothing to deploy, and which run a reconcile
// works on (failed runs not repeated, retries, new versions and specs, superseding, history).
import { describe, expect, it } from '@jest/globals';
import { RETRY_ANNOTATION, type ModelDeployment } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import {
  BUILD_HASH,
  INTERVAL_MS,
  START,
  setupReconciler,
  type Harness,
} from '../../helpers/reconcilerHarness.js';
import { cond, message, version } from '../../helpers/reconcilerFakes.js';

const { ImageBuilt: IMAGE_BUILT } = ConditionType;

describe('reconciler pipeline: nothing to deploy', () => {
  it('a resolve-only spec (no deployment) makes no pipeline call', async () => {
    const t = setupReconciler();
    t.md().spec = {
      model: { name: 'Churn', alias: 'champion' },
      registry: { trackingUri: 'http://mlflow:5000' },
    } as ModelDeployment['spec'];
    await t.reconcile();
    t.nextPoll();
    await t.reconcile();

    expect(t.ecr.calls).toEqual([]);
    expect(t.kaniko.starts).toEqual([]);
    expect(t.apps.reads).toBe(0);
    expect(t.batch.created).toEqual([]);
    const s = t.status();
    expect(s.phase).toBe('Succeeded');
    expect(s.currentRun).toBeUndefined();
    expect(s.history).toBeUndefined();
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
  });
});

describe('reconciler pipeline: failed runs are not repeated', () => {
  async function failBuild(t: Harness): Promise<void> {
    await t.reconcile();
    t.kaniko.finish({
      phase: 'Failed',
      reason: 'BuildFailed',
      message: 'build Job "x" failed: exit status 1',
    });
    await t.reconcile();
  }

  it('a failed build fails the run and stalls; the Deployment is never patched', async () => {
    const t = setupReconciler();
    await failBuild(t);

    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'BuildFailed' });
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'BuildFailed' });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'False', reason: 'BuildFailed' });
    expect(s.currentRun).toMatchObject({
      version: '3',
      result: 'Failed',
      reason: 'BuildFailed',
      message: 'build Job "x" failed: exit status 1',
      finishedAt: new Date(START).toISOString(),
    });
    expect(s.history).toEqual([s.currentRun]);
    expect(t.apps.reads).toBe(2); // the claim's look before each build step, nothing more
    expect(t.apps.patches).toEqual([]);
    expect(t.events.at(-1)).toEqual({
      type: 'Warning',
      reason: 'BuildFailed',
      message: 'build Job "x" failed: exit status 1',
    });
  });

  it('the next reconciles (and polls of the same version) start no other build', async () => {
    const t = setupReconciler();
    await failBuild(t);
    const observed = t.kaniko.observed.length;
    for (let i = 0; i < 3; i++) {
      t.nextPoll();
      const result = await t.reconcile();
      expect(result.requeueAfterMs).toBeGreaterThanOrEqual(INTERVAL_MS);
    }
    expect(t.registry.calls).toHaveLength(4);
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.kaniko.observed).toHaveLength(observed);
    expect(t.apps.patches).toEqual([]);
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'BuildFailed' });
    expect(message(s, 'Stalled')).toContain(`set the annotation ${RETRY_ANNOTATION} to a new value to retry`);
    expect(s.history).toHaveLength(1);
  });

  it('a new value of the retry annotation starts a new run that builds again', async () => {
    const t = setupReconciler();
    await failBuild(t);
    t.annotate(RETRY_ANNOTATION, '1');
    t.clock.ms += 1000;
    await t.reconcile();

    expect(t.kaniko.starts).toHaveLength(2);
    const s = t.status();
    expect(s.phase).toBe('Building');
    expect(s.currentRun).toMatchObject({ version: '3', retryToken: '1' });
    expect(s.currentRun?.result).toBeUndefined();
    expect(s.build?.name).toBe('kaniko-build-2');
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(s.history).toHaveLength(1); // the failed run
    expect(t.events).toContainEqual({
      type: 'Normal',
      reason: 'DeploymentStarted',
      message: 'Deploying version 3 of "Churn" again (retry requested)',
    });

    // the same value again is not another retry
    t.kaniko.finish({ phase: 'Failed', reason: 'BuildFailed', message: 'again' });
    await t.reconcile();
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.status().history).toHaveLength(2);
  });

  it('a new model version starts a new run', async () => {
    const t = setupReconciler();
    await failBuild(t);
    t.registry.answer = version('4');
    t.nextPoll();
    await t.reconcile();

    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.kaniko.starts[1]).toMatchObject({ model: { version: '4' }, tag: `v4-run-4-${BUILD_HASH}` });
    const s = t.status();
    expect(s.currentRun).toMatchObject({ version: '4' });
    expect(s.currentRun?.result).toBeUndefined();
    expect(s.history?.map((r) => [r.version, r.result])).toEqual([['3', 'Failed']]);
  });

  it('a spec change starts a new run for the same version', async () => {
    const t = setupReconciler();
    await failBuild(t);
    t.editSpec((spec) => ((spec.build as Record<string, unknown>).dockerfile = 'Dockerfile.fixed'));
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.kaniko.starts[1]?.buildHash).not.toBe(t.kaniko.starts[0]?.buildHash);
    expect(t.status().currentRun?.result).toBeUndefined();
  });

  it('a new version while a run is in progress supersedes it', async () => {
    const t = setupReconciler();
    await t.reconcile(); // building v3
    t.registry.answer = version('4');
    t.nextPoll();
    await t.reconcile();
    const s = t.status();
    expect(s.currentRun).toMatchObject({ version: '4' });
    expect(s.history).toEqual([expect.objectContaining({ version: '3', result: 'Superseded' })]);
    expect(s.build).toMatchObject({ version: '4', name: 'kaniko-build-2' });
  });

  it('history is bounded by spec.historyLimit', async () => {
    const t = setupReconciler({ spec: { historyLimit: 2 } });
    for (const v of ['3', '4', '5']) {
      t.registry.answer = version(v);
      t.nextPoll();
      await t.reconcile();
      t.kaniko.finish({ phase: 'Failed', reason: 'BuildFailed', message: `v${v}` });
      await t.reconcile();
    }
    expect(t.status().history?.map((r) => r.version)).toEqual(['5', '4']);
  });
});
