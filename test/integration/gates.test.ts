// The scan and approval gates on the bed, with the operator: each holds a run before the serving
// Deployment is touched until it is cleared, and never lets through a version it refused.
// `kubectl get md` shows the waiting phase. The scan is moto's (its default finding for a scanned
// image is CVE-9999-9999, HIGH).
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { APPROVE_ANNOTATION } from '../../src/api/v1alpha1/modelDeployment.js';
import {
  annotateMd,
  applyMd,
  condition,
  requestReconcile,
  succeededAt,
  waitForMd,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment, getDeployment } from '../helpers/serving.js';
import { LABEL_INSTANCE, LABEL_MODEL_VERSION } from '../../src/children/names.js';

const env = operatorInNamespace('gates');
const unique = () => Date.now().toString(36);

function pipelineSpec(md: string, model: string, repository: string, extra: Record<string, unknown>) {
  return {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
    deployment: { name: `api-${md}`, container: 'api' },
    test: { image: 'registry.example/tests:1' },
    ...extra,
  };
}

/** The serving Pod template as it is now (the claim annotation on the Deployment is not a change
 * of what it serves, though it bumps the Deployment's generation). */
const template = async (md: string) =>
  JSON.stringify((await getDeployment(env.ns, `api-${md}`)).spec.template);

test('scan gate: a HIGH finding fails the run before any rollout; ignoring it lets the image through', async () => {
  const { name: model, version } = await new MlflowAdmin(bed.mlflowUri).createChampion('scan');
  await createServingDeployment(env.ns, 'api-scan');
  const before = await template('scan');
  const repository = `${registryHost}/gates-scan-${unique()}`;
  const image = { repository, scanOnPush: false };
  await applyMd(
    env.ns,
    'scan',
    pipelineSpec('scan', model, repository, { image: { ...image, scan: { failOn: 'HIGH' } } }),
  );
  const refused = await waitForMd(env.ns, 'scan', 'Failed', (m) => m.status?.phase === 'Failed', 90_000);
  expect(refused.status?.currentRun).toMatchObject({ version, result: 'Failed', reason: 'ScanFindings' });
  expect(condition(refused, 'ImageScanned')).toMatchObject({ status: 'False', reason: 'ScanFindings' });
  expect(condition(refused, 'ImageScanned')?.message).toMatch(/1 HIGH at or above HIGH \(CVE-9999-9999/);
  expect(refused.status?.scan).toMatchObject({ scanStarted: true, status: 'COMPLETE', counts: { HIGH: 1 } });
  expect(condition(refused, 'Deployed')).toBeUndefined();
  expect(await template('scan')).toBe(before);
  // Refused stays refused: later polls do not roll it out.
  await requestReconcile(env.ns, 'scan');
  await new Promise((r) => setTimeout(r, 3000));
  expect(await template('scan')).toBe(before);

  await applyMd(
    env.ns,
    'scan',
    pipelineSpec('scan', model, repository, {
      image: { ...image, scan: { failOn: 'HIGH', ignore: ['CVE-9999-9999'] } },
    }),
  );
  const passed = await waitForMd(env.ns, 'scan', 'Succeeded', succeededAt(version), 90_000);
  expect(condition(passed, 'ImageScanned')).toMatchObject({ status: 'True', reason: 'ScanPassed' });
  expect(passed.status?.scan).toMatchObject({ ignored: 1 });
  expect(passed.status?.image?.reused).toBe(true);
});

test('approval gate: waits in AwaitingApproval, another version never approves, the right one does', async () => {
  const mlflow = new MlflowAdmin(bed.mlflowUri);
  const { name: model, version } = await mlflow.createChampion('approve');
  await createServingDeployment(env.ns, 'api-approve');
  const before = await template('approve');
  await applyMd(
    env.ns,
    'approve',
    pipelineSpec('approve', model, `${registryHost}/gates-approve-${unique()}`, {
      approval: { required: true },
    }),
  );
  const waiting = await waitForMd(
    env.ns,
    'approve',
    'AwaitingApproval',
    (m) => m.status?.phase === 'AwaitingApproval',
    90_000,
  );
  expect(condition(waiting, 'Approved')).toMatchObject({ status: 'False', reason: 'AwaitingApproval' });
  expect(condition(waiting, 'Approved')?.message).toContain(`mlops.healthpredict.io/approve=${version}`);
  const table = await kubectlOk(['-n', env.ns, 'get', 'md', 'approve']);
  expect(table).toMatch(/\sAwaitingApproval\s/);
  expect(await template('approve')).toBe(before);

  await annotateMd(env.ns, 'approve', APPROVE_ANNOTATION, String(Number(version) + 1));
  const still = await waitForMd(env.ns, 'approve', 'the other version named', (m) =>
    (condition(m, 'Approved')?.message ?? '').includes(`the annotation names version ${Number(version) + 1}`),
  );
  expect(still.status?.phase).toBe('AwaitingApproval');
  expect(await template('approve')).toBe(before);

  await annotateMd(env.ns, 'approve', APPROVE_ANNOTATION, String(version));
  const done = await waitForMd(env.ns, 'approve', 'Succeeded', succeededAt(version), 90_000);
  expect(condition(done, 'Approved')).toMatchObject({ status: 'True', reason: 'Approved' });
  const api = (await getDeployment(env.ns, 'api-approve')).spec.template.spec.containers.find(
    (c) => c.name === 'api',
  );
  expect(api?.image).toBe(done.status?.image?.ref);
});

test('metric gate: a version worse than the one serving fails before any build Job exists', async () => {
  const mlflow = new MlflowAdmin(bed.mlflowUri);
  const { name: model, version: v1, runId: r1 } = await mlflow.createChampion('metric');
  await mlflow.logMetric(r1, 'val_rmse', 0.2);
  await createServingDeployment(env.ns, 'api-metric');
  const analysis = {
    mlflowMetrics: [
      { name: 'val_rmse', better: 'Lower', threshold: '0.3', notWorseThanServing: { tolerance: '0.01' } },
    ],
  };
  await applyMd(
    env.ns,
    'metric',
    pipelineSpec('metric', model, `${registryHost}/gates-metric-${unique()}`, { analysis }),
  );
  const first = await waitForMd(env.ns, 'metric', 'Succeeded', succeededAt(v1), 90_000);
  expect(condition(first, 'MetricsPassed')).toMatchObject({ status: 'True', reason: 'MetricsPassed' });
  expect(condition(first, 'MetricsPassed')?.message).toBe(
    `version ${v1}: val_rmse = 0.2, at most 0.3, no version serves yet to compare with`,
  );
  const before = await template('metric');

  // A retrain that scores worse than what serves: refused before anything is built.
  const { version: v2, runId: r2 } = await mlflow.createRunVersion(model);
  await mlflow.logMetric(r2, 'val_rmse', 0.25);
  await mlflow.waitUntilReady(model, v2);
  await mlflow.setAlias(model, 'champion', v2);
  await requestReconcile(env.ns, 'metric');
  const refused = await waitForMd(
    env.ns,
    'metric',
    'Failed',
    (m) => m.status?.currentRun?.version === v2 && m.status?.phase === 'Failed',
    60_000,
  );
  expect(refused.status?.currentRun).toMatchObject({
    version: v2,
    result: 'Failed',
    reason: 'MetricsFailed',
  });
  expect(condition(refused, 'MetricsPassed')?.message).toBe(
    `version ${v2}: val_rmse = 0.25 is worse than version ${v1}'s 0.2 that serves (tolerance 0.01); ` +
      'register a better version in MLflow, or change spec.analysis.mlflowMetrics',
  );
  expect(condition(refused, 'ImageBuilt')).toBeUndefined();
  const jobs = await kubectlOk([
    '-n',
    env.ns,
    'get',
    'jobs',
    '-l',
    `${LABEL_INSTANCE}=metric,${LABEL_MODEL_VERSION}=${v2}`,
    '-o',
    'name',
  ]);
  expect(jobs.trim()).toBe('');
  expect(await template('metric')).toBe(before);
  expect(refused.status?.serving?.version).toBe(v1);
  const table = await kubectlOk(['-n', env.ns, 'get', 'md', 'metric']);
  expect(table).toMatch(/\sFailed\s/);

  // A better one goes through, compared with the version that serves.
  const { version: v3, runId: r3 } = await mlflow.createRunVersion(model);
  await mlflow.logMetric(r3, 'val_rmse', 0.15);
  await mlflow.waitUntilReady(model, v3);
  await mlflow.setAlias(model, 'champion', v3);
  await requestReconcile(env.ns, 'metric');
  const passed = await waitForMd(env.ns, 'metric', 'Succeeded', succeededAt(v3), 90_000);
  expect(condition(passed, 'MetricsPassed')?.message).toBe(
    `version ${v3}: val_rmse = 0.15, at most 0.3, not worse than version ${v1}'s 0.2`,
  );
});
