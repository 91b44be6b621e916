// A superseded run's unfinished work is cancelled when the next run starts: found by label (so a
// crash between the start and its status write still cancels), the new run's own build kept.
import { describe, expect, it } from '@jest/globals';
import type { V1Job } from '@kubernetes/client-node';
import type { ModelDeploymentStatus } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { childLabels } from '../../../../src/children/names.js';
import { pipelineHash } from '../../../../src/controller/run.js';
import { buildKey, planRun } from '../../../../src/controller/steps/planRun.js';
import { buildJobName } from '../../../../src/children/names.js';
import { NS, resolvedModel } from '../../helpers/pipelineFixtures.js';
import { setupReconciler } from '../../helpers/reconcilerHarness.js';

const job = (name: string, component: string, done = false, instance = 'churn'): V1Job => ({
  metadata: { name, namespace: NS, labels: childLabels(instance, component, '2') },
  ...(done ? { status: { conditions: [{ type: 'Complete', status: 'True' }] } } : {}),
});

function given(jobs: V1Job[], status: (specHash: string) => ModelDeploymentStatus) {
  const t = setupReconciler();
  for (const j of jobs) t.batch.jobs.set(`${NS}/${j.metadata?.name}`, j);
  const probe = t.stepContext();
  const ctx = t.stepContext(status(pipelineHash(probe.spec)));
  return { t, ctx };
}

const running = (specHash: string): ModelDeploymentStatus => ({
  currentRun: { version: '2', specHash, startedAt: '2025-01-01T00:00:00.000Z' },
});

describe('cancelling superseded work', () => {
  it('deletes the unfinished build and test Jobs of this object, and says so', async () => {
    const { t, ctx } = given(
      [
        job('churn-build-v2-aaa', 'image-build'),
        job('churn-test-v2-bbb', 'model-test'),
        job('churn-test-v1-old', 'model-test', true), // finished: left to its TTL
        job('other-build-v2-ccc', 'image-build', false, 'other'), // another object's
      ],
      running,
    );
    const out = await planRun(ctx, resolvedModel());
    expect(out.kind).toBe('next');
    expect(t.kaniko.cancelled).toEqual(['churn-build-v2-aaa']);
    expect(t.batch.deleted).toEqual(['churn-test-v2-bbb']);
    expect([...t.batch.jobs.keys()].sort()).toEqual(
      [`${NS}/churn-build-v2-aaa`, `${NS}/churn-test-v1-old`, `${NS}/other-build-v2-ccc`].sort(),
    );
    const cancelled = ctx.events.find((e) => e.reason === 'WorkCancelled');
    expect(cancelled?.message).toMatch(/build Job "churn-build-v2-aaa", test Job "churn-test-v2-bbb"/);
    expect(ctx.status.history?.[0]).toMatchObject({ version: '2', result: 'Superseded' });
  });

  it("keeps the new run's own build Job, which a crash before the status write may have left", async () => {
    const t0 = setupReconciler();
    const plan = await planRun(t0.stepContext(), resolvedModel());
    if (plan.kind !== 'next' || plan.value.images.builder === 'none') throw new Error('no plan');
    const own = buildJobName('churn', '3', buildKey(plan.value.images, undefined));
    const { t, ctx } = given([job(own, 'image-build')], running);
    await planRun(ctx, resolvedModel());
    expect(t.kaniko.cancelled).toEqual([]);
    expect(ctx.events.map((e) => e.reason)).toEqual(['DeploymentStarted']);
  });

  it("stops the superseded run's CodeBuild build named in status", async () => {
    const { t, ctx } = given([], (specHash) => ({
      ...running(specHash),
      build: { builder: 'codebuild', name: 'proj:123', version: '2', startedAt: '2025-01-01T00:00:00.000Z' },
    }));
    await planRun(ctx, resolvedModel());
    expect(t.codebuild.cancelled).toEqual(['proj:123']);
  });

  it('a finished run leaves nothing to stop', async () => {
    const { t, ctx } = given([job('churn-test-v2-bbb', 'model-test', true)], (specHash) => ({
      currentRun: { ...running(specHash).currentRun!, result: 'Succeeded' },
      build: { builder: 'codebuild', name: 'proj:123', version: '2', startedAt: '2025-01-01T00:00:00.000Z' },
    }));
    await planRun(ctx, resolvedModel());
    expect(t.codebuild.cancelled).toEqual([]);
    expect(t.batch.deleted).toEqual([]);
    expect(ctx.events.map((e) => e.reason)).toEqual(['DeploymentStarted']);
  });
});
