// Blue-green through the reconciler, over the fake stores: the version runs and is tested in a
// preview first, users' Service is switched only to tested Pods, and a failure leaves the serving
// Deployment and Service as they were.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import { APPROVE_ANNOTATION } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { SWITCH_ANNOTATION } from '../../../../src/controller/render/serviceSwitch.js';
import { DIGEST_A, NS } from '../../helpers/pipelineFixtures.js';
import { REF_A, TAG, setupReconciler, type Harness } from '../../helpers/reconcilerHarness.js';
import { cond } from '../../helpers/reconcilerFakes.js';
import { OLD_IMAGE } from '../../helpers/fakeDeployments.js';

const PREVIEW = 'churn-preview';
const USER_SELECTOR = { app: 'churn-api' };

function blueGreen(settings: Record<string, unknown> = {}): Harness {
  const t = setupReconciler({
    spec: { strategy: { type: 'BlueGreen', blueGreen: { activeService: 'churn-api', ...settings } } },
  });
  t.ecr.push(TAG, DIGEST_A);
  t.batch.services.set(`${NS}/churn-api`, {
    metadata: { name: 'churn-api', namespace: NS, resourceVersion: '1' },
    spec: { selector: USER_SELECTOR, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  return t;
}

const userService = (t: Harness) => t.batch.services.get(`${NS}/churn-api`);
const servingImage = (t: Harness) => t.apps.container()?.image;

/** From a fresh object to its preview's test Job. */
async function toPreviewTest(t: Harness): Promise<void> {
  await t.reconcile(); // image reused → preview created
  t.apps.setRolledOut(PREVIEW);
  await t.reconcile(); // preview available → test Job
}

describe('blue-green', () => {
  it('runs the version in a preview the user Service does not select, and tests it there', async () => {
    const t = blueGreen();
    await t.reconcile();
    expect(t.status().phase).toBe('Previewing');
    const preview = t.apps.get(PREVIEW);
    expect(preview.spec?.selector.matchLabels).toEqual({
      'app.kubernetes.io/managed-by': 'mlflow-model-operator',
      'app.kubernetes.io/instance': 'churn',
      'app.kubernetes.io/component': 'preview',
    });
    expect(preview.spec?.template.metadata?.labels).not.toMatchObject(USER_SELECTOR);
    expect(preview.spec?.replicas).toBe(2);
    const api = preview.spec?.template.spec?.containers.find((c) => c.name === 'api');
    expect(api?.image).toBe(REF_A);
    expect(api?.env).toEqual(expect.arrayContaining([{ name: 'MODEL_VERSION', value: '3' }]));
    expect(preview.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ModelDeployment', name: 'churn' });
    const service = t.batch.services.get(`${NS}/${PREVIEW}`);
    expect(service?.spec).toMatchObject({
      selector: preview.spec?.selector.matchLabels,
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    });
    expect(servingImage(t)).toBe(OLD_IMAGE);
    expect(t.apps.patches).toEqual([]);

    t.apps.setRolledOut(PREVIEW);
    await t.reconcile();
    expect(t.status().phase).toBe('Testing');
    expect(cond(t.status(), ConditionType.Previewed)).toEqual({ status: 'True', reason: 'PreviewAvailable' });
    const job = t.batch.jobs.get(`${NS}/${t.testJobName()}`);
    const env = job?.spec?.template.spec?.containers[0]?.env;
    expect(env).toEqual(
      expect.arrayContaining([{ name: 'SERVICE_URL', value: `http://${PREVIEW}.${NS}.svc` }]),
    );
    expect(userService(t)?.spec?.selector).toEqual(USER_SELECTOR);
  });

  it('a failing test removes the preview; the serving Deployment and Service were never touched', async () => {
    const t = blueGreen();
    await toPreviewTest(t);
    t.batch.finish(t.testJobName(), 'Failed', 'AssertionError: 500');
    await t.reconcile();
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(s.currentRun).toMatchObject({ result: 'Failed', reason: 'TestsFailed' });
    expect(t.apps.get(PREVIEW)).toBeUndefined();
    expect(t.batch.services.has(`${NS}/${PREVIEW}`)).toBe(false);
    expect(s.preview).toBeUndefined();
    expect(t.apps.patches).toEqual([]);
    expect(userService(t)?.metadata?.resourceVersion).toBe('1');
    expect(t.eventReasons()).toContain('PreviewRemoved');
  });

  it('promotes: switches the Service to the preview, rolls, switches back, removes the preview after the delay', async () => {
    const t = blueGreen({ scaleDownDelaySeconds: 30 });
    await toPreviewTest(t);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    // Tested: the Service selects the preview Pods while the serving Deployment rolls.
    expect(userService(t)?.spec?.selector).toEqual(t.apps.get(PREVIEW).spec?.selector.matchLabels);
    expect(JSON.parse(userService(t)?.metadata?.annotations?.[SWITCH_ANNOTATION] ?? '{}')).toEqual({
      modelDeployment: 'churn',
      selector: USER_SELECTOR,
    });
    expect(servingImage(t)).toBe(REF_A);
    expect(t.status().phase).toBe('Deploying');
    expect(t.status().preview).toMatchObject({ version: '3', activeService: 'churn-api' });

    t.apps.setRolledOut();
    await t.reconcile();
    expect(userService(t)?.spec?.selector).toEqual(USER_SELECTOR);
    expect(userService(t)?.metadata?.annotations?.[SWITCH_ANNOTATION]).toBeUndefined();
    const s = t.status();
    expect(s.phase).toBe('Succeeded');
    expect(s.stable).toMatchObject({ version: '3', image: REF_A });
    expect(
      t.batch.created.filter((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'model-test'),
    ).toHaveLength(1);
    // The preview drains for scaleDownDelaySeconds, then goes.
    expect(t.apps.get(PREVIEW)).toBeDefined();
    t.clock.ms += 31_000;
    await t.reconcile();
    expect(t.apps.get(PREVIEW)).toBeUndefined();
    expect(t.status().preview).toBeUndefined();
    expect(t.eventReasons()).toEqual(
      expect.arrayContaining(['ServiceSwitched', 'ServiceRestored', 'PreviewRemoved']),
    );
  });

  it('without autoPromote, waits for approval after the preview passed, touching nothing', async () => {
    const t = blueGreen({ autoPromote: false });
    await toPreviewTest(t);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('AwaitingApproval');
    expect(userService(t)?.spec?.selector).toEqual(USER_SELECTOR);
    expect(t.apps.patches).toEqual([]);
    t.annotate(APPROVE_ANNOTATION, '3');
    await t.reconcile();
    expect(servingImage(t)).toBe(REF_A);
  });

  it('a missing active Service stalls before any preview exists', async () => {
    const t = blueGreen();
    t.batch.services.delete(`${NS}/churn-api`);
    await t.reconcile();
    expect(t.status().phase).toBe('Failed');
    expect(cond(t.status(), ConditionType.Stalled)).toEqual({ status: 'True', reason: 'ServiceUnusable' });
    expect(t.apps.get(PREVIEW)).toBeUndefined();
  });

  it('a restart after the switch (status write lost) neither switches twice nor goes back to the preview', async () => {
    const t = blueGreen();
    await toPreviewTest(t);
    t.batch.finish(t.testJobName(), 'Complete');
    t.failPatchWith(new Error('connection reset'));
    await expect(t.reconcile()).rejects.toThrow('connection reset');
    t.failPatchWith(undefined);
    expect(userService(t)?.metadata?.annotations?.[SWITCH_ANNOTATION]).toBeDefined();
    const switches = t.batch.servicePatches.length;
    await t.reconcile();
    expect(t.batch.servicePatches).toHaveLength(switches);
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    expect(userService(t)?.spec?.selector).toEqual(USER_SELECTOR);
  });

  it('a pre-promotion Prometheus analysis of the preview gates promotion; a failed one removes the preview', async () => {
    const prometheus = {
      address: 'http://p:9090',
      query: 'max(err{pod=~"{preview}-.*"})',
      max: '0.1',
      interval: '5s',
      count: 2,
      failureLimit: 0,
    };
    const t = blueGreen({ prePromotionAnalysis: { prometheus } });
    await toPreviewTest(t);
    t.batch.finish(t.testJobName(), 'Complete');
    t.prometheusAnswers.push(0.01, 0.5);
    await t.reconcile();
    expect(t.prometheusQueries).toEqual([`http://p:9090 max(err{pod=~"${PREVIEW}-.*"})`]);
    expect(cond(t.status(), ConditionType.AnalysisPassed)).toEqual({
      status: 'False',
      reason: 'AnalysisRunning',
    });
    expect(t.status().preview?.analysis).toMatchObject({ result: 'Running', measurements: 1, failed: 0 });
    expect(userService(t)?.spec?.selector).toEqual(USER_SELECTOR);
    t.clock.ms += 5000;
    await t.reconcile();
    const s = t.status();
    expect(s.currentRun).toMatchObject({ result: 'Failed', reason: 'AnalysisFailed' });
    expect(t.apps.get(PREVIEW)).toBeUndefined();
    expect(t.apps.patches).toEqual([]);
    expect(userService(t)?.metadata?.resourceVersion).toBe('1');
  });

  it('a restart that lost the record of switching back does not switch again', async () => {
    const t = blueGreen();
    await toPreviewTest(t);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile(); // switched, serving patched
    t.apps.setRolledOut();
    t.failPatchWith(new Error('connection reset'));
    await expect(t.reconcile()).rejects.toThrow('connection reset'); // switched back; status lost
    t.failPatchWith(undefined);
    expect(userService(t)?.spec?.selector).toEqual(USER_SELECTOR);
    const patches = t.batch.servicePatches.length;
    await t.reconcile();
    expect(t.batch.servicePatches).toHaveLength(patches);
    expect(t.status().phase).toBe('Succeeded');
  });
});
