// Drift of the serving container after a run: shown on the object (Ready=False, reason Drift,
// live vs expected) and, unless driftPolicy is Report, put back with one guarded patch and an
// Event, without a new run. And coexistence with a GitOps tool applying the same Deployment.
import { bed } from '../helpers/bed.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  childJobs,
  condition,
  eventsFor,
  getMd,
  succeededAt,
  waitForMd,
  type MdObject,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment, getDeployment, servingDeploymentManifest } from '../helpers/serving.js';
import { waitFor } from '../helpers/wait.js';

const env = operatorInNamespace('drift');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const BOOTSTRAP = 'registry.example/api:bootstrap';
const ROGUE = 'registry.example/api:rogue';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spec(model: string, deployment: string, driftPolicy?: 'Heal' | 'Report') {
  return {
    model: { name: model, alias: 'champion', pollInterval: '30s' },
    registry: { trackingUri: bed.mlflowUri },
    build: { builder: 'none' },
    deployment: {
      name: deployment,
      container: 'api',
      env: { SERVING_MODE: 'online' },
      ...(driftPolicy ? { driftPolicy } : {}),
    },
    test: { image: 'registry.example/api-tests:1' },
  };
}

const api = async (deployment: string) =>
  (await getDeployment(env.ns, deployment)).spec.template.spec.containers.find((c) => c.name === 'api')!;
const envValue = async (deployment: string, name: string) =>
  (await api(deployment)).env?.find((e) => e.name === name)?.value;
const ready = (md: MdObject) => condition(md, 'Ready');
const isDrift = (md: MdObject) => ready(md)?.status === 'False' && ready(md)?.reason === 'Drift';
const isReady = (md: MdObject) => ready(md)?.status === 'True';
const driftEvents = async (md: string) =>
  (await eventsFor(env.ns, md))
    .filter((e) => e.reason === 'DriftCorrected')
    .reduce((n, e) => n + (e.count ?? 1), 0);

/** A deployed ModelDeployment of its own model on a Deployment of its own. */
async function deployed(prefix: string, driftPolicy?: 'Heal' | 'Report') {
  const { name, version } = await mlflow().createChampion(prefix);
  const deployment = `api-${prefix}`;
  await createServingDeployment(env.ns, deployment);
  await applyMd(env.ns, prefix, spec(name, deployment, driftPolicy));
  const md = await waitForMd(env.ns, prefix, 'Succeeded', succeededAt(version), 90_000);
  return { md, deployment, version };
}

test('kubectl set image: the object shows Drift, the container is put back once with an Event, and Ready returns without a new run', async () => {
  const { md, deployment } = await deployed('heal');
  const runStarted = md.status?.currentRun?.startedAt;
  await kubectlOk(['-n', env.ns, 'set', 'image', `deployment/${deployment}`, `api=${ROGUE}`]);

  await waitFor('the image put back', async () => (await api(deployment)).image === BOOTSTRAP, {
    timeoutMs: 30_000,
  });
  const healed = await waitForMd(env.ns, 'heal', 'Ready again', isReady, 60_000);
  expect(await driftEvents('heal')).toBe(1);
  const event = (await eventsFor(env.ns, 'heal')).find((e) => e.reason === 'DriftCorrected');
  expect(event).toMatchObject({ type: 'Warning' });
  expect(event?.message).toContain(`live ${ROGUE} vs expected ${BOOTSTRAP}`);
  // No separate Drift transition Event: DriftCorrected says it, with what was changed.
  expect((await eventsFor(env.ns, 'heal')).some((e) => e.reason === 'Drift')).toBe(false);
  expect(healed.status?.currentRun?.startedAt).toBe(runStarted);
  expect(await childJobs(env.ns, 'model-test', 'heal')).toHaveLength(1);
});

test('driftPolicy Report: the drift is shown, live vs expected, and left alone', async () => {
  const { deployment } = await deployed('report', 'Report');
  await kubectlOk(['-n', env.ns, 'set', 'image', `deployment/${deployment}`, `api=${ROGUE}`]);
  const md = await waitForMd(env.ns, 'report', 'Drift', isDrift, 30_000);
  expect(ready(md)?.message).toContain(`live ${ROGUE} vs expected ${BOOTSTRAP}`);
  await sleep(5000);
  expect((await api(deployment)).image).toBe(ROGUE);
  expect(await driftEvents('report')).toBe(0);
  // Put back by hand: Ready again.
  await kubectlOk(['-n', env.ns, 'set', 'image', `deployment/${deployment}`, `api=${BOOTSTRAP}`]);
  await waitForMd(env.ns, 'report', 'Ready again', isReady, 30_000);
});

test('env drift of an operator-managed variable is healed too, and named', async () => {
  const { deployment, version } = await deployed('envdrift');
  await kubectlOk(['-n', env.ns, 'set', 'env', `deployment/${deployment}`, '-c', 'api', 'MODEL_VERSION=999']);
  await waitFor(
    'MODEL_VERSION put back',
    async () => (await envValue(deployment, 'MODEL_VERSION')) === version,
    {
      timeoutMs: 30_000,
    },
  );
  await waitForMd(env.ns, 'envdrift', 'Ready again', isReady, 60_000);
  const event = (await eventsFor(env.ns, 'envdrift')).find((e) => e.reason === 'DriftCorrected');
  expect(event?.message).toContain('MODEL_VERSION');
  // A variable the operator does not manage is not its business.
  await kubectlOk(['-n', env.ns, 'set', 'env', `deployment/${deployment}`, '-c', 'api', 'KEEP_ME=changed']);
  await sleep(5000);
  expect(await envValue(deployment, 'KEEP_ME')).toBe('changed');
  expect(await driftEvents('envdrift')).toBe(1);
});

/** The serving Deployment as a GitOps tool applies it, server-side under its own field manager.
 * `container` is what the repository holds for the api container: with Argo CD's
 * RespectIgnoreDifferences the live image and env are kept, without it git's win. */
async function gitopsApply(deployment: string, replicas: number, container: Record<string, unknown>) {
  const manifest = servingDeploymentManifest(env.ns, deployment, {
    replicas,
    extraLabels: { 'gitops/revision': String(replicas) },
    api: container,
  });
  await kubectlOk(
    ['apply', '--server-side', '--field-manager=gitops', '--force-conflicts', '-f', '-'],
    JSON.stringify(manifest),
  );
}

test('GitOps coexistence: applies that leave the operator-owned fields alone are never patched back; an apply that reverts the image is healed once per apply', async () => {
  const { deployment } = await deployed('gitops');
  const live = await api(deployment);
  const generation = async () => (await getDeployment(env.ns, deployment)).metadata.generation;
  // The tool's first sync takes over the fields kubectl's client-side apply managed.
  await gitopsApply(deployment, 2, { image: live.image, env: live.env });
  await sleep(2500);
  const start = await generation();

  // Argo CD with ignoreDifferences on the operator's fields: git's replicas and labels, live image/env.
  for (const replicas of [3, 2, 3, 2]) {
    await gitopsApply(deployment, replicas, { image: live.image, env: live.env });
    await sleep(2500);
    expect(isReady(await getMd(env.ns, 'gitops'))).toBe(true);
  }
  expect(await generation()).toBe(start + 4); // the four replica changes, nothing from the operator
  expect(await driftEvents('gitops')).toBe(0);
  expect((await api(deployment)).image).toBe(live.image);

  // A GitOps tool told to own the image (no ignoreDifferences) reverts it on each sync: the
  // operator puts it back once per sync, and does not loop on its own.
  const gitImage = 'registry.example/api:from-git';
  for (let sync = 1; sync <= 3; sync++) {
    const before = await generation();
    await gitopsApply(deployment, 2, { image: gitImage, env: live.env });
    await waitFor(`heal after sync ${sync}`, async () => (await api(deployment)).image === live.image, {
      timeoutMs: 30_000,
    });
    await waitForMd(env.ns, 'gitops', 'Ready again', isReady, 60_000);
    await sleep(3000);
    expect({ sync, moves: (await generation()) - before }).toEqual({ sync, moves: 2 }); // git's, then ours
  }
  expect(await driftEvents('gitops')).toBe(3);
});
