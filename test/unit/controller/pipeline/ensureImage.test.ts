// ensureImage through the reconciler: reusing an image in ECR, starting and watching builds
// (FakeBuilder and the real KanikoBuilder over the Job store), and checking results against ECR.
import { describe, expect, it } from '@jest/globals';
import { RETRY_ANNOTATION } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { EcrError } from '../../../../src/clients/ecr.js';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { DIGEST_A, DIGEST_B, REPO } from '../../helpers/pipelineFixtures.js';
import { BUILD_HASH, REF_A, TAG, setupReconciler } from '../../helpers/reconcilerHarness.js';
import { cond, message } from '../../helpers/reconcilerFakes.js';

const { ImageBuilt: IMAGE_BUILT } = ConditionType;

describe('reconciler pipeline: happy path, one reconcile at a time', () => {
  it('a tag already in ECR is reused: no build, and the rollout starts in the same reconcile', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();

    expect(t.kaniko.starts).toEqual([]);
    expect(t.kaniko.observed).toEqual([]);
    const s = t.status();
    expect(s.image).toEqual({
      ref: REF_A,
      tag: TAG,
      digest: DIGEST_A,
      builtFor: '3',
      buildHash: BUILD_HASH,
      reused: true,
    });
    expect(s.build).toBeUndefined();
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'True', reason: 'ImageReused' });
    expect(t.eventReasons()).toContain('ImageReused');
    expect(t.apps.patches).toHaveLength(1);
    expect(t.apps.container()?.image).toBe(REF_A);
  });

  it('a cache repository is created mutable, without scan on push', async () => {
    const cache = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-cache';
    const t = setupReconciler({
      spec: { build: { builder: 'kaniko', context: 'dir:///ctx', cacheRepository: cache } },
    });
    await t.reconcile();
    expect(t.ecr.calls.slice(0, 2)).toEqual([
      `ensure ${REPO} scanOnPush=true IMMUTABLE`,
      `ensure ${cache} scanOnPush=false MUTABLE`,
    ]);
  });

  it('codebuild specs use the codebuild builder', async () => {
    const t = setupReconciler({
      spec: { build: { builder: 'codebuild', codebuild: { projectName: 'churn-image' } } },
    });
    await t.reconcile();
    expect(t.codebuild.starts).toHaveLength(1);
    expect(t.kaniko.starts).toEqual([]);
    expect(t.status().build).toMatchObject({ builder: 'codebuild', name: 'codebuild-build-1' });
  });

  it('a build cleaned up before it was observed: ECR has the tag, so it is used', async () => {
    const t = setupReconciler();
    await t.reconcile();
    t.kaniko.states.clear(); // the Job is gone
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.status().image).toEqual({
      ref: REF_A,
      tag: TAG,
      digest: DIGEST_A,
      builtFor: '3',
      buildHash: BUILD_HASH,
    });
    expect(t.apps.patches).toHaveLength(1);
  });

  it('a build gone before it pushed is started again', async () => {
    const t = setupReconciler();
    await t.reconcile();
    t.kaniko.states.clear();
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.status().build?.name).toBe('kaniko-build-2');
    expect(t.status().phase).toBe('Building');
  });
});

describe('reconciler pipeline: the build result is checked against ECR', () => {
  it.each<{ name: string; inEcr: string | undefined; text: string }>([
    {
      name: 'another digest in ECR',
      inEcr: DIGEST_B,
      text: `the build reported ${DIGEST_A} but ${REPO}:${TAG} is ${DIGEST_B} in ECR`,
    },
    {
      name: 'no such tag in ECR',
      inEcr: undefined,
      text: `the build reported ${DIGEST_A} but ECR has no ${REPO}:${TAG}`,
    },
  ])('$name → Failed DigestMismatch, no patch', async ({ inEcr, text }) => {
    const t = setupReconciler();
    await t.reconcile();
    t.kaniko.finish({ phase: 'Succeeded', digest: DIGEST_A });
    if (inEcr) t.ecr.push(TAG, inEcr);
    await t.reconcile();

    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'DigestMismatch' });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'False', reason: 'DigestMismatch' });
    expect(message(s, IMAGE_BUILT)).toBe(text);
    expect(s.currentRun).toMatchObject({ result: 'Failed', reason: 'DigestMismatch', message: text });
    expect(s.image).toBeUndefined();
    expect(t.apps.patches).toEqual([]);
  });

  it.each<{ name: string; error: Error; reason: string; stalls: boolean }>([
    {
      name: 'access denied stalls',
      error: new EcrError('creating ECR repository x failed: AccessDeniedException: no', true),
      reason: 'EcrRequestRefused',
      stalls: true,
    },
    {
      name: 'throttling is retried',
      error: new EcrError('creating ECR repository x failed: ThrottlingException: slow down', false),
      reason: 'EcrUnavailable',
      stalls: false,
    },
  ])('ECR failure: $name', async ({ error, reason, stalls }) => {
    const t = setupReconciler();
    t.ecr.fail = error;
    if (stalls) {
      await t.reconcile();
      expect(cond(t.status(), 'Stalled')).toEqual({ status: 'True', reason });
    } else {
      await expect(t.reconcile()).rejects.toThrow('ThrottlingException');
      expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason });
      expect(cond(t.status(), 'Reconciling')).toEqual({ status: 'True', reason: 'ProgressingWithRetry' });
    }
    expect(t.kaniko.starts).toEqual([]);
    expect(t.status().currentRun?.result).toBeUndefined(); // not a failed run: fixed, it carries on
  });
});

describe('reconciler pipeline: the real KanikoBuilder over the Job store', () => {
  it('creates one build Job per (version, build spec) and reads the digest from its Pod', async () => {
    const t = setupReconciler({ realKaniko: true });
    await t.reconcile();
    expect(t.batch.created).toHaveLength(1);
    const name = t.batch.created[0]?.metadata?.name as string;
    expect(t.status().build).toMatchObject({ builder: 'kaniko', name });
    expect(name).toMatch(/^churn-build-v3-[0-9a-f]{8}$/);

    await t.reconcile();
    expect(t.batch.created).toHaveLength(1);

    t.batch.finish(name, 'Complete', DIGEST_A);
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    expect(t.status().image?.ref).toBe(REF_A);
    expect(t.apps.patches).toHaveLength(1);
  });

  it('a failed build Job fails the run with its log', async () => {
    const t = setupReconciler({ realKaniko: true });
    await t.reconcile();
    const name = t.status().build?.name as string;
    t.batch.finish(name, 'Failed', 'error building image: COPY failed');
    await t.reconcile();
    expect(t.status().currentRun).toMatchObject({
      result: 'Failed',
      reason: 'BuildFailed',
      message: `build Job "${name}" failed: BackoffLimitExceeded: Job has reached the specified backoff limit: error building image: COPY failed`,
    });
  });

  // The retry token is part of the build hash (the Kaniko Job name, the CodeBuild idempotency
  // token): otherwise a retry would find the old failed Job (kept by its TTL) and fail at once.
  it('a retry after a failed build creates a new build Job', async () => {
    const t = setupReconciler({ realKaniko: true });
    await t.reconcile();
    t.batch.finish(t.status().build?.name as string, 'Failed', 'network flake');
    await t.reconcile();
    t.annotate(RETRY_ANNOTATION, '1');
    await t.reconcile();

    expect(t.batch.created).toHaveLength(2);
    expect(t.status().phase).toBe('Building');
    expect(t.status().currentRun?.result).toBeUndefined();
  });
});
