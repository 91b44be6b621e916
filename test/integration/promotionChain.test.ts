// A promotion chain across environments, as the README documents it: a staging ModelDeployment
// follows alias `candidate` and, once a version passed there, moves alias `staging-passed` to it
// (write-back); a production ModelDeployment follows `staging-passed` and waits for approval. A
// version that fails staging is rolled back there, `staging-passed` stays where it was, and
// production never sees it.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  annotateMd,
  applyMd,
  condition,
  getMd,
  requestReconcile,
  succeededAt,
  waitForMd,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';
import { APPROVE_ANNOTATION } from '../../src/api/v1alpha1/modelDeployment.js';

const env = operatorInNamespace('chain');
const repository = `${registryHost}/chain-${Date.now().toString(36)}`;

function stage(name: string, alias: string, extra: Record<string, unknown>) {
  return {
    model: { name, alias, pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri, ...((extra.registry as object | undefined) ?? {}) },
    image: { repository },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
    deployment: { name: `api-${alias}`, container: 'api' },
    test: { image: 'registry.example/tests:1', env: (extra.testEnv as object | undefined) ?? {} },
    ...(extra.approval ? { approval: extra.approval } : {}),
  };
}

test('staging passes a version on to production; a version that fails staging never reaches production', async () => {
  const mlflow = new MlflowAdmin(bed.mlflowUri);
  const model = `chain-${Date.now().toString(36)}`;
  await mlflow.createModel(model);
  const { version: v1 } = await mlflow.createRunVersion(model);
  const { version: v2 } = await mlflow.createRunVersion(model);
  for (const v of [v1, v2]) await mlflow.waitUntilReady(model, v);
  await mlflow.setAlias(model, 'candidate', v1);
  await createServingDeployment(env.ns, 'api-candidate');
  await createServingDeployment(env.ns, 'api-staging-passed');

  await applyMd(
    env.ns,
    'staging',
    stage(model, 'candidate', {
      registry: { writeBack: { liveAlias: 'staging-passed' } },
      testEnv: { TESTBED_FAIL_VERSIONS: v2 },
    }),
  );
  await applyMd(env.ns, 'production', stage(model, 'staging-passed', { approval: { required: true } }));

  // Production waits for an alias nobody set yet; staging passes v1 and sets it.
  await waitForMd(
    env.ns,
    'production',
    'AliasNotFound',
    (m) => condition(m, 'Stalled')?.reason === 'AliasNotFound',
  );
  await waitForMd(
    env.ns,
    'staging',
    `v${v1} passed and written back`,
    (m) => succeededAt(v1)(m) && condition(m, 'RegistryWriteBack')?.status === 'True',
    90_000,
  );
  expect(await mlflow.versionByAlias(model, 'staging-passed')).toBe(v1);
  await requestReconcile(env.ns, 'production');
  await waitForMd(
    env.ns,
    'production',
    'AwaitingApproval',
    (m) => m.status?.phase === 'AwaitingApproval',
    90_000,
  );
  await annotateMd(env.ns, 'production', APPROVE_ANNOTATION, v1);
  await waitForMd(env.ns, 'production', `v${v1} Succeeded`, succeededAt(v1), 90_000);

  // v2 fails its tests in staging: rolled back there; staging-passed stays on v1.
  await mlflow.setAlias(model, 'candidate', v2);
  await requestReconcile(env.ns, 'staging');
  const failed = await waitForMd(
    env.ns,
    'staging',
    `v${v2} rolled back and written back`,
    (m) =>
      m.status?.currentRun?.version === v2 &&
      m.status.phase === 'RolledBack' &&
      m.status.registryWriteBack?.run.startsWith(`${v2}@`) === true,
    120_000,
  );
  expect(failed.status?.serving?.version).toBe(v1);
  expect(await mlflow.versionByAlias(model, 'staging-passed')).toBe(v1);
  await requestReconcile(env.ns, 'production');
  await new Promise((r) => setTimeout(r, 3000));
  const production = await getMd(env.ns, 'production');
  expect(production.status?.model?.version).toBe(v1);
  expect(production.status?.currentRun).toMatchObject({ version: v1, result: 'Succeeded' });
  expect(production.status?.history?.map((r) => r.version)).toEqual([v1]);
}, 300_000);
