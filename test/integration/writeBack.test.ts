// Write-back to the real `mlflow server`: after a run succeeds its version carries the tags and
// the live alias; after a rollback the failed version is tagged RolledBack and live returns to
// the stable version (read back through MLflow's REST API). Against MLflow's basic-auth app, a
// read-only user's write-back is refused: a clear RegistryWriteBack condition, and the
// deployment itself stays Succeeded.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { applySecret } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { MlflowServer, freePort } from '../helpers/mlflowServer.js';
import {
  applyMd,
  condition,
  requestReconcile,
  succeededAt,
  waitForMd,
  type MdObject,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('writeback');
const unique = () => Date.now().toString(36);

/** A pipeline ModelDeployment on the kwok serving Deployment, with write-back on. */
async function applyPipeline(
  md: string,
  model: string,
  registry: Record<string, unknown>,
  failVersions = '',
) {
  await createServingDeployment(env.ns, `api-${md}`);
  await applyMd(env.ns, md, {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { ...registry, writeBack: { liveAlias: 'live' } },
    image: { repository: `${registryHost}/writeback-${md}-${unique()}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
    deployment: { name: `api-${md}`, container: 'api' },
    test: { image: 'registry.example/tests:1', env: { TESTBED_FAIL_VERSIONS: failVersions } },
  });
}

const writtenBack = (m: MdObject) => condition(m, 'RegistryWriteBack')?.status === 'True';

test('tags and the live alias after success, and after a rollback', async () => {
  const mlflow = new MlflowAdmin(bed.mlflowUri);
  const { name: model, version: v1 } = await mlflow.createChampion('wb');
  const { version: v2 } = await mlflow.createRunVersion(model);
  await applyPipeline('ok', model, { trackingUri: bed.mlflowUri }, v2);
  const first = await waitForMd(
    env.ns,
    'ok',
    'v1 written back',
    (m) => succeededAt(v1)(m) && writtenBack(m),
    90_000,
  );
  expect(await mlflow.versionTags(model, v1)).toEqual(
    expect.objectContaining({
      'modeldeployment.status': 'Succeeded',
      'modeldeployment.image': first.status?.currentRun?.image,
      'modeldeployment.deployedAt': first.status?.currentRun?.finishedAt,
      'modeldeployment.target': `${env.ns}/api-ok`,
    }),
  );
  expect(await mlflow.versionByAlias(model, 'live')).toBe(v1);

  await mlflow.setAlias(model, 'champion', v2);
  await requestReconcile(env.ns, 'ok');
  const rolledBack = await waitForMd(
    env.ns,
    'ok',
    'v2 rolled back and written back',
    (m) => m.status?.phase === 'RolledBack' && m.status.registryWriteBack?.run.startsWith(`${v2}@`) === true,
    90_000,
  );
  expect(await mlflow.versionTags(model, v2)).toEqual(
    expect.objectContaining({
      'modeldeployment.status': 'RolledBack',
      'modeldeployment.image': rolledBack.status?.currentRun?.image,
    }),
  );
  expect(await mlflow.versionByAlias(model, 'live')).toBe(v1);
  expect((await mlflow.versionTags(model, v1))['modeldeployment.status']).toBe('Succeeded');
});

describe('against MLflow basic auth', () => {
  const admin = { username: 'admin', password: 'an-admin-password-4-tests' };
  const reader = { username: 'reader', password: 'a-reader-password-4-tests' };
  let server: MlflowServer;

  beforeAll(async () => {
    server = new MlflowServer(await freePort(), admin);
    await server.start();
    const mlflow = new MlflowAdmin(server.uri, admin);
    await mlflow.createModel('secured');
    const { version } = await mlflow.createRunVersion('secured');
    await mlflow.setAlias('secured', 'champion', version);
    await mlflow.createUser(reader.username, reader.password);
  });
  afterAll(() => server.dispose());

  test('a read-only user: RegistryWriteBack=False with a clear reason, the deployment stays Succeeded', async () => {
    await applySecret(env.ns, 'mlflow-reader', reader);
    await applyPipeline('readonly', 'secured', {
      trackingUri: server.uri,
      credentialsSecretRef: { name: 'mlflow-reader' },
    });
    const md = await waitForMd(
      env.ns,
      'readonly',
      'write-back refused',
      (m) => m.status?.phase === 'Succeeded' && condition(m, 'RegistryWriteBack')?.status === 'False',
      90_000,
    );
    expect(condition(md, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const writeBack = condition(md, 'RegistryWriteBack');
    expect(writeBack).toMatchObject({ reason: 'RegistryUnauthorized' });
    expect(writeBack?.message).toMatch(
      /MLflow answered 403\b.*lack the permission.*EDIT permission.*; the deployment is not affected; retried in \d+ s/,
    );
    expect(writeBack?.message).not.toContain(reader.password);
    expect(await new MlflowAdmin(server.uri, admin).versionTags('secured', '1')).toEqual({});
  });
});
