// Write-back to MLflow through the reconciler: a finished run tags its version and moves the live
// alias to the serving version, once; a failing write-back has its own condition and backoff and
// leaves the deployment alone.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { MlflowError } from '../../../../src/clients/mlflow.js';
import { DIGEST_A, DIGEST_B, REPO } from '../../helpers/pipelineFixtures.js';
import { BUILD_HASH, REF_A, TAG, setupReconciler } from '../../helpers/reconcilerHarness.js';
import { cond, message, version } from '../../helpers/reconcilerFakes.js';

const { RegistryWriteBack: WRITE_BACK, Ready: READY } = ConditionType;
const registry = { trackingUri: 'http://mlflow:5000', writeBack: { liveAlias: 'live' } };

async function succeeded(t = setupReconciler({ spec: { registry } })) {
  t.ecr.push(TAG, DIGEST_A);
  await t.reconcile();
  t.apps.setRolledOut();
  await t.reconcile();
  t.batch.finish(t.testJobName(), 'Complete');
  const finishing = await t.reconcile(); // finishes the run; written back once that is stored
  expect(t.registry.writes).toEqual([]);
  if (t.status().registryWriteBack === undefined && t.md().spec.registry.writeBack)
    expect(finishing.requeueAfterMs).toBeLessThanOrEqual(500); // soon: the finish is stored now
  return t;
}

describe('write-back to MLflow', () => {
  it('tags the version of a succeeded run and points the live alias at it, once', async () => {
    const t = await succeeded();
    const result = await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    const finishedAt = t.status().currentRun?.finishedAt;
    expect(t.registry.writes).toEqual([
      'Churn/3 modeldeployment.status=Succeeded',
      `Churn/3 modeldeployment.image=${REF_A}`,
      `Churn/3 modeldeployment.deployedAt=${finishedAt}`,
      'Churn/3 modeldeployment.target=ml/churn-api',
      'Churn @live -> 3',
    ]);
    expect(cond(t.status(), WRITE_BACK)).toEqual({ status: 'True', reason: 'WrittenBack' });
    expect(t.status().registryWriteBack?.run).toBe(`3@${t.status().currentRun?.startedAt}`);
    expect(result.requeueAfterMs).toBeGreaterThanOrEqual(60_000); // the next poll, no write-back retry
    t.nextPoll();
    await t.reconcile();
    expect(t.registry.writes).toHaveLength(5);
  });

  it('a refused write-back has its own condition and backoff; Ready and the run stay as they are', async () => {
    const t = await succeeded();
    t.registry.failWrites = new MlflowError(
      'Unauthorized',
      'MLflow answered 403 PERMISSION_DENIED: no write',
    );
    const first = await t.reconcile();
    const s = t.status();
    expect(s.phase).toBe('Succeeded');
    expect(cond(s, READY)).toEqual({ status: 'True', reason: 'Succeeded' });
    expect(cond(s, WRITE_BACK)).toEqual({ status: 'False', reason: 'RegistryUnauthorized' });
    expect(message(s, WRITE_BACK)).toMatch(
      /403 PERMISSION_DENIED: no write; writing needs EDIT permission .*; the deployment is not affected; retried in \d+ s/,
    );
    expect(first.requeueAfterMs).toBeGreaterThanOrEqual(2000);
    const second = await t.reconcile();
    expect(second.requeueAfterMs).toBeGreaterThan(first.requeueAfterMs!);
    expect(t.apps.patches).toHaveLength(1);

    t.registry.failWrites = undefined;
    await t.reconcile();
    expect(cond(t.status(), WRITE_BACK)).toEqual({ status: 'True', reason: 'WrittenBack' });
    expect(t.registry.writes[0]).toBe('Churn/3 modeldeployment.status=Succeeded');
  });

  it('after a rollback: the failed version is tagged RolledBack and live goes back to the stable one', async () => {
    const t = await succeeded();
    await t.reconcile();
    t.ecr.push(`v4-run-4-${BUILD_HASH}`, DIGEST_B);
    t.registry.answer = version('4');
    t.nextPoll();
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    t.batch.finish(t.testJobName(), 'Failed', 'boom');
    await t.reconcile(); // decides the rollback
    await t.reconcile(); // patches
    t.apps.setRolledOut();
    await t.reconcile(); // rolled back
    expect(t.status().phase).toBe('RolledBack');
    await t.reconcile(); // the stored finish is written back
    expect(t.registry.writes.slice(5)).toEqual([
      'Churn/4 modeldeployment.status=RolledBack',
      `Churn/4 modeldeployment.image=${REPO}@${DIGEST_B}`,
      `Churn/4 modeldeployment.deployedAt=${t.status().currentRun?.finishedAt}`,
      'Churn/4 modeldeployment.target=ml/churn-api',
      'Churn @live -> 3',
    ]);
  });

  it('off unless set', async () => {
    const t = await succeeded(setupReconciler());
    await t.reconcile();
    expect(t.registry.writes).toEqual([]);
    expect(cond(t.status(), WRITE_BACK)).toBeUndefined();
  });
});
