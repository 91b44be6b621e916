// Automatic rollback on the bed (kwok serving, stand-in tests): a version whose test Job fails is
// rolled back to the stable version. Read from the real objects: the Deployment's container is
// back on the previous digest and env and its new ReplicaSet becomes available, status.serving
// names the previous version, the run is RolledBack, one RolledBack Event. SIGKILLed during the
// rollback, the operator ends in the same state with exactly one rollback patch; and moving the
// alias back to the stable version redeploys its image without a build.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { applyCrd, createNamespace, deleteNamespace, kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  childJobs,
  eventsFor,
  getMd,
  requestReconcile,
  succeededAt,
  waitForMd,
  type MdObject,
} from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';
import { waitFor } from '../helpers/wait.js';
import { createServingDeployment, getDeployment } from '../helpers/serving.js';

let ns = '';
let operator: OperatorProcess;
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const unique = () => Date.now().toString(36);

beforeAll(async () => {
  await applyCrd();
  ns = await createNamespace('autorb');
  operator = new OperatorProcess({ WATCH_NAMESPACES: ns });
  await operator.start();
});
afterAll(async () => {
  await operator?.stop('SIGKILL');
  await deleteNamespace(ns);
});

/** v1 deployed and tested; v2 promoted, whose tests fail (or whose rollout cannot progress). */
async function promoteFailingVersion(
  md: string,
  opts: {
    testSeconds?: number;
    progressDeadlineSeconds?: number;
    beforePromotion?: () => Promise<void>;
  } = {},
): Promise<{ model: string; v1: string; v2: string; v1Md: MdObject; generation: number }> {
  const { name: model, version: v1 } = await mlflow().createChampion(md);
  const { version: v2 } = await mlflow().createRunVersion(model);
  await createServingDeployment(ns, `api-${md}`, {
    progressDeadlineSeconds: opts.progressDeadlineSeconds ?? 600,
  });
  await applyMd(ns, md, {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/autorb-${md}-${unique()}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
    deployment: { name: `api-${md}`, container: 'api', env: { LOG_FORMAT: 'json' } },
    test: {
      image: 'registry.example/tests:1',
      env: { TESTBED_FAIL_VERSIONS: v2, TESTBED_RUN_SECONDS: String(opts.testSeconds ?? 0) },
    },
  });
  const v1Md = await waitForMd(ns, md, 'v1 Succeeded', succeededAt(v1), 90_000);
  const { generation } = (await getDeployment(ns, `api-${md}`)).metadata;
  await opts.beforePromotion?.();
  await mlflow().setAlias(model, 'champion', v2);
  await requestReconcile(ns, md);
  return { model, v1, v2, v1Md, generation };
}

const rolledBackAt = (version: string) => (m: MdObject) =>
  m.status?.phase === 'RolledBack' && m.status.currentRun?.version === version;

/** Everything a finished rollback must leave, read from the objects themselves. */
async function expectRolledBack(
  md: string,
  v1Md: MdObject,
  v1: string,
  v2: string,
  reason = 'TestsFailed',
): Promise<MdObject> {
  const after = await waitForMd(ns, md, `RolledBack at ${v2}`, rolledBackAt(v2), 90_000);
  const v1Image = v1Md.status?.rollout?.image ?? '';
  expect(v1Image).toMatch(/@sha256:[0-9a-f]{64}$/);
  const d = await getDeployment(ns, `api-${md}`);
  const api = d.spec.template.spec.containers.find((c) => c.name === 'api');
  expect(api?.image).toBe(v1Image);
  const env = Object.fromEntries((api?.env ?? []).map((e) => [e.name, e.value]));
  expect(env).toMatchObject({ MODEL_VERSION: v1, LOG_FORMAT: 'json', KEEP_ME: 'yes' });
  expect(env.MODEL_URI).toMatch(new RegExp(`/${v1}$`));
  // The ReplicaSet the rollback made current becomes available (kubectl's rollout rules).
  await kubectlOk(['-n', ns, 'rollout', 'status', `deployment/api-${md}`, '--timeout=60s']);

  expect(after.status?.serving).toMatchObject({ version: v1, image: v1Image });
  expect(after.status?.stable).toMatchObject({ version: v1, image: v1Image });
  expect(after.status?.currentRun).toMatchObject({
    version: v2,
    result: 'RolledBack',
    reason,
  });
  const ready = after.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready).toMatchObject({ status: 'False', reason: 'RolledBack' });
  expect(ready?.message).toMatch(
    new RegExp(`^version ${v2} failed \\(${reason}\\): .*; rolled back to version ${v1}`),
  );
  if (reason === 'TestsFailed') expect(ready?.message).toContain(`simulated test failure of version ${v2}`);
  const events = (await eventsFor(ns, md)).filter((e) => e.reason === 'RolledBack');
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: 'Warning' });
  expect(events[0]?.count ?? 1).toBe(1);
  return after;
}

/** The operator's own record of its rollback patches, from line `from` of its output on. */
const rollbackPatches = (from: number) =>
  operator.lines.slice(from).filter((l) => l.includes('"msg":"Patched the rollback"')).length;

/** Refuses the creation of the serving Deployment's Pods (a ValidatingAdmissionPolicy), so a
 * rollout, and the rollback's, cannot finish while it stands. Returns the way to lift it. */
async function holdPods(deployment: string): Promise<() => Promise<void>> {
  const name = `hold-${ns}-${deployment}`;
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] },
          ],
        },
        validations: [{ expression: 'false', message: 'held by the test' }],
      },
    }),
  );
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name },
      spec: {
        policyName: name,
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
          objectSelector: { matchLabels: { app: deployment } },
        },
      },
    }),
  );
  return async () => {
    await kubectlOk(['delete', 'validatingadmissionpolicybinding', name, '--ignore-not-found']);
    await kubectlOk(['delete', 'validatingadmissionpolicy', name, '--ignore-not-found']);
  };
}

test('a rollout past its progress deadline: back to the previous digest and env, no test Job', async () => {
  let release: (() => Promise<void>) | undefined;
  const { v1, v2, v1Md, generation } = await promoteFailingVersion('pde', {
    progressDeadlineSeconds: 10,
    // v2's Pods can never be created, so its rollout cannot progress; v1's Pods stay.
    beforePromotion: async () => {
      release = await holdPods('api-pde');
    },
  });
  try {
    const after = await expectRolledBack('pde', v1Md, v1, v2, 'ProgressDeadlineExceeded');
    expect(after.status?.conditions?.find((c) => c.type === 'Deployed')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(await childJobs(ns, 'model-test', 'pde')).toHaveLength(1); // v1's only
    expect((await getDeployment(ns, 'api-pde')).metadata.generation).toBe(generation + 2);
  } finally {
    await release?.();
  }
});

test('a failing test Job: the container goes back to the previous digest and env, once', async () => {
  const from = operator.lines.length;
  const { v1, v2, v1Md, generation } = await promoteFailingVersion('tests');
  await expectRolledBack('tests', v1Md, v1, v2);
  // v2's patch and the rollback's: one generation each.
  expect((await getDeployment(ns, 'api-tests')).metadata.generation).toBe(generation + 2);
  expect(rollbackPatches(from)).toBe(1);

  // Remembered: later polls neither retest nor roll anything.
  await requestReconcile(ns, 'tests');
  await new Promise((r) => setTimeout(r, 3000));
  expect((await getDeployment(ns, 'api-tests')).metadata.generation).toBe(generation + 2);
  expect(rollbackPatches(from)).toBe(1);
  expect(await childJobs(ns, 'model-test', 'tests')).toHaveLength(2);
});

test('moving the alias back to the stable version reuses its image: no build, a new test, Succeeded', async () => {
  const { model, v1, v2, v1Md } = await promoteFailingVersion('back');
  await expectRolledBack('back', v1Md, v1, v2);
  const builds = (await childJobs(ns, 'image-build', 'back')).length;
  const tests = (await childJobs(ns, 'model-test', 'back')).length;
  await mlflow().setAlias(model, 'champion', v1);
  await requestReconcile(ns, 'back');
  const done = await waitForMd(ns, 'back', 'v1 Succeeded again', succeededAt(v1), 90_000);
  expect(done.status?.image).toMatchObject({ reused: true, ref: v1Md.status?.rollout?.image });
  expect(await childJobs(ns, 'image-build', 'back')).toHaveLength(builds);
  expect(await childJobs(ns, 'model-test', 'back')).toHaveLength(tests + 1);
  expect(done.status?.serving).toMatchObject({ version: v1 });
  expect(done.status?.history?.map((h) => [h.version, h.result])).toEqual([
    [v1, 'Succeeded'],
    [v2, 'RolledBack'],
    [v1, 'Succeeded'],
  ]);
});

test('SIGKILLed during the rollback: the same end state, exactly one rollback patch', async () => {
  const from = operator.lines.length;
  const { model, v1, v2, v1Md, generation } = await promoteFailingVersion('kill', { testSeconds: 4 });
  await waitForMd(
    ns,
    'kill',
    'v2 Testing',
    (m) => m.status?.phase === 'Testing' && m.status.currentRun?.version === v2,
    90_000,
  );
  // From here the rollback's Pods cannot be created: its rollout stays in progress.
  const release = await holdPods('api-kill');
  try {
    await waitForMd(ns, 'kill', 'RollingBack', (m) => m.status?.phase === 'RollingBack', 60_000);
    await waitFor('the rollback patch', async () => rollbackPatches(from) === 1, { timeoutMs: 30_000 });
    expect(await operator.stop('SIGKILL')).toBeNull();
    await operator.start();
    // The new process finds the container already back: it waits for the rollout, never patches.
    await new Promise((r) => setTimeout(r, 6000)); // three of its rollback polls
    const still = await getMd(ns, 'kill');
    expect(still.status?.phase).toBe('RollingBack');
    expect(still.status?.currentRun?.rollback).toMatchObject({ toVersion: v1 });
    expect(rollbackPatches(from)).toBe(1);
  } finally {
    await release();
  }
  await expectRolledBack('kill', v1Md, v1, v2);
  expect((await getDeployment(ns, 'api-kill')).metadata.generation).toBe(generation + 2);
  expect(rollbackPatches(from)).toBe(1);
  expect(await new MlflowAdmin(bed.mlflowUri).versionByAlias(model, 'champion')).toBe(v2);
});
