// rollout through the reconciler: patching the serving Deployment's container and judging the
// rollout, including builder none (no image of our own, only the model env changes).
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { OLD_IMAGE, servingDeployment } from '../../helpers/fakeDeployments.js';
import { DIGEST_A, NS, servingPatchOps } from '../../helpers/pipelineFixtures.js';
import { REF_A, START, TAG, setupReconciler } from '../../helpers/reconcilerHarness.js';
import { apiError, cond, message, version } from '../../helpers/reconcilerFakes.js';

const { Deployed: DEPLOYED, ImageBuilt: IMAGE_BUILT } = ConditionType;

describe('reconciler pipeline: happy path, one reconcile at a time', () => {
  it('user deployment env is templated; the model env comes last and wins', async () => {
    const t = setupReconciler({
      spec: {
        deployment: { name: 'churn-api', container: 'api', env: { LOG_LEVEL: 'debug', RUN: '{runIdShort}' } },
      },
    });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    expect(t.apps.container()?.env).toEqual([
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'RUN', value: 'run-3' },
      { name: 'MODEL_URI', value: 'models:/Churn/3' },
      { name: 'MODEL_VERSION', value: '3' },
    ]);
  });
});

describe('reconciler pipeline: the serving Deployment', () => {
  it('a missing Deployment stalls with DeploymentNotFound, and the run carries on once it exists', async () => {
    const t = setupReconciler({ deployment: null });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();

    let s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'DeploymentNotFound' });
    expect(message(s, 'Stalled')).toBe(
      'Deployment "churn-api" not found in namespace "ml"; create it or fix spec.deployment.name',
    );
    expect(s.currentRun?.result).toBeUndefined();
    expect(s.history).toBeUndefined();

    t.apps.deployments.set(`${NS}/churn-api`, servingDeployment());
    t.clock.ms += 1000;
    await t.reconcile();
    s = t.status();
    expect(t.apps.patches).toHaveLength(1);
    expect(s.phase).toBe('Deploying');
    expect(cond(s, 'Stalled')).toBeUndefined();
  });

  it('a missing container stalls with ContainerNotFound naming the containers there are', async () => {
    const t = setupReconciler({
      deployment: servingDeployment([
        { name: 'web', image: 'x' },
        { name: 'sidecar', image: 'y' },
      ]),
    });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();

    const s = t.status();
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'ContainerNotFound' });
    expect(message(s, 'Stalled')).toBe(
      'Deployment "churn-api" has no container "api" (it has web, sidecar); fix spec.deployment.container',
    );
    expect(t.apps.patches).toEqual([]);
    expect(s.currentRun?.result).toBeUndefined();
  });

  it('ProgressDeadlineExceeded fails the run', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    t.apps.setDeadlineExceeded();
    await t.reconcile();

    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'ProgressDeadlineExceeded' });
    expect(cond(s, DEPLOYED)).toEqual({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(message(s, DEPLOYED)).toBe(
      'Deployment "churn-api" exceeded its progress deadline: ReplicaSet "churn-api-5f7" has timed out progressing.',
    );
    expect(s.currentRun).toMatchObject({
      result: 'Failed',
      reason: 'ProgressDeadlineExceeded',
      image: REF_A,
    });
    expect(t.batch.created).toEqual([]);

    // not rolled out again
    t.nextPoll();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(1);
  });

  it('a Deployment changed under us (failed test op) is retried, not failed', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    const apps = t.apps as unknown as { patchNamespacedDeployment: () => Promise<never> };
    apps.patchNamespacedDeployment = async () => {
      throw apiError(422, 'the server rejected our request: test operation failed');
    };
    await expect(t.reconcile()).rejects.toThrow('test operation failed');
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason: 'DeploymentChanged' });
    expect(t.status().currentRun?.result).toBeUndefined();
  });

  it('a container already at the image and env (a patch before a crash) is not patched again', async () => {
    const t = setupReconciler({
      deployment: servingDeployment([
        {
          name: 'api',
          image: REF_A,
          env: [
            { name: 'MODEL_URI', value: 'models:/Churn/3' },
            { name: 'MODEL_VERSION', value: '3' },
          ],
        },
      ]),
    });
    t.ecr.push(TAG, DIGEST_A);
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.apps.patches).toEqual([]);
    expect(t.status().rollout).toEqual({
      version: '3',
      image: REF_A,
      startedAt: new Date(START).toISOString(),
    });
    expect(t.batch.created).toHaveLength(1); // straight to the tests
    expect(t.eventReasons()).toContain('RolloutStarted');
  });

  // The apiserver omits empty env values; were '' not equal to a missing value, the Deployment
  // would be patched on every reconcile and the rollout never judged.
  it('a deployment env var with an empty value still rolls out', async () => {
    const t = setupReconciler({
      spec: { deployment: { name: 'churn-api', container: 'api', env: { FEATURE_FLAG: '' } } },
    });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(1);
    expect(t.status().phase).toBe('Testing');
  });
});

describe('reconciler pipeline: builder none', () => {
  const spec = { image: undefined, build: { builder: 'none' } };

  it('no ECR call and no build; the patch keeps the image and sets the model env', async () => {
    const t = setupReconciler({ spec });
    await t.reconcile();

    expect(t.ecr.calls).toEqual([]);
    expect(t.kaniko.starts).toEqual([]);
    expect(t.codebuild.starts).toEqual([]);
    expect(t.apps.patches).toHaveLength(1);
    expect(t.apps.patches[0]?.ops).toEqual(servingPatchOps(OLD_IMAGE));
    const s = t.status();
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'True', reason: 'NoBuild' });
    expect(s.image).toBeUndefined();
    expect(s.rollout).toMatchObject({ version: '3', image: OLD_IMAGE, previousImage: OLD_IMAGE });
  });

  it('runs to Succeeded, testing the unchanged image', async () => {
    const t = setupReconciler({ spec });
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.status().testJob).toMatch(/^churn-test-v3-[0-9a-f]{12}$/);
    expect(t.batch.testJobs()[0]?.metadata?.name).toBe(t.status().testJob);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    expect(t.status().currentRun).toMatchObject({ result: 'Succeeded', image: OLD_IMAGE });
    expect(t.ecr.calls).toEqual([]);
  });

  it('a new version only changes the env', async () => {
    const t = setupReconciler({ spec: { ...spec, test: undefined } });
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    t.registry.answer = version('4');
    t.nextPoll();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(2);
    expect(t.apps.container()).toMatchObject({
      image: OLD_IMAGE,
      env: [
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'MODEL_URI', value: 'models:/Churn/4' },
        { name: 'MODEL_VERSION', value: '4' },
      ],
    });
  });
});
