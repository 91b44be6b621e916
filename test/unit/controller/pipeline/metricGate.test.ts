// The metric gate through the reconciler: before anything is built or the serving Deployment is
// touched, the candidate's MLflow metrics must pass spec.analysis.mlflowMetrics.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { DIGEST_A, DIGEST_B } from '../../helpers/pipelineFixtures.js';
import { BUILD_HASH, TAG, deployAndRollOut, setupReconciler } from '../../helpers/reconcilerHarness.js';
import { MlflowError } from '../../../../src/clients/mlflow.js';
import { cond, message, version } from '../../helpers/reconcilerFakes.js';

const { MetricsPassed: METRICS } = ConditionType;
const analysis = {
  mlflowMetrics: [
    { name: 'rmse', better: 'Lower', threshold: '0.3', notWorseThanServing: { tolerance: '0.01' } },
  ],
};

function gated() {
  const t = setupReconciler({ spec: { analysis } });
  t.ecr.push(TAG, DIGEST_A);
  return t;
}

describe('metric gate', () => {
  it('passes a good first version (nothing serves to compare with) and asks MLflow once per run', async () => {
    const t = gated();
    t.registry.runMetrics.set('run-3', { rmse: 0.2 });
    await deployAndRollOut(t);
    expect(cond(t.status(), METRICS)).toEqual({ status: 'True', reason: 'MetricsPassed' });
    expect(message(t.status(), METRICS)).toBe(
      'version 3: rmse = 0.2, at most 0.3, no version serves yet to compare with',
    );
    expect(t.steps).toContain('gate metrics passed');
    expect(t.registry.calls.filter((c) => c.startsWith('run:'))).toEqual(['run:run-3']);
  });

  it('a version worse than the one serving fails its run before any build, and stays failed', async () => {
    const t = gated();
    t.registry.runMetrics.set('run-3', { rmse: 0.2 });
    await deployAndRollOut(t);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    const patches = t.apps.patches.length;

    t.registry.answer = version('4');
    t.registry.runMetrics.set('run-4', { rmse: 0.25 });
    t.nextPoll();
    await t.reconcile();
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(s.currentRun).toMatchObject({ version: '4', result: 'Failed', reason: 'MetricsFailed' });
    expect(cond(s, METRICS)).toEqual({ status: 'False', reason: 'MetricsFailed' });
    expect(message(s, METRICS)).toBe(
      "version 4: rmse = 0.25 is worse than version 3's 0.2 that serves (tolerance 0.01); " +
        'register a better version in MLflow, or change spec.analysis.mlflowMetrics',
    );
    expect(cond(s, ConditionType.ImageBuilt)).toBeUndefined();
    expect(t.kaniko.starts).toEqual([]); // no image of version 4 in ECR, and no build either
    expect(t.apps.patches).toHaveLength(patches);
    expect(s.serving?.version).toBe('3');
    expect(t.steps).toContain('gate metrics failed');

    // Later polls do not try the refused version again.
    t.nextPoll();
    await t.reconcile();
    expect(t.status().currentRun?.result).toBe('Failed');
    expect(t.registry.calls.filter((c) => c === 'run:run-4')).toHaveLength(1);

    // Relaxing the check is a spec change: a new run of version 4, which passes.
    t.editSpec((spec) => {
      (spec as { analysis: typeof analysis }).analysis = {
        mlflowMetrics: [
          { name: 'rmse', better: 'Lower', threshold: '0.3', notWorseThanServing: { tolerance: '0.1' } },
        ],
      };
    });
    t.ecr.push(`v4-run-4-${BUILD_HASH}`, DIGEST_B);
    await t.reconcile();
    expect(cond(t.status(), METRICS)).toEqual({ status: 'True', reason: 'MetricsPassed' });
    expect(t.status().currentRun).toMatchObject({ version: '4' });
    expect(t.status().currentRun?.result).toBeUndefined();
  });

  it('a metric the run did not log fails the run and names the metric', async () => {
    const t = gated();
    t.registry.runMetrics.set('run-3', { acc: 0.9 });
    await t.reconcile();
    expect(t.status().currentRun).toMatchObject({ result: 'Failed', reason: 'MetricsFailed' });
    expect(message(t.status(), METRICS)).toContain(`version 3's MLflow run run-3 logged no metric "rmse"`);
  });

  it('MLflow failing is retried, not judged', async () => {
    const t = gated();
    t.registry.runMetrics.set('run-3', { rmse: 0.2 });
    const getRunMetrics = t.registry.getRunMetrics.bind(t.registry);
    t.registry.getRunMetrics = async () => {
      throw new MlflowError('ServerError', 'MLflow answered 503', { httpStatus: 503 });
    };
    await expect(t.reconcile()).rejects.toThrow(/503/);
    expect(t.status().currentRun?.result).toBeUndefined();
    expect(cond(t.status(), ConditionType.Ready)).toEqual({ status: 'False', reason: 'RegistryUnavailable' });
    t.registry.getRunMetrics = getRunMetrics;
    await t.reconcile();
    expect(cond(t.status(), METRICS)).toEqual({ status: 'True', reason: 'MetricsPassed' });
  });
});
