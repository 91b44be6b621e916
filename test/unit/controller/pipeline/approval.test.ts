// The approval gate through the reconciler: with spec.approval.required a run waits after its
// image exists, touching nothing, until the approve annotation names its version.
import { describe, expect, it } from '@jest/globals';
import { APPROVE_ANNOTATION } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { DIGEST_A, DIGEST_B } from '../../helpers/pipelineFixtures.js';
import { BUILD_HASH, TAG, setupReconciler } from '../../helpers/reconcilerHarness.js';
import { cond, message, version } from '../../helpers/reconcilerFakes.js';

const { Approved: APPROVED, Ready: READY } = ConditionType;

function awaiting() {
  const t = setupReconciler({ spec: { approval: { required: true } } });
  t.ecr.push(TAG, DIGEST_A);
  return t;
}

describe('approval gate', () => {
  it('waits after the image exists, says how to approve, and touches nothing', async () => {
    const t = awaiting();
    await t.reconcile();
    const s = t.status();
    expect(s.phase).toBe('AwaitingApproval');
    expect(cond(s, ConditionType.ImageBuilt)).toEqual({ status: 'True', reason: 'ImageReused' });
    expect(cond(s, APPROVED)).toEqual({ status: 'False', reason: 'AwaitingApproval' });
    expect(cond(s, READY)).toEqual({ status: 'False', reason: 'AwaitingApproval' });
    expect(message(s, APPROVED)).toBe(
      `version 3 of "Churn" waits for approval: kubectl annotate --overwrite modeldeployment churn -n ml ${APPROVE_ANNOTATION}=3`,
    );
    expect(t.apps.patches).toEqual([]);
    const announced = t.events.filter((e) => e.reason === 'AwaitingApproval');
    expect(announced).toHaveLength(1);
    await t.reconcile();
    expect(t.events.filter((e) => e.reason === 'AwaitingApproval')).toHaveLength(1);
  });

  it('a value for another version never approves this one', async () => {
    const t = awaiting();
    t.annotate(APPROVE_ANNOTATION, '2');
    await t.reconcile();
    expect(t.status().phase).toBe('AwaitingApproval');
    expect(message(t.status(), APPROVED)).toContain('(the annotation names version 2)');
    expect(t.apps.patches).toEqual([]);
  });

  it('the version approved: rolls out, and a later annotation change does not stop the run', async () => {
    const t = awaiting();
    await t.reconcile();
    t.annotate(APPROVE_ANNOTATION, '3');
    await t.reconcile();
    expect(cond(t.status(), APPROVED)).toEqual({ status: 'True', reason: 'Approved' });
    expect(t.steps).toContain('gate approval approved');
    expect(t.apps.patches).toHaveLength(1);
    t.annotate(APPROVE_ANNOTATION, '9');
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.status().phase).toBe('Testing');
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
  });

  it('a new version supersedes the wait and waits for its own approval', async () => {
    const t = awaiting();
    await t.reconcile();
    t.annotate(APPROVE_ANNOTATION, '3');
    t.registry.answer = version('4');
    t.ecr.push(`v4-run-4-${BUILD_HASH}`, DIGEST_B);
    t.nextPoll();
    await t.reconcile();
    const s = t.status();
    expect(s.currentRun?.version).toBe('4');
    expect(s.history?.[0]).toMatchObject({ version: '3', result: 'Superseded' });
    expect(s.phase).toBe('AwaitingApproval');
    expect(t.apps.patches).toEqual([]);
  });

  it('not required: no Approved condition', async () => {
    const t = setupReconciler();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    expect(cond(t.status(), APPROVED)).toBeUndefined();
    expect(t.apps.patches).toHaveLength(1);
  });
});
