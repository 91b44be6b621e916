// One ModelDeployment per serving container, and drift of that container after a run, through
// whole reconciles over the fakes.
import { describe, expect, it } from '@jest/globals';
import { servingDeployment } from '../../helpers/fakeDeployments.js';
import { DIGEST_A, NS, modelDeployment, pipelineSpec } from '../../helpers/pipelineFixtures.js';
import {
  REF_A,
  TAG,
  deployAndRollOut,
  setupReconciler,
  type Harness,
} from '../../helpers/reconcilerHarness.js';
import { cond, message } from '../../helpers/reconcilerFakes.js';

const CLAIM = 'claim.mlops.healthpredict.io/api';
const FINALIZER = 'mlops.healthpredict.io/release-claim';
const claim = (t: Harness) => t.apps.get().metadata?.annotations?.[CLAIM];

/** Deployed, rolled out and tested: the run succeeded. */
async function succeeded(t: Harness): Promise<void> {
  await deployAndRollOut(t);
  t.batch.finish(t.testJobName(), 'Complete');
  t.clock.ms += 3000;
  await t.reconcile();
  expect(t.status().phase).toBe('Succeeded');
}

describe('claiming the serving container', () => {
  it('an unclaimed container is claimed before the build: finalizer first, then the annotation, guarded by resourceVersion', async () => {
    const t = setupReconciler({ deployment: servingDeployment(undefined, null) });
    await t.reconcile();
    expect(t.md().metadata.finalizers).toEqual([FINALIZER]);
    expect(t.apps.patches[0]?.ops).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '1' },
      { op: 'add', path: '/metadata/annotations', value: { [CLAIM]: 'churn' } },
    ]);
    expect(claim(t)).toBe('churn');
    expect(t.kaniko.starts).toHaveLength(1);
    // The status write went through with the resourceVersion the finalizer patch returned.
    expect(t.status().phase).toBe('Building');
  });

  it('a container claimed by another ModelDeployment that targets it: Stalled naming it, nothing built or patched', async () => {
    const t = setupReconciler({ deployment: servingDeployment(undefined, 'first') });
    t.store.set(`${NS}/first`, modelDeployment(pipelineSpec(), { name: 'first' }));
    await t.reconcile();
    const s = t.status();
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'TargetClaimed' });
    expect(message(s, 'Stalled')).toBe(
      `container "api" of Deployment "churn-api" is managed by ModelDeployment "first" (annotation ${CLAIM}); ` +
        'delete that ModelDeployment or point spec.deployment at another container',
    );
    expect(t.kaniko.starts).toEqual([]);
    expect(t.apps.patches).toEqual([]);
    expect(t.md().metadata.finalizers).toBeUndefined();
  });

  it('a stale claim (its object is gone) is taken over', async () => {
    const t = setupReconciler({ deployment: servingDeployment(undefined, 'gone') });
    await t.reconcile();
    expect(claim(t)).toBe('churn');
    expect(t.apps.patches[0]?.ops).toContainEqual({
      op: 'add',
      path: `/metadata/annotations/${CLAIM.replace('/', '~1')}`,
      value: 'churn',
    });
    expect(t.kaniko.starts).toHaveLength(1);
  });

  it('a claim lost to a racing writer (failed resourceVersion test) is retried, then stalls', async () => {
    const t = setupReconciler({ deployment: servingDeployment(undefined, null) });
    const read = t.apps.readNamespacedDeployment.bind(t.apps);
    t.store.set(`${NS}/racer`, modelDeployment(pipelineSpec(), { name: 'racer' }));
    // The racer claims between our read and our patch.
    t.apps.readNamespacedDeployment = async (args) => {
      const d = await read(args);
      const live = t.apps.get();
      live.metadata = { ...live.metadata, resourceVersion: '2', annotations: { [CLAIM]: 'racer' } };
      return d;
    };
    await expect(t.reconcile()).rejects.toThrow(/claiming the container/);
    expect(cond(t.status(), 'Reconciling')).toEqual({ status: 'True', reason: 'ProgressingWithRetry' });
    t.apps.readNamespacedDeployment = read;
    await t.reconcile();
    expect(cond(t.status(), 'Stalled')).toEqual({ status: 'True', reason: 'TargetClaimed' });
    expect(claim(t)).toBe('racer');
    expect(t.kaniko.starts).toEqual([]);
  });

  it('a container the Deployment does not have is not claimed (the rollout stalls on it later)', async () => {
    const t = setupReconciler({
      deployment: servingDeployment(undefined, null),
      spec: { deployment: { name: 'churn-api', container: 'server' } },
    });
    await t.reconcile();
    expect(t.apps.patches).toEqual([]);
    expect(t.md().metadata.finalizers).toBeUndefined();
  });

  it('deletion releases the claim, then the finalizer', async () => {
    const t = setupReconciler({ deployment: servingDeployment(undefined, null) });
    await t.reconcile();
    t.md().metadata.deletionTimestamp = new Date();
    await t.reconcile();
    expect(claim(t)).toBeUndefined();
    expect(t.apps.patches.at(-1)?.ops).toEqual([
      { op: 'test', path: `/metadata/annotations/${CLAIM.replace('/', '~1')}`, value: 'churn' },
      { op: 'remove', path: `/metadata/annotations/${CLAIM.replace('/', '~1')}` },
    ]);
    expect(t.md().metadata.finalizers).toEqual([]);
  });

  it('deletion with the Deployment gone, or claimed by another since: only the finalizer goes', async () => {
    for (const gone of [true, false]) {
      const t = setupReconciler({ deployment: servingDeployment(undefined, null) });
      await t.reconcile();
      if (gone) t.apps.deployments.clear();
      else t.apps.get().metadata!.annotations = { [CLAIM]: 'other' };
      const patches = t.apps.patches.length;
      t.md().metadata.deletionTimestamp = new Date();
      await t.reconcile();
      expect(t.apps.patches).toHaveLength(patches);
      expect(t.md().metadata.finalizers).toEqual([]);
    }
  });

  it('deleting an object that never claimed anything writes nothing', async () => {
    const t = setupReconciler();
    t.md().metadata.deletionTimestamp = new Date();
    await t.reconcile();
    expect(t.apps.reads).toBe(0);
    expect(t.md().metadata.finalizers).toBeUndefined();
  });
});

describe('drift after a run', () => {
  it('kubectl set image: Drift, one guarded patch and a Warning Event, then Ready again with no new run', async () => {
    const t = setupReconciler();
    await succeeded(t);
    const run = t.status().currentRun;
    const patches = t.apps.patches.length;
    const api = t.apps.container()!;
    api.image = 'acme/churn-api:rogue';
    t.apps.get().metadata!.generation = 3;

    await t.reconcile();
    let s = t.status();
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'Drift' });
    expect(message(s, 'Ready')).toContain(`live acme/churn-api:rogue vs expected ${REF_A}`);
    expect(t.apps.patches).toHaveLength(patches + 1);
    expect(t.apps.container()?.image).toBe(REF_A);
    expect(t.events.filter((e) => e.reason === 'DriftCorrected')).toEqual([
      {
        type: 'Warning',
        reason: 'DriftCorrected',
        message: `Put back container "api" of Deployment "churn-api" drifted: live acme/churn-api:rogue vs expected ${REF_A}`,
      },
    ]);

    // Put back but not rolled out yet: still Drift; rolled out: Ready, the same run, no new test Job.
    t.clock.ms += 2000;
    await t.reconcile();
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason: 'Drift' });
    t.apps.setRolledOut();
    t.clock.ms += 2000;
    await t.reconcile();
    s = t.status();
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
    expect(s.currentRun).toEqual(run);
    expect(t.batch.created).toHaveLength(1);
    expect(t.apps.patches).toHaveLength(patches + 1);
  });

  it('driftPolicy Report: Drift is shown (Stalled), nothing is patched; put back by hand, Ready again', async () => {
    const t = setupReconciler({
      spec: { deployment: { name: 'churn-api', container: 'api', driftPolicy: 'Report' } },
    });
    await succeeded(t);
    const patches = t.apps.patches.length;
    const env = t.apps.container()!.env!;
    t.apps.container()!.env = env.map((e) => (e.name === 'MODEL_VERSION' ? { ...e, value: '999' } : e));
    await t.reconcile();
    const s = t.status();
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'Drift' });
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'Drift' });
    expect(message(s, 'Ready')).toContain('env MODEL_VERSION changed; driftPolicy is Report');
    expect(t.apps.patches).toHaveLength(patches);
    expect(t.eventReasons()).not.toContain('DriftCorrected');

    t.apps.container()!.env = env;
    await t.reconcile();
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
  });

  it('a change the operator does not own (replicas, another container) is not drift', async () => {
    const t = setupReconciler();
    await succeeded(t);
    const patches = t.apps.patches.length;
    t.apps.get().spec!.replicas = 5;
    t.apps.get().spec!.template.spec!.containers[0]!.image = 'envoy:1.31';
    await t.reconcile();
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
    expect(t.apps.patches).toHaveLength(patches);
  });

  it('after a run, a container claimed by another still targeting it stalls (two objects from before claims existed)', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    await succeeded(t);
    t.store.set(`${NS}/first`, modelDeployment(pipelineSpec(), { name: 'first' }));
    t.apps.get().metadata!.annotations = { [CLAIM]: 'first' };
    await t.reconcile();
    expect(cond(t.status(), 'Stalled')).toEqual({ status: 'True', reason: 'TargetClaimed' });
  });
});
