// rollout and runTests on their own: the serving Deployment and test Job before → the step's
// result and its condition after.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import type { ReconcileContext } from '../../../../src/controller/context.js';
import { RunFailed } from '../../../../src/controller/run.js';
import { planRun } from '../../../../src/controller/steps/planRun.js';
import { rollout } from '../../../../src/controller/steps/rollout.js';
import { runTests } from '../../../../src/controller/steps/runTests.js';
import { Stalling } from '../../../../src/runtime/errors.js';
import { findCondition } from '../../../../src/runtime/conditions.js';
import { DIGEST_A, NS, REPO, resolvedModel } from '../../helpers/pipelineFixtures.js';
import { OLD_IMAGE } from '../../helpers/fakeDeployments.js';
import { setupReconciler, type Harness } from '../../helpers/reconcilerHarness.js';

const REF = `${REPO}@${DIGEST_A}`;

async function given(opts: Parameters<typeof setupReconciler>[0] = {}) {
  const t = setupReconciler(opts);
  const ctx = t.stepContext();
  const planned = await planRun(ctx, resolvedModel());
  if (planned.kind !== 'next') throw new Error('no plan');
  ctx.events = []; // DeploymentStarted: planRun's, not the step's under test
  return { t, ctx, plan: planned.value };
}

const condition = (ctx: ReconcileContext, type: string) => {
  const c = findCondition(ctx.status.conditions, type);
  return c && [c.status, c.reason];
};

describe('rollout', () => {
  it('patches the container and waits for the Deployment controller', async () => {
    const { t, ctx, plan } = await given();
    const out = await rollout(ctx, plan, { ref: REF });
    expect(out).toMatchObject({ kind: 'wait', reason: 'RollingOut' });
    expect(t.apps.patches).toHaveLength(1);
    expect(ctx.status.rollout).toMatchObject({ version: '3', image: REF, previousImage: expect.any(String) });
    expect(condition(ctx, ConditionType.Deployed)).toEqual(['False', 'RollingOut']);
    expect(ctx.phase).toBe('Deploying');
  });

  it.each([
    [
      'rolled out: the image goes on to the tests',
      (t: Harness) => t.apps.setRolledOut(),
      'next',
      ['True', 'RolledOut'],
    ],
    ['still rolling: wait', () => undefined, 'wait', ['False', 'RollingOut']],
  ])('already patched, %s', async (_name, world, kind, deployed) => {
    const { t, ctx, plan } = await given();
    await rollout(ctx, plan, { ref: REF });
    world(t);
    const out = await rollout(ctx, plan, { ref: REF });
    expect(out.kind).toBe(kind);
    if (out.kind === 'next') expect(out.value).toEqual({ image: REF, revision: undefined });
    expect(condition(ctx, ConditionType.Deployed)).toEqual(deployed);
    expect(ctx.phase).toBe('Verifying');
    expect(t.apps.patches).toHaveLength(1);
  });

  it('a progress deadline exceeded fails the run', async () => {
    const { t, ctx, plan } = await given();
    await rollout(ctx, plan, { ref: REF });
    t.apps.setDeadlineExceeded();
    await expect(rollout(ctx, plan, { ref: REF })).rejects.toThrow(RunFailed);
    expect(condition(ctx, ConditionType.Deployed)).toEqual(['False', 'ProgressDeadlineExceeded']);
  });

  it('new Pods restarting maxRestarts times fail the run before the progress deadline', async () => {
    const { t, ctx, plan } = await given();
    await rollout(ctx, plan, { ref: REF });
    const dep = t.apps.get();
    dep.metadata = { ...dep.metadata, uid: 'u', annotations: { 'deployment.kubernetes.io/revision': '2' } };
    dep.status = { ...dep.status, observedGeneration: dep.metadata.generation, updatedReplicas: 1 };
    const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'churn-api', uid: 'u' }];
    t.apps.replicaSets.push({
      metadata: {
        labels: { 'pod-template-hash': 'h2' },
        annotations: { 'deployment.kubernetes.io/revision': '2' },
        ownerReferences: owner,
      },
    });
    const restarting = (restartCount: number) => [
      {
        metadata: { name: 'churn-api-h2-x' },
        status: { containerStatuses: [{ name: 'api', image: REF, imageID: '', ready: false, restartCount }] },
      },
    ];
    t.batch.pods.set('app=churn-api,pod-template-hash=h2', restarting(2));
    expect(await rollout(ctx, plan, { ref: REF })).toMatchObject({ kind: 'wait', reason: 'RollingOut' });
    t.batch.pods.set('app=churn-api,pod-template-hash=h2', restarting(3));
    await expect(rollout(ctx, plan, { ref: REF })).rejects.toThrow(
      'Deployment "churn-api" is crash-looping: container "api" of Pod "churn-api-h2-x" restarted 3 times',
    );
    expect(condition(ctx, ConditionType.Deployed)).toEqual(['False', 'CrashLooping']);
  });

  it('no Deployment: stalls, nothing patched', async () => {
    const { t, ctx, plan } = await given({ deployment: null });
    await expect(rollout(ctx, plan, { ref: REF })).rejects.toThrow(Stalling);
    expect(t.apps.patches).toEqual([]);
  });
});

describe('rollout: previousImage when the record was lost', () => {
  it('comes from the ReplicaSets when the container already runs the image', async () => {
    const { t, ctx, plan } = await given();
    await rollout(ctx, plan, { ref: REF }); // patches
    const dep = t.apps.deployments.get(`${NS}/churn-api`)!;
    dep.metadata = { ...dep.metadata, uid: 'u', annotations: { 'deployment.kubernetes.io/revision': '2' } };
    const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'churn-api', uid: 'u' }];
    const rs = (revision: string, image: string) => ({
      metadata: { annotations: { 'deployment.kubernetes.io/revision': revision }, ownerReferences: owner },
      spec: { selector: {}, template: { spec: { containers: [{ name: 'api', image }] } } },
    });
    t.apps.replicaSets.push(rs('1', OLD_IMAGE), rs('2', REF));
    delete ctx.status.rollout; // what a kill between the patch and the status write leaves
    await rollout(ctx, plan, { ref: REF });
    expect(t.apps.patches).toHaveLength(1);
    expect(ctx.status.rollout).toMatchObject({ image: REF, previousImage: OLD_IMAGE });
  });
});

describe('runTests', () => {
  async function started() {
    const g = await given();
    const out = await runTests(g.ctx, g.plan, { image: REF, revision: '2' });
    return { ...g, out, name: g.ctx.status.testJob as string };
  }

  it('creates the test Job once and waits for it', async () => {
    const { t, ctx, plan, out } = await started();
    expect(out).toMatchObject({ kind: 'wait', reason: 'Testing' });
    expect(t.batch.testJobs()).toHaveLength(1);
    expect(ctx.events.map((e) => e.reason)).toEqual(['TestStarted']);
    ctx.events = [];
    await runTests(ctx, plan, { image: REF, revision: '2' });
    expect(t.batch.testJobs()).toHaveLength(1);
    expect(ctx.events).toEqual([]);
  });

  it.each([
    ['passed: the run may finish', 'Complete', ['True', 'TestsPassed']],
    ['failed: the run fails', 'Failed', ['False', 'TestsFailed']],
  ] as const)('%s', async (_name, result, testsPassed) => {
    const { t, ctx, plan, name } = await started();
    t.batch.finish(name, result, 'assertion failed');
    const run = runTests(ctx, plan, { image: REF, revision: '2' });
    if (result === 'Complete') expect(await run).toEqual({ kind: 'next', value: undefined });
    else await expect(run).rejects.toThrow(RunFailed);
    expect(condition(ctx, ConditionType.TestsPassed)).toEqual(testsPassed);
  });

  it('a rollback to the same image (a new Deployment revision) gets a Job of its own, announced once', async () => {
    const { t, ctx, plan, name } = await started();
    t.batch.finish(name, 'Complete');
    await runTests(ctx, plan, { image: REF, revision: '2' });
    ctx.events = [];
    const out = await runTests(ctx, plan, { image: REF, revision: '4' });
    expect(out).toMatchObject({ kind: 'wait', reason: 'Testing' });
    expect(t.batch.testJobs()).toHaveLength(2);
    expect(ctx.status.testJob).not.toBe(name);
    expect(ctx.events.map((e) => e.reason)).toEqual(['TestStarted']);
  });

  it('a spec without tests passes at once, creating nothing', async () => {
    const { t, ctx, plan } = await given({ spec: { test: undefined } });
    expect(await runTests(ctx, plan, { image: REF, revision: '2' })).toEqual({
      kind: 'next',
      value: undefined,
    });
    expect(t.batch.created).toEqual([]);
  });
});
