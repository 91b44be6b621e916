// MLflow changing or going away under a model that is already served: the object says so
// honestly, keeps the version it serves, and does not flip to Ready=False for an outage.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  condition,
  getMd,
  requestReconcile,
  succeededAt,
  waitForMd,
  type MdObject,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { RegistryProxy, type ProxyMode } from '../helpers/registryProxy.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('outage');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const unique = () => Date.now().toString(36);
const reachable = (m: MdObject) => condition(m, 'RegistryReachable');

let proxy: RegistryProxy;
beforeAll(async () => {
  proxy = await new RegistryProxy(bed.mlflowUri).start();
});
afterAll(() => proxy.dispose());

test.each<ProxyMode>(['503', 'refuse'])(
  'MLflow answers %s under a Succeeded object: Ready stays True, RegistryReachable=False, then True again',
  async (mode) => {
    await proxy.set('pass');
    const name = `outage-${mode}`;
    const { name: model, version } = await mlflow().createChampion(name);
    await applyMd(env.ns, name, {
      model: { name: model, alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: proxy.uri, timeoutSeconds: 2 },
    });
    await waitForMd(env.ns, name, 'Succeeded', (m) => m.status?.phase === 'Succeeded', 30_000);

    await proxy.set(mode);
    await requestReconcile(env.ns, name);
    const down = await waitForMd(
      env.ns,
      name,
      'RegistryReachable=False or Ready=False',
      (m) => reachable(m)?.status === 'False' || condition(m, 'Ready')?.status === 'False',
      30_000,
    );
    expect(condition(down, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    expect(down.status?.phase).toBe('Succeeded');
    expect(reachable(down)).toMatchObject({ status: 'False', reason: 'RegistryUnavailable' });
    expect(reachable(down)?.message).toContain(`version ${version}`);
    expect(condition(down, 'Stalled')).toBeUndefined();
    expect(condition(down, 'Reconciling')).toBeUndefined();
    // Later polls of the outage (backoff, not a tight loop) keep it so.
    await new Promise((r) => setTimeout(r, 5000));
    const still = await getMd(env.ns, name);
    expect(condition(still, 'Ready')?.status).toBe('True');
    expect(still.status?.phase).toBe('Succeeded');

    await proxy.set('pass');
    const back = await waitForMd(
      env.ns,
      name,
      'RegistryReachable=True',
      (m) => reachable(m)?.status === 'True',
      30_000,
    );
    expect(condition(back, 'Ready')?.status).toBe('True');
  },
);

test('the followed alias is deleted while a version is served: the message names that version and what to do', async () => {
  await proxy.set('pass');
  const { name: model, version } = await mlflow().createChampion('gone');
  await createServingDeployment(env.ns, 'api-gone');
  await applyMd(env.ns, 'gone', {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    build: { builder: 'none' },
    deployment: { name: 'api-gone', container: 'api' },
  });
  await waitForMd(env.ns, 'gone', 'Succeeded', succeededAt(version), 60_000);

  await mlflow().deleteAlias(model, 'champion');
  await requestReconcile(env.ns, 'gone');
  const md = await waitForMd(
    env.ns,
    'gone',
    'AliasNotFound',
    (m) => condition(m, 'Stalled')?.reason === 'AliasNotFound',
    30_000,
  );
  const message = condition(md, 'Stalled')?.message ?? '';
  expect(message).toContain(`no alias "champion"`);
  expect(message).toContain(`Deployment "api-gone" keeps serving version ${version}`);
  expect(message).toMatch(/set the alias in MLflow/);
  expect(condition(md, 'Ready')?.message).toBe(message);
  expect(md.status?.currentRun).toMatchObject({ version, result: 'Succeeded' });
  expect(reachable(md)?.status).toBe('True'); // MLflow answered: it is the alias that is gone
});

test('a build in progress finishes on time while MLflow is down', async () => {
  await proxy.set('pass');
  const { name: model, version } = await mlflow().createChampion('midrun');
  await createServingDeployment(env.ns, 'api-midrun');
  await applyMd(env.ns, 'midrun', {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: proxy.uri, timeoutSeconds: 2 },
    image: { repository: `${registryHost}/midrun-${unique()}` },
    build: {
      builder: 'kaniko',
      context: 'git://git.example/acme/serving.git',
      buildArgs: { TESTBED_BUILD_SECONDS: '12' },
    },
    deployment: { name: 'api-midrun', container: 'api' },
  });
  await waitForMd(env.ns, 'midrun', 'Building', (m) => m.status?.phase === 'Building', 30_000);
  const downAt = Date.now();
  await proxy.set('refuse');
  await requestReconcile(env.ns, 'midrun');
  const md = await waitForMd(
    env.ns,
    'midrun',
    'Succeeded while MLflow is down',
    succeededAt(version),
    45_000,
  );
  const seconds = (Date.now() - downAt) / 1000;
  console.log(`run finished ${seconds.toFixed(1)} s after MLflow went down (build takes 12 s)`);
  expect(reachable(md)?.status).toBe('False');
  expect(condition(md, 'Ready')?.status).toBe('True');
  await proxy.set('pass');
});
