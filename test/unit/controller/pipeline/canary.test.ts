// Canary through the reconciler, over the fake stores: the canary's size follows the steps, a
// failed analysis aborts and removes it with the serving Deployment untouched, and passing every
// step promotes the version and removes the canary.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { APPROVE_ANNOTATION } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { DIGEST_A, NS } from '../../helpers/pipelineFixtures.js';
import { REF_A, TAG, setupReconciler, type Harness } from '../../helpers/reconcilerHarness.js';
import { cond } from '../../helpers/reconcilerFakes.js';
import { OLD_IMAGE } from '../../helpers/fakeDeployments.js';

const CANARY = 'churn-canary';
const steps = [
  { setWeight: 25 },
  { pause: { duration: '30s' } },
  { analysis: { testJob: {} } },
  { setWeight: 50 },
  { pause: {} },
];

/** A canary object with `canarySteps`, its image in ECR, 4 serving replicas and their Service. */
function canary(canarySteps: readonly object[] = steps): Harness {
  const t = setupReconciler({ spec: { strategy: { type: 'Canary', canary: { steps: canarySteps } } } });
  t.ecr.push(TAG, DIGEST_A);
  t.apps.get().spec!.replicas = 4;
  t.apps.get().spec!.template.metadata = { labels: { app: 'churn-api' } };
  t.batch.services.set(`${NS}/churn-api`, {
    metadata: { name: 'churn-api', namespace: NS, resourceVersion: '1' },
    spec: { selector: { app: 'churn-api' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  return t;
}

const replicas = (t: Harness) => t.apps.get(CANARY)?.spec?.replicas;

describe('canary', () => {
  it('follows the steps: sizes, pauses, tests the canary, waits for approval, then promotes', async () => {
    const t = canary();
    await t.reconcile();
    expect(t.status().phase).toBe('Canary');
    expect(t.status().canary).toMatchObject({
      step: 0,
      progress: '1/5: setWeight 25',
      weight: 25,
      replicas: 1,
    });
    expect(replicas(t)).toBe(1);
    const labels = t.apps.get(CANARY).spec?.template.metadata?.labels;
    expect(labels).toMatchObject({ app: 'churn-api', 'mlops.healthpredict.io/canary-of': 'churn' });
    expect(t.apps.container()?.image).toBe(OLD_IMAGE);

    t.apps.setRolledOut(CANARY);
    await t.reconcile();
    expect(t.status().canary).toMatchObject({ step: 1, progress: '2/5: pause 30s' });
    expect(cond(t.status(), ConditionType.CanaryPassed)).toEqual({ status: 'False', reason: 'CanaryPaused' });

    t.clock.ms += 31_000;
    await t.reconcile();
    expect(t.status().canary).toMatchObject({ step: 2, progress: '3/5: analysis' });
    const job = t.batch.jobs.get(`${NS}/${t.testJobName()}`);
    expect(job?.spec?.template.spec?.containers[0]?.env).toEqual(
      expect.arrayContaining([{ name: 'SERVICE_URL', value: `http://${CANARY}.${NS}.svc` }]),
    );
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().canary).toMatchObject({ step: 3, weight: 50, replicas: 2 });
    expect(t.status().canary?.lastAnalysis).toMatchObject({ step: 2, result: 'Passed' });
    expect(replicas(t)).toBe(2);
    t.apps.setRolledOut(CANARY);
    await t.reconcile();
    expect(t.status().phase).toBe('AwaitingApproval');
    expect(t.status().canary?.progress).toBe('5/5: pause until approved');
    expect(t.apps.container()?.image).toBe(OLD_IMAGE);

    t.annotate(APPROVE_ANNOTATION, '3');
    await t.reconcile();
    expect(t.apps.container()?.image).toBe(REF_A);
    expect(cond(t.status(), ConditionType.CanaryPassed)).toEqual({
      status: 'True',
      reason: 'CanaryStepsPassed',
    });
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    expect(t.apps.get(CANARY)).toBeUndefined();
    expect(t.status().canary).toBeUndefined();
    // The analysis step tested it: no second test after promotion.
    expect(
      t.batch.created.filter((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'model-test'),
    ).toHaveLength(1);
    expect(t.eventReasons()).toEqual(expect.arrayContaining(['CanaryScaled', 'CanaryRemoved']));
  });

  it('a failed analysis aborts: the canary goes, the serving Deployment was never changed', async () => {
    const t = canary();
    await t.reconcile();
    t.apps.setRolledOut(CANARY);
    await t.reconcile();
    t.clock.ms += 31_000;
    await t.reconcile();
    t.batch.finish(t.testJobName(), 'Failed', 'AssertionError: 500');
    await t.reconcile();
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(s.currentRun).toMatchObject({ result: 'Failed', reason: 'TestsFailed' });
    expect(t.apps.get(CANARY)).toBeUndefined();
    expect(t.batch.services.has(`${NS}/${CANARY}`)).toBe(false);
    expect(s.canary).toBeUndefined();
    expect(t.apps.patches).toEqual([]);
    expect(cond(s, ConditionType.CanaryPassed)).toEqual({ status: 'False', reason: 'TestsFailed' });
  });

  it('a Prometheus analysis measures count times, interval apart, and aborts past failureLimit', async () => {
    const prometheus = {
      address: 'http://prometheus:9090',
      query: 'errors{pod=~"{canary}-.*",namespace="{namespace}"}',
      max: '0.05',
      interval: '10s',
      count: 3,
      failureLimit: 1,
    };
    const t = canary([{ setWeight: 25 }, { analysis: { prometheus } }]);
    await t.reconcile();
    t.apps.setRolledOut(CANARY);
    t.prometheusAnswers.push(0.01, 0.2, 0.3);
    await t.reconcile();
    expect(t.prometheusQueries).toEqual([
      `http://prometheus:9090 errors{pod=~"${CANARY}-.*",namespace="${NS}"}`,
    ]);
    expect(t.status().canary?.lastAnalysis).toMatchObject({
      step: 1,
      result: 'Running',
      measurements: 1,
      failed: 0,
    });
    expect(t.status().canary?.progress).toBe('2/2: analysis (prometheus)');
    await t.reconcile(); // not due yet
    expect(t.prometheusQueries).toHaveLength(1);
    t.clock.ms += 10_000;
    await t.reconcile();
    expect(t.status().canary?.lastAnalysis).toMatchObject({
      measurements: 2,
      failed: 1,
      lastValue: '0.2 (wanted ≤ 0.05)',
    });
    t.clock.ms += 10_000;
    await t.reconcile();
    const s = t.status();
    expect(s.currentRun).toMatchObject({ result: 'Failed', reason: 'AnalysisFailed' });
    expect(cond(s, ConditionType.CanaryPassed)).toEqual({ status: 'False', reason: 'AnalysisFailed' });
    expect(s.currentRun?.message).toContain(
      '2 of 3 measurements failed, more than failureLimit 1 (last: 0.3 (wanted ≤ 0.05))',
    );
    expect(t.apps.get(CANARY)).toBeUndefined();
    expect(t.apps.patches).toEqual([]);
  });

  it('with only a Prometheus analysis, the test Job still runs after promotion', async () => {
    const prometheus = {
      address: 'http://p:9090',
      query: 'q',
      max: '1',
      interval: '1s',
      count: 1,
      failureLimit: 0,
    };
    const t = canary([{ setWeight: 50 }, { analysis: { prometheus } }]);
    await t.reconcile();
    t.apps.setRolledOut(CANARY);
    t.prometheusAnswers.push(0);
    await t.reconcile(); // analysis passes, serving patched
    expect(t.apps.container()?.image).toBe(REF_A);
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.status().phase).toBe('Testing');
    const job = t.batch.jobs.get(`${NS}/${t.testJobName()}`);
    expect(job?.spec?.template.spec?.containers[0]?.env).toEqual(
      expect.arrayContaining([{ name: 'SERVICE_URL', value: `http://churn-api.${NS}.svc` }]),
    );
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
  });
});
