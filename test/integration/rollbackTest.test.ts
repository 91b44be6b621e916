// Every run tests its own rollout: rolling back to an earlier version within the test Job's TTL
// creates a new test Job for the new run instead of counting the old run's result.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  childJobs,
  eventsFor,
  requestReconcile,
  succeededAt,
  waitForMd,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('rollback');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);

test('v1 -> v2 -> back to v1 within the TTL: a new test Job, exactly one TestStarted per run', async () => {
  const { name, version: v1 } = await mlflow().createChampion('rollback');
  await createServingDeployment(env.ns, 'api-rb');
  await applyMd(env.ns, 'rb', {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/rollback-${Date.now().toString(36)}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
    deployment: { name: 'api-rb', container: 'api' },
    test: { image: 'registry.example/tests:1' },
  });
  const first = await waitForMd(env.ns, 'rb', 'v1 Succeeded', succeededAt(v1), 90_000);
  const { version: v2 } = await mlflow().createRunVersion(name);
  await mlflow().setAlias(name, 'champion', v2);
  await requestReconcile(env.ns, 'rb');
  await waitForMd(env.ns, 'rb', 'v2 Succeeded', succeededAt(v2), 90_000);
  await mlflow().setAlias(name, 'champion', v1);
  await requestReconcile(env.ns, 'rb');
  const back = await waitForMd(
    env.ns,
    'rb',
    'v1 Succeeded again',
    (m) => succeededAt(v1)(m) && (m.status?.history?.length ?? 0) === 3,
    90_000,
  );

  const tests = (await childJobs<{ metadata: { name: string } }>(env.ns, 'model-test', 'rb')).map(
    (j) => j.metadata.name,
  );
  expect(new Set(tests).size).toBe(3);
  expect(back.status?.testJob).not.toBe(first.status?.testJob);
  expect(tests).toContain(back.status?.testJob);
  const started = (await eventsFor(env.ns, 'rb')).filter((e) => e.reason === 'TestStarted');
  expect(started.reduce((n, e) => n + (e.count ?? 1), 0)).toBe(3);
  for (const job of tests) expect(started.filter((e) => e.message.includes(`"${job}"`))).toHaveLength(1);
});
