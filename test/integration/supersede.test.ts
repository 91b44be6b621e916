// Superseded work is cancelled: a run that a spec change or a new version replaces has its
// unfinished build Job and test Job stopped and deleted, so an old build never races the new one
// and an old test never keeps probing the service.
import { bed } from '../helpers/bed.js';
import {
  createCodeBuildProject,
  recordedCalls,
  registryHost,
  startMotoRecording,
  stopMotoRecording,
} from '../helpers/aws.js';
import { kubectl } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  childJobs,
  eventsFor,
  type MdObject,
  requestReconcile,
  succeededAt,
  waitForMd,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';
import { waitFor } from '../helpers/wait.js';

const env = operatorInNamespace('supersede');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const unique = () => Date.now().toString(36);

function spec(model: string, md: string, buildArgs: Record<string, string>, testEnv: Record<string, string>) {
  return {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/supersede-${md}-${unique()}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git', buildArgs },
    deployment: { name: `api-${md}`, container: 'api' },
    test: { image: 'registry.example/tests:1', env: testEnv },
  };
}

const jobNames = async (component: string, md: string) =>
  (await childJobs<{ metadata: { name: string } }>(env.ns, component, md)).map((j) => j.metadata.name);

const gone = (name: string, timeoutMs: number) =>
  waitFor(
    `Job ${name} to be deleted`,
    async () => (await kubectl(['-n', env.ns, 'get', 'job', name])).code !== 0,
    { timeoutMs, intervalMs: 500 },
  );

const inPhase = (phase: string) => (m: MdObject) => m.status?.phase === phase;

test('a buildArgs edit mid-build deletes the old build Job and the new run succeeds without DigestMismatch', async () => {
  const { name, version } = await mlflow().createChampion('sup-build');
  await createServingDeployment(env.ns, 'api-build');
  const first = spec(name, 'build', { TESTBED_BUILD_SECONDS: '25', FLAVOR: 'a' }, {});
  await applyMd(env.ns, 'build', first);
  await waitForMd(env.ns, 'build', 'Building', inPhase('Building'), 30_000);
  const [oldJob] = await jobNames('image-build', 'build');
  expect(oldJob).toBeDefined();

  await applyMd(env.ns, 'build', { ...first, build: { ...first.build, buildArgs: { FLAVOR: 'b' } } });
  await gone(oldJob as string, 20_000);
  const md = await waitForMd(env.ns, 'build', 'Succeeded', succeededAt(version), 90_000);
  expect(md.status?.history?.map((h) => h.result)).toEqual(['Succeeded', 'Superseded']);
  expect(JSON.stringify(md.status)).not.toContain('DigestMismatch');
  const reasons = (await eventsFor(env.ns, 'build')).map((e) => e.reason);
  expect(reasons).toContain('WorkCancelled');
});

test('a new version mid-test deletes the old test Job', async () => {
  const { name, version: v1 } = await mlflow().createChampion('sup-test');
  await createServingDeployment(env.ns, 'api-test');
  await applyMd(env.ns, 'test', spec(name, 'test', {}, { TESTBED_RUN_SECONDS: '25' }));
  await waitForMd(
    env.ns,
    'test',
    'Testing',
    (m) => inPhase('Testing')(m) && m.status?.currentRun?.version === v1,
    60_000,
  );
  const [oldTest] = await jobNames('model-test', 'test');
  expect(oldTest).toBeDefined();

  const { version: v2 } = await mlflow().createRunVersion(name);
  await mlflow().setAlias(name, 'champion', v2);
  await requestReconcile(env.ns, 'test');
  await gone(oldTest as string, 20_000);
  const md = await waitForMd(env.ns, 'test', 'Succeeded', succeededAt(v2), 120_000);
  expect(md.status?.history?.map((h) => [h.version, h.result])).toEqual([
    [v2, 'Succeeded'],
    [v1, 'Superseded'],
  ]);
});

test("a spec change while a CodeBuild build runs stops that build (StopBuild, seen in moto's request record)", async () => {
  const { name } = await mlflow().createChampion('sup-cb');
  const project = `sup-cb-${unique()}`;
  await createCodeBuildProject(project);
  await createServingDeployment(env.ns, 'api-cb');
  await startMotoRecording();
  try {
    const first = spec(name, 'cb', { FLAVOR: 'a' }, {});
    const codebuild = { ...first.build, builder: 'codebuild', codebuild: { projectName: project } };
    await applyMd(env.ns, 'cb', { ...first, build: codebuild });
    // CodeBuild is polled every 15 s: the edit lands while the first build is still unobserved.
    const started = await waitForMd(
      env.ns,
      'cb',
      'CodeBuild build started',
      (m) => m.status?.build?.builder === 'codebuild',
      30_000,
    );
    const oldBuild = started.status?.build?.name;
    await applyMd(env.ns, 'cb', { ...first, build: { ...codebuild, buildArgs: { FLAVOR: 'b' } } });
    await waitFor(
      `StopBuild for ${oldBuild}`,
      async () => (await recordedCalls('CodeBuild_20161006.StopBuild')).some((b) => b.id === oldBuild),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const md = await waitForMd(
      env.ns,
      'cb',
      'a new build started',
      (m) => m.status?.build?.name !== undefined && m.status.build.name !== oldBuild,
      30_000,
    );
    expect(md.status?.history?.[0]?.result).toBe('Superseded');
    expect((await eventsFor(env.ns, 'cb')).map((e) => e.message).join('\n')).toContain(
      `CodeBuild build "${oldBuild}"`,
    );
  } finally {
    await stopMotoRecording();
  }
});
