// SIGKILL of the operator in each phase of the pipeline: the next process finds the build Job,
// the patched Deployment or the test Job where the last one left them, and finishes the run
// with no second build, no second rollout of the same version and no lost status.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { applyCrd, createNamespace, deleteNamespace } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, childJobs, type MdObject, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';
import { addNode, createServingDeployment, deleteNode, getDeployment } from '../helpers/serving.js';

let ns: string;
let operator: OperatorProcess | undefined;
const unique = () => Date.now().toString(36);
const EXTRA_NODE = 'kwok-node-kill-test';

beforeAll(async () => {
  await applyCrd();
  ns = await createNamespace('kill');
});
afterAll(async () => {
  await operator?.stop('SIGKILL');
  await deleteNode(EXTRA_NODE);
  await deleteNamespace(ns);
});

async function startOperator(): Promise<void> {
  // A test that failed before its last kill must not leave its process running (jest would wait).
  await operator?.stop('SIGKILL');
  operator = new OperatorProcess({ WATCH_NAMESPACES: ns });
  await operator.start();
}

async function killOperator(): Promise<void> {
  expect(await operator?.stop('SIGKILL')).toBeNull();
}

const count = async (component: string, md: string) => (await childJobs(ns, component, md)).length;

async function setup(
  md: string,
  opts: { buildSeconds?: number; testSeconds?: number; blockRollout?: boolean } = {},
) {
  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion(md);
  await createServingDeployment(ns, `api-${md}`, { blockRollout: opts.blockRollout ?? false });
  await applyMd(ns, md, {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/kill-${md}-${unique()}` },
    build: {
      builder: 'kaniko',
      context: 'git://git.example/acme/serving.git',
      buildArgs: opts.buildSeconds ? { TESTBED_BUILD_SECONDS: String(opts.buildSeconds) } : {},
    },
    deployment: { name: `api-${md}`, container: 'api' },
    test: {
      image: 'registry.example/tests:1',
      env: opts.testSeconds ? { TESTBED_RUN_SECONDS: String(opts.testSeconds) } : {},
    },
  });
  return version;
}

const inPhase = (phase: string) => (m: MdObject) => m.status?.phase === phase;
const revision = async (name: string) =>
  (await getDeployment(ns, name)).metadata.annotations?.['deployment.kubernetes.io/revision'];

test('killed while Building: one build Job, and the run finishes', async () => {
  const version = await setup('building', { buildSeconds: 8 });
  await startOperator();
  await waitForMd(ns, 'building', 'Building', inPhase('Building'), 30_000);
  expect(await count('image-build', 'building')).toBe(1);
  await killOperator();
  await startOperator();
  const md = await waitForMd(ns, 'building', 'Succeeded', succeededAt(version), 90_000);
  expect(await count('image-build', 'building')).toBe(1);
  expect(md.status?.history).toHaveLength(1);
  await killOperator();
});

test('killed while Deploying: the Deployment is rolled once, and the run finishes', async () => {
  const version = await setup('deploying', { blockRollout: true }); // the rollout waits for room
  const rev0 = await revision('api-deploying');
  await startOperator();
  const md = await waitForMd(
    ns,
    'deploying',
    'rolling out',
    (m) => m.status?.rollout?.version === version,
    60_000,
  );
  expect(['Deploying', 'Verifying']).toContain(md.status?.phase);
  await killOperator();
  const rev1 = await revision('api-deploying');
  expect(Number(rev1)).toBe(Number(rev0) + 1);
  await startOperator();
  await addNode(EXTRA_NODE);
  const done = await waitForMd(ns, 'deploying', 'Succeeded', succeededAt(version), 90_000);
  expect(await revision('api-deploying')).toBe(rev1); // no second rollout
  expect(done.status?.rollout?.previousImage).toBe('registry.example/api:bootstrap');
  expect(await count('image-build', 'deploying')).toBe(1);
  await killOperator();
});

test('killed while Testing: one test Job, and the run finishes', async () => {
  const version = await setup('testing', { testSeconds: 8 });
  await startOperator();
  await waitForMd(ns, 'testing', 'Testing', inPhase('Testing'), 60_000);
  await killOperator();
  await startOperator();
  const md = await waitForMd(ns, 'testing', 'Succeeded', succeededAt(version), 90_000);
  expect(await count('model-test', 'testing')).toBe(1);
  expect(await count('image-build', 'testing')).toBe(1);
  expect(md.status?.history?.map((h) => h.result)).toEqual(['Succeeded']);
});
