// The whole build → rollout → test pipeline through the reconciler, one reconcile at a time,
// from a new model version to a recorded successful run.
import { describe, expect, it } from '@jest/globals';
import type { V1Job } from '@kubernetes/client-node';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { OLD_IMAGE } from '../../helpers/fakeDeployments.js';
import { DIGEST_A, REPO, servingPatchOps } from '../../helpers/pipelineFixtures.js';
import {
  BUILD_HASH,
  FIELD_MANAGER,
  REF_A,
  START,
  TAG,
  setupReconciler,
} from '../../helpers/reconcilerHarness.js';
import { cond, message } from '../../helpers/reconcilerFakes.js';

const { Deployed: DEPLOYED, ImageBuilt: IMAGE_BUILT, TestsPassed: TESTS_PASSED } = ConditionType;

describe('reconciler pipeline: happy path, one reconcile at a time', () => {
  it('builds, checks the digest, rolls out by digest, tests, and records the run', async () => {
    const t = setupReconciler();

    // 1. the tag is not in ECR: the build starts, and we wait for it
    let result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 5000 });
    expect(t.ecr.calls).toEqual([`ensure ${REPO} scanOnPush=true IMMUTABLE`, `digest ${REPO}:${TAG}`]);
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.kaniko.starts[0]).toMatchObject({
      model: { name: 'Churn', version: '3', uri: 'models:/Churn/3', runId: 'run-3' },
      repo: { uri: REPO, region: 'eu-west-1', registryId: '123456789012', name: 'churn-api' },
      tag: TAG,
      buildHash: expect.stringMatching(/^[0-9a-f]{8}$/),
    });
    let s = t.status();
    expect(s.phase).toBe('Building');
    expect(s.build).toEqual({
      builder: 'kaniko',
      name: 'kaniko-build-1',
      version: '3',
      startedAt: new Date(START).toISOString(),
    });
    expect(s.image).toBeUndefined();
    expect(s.currentRun).toEqual({
      version: '3',
      runId: 'run-3',
      specHash: expect.stringMatching(/^[0-9a-f]{8}$/),
      startedAt: new Date(START).toISOString(),
    });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'False', reason: 'Building' });
    expect(cond(s, 'Reconciling')).toEqual({ status: 'True', reason: 'Building' });
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'Building' });
    expect(t.apps.patches).toEqual([]);
    // Building is not told apart: BuildStarted said it, with the Job's name.
    expect(t.eventReasons()).toEqual(['NewModelVersion', 'DeploymentStarted', 'BuildStarted']);

    // 2. still running: observed (not in the reconcile that started it), not started again
    t.clock.ms += 5000;
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.kaniko.observed).toEqual(['kaniko-build-1']);
    expect(t.registry.calls).toHaveLength(1);

    // 3. the build succeeded and ECR agrees: image by digest, rollout patch
    t.kaniko.finish({ phase: 'Succeeded', digest: DIGEST_A });
    t.ecr.push(TAG, DIGEST_A);
    t.clock.ms += 5000;
    result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 2000 });
    s = t.status();
    expect(s.image).toEqual({ ref: REF_A, tag: TAG, digest: DIGEST_A, builtFor: '3', buildHash: BUILD_HASH });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'True', reason: 'Built' });
    expect(t.apps.patches).toHaveLength(1);
    expect(t.apps.patches[0]).toEqual({
      name: 'churn-api',
      fieldManager: FIELD_MANAGER,
      ops: servingPatchOps(REF_A),
    });
    expect(t.apps.container('proxy')).toEqual({ name: 'proxy', image: 'envoy:1.30' });
    expect(s.rollout).toEqual({
      version: '3',
      image: REF_A,
      previousImage: OLD_IMAGE,
      startedAt: new Date(t.clock.ms).toISOString(),
    });
    expect(s.phase).toBe('Deploying');
    expect(cond(s, DEPLOYED)).toEqual({ status: 'False', reason: 'RollingOut' });
    expect(t.eventReasons().slice(3)).toEqual(['ImageBuilt', 'RolloutStarted']); // RollingOut: said by RolloutStarted

    // 4. the Deployment has not caught up yet: verifying, no second patch
    t.clock.ms += 2000;
    await t.reconcile();
    s = t.status();
    expect(s.phase).toBe('Verifying');
    expect(message(s, DEPLOYED)).toBe('waiting for Deployment "churn-api" spec update to be observed');
    expect(t.apps.patches).toHaveLength(1);
    expect(t.batch.created).toEqual([]);

    // 5. rolled out: the test Job is created
    t.apps.setRolledOut();
    t.clock.ms += 2000;
    result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 3000 });
    s = t.status();
    expect(s.phase).toBe('Testing');
    expect(cond(s, DEPLOYED)).toEqual({ status: 'True', reason: 'RolledOut' });
    expect(cond(s, TESTS_PASSED)).toEqual({ status: 'False', reason: 'Testing' });
    expect(t.batch.created).toHaveLength(1);
    const job = t.batch.created[0] as V1Job;
    expect(job.metadata?.name).toMatch(/^churn-test-v3-[0-9a-f]{12}$/);
    expect(s.testJob).toBe(job.metadata?.name);
    expect(job.spec?.template.spec?.containers[0]?.env).toEqual([
      { name: 'SERVICE_URL', value: 'http://churn-api.ml.svc' },
      { name: 'MODEL_NAME', value: 'Churn' },
      { name: 'MODEL_VERSION', value: '3' },
      { name: 'MODEL_URI', value: 'models:/Churn/3' },
    ]);
    expect(t.eventReasons()).toContain('TestStarted');

    // 6. tests pass: the run succeeded
    t.batch.finish(s.testJob as string, 'Complete');
    t.clock.ms += 3000;
    await t.reconcile();
    s = t.status();
    expect(s.phase).toBe('Succeeded');
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
    expect(message(s, 'Ready')).toBe(`Version 3 of "Churn" is deployed as ${REF_A}`);
    expect(cond(s, 'Reconciling')).toBeUndefined();
    expect(cond(s, TESTS_PASSED)).toEqual({ status: 'True', reason: 'TestsPassed' });
    expect(s.currentRun).toMatchObject({
      version: '3',
      result: 'Succeeded',
      image: REF_A,
      finishedAt: new Date(t.clock.ms).toISOString(),
    });
    expect(s.history).toEqual([s.currentRun]);

    // 7. nothing left: no build, no patch, no Job, no write
    const writes = t.writes.length;
    t.clock.ms += 10_000;
    await t.reconcile();
    t.nextPoll();
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.apps.patches).toHaveLength(1);
    expect(t.batch.created).toHaveLength(1);
    expect(t.writes).toHaveLength(writes);
    expect(t.status().history).toHaveLength(1);
  });
});
