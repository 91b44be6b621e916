// runTests through the reconciler: the test Job after a rollout, its verdict, retries and spec
// fixes, and a spec without tests.
import { describe, expect, it } from '@jest/globals';
import { RETRY_ANNOTATION } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { DIGEST_A } from '../../helpers/pipelineFixtures.js';
import { REF_A, TAG, deployAndRollOut, setupReconciler } from '../../helpers/reconcilerHarness.js';
import { cond, message } from '../../helpers/reconcilerFakes.js';

const { TestsPassed: TESTS_PASSED } = ConditionType;

describe('reconciler pipeline: happy path, one reconcile at a time', () => {
  it('a spec without a test finishes when the rollout is done', async () => {
    const t = setupReconciler({ spec: { test: undefined } });
    await deployAndRollOut(t);
    expect(t.batch.created).toEqual([]);
    expect(t.status().phase).toBe('Succeeded');
    expect(t.status().currentRun?.result).toBe('Succeeded');
  });
});

describe('reconciler pipeline: tests', () => {
  it('a failed test Job fails the run with its termination message, and is not rerun', async () => {
    const t = setupReconciler();
    await deployAndRollOut(t);
    const name = t.testJobName();
    t.batch.finish(name, 'Failed', 'AssertionError: accuracy 0.61 < 0.8\n');
    await t.reconcile();

    const s = t.status();
    const text = `test Job "${name}" failed (BackoffLimitExceeded): AssertionError: accuracy 0.61 < 0.8`;
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'TestsFailed' });
    expect(cond(s, TESTS_PASSED)).toEqual({ status: 'False', reason: 'TestsFailed' });
    expect(message(s, TESTS_PASSED)).toBe(text);
    // The first version this object deploys: nothing to roll back to (rollback.test.ts).
    expect(s.currentRun).toMatchObject({
      result: 'Failed',
      reason: 'TestsFailed',
      message: `${text}; nothing to roll back to, as no version deployed by this ModelDeployment passed its run before: Deployment "churn-api" is left on version 3`,
      image: REF_A,
    });
    expect(s.history).toHaveLength(1);

    t.nextPoll();
    await t.reconcile();
    expect(t.batch.testJobs()).toHaveLength(1);
  });

  it('a retry of failed tests gets a test Job of its own, and reuses the image and rollout', async () => {
    const t = setupReconciler();
    await deployAndRollOut(t);
    t.batch.finish(t.testJobName(), 'Failed', 'flaky');
    await t.reconcile();
    t.annotate(RETRY_ANNOTATION, 'again');
    await t.reconcile();

    expect(t.kaniko.starts).toEqual([]);
    expect(t.apps.patches).toHaveLength(1);
    expect(t.batch.testJobs()).toHaveLength(2);
    const [first, second] = t.batch.testJobs().map((j) => j.metadata?.name);
    expect(second).not.toBe(first);
    expect(t.status().testJob).toBe(second);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    expect(t.status().history?.map((r) => r.result)).toEqual(['Succeeded', 'Failed']);
  });

  it('a status write lost after the rollout: the test Job is announced and the rollout measured once', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    t.apps.setRolledOut();
    t.conflictNextWrite();
    await t.reconcile(); // conflict: requeued soon
    expect(t.batch.testJobs()).toHaveLength(1);
    expect(t.eventReasons()).not.toContain('TestStarted');
    expect(t.steps).toEqual([]);

    await t.reconcile();
    expect(t.batch.testJobs()).toHaveLength(1);
    expect(t.status().testJob).toBe(t.batch.testJobs()[0]?.metadata?.name);
    expect(t.eventReasons().filter((r) => r === 'TestStarted')).toHaveLength(1);
    expect(t.steps).toEqual(['rollout succeeded']);
    await t.reconcile();
    expect(t.eventReasons().filter((r) => r === 'TestStarted')).toHaveLength(1);
    expect(t.steps).toEqual(['rollout succeeded']);
  });

  it('user test env is templated', async () => {
    const t = setupReconciler({
      spec: { test: { image: 'acme/churn-tests:1', env: { THRESHOLD: '0.8', RUN: '{runId}' } } },
    });
    await deployAndRollOut(t);
    expect(t.batch.testJobs()[0]?.spec?.template.spec?.containers[0]?.env?.slice(0, 2)).toEqual([
      { name: 'THRESHOLD', value: '0.8' },
      { name: 'RUN', value: 'run-3' },
    ]);
  });

  // The test Job name depends on the run's spec hash: the old failed Job (kept for
  // ttlSecondsAfterFinished) must not stand in for the fixed tests.
  it('fixing spec.test after failed tests runs the fixed tests', async () => {
    const t = setupReconciler();
    await deployAndRollOut(t);
    t.batch.finish(t.testJobName(), 'Failed', 'wrong test image');
    await t.reconcile();
    t.editSpec((spec) => (spec.test = { image: 'acme/churn-tests:2' }));
    await t.reconcile();

    expect(t.batch.testJobs()).toHaveLength(2);
    expect(t.batch.testJobs()[1]?.spec?.template.spec?.containers[0]?.image).toBe('acme/churn-tests:2');
    expect(t.status().phase).toBe('Testing');
  });
});
