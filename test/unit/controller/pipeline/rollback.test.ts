// Rollback through the reconciler: a run that fails after changing the serving container puts it
// back on the stable version with one guarded patch (decided in one status write, patched in the
// next reconcile), waits for that rollout and files the run as RolledBack; a lost status write
// never patches twice, and moving the alias back reuses the stable image.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { DIGEST_A, DIGEST_B, REPO } from '../../helpers/pipelineFixtures.js';
import { BUILD_HASH, REF_A, TAG, setupReconciler, type Harness } from '../../helpers/reconcilerHarness.js';
import { cond, message, version } from '../../helpers/reconcilerFakes.js';

const { RolledBack: ROLLED_BACK, Ready: READY } = ConditionType;
const TAG_4 = `v4-run-4-${BUILD_HASH}`;
const REF_B = `${REPO}@${DIGEST_B}`;
const env = (t: Harness) => Object.fromEntries((t.apps.container()?.env ?? []).map((e) => [e.name, e.value]));

/** Version 3 deployed and tested, then the serving container patched to version 4. */
async function v4Patched(spec: Parameters<typeof setupReconciler>[0] = {}): Promise<Harness> {
  const t = setupReconciler(spec);
  t.ecr.push(TAG, DIGEST_A);
  t.ecr.push(TAG_4, DIGEST_B);
  await t.reconcile(); // reuse + patch to v3
  t.apps.setRolledOut();
  await t.reconcile(); // test Job
  t.batch.finish(t.testJobName(), 'Complete');
  await t.reconcile();
  expect(t.status().phase).toBe('Succeeded');
  t.registry.answer = version('4');
  t.nextPoll();
  await t.reconcile(); // new run: reuse + patch to v4
  expect(t.apps.container()?.image).toBe(REF_B);
  return t;
}

/** ... and rolled out, its test Job running. */
async function v4UnderTest(spec: Parameters<typeof setupReconciler>[0] = {}): Promise<Harness> {
  const t = await v4Patched(spec);
  t.apps.setRolledOut();
  await t.reconcile();
  return t;
}

async function failTests(t: Harness): Promise<void> {
  t.batch.finish(t.testJobName(), 'Failed', 'AssertionError: accuracy 0.61 < 0.8');
  await t.reconcile(); // decides the rollback
}

describe('rollback after failed tests', () => {
  it('records stable and serving when a run succeeds', async () => {
    const t = await v4UnderTest();
    const { stable, serving } = t.status();
    expect(stable).toMatchObject({ version: '3', image: REF_A });
    expect(stable?.env).toMatchObject({ MODEL_VERSION: '3', MODEL_URI: 'models:/Churn/3' });
    // v4 is rolled out (live) but not yet tested: serving moved, stable did not.
    expect(serving).toMatchObject({ version: '4', image: REF_B });
  });

  it('decides first, patches in the next reconcile, and files the run as RolledBack once rolled out', async () => {
    const t = await v4UnderTest();
    await failTests(t);
    let s = t.status();
    expect(s.phase).toBe('RollingBack');
    expect(s.currentRun).toMatchObject({ version: '4', reason: 'TestsFailed', rollback: { toVersion: '3' } });
    expect(s.currentRun?.result).toBeUndefined();
    expect(cond(s, ROLLED_BACK)).toEqual({ status: 'False', reason: 'RollingBack' });
    expect(t.apps.patches).toHaveLength(2); // the decision is written before any patch

    await t.reconcile(); // the rollback patch
    expect(t.apps.patches).toHaveLength(3);
    expect(t.apps.container()?.image).toBe(REF_A);
    expect(env(t)).toMatchObject({ MODEL_VERSION: '3', MODEL_URI: 'models:/Churn/3', LOG_LEVEL: 'info' });
    await t.reconcile(); // the Deployment controller has not caught up yet
    expect(t.status().phase).toBe('RollingBack');

    t.apps.setRolledOut();
    await t.reconcile();
    s = t.status();
    expect(s.phase).toBe('RolledBack');
    expect(cond(s, READY)).toEqual({ status: 'False', reason: 'RolledBack' });
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'RolledBack' });
    expect(cond(s, ROLLED_BACK)).toEqual({ status: 'True', reason: 'RolledBack' });
    expect(cond(s, ConditionType.TestsPassed)).toEqual({ status: 'False', reason: 'TestsFailed' });
    expect(message(s, READY)).toMatch(
      /^version 4 failed \(TestsFailed\): test Job .* accuracy 0.61 < 0.8; rolled back to version 3$/,
    );
    expect(s.currentRun).toMatchObject({ version: '4', result: 'RolledBack', reason: 'TestsFailed' });
    expect(s.history?.[0]).toMatchObject({ version: '4', result: 'RolledBack' });
    expect(s.serving).toMatchObject({ version: '3', image: REF_A });
    expect(s.stable).toMatchObject({ version: '3', image: REF_A });
    expect(t.steps).toContain('rollback TestsFailed succeeded');
    const rolledBack = t.events.filter((e) => e.reason === 'RolledBack');
    expect(rolledBack).toHaveLength(1);
    expect(rolledBack[0]?.type).toBe('Warning');
    expect(t.events.find((e) => e.reason === 'RollingBack')?.type).toBe('Warning');

    // Remembered: the next polls neither retest nor roll anything.
    t.nextPoll();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(3);
    expect(t.status().phase).toBe('RolledBack');
    expect(message(t.status(), READY)).toContain('to retry');
    expect(t.events.filter((e) => e.reason === 'RolledBack')).toHaveLength(1);
  });

  it('a status write lost after the rollback patch does not patch again', async () => {
    const t = await v4UnderTest();
    await failTests(t);
    t.conflictNextWrite();
    await t.reconcile(); // patches, then loses its status write
    expect(t.apps.patches).toHaveLength(3);
    await t.reconcile(); // finds the container already back: no second patch
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(3);
    expect(t.status().phase).toBe('RolledBack');
  });

  it('a status write lost before the decision decides again, once', async () => {
    const t = await v4UnderTest();
    t.batch.finish(t.testJobName(), 'Failed', 'boom');
    t.conflictNextWrite();
    await t.reconcile(); // decision lost
    expect(t.status().phase).toBe('Testing');
    await t.reconcile(); // decided again from the failed Job
    expect(t.status().phase).toBe('RollingBack');
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(3);
    expect(t.status().currentRun?.result).toBe('RolledBack');
  });

  it('removes env the failed run added and puts back what it changed', async () => {
    const t = await v4UnderTest();
    t.editSpec((spec) => {
      spec.deployment = { ...spec.deployment!, env: { FEATURE_X: 'on' } };
    });
    await t.reconcile(); // new spec: a new run of v4 patches FEATURE_X in
    t.apps.setRolledOut();
    await t.reconcile();
    expect(env(t).FEATURE_X).toBe('on');
    await failTests(t);
    await t.reconcile();
    expect(env(t)).not.toHaveProperty('FEATURE_X');
    expect(env(t)).toMatchObject({ MODEL_VERSION: '3', LOG_LEVEL: 'info' });
  });

  it('moving the alias back to the stable version reuses its image: no build, no patch, a new test', async () => {
    const t = await v4UnderTest();
    await failTests(t);
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    const builds = t.kaniko.starts.length;
    t.registry.answer = version('3');
    t.nextPoll();
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(builds);
    expect(cond(t.status(), ConditionType.ImageBuilt)).toEqual({ status: 'True', reason: 'ImageReused' });
    expect(t.apps.patches).toHaveLength(3);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    expect(t.status().serving).toMatchObject({ version: '3', image: REF_A });
  });
});

describe('rollback after a failed rollout', () => {
  it('a progress deadline exceeded rolls back, and no test Job runs', async () => {
    const t = await v4Patched();
    t.apps.setDeadlineExceeded();
    await t.reconcile();
    expect(t.status().phase).toBe('RollingBack');
    expect(t.status().currentRun?.reason).toBe('ProgressDeadlineExceeded');
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.status().phase).toBe('RolledBack');
    expect(t.apps.container()?.image).toBe(REF_A);
    expect(t.batch.testJobs()).toHaveLength(1); // v3's only
  });

  it('a rollback whose own rollout fails stalls, leaving the Deployment for a person', async () => {
    const t = await v4UnderTest();
    await failTests(t);
    await t.reconcile(); // rollback patch
    t.apps.setDeadlineExceeded();
    await t.reconcile();
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, READY)).toEqual({ status: 'False', reason: 'RollbackFailed' });
    expect(cond(s, ROLLED_BACK)).toEqual({ status: 'False', reason: 'RollbackFailed' });
    expect(message(s, READY)).toContain('kubectl describe deployment churn-api');
    expect(s.currentRun).toMatchObject({ result: 'Failed', reason: 'RollbackFailed' });
    expect(t.steps).toContain('rollback TestsFailed failed');
    t.nextPoll();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(3);
  });
});

describe('nothing to roll back', () => {
  it('a first deployment that fails says so and leaves the Deployment', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    t.batch.finish(t.testJobName(), 'Failed', 'boom');
    await t.reconcile();
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(message(s, READY)).toMatch(
      /boom; nothing to roll back to, .*: Deployment "churn-api" is left on version 3$/,
    );
    expect(t.apps.patches).toHaveLength(1);
    expect(s.stable).toBeUndefined();
  });

  it('spec.rollback.onFailure false leaves the failed version serving', async () => {
    const t = await v4UnderTest({ spec: { rollback: { onFailure: false } } });
    await failTests(t);
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(message(s, READY)).toContain(
      'spec.rollback.onFailure is false: Deployment "churn-api" is left on version 4',
    );
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(2);
    expect(t.apps.container()?.image).toBe(REF_B);
  });
});
