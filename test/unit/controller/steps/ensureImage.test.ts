// ensureImage on its own: ECR and builder state before → the step's result, status.image,
// status.build and the ImageBuilt condition after. Decisions are policies/buildAction.ts.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import type { BuildState } from '../../../../src/builders/builder.js';
import { RunFailed } from '../../../../src/controller/run.js';
import { ensureImage } from '../../../../src/controller/steps/ensureImage.js';
import { planRun } from '../../../../src/controller/steps/planRun.js';
import { findCondition } from '../../../../src/runtime/conditions.js';
import { DIGEST_A, DIGEST_B, REPO, resolvedModel } from '../../helpers/pipelineFixtures.js';
import { BUILD_HASH, setupReconciler } from '../../helpers/reconcilerHarness.js';

const TAG = `v3-abcdef0-${BUILD_HASH}`; // v{version}-{runIdShort}-{buildHash} of resolvedModel()

/** A context whose run is planned, with `before` applied to the fakes (ECR, the build). */
async function given(before: { inEcr?: string; build?: BuildState; spec?: Record<string, unknown> } = {}) {
  const t = setupReconciler(before.spec ? { spec: before.spec } : {});
  if (before.inEcr) t.ecr.push(TAG, before.inEcr);
  const ctx = t.stepContext();
  const planned = await planRun(ctx, resolvedModel());
  if (planned.kind !== 'next') throw new Error('no plan');
  if (before.build) {
    await ensureImage(ctx, planned.value); // starts the build
    t.kaniko.finish(before.build);
    ctx.events = [];
  }
  return { t, ctx, plan: planned.value };
}

const imageBuilt = (ctx: { status: { conditions?: [] | object[] } }) => {
  const c = findCondition(ctx.status.conditions as never, ConditionType.ImageBuilt);
  return c && [c.status, c.reason];
};

describe('ensureImage', () => {
  it.each([
    [
      'the tag is in ECR: reused, no build',
      { inEcr: DIGEST_A },
      'next',
      ['True', 'ImageReused'],
      { reused: true, digest: DIGEST_A },
      0,
    ],
    ['no tag: a build starts and is waited for', {}, 'wait', ['False', 'Building'], undefined, 1],
    [
      'the build runs',
      { build: { phase: 'Running', message: 'still going' } },
      'wait',
      ['False', 'Building'],
      undefined,
      1,
    ],
    [
      'the build is gone and never pushed: started again',
      { build: { phase: 'Missing' } },
      'wait',
      ['False', 'Building'],
      undefined,
      2,
    ],
  ] as const)('%s', async (_name, before, kind, condition, image, starts) => {
    const { t, ctx, plan } = await given(before as never);
    const out = await ensureImage(ctx, plan);
    expect(out.kind).toBe(kind);
    expect(imageBuilt(ctx)).toEqual(condition);
    if (image) expect(ctx.status.image).toMatchObject(image);
    else expect(ctx.status.image).toBeUndefined();
    expect(t.kaniko.starts).toHaveLength(starts);
    if (starts > 0) expect(ctx.status.build).toMatchObject({ builder: 'kaniko', version: '3' });
  });

  it('a finished build whose digest ECR confirms: the image by digest goes to the rollout', async () => {
    const { t, ctx, plan } = await given({ build: { phase: 'Succeeded', digest: DIGEST_A } });
    t.ecr.push(TAG, DIGEST_A);
    expect(await ensureImage(ctx, plan)).toEqual({ kind: 'next', value: { ref: `${REPO}@${DIGEST_A}` } });
    expect(imageBuilt(ctx)).toEqual(['True', 'Built']);
    expect(ctx.events.map((e) => e.reason)).toEqual(['ImageBuilt']);
    expect(ctx.stepDurations.map((d) => `${d.step} ${d.result}`)).toEqual(['build succeeded']);
  });

  it.each([
    [
      'the build failed',
      { phase: 'Failed', reason: 'BuildFailed', message: 'exit 1' } as BuildState,
      undefined,
      'BuildFailed',
      ['build failed'],
    ],
    [
      'ECR disagrees with the build',
      { phase: 'Succeeded', digest: DIGEST_A } as BuildState,
      DIGEST_B,
      'DigestMismatch',
      [],
    ],
  ])('%s: the run fails', async (_name, state, inEcr, reason, observed) => {
    const { t, ctx, plan } = await given({ build: state });
    if (inEcr) t.ecr.push(TAG, inEcr);
    await expect(ensureImage(ctx, plan)).rejects.toThrow(RunFailed);
    expect(imageBuilt(ctx)).toEqual(['False', reason]);
    expect(ctx.stepDurations.map((d) => `${d.step} ${d.result}`)).toEqual(observed);
  });

  it('an image already recorded for the version: handed on with no ECR or builder call', async () => {
    const { t, ctx, plan } = await given();
    ctx.status.image = { ref: `${REPO}@${DIGEST_A}`, builtFor: '3' };
    expect(await ensureImage(ctx, plan)).toEqual({ kind: 'next', value: { ref: `${REPO}@${DIGEST_A}` } });
    expect(t.ecr.calls).toEqual([]);
    expect(t.kaniko.starts).toEqual([]);
  });

  it('the tag is in ECR because our own build Job pushed it before a crash lost status.build: a build', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.push(TAG, DIGEST_A);
    t.kaniko.own = { name: 'churn-build-v3-own', startedAt: '2025-01-01T00:00:00.000Z' };
    t.kaniko.states.set('churn-build-v3-own', { phase: 'Succeeded', digest: DIGEST_A });
    expect(await ensureImage(ctx, plan)).toEqual({ kind: 'next', value: { ref: `${REPO}@${DIGEST_A}` } });
    expect(imageBuilt(ctx)).toEqual(['True', 'Built']);
    expect(ctx.status.image?.reused).toBeUndefined();
    expect(ctx.status.build).toMatchObject({ name: 'churn-build-v3-own', version: '3' });
    expect(t.kaniko.starts).toEqual([]);
  });

  it('a custom template without {buildHash}: a tag history built from another build hash is refused', async () => {
    const spec = { image: { repository: REPO, tagTemplate: 'v{version}-custom' } };
    const { t, ctx, plan } = await given({ spec });
    t.ecr.push('v3-custom', DIGEST_A);
    ctx.status.history = [
      { version: '3', specHash: 'old', startedAt: 'x', image: `${REPO}@${DIGEST_A}`, buildHash: 'other' },
    ];
    await expect(ensureImage(ctx, plan)).rejects.toThrow(/add \{buildHash\} to spec.image.tagTemplate/);
    expect(imageBuilt(ctx)).toEqual(['False', 'TagBuiltFromOtherSpec']);
    expect(t.kaniko.starts).toEqual([]);
  });

  it('the ImageBuilt message says which rule keeps a changed build spec from reusing an image', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.push(TAG, DIGEST_A);
    await ensureImage(ctx, plan);
    expect(findCondition(ctx.status.conditions, ConditionType.ImageBuilt)?.message).toContain(
      `the tag carries build hash ${BUILD_HASH}`,
    );
  });

  it('builder none: no image, the container keeps its own', async () => {
    const { t, ctx, plan } = await given({ spec: { build: { builder: 'none' }, image: undefined } });
    expect(await ensureImage(ctx, plan)).toEqual({ kind: 'next', value: { ref: undefined } });
    expect(imageBuilt(ctx)).toEqual(['True', 'NoBuild']);
    expect(t.ecr.calls).toEqual([]);
  });
});
