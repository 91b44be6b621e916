// The whole pipeline on the bed: resolve → build (Kaniko Job, played by the bed) → ECR (moto)
// → rollout of the serving Deployment (real controller-manager, kwok Pods) → test Job.
import type { BuildSpec } from '../../src/api/v1alpha1/pipeline.js';
import { imageBuildHash } from '../../src/builders/builder.js';
import { bed } from '../helpers/bed.js';
import {
  createCodeBuildProject,
  createRepository,
  describeRepository,
  digestOf,
  pushImage,
  registryHost,
} from '../helpers/aws.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  childJobs,
  condition,
  eventsFor,
  getMd,
  isStalled,
  type MdObject,
  succeededAt,
  waitForMd,
} from '../helpers/modelDeployments.js';
import { waitFor } from '../helpers/wait.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment, getDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('pipeline');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const unique = () => Date.now().toString(36);

interface Job {
  metadata: {
    name: string;
    labels: Record<string, string>;
    ownerReferences: { kind: string; name: string; controller: boolean }[];
  };
  spec: {
    backoffLimit: number;
    activeDeadlineSeconds: number;
    template: {
      spec: {
        restartPolicy: string;
        containers: {
          name: string;
          image: string;
          args?: string[];
          env?: { name: string; value: string }[];
        }[];
      };
    };
  };
}

const jobs = (component: string, md: string) => childJobs<Job>(env.ns, component, md);

/** A registered model of its own, with version 1 behind alias champion (and in Production). */
async function newModel(prefix: string): Promise<{ name: string; v1: string; runId: string }> {
  const { name, version, runId } = await mlflow().createChampion(prefix);
  await mlflow().transition(name, version, 'Production');
  return { name, v1: version, runId };
}

function spec(model: object, repo: string, deployment: string, extra: Record<string, unknown> = {}) {
  return {
    model: { pollInterval: '10s', ...model },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/${repo}` },
    build: {
      builder: 'kaniko',
      context: 'git://git.example/acme/serving.git#refs/heads/main',
      buildArgs: { MODEL_NAME_ARG: '{name}' },
    },
    deployment: { name: deployment, container: 'api', env: { MODEL_URI: 'models:/{name}/{version}' } },
    test: {
      image: 'registry.example/api-tests:1',
      command: ['pytest', '-q'],
      env: { SUITE: 'smoke' } as Record<string, string>,
    },
    ...extra,
  };
}

/** The default tag, v{version}-{runIdShort}-{buildHash}, of a version built with `build`. */
const defaultTag = (version: string, runId: string, build: object) =>
  `v${version}-${runId.slice(0, 7)}-${imageBuildHash(build as BuildSpec)}`;

const failed = (m: MdObject) => m.status?.phase === 'Failed';

test('happy path by alias: build Job, ECR digest, rollout by digest, test Job, history; then a promotion runs it all again', async () => {
  const { name, v1, runId } = await newModel('alias');
  const repo = `serving-${unique()}`;
  await createServingDeployment(env.ns, 'api-alias');
  await applyMd(env.ns, 'alias', spec({ name, alias: 'champion' }, repo, 'api-alias'));
  const md = await waitForMd(env.ns, 'alias', 'Succeeded', succeededAt(v1), 90_000);

  // The build Job, field by field.
  const [build] = await jobs('image-build', 'alias');
  const tag = defaultTag(v1, runId, spec({}, repo, 'api-alias').build);
  expect(build?.metadata.labels).toMatchObject({
    'app.kubernetes.io/managed-by': 'mlflow-model-operator',
    'mlops.healthpredict.io/model-version': v1,
  });
  expect(build?.metadata.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'ModelDeployment', name: 'alias', controller: true }),
  ]);
  expect(build?.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 1800 });
  const kaniko = build?.spec.template.spec.containers[0];
  expect(build?.spec.template.spec.restartPolicy).toBe('Never');
  expect(kaniko?.name).toBe('kaniko');
  expect(kaniko?.image).toMatch(/kaniko/);
  expect(kaniko?.args).toEqual(
    expect.arrayContaining([
      '--context=git://git.example/acme/serving.git#refs/heads/main',
      '--dockerfile=Dockerfile',
      `--destination=${registryHost}/${repo}:${tag}`,
      `--build-arg=MODEL_URI=models:/${name}/${v1}`,
      `--build-arg=MODEL_NAME_ARG=${name}`,
      '--digest-file=/dev/termination-log',
    ]),
  );

  // The image is in ECR under the deterministic tag, and deployed by that digest.
  const digest = await digestOf(repo, tag);
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(md.status?.image).toMatchObject({
    ref: `${registryHost}/${repo}@${digest}`,
    tag,
    digest,
    builtFor: v1,
  });
  const dep = await getDeployment(env.ns, 'api-alias');
  const [sidecar, api] = dep.spec.template.spec.containers;
  expect(sidecar?.image).toBe('registry.example/sidecar:1'); // nothing else changes
  expect(api?.image).toBe(`${registryHost}/${repo}@${digest}`);
  expect(api?.env).toEqual([
    { name: 'KEEP_ME', value: 'yes' },
    { name: 'MODEL_URI', value: `models:/${name}/${v1}` },
    { name: 'MODEL_VERSION', value: v1 },
  ]);
  expect(md.status?.rollout).toMatchObject({ version: v1, previousImage: 'registry.example/api:bootstrap' });

  // The test Job ran with the service URL and the version.
  const [testJob] = await jobs('model-test', 'alias');
  expect(testJob?.spec.template.spec.containers[0]?.env).toEqual(
    expect.arrayContaining([
      { name: 'SERVICE_URL', value: `http://api-alias.${env.ns}.svc` },
      { name: 'MODEL_NAME', value: name },
      { name: 'MODEL_VERSION', value: v1 },
      { name: 'SUITE', value: 'smoke' },
    ]),
  );
  expect(md.status?.testJob).toBe(testJob?.metadata.name);
  for (const type of ['Ready', 'ModelResolved', 'ImageBuilt', 'Deployed', 'TestsPassed'])
    expect(condition(md, type)?.status).toBe('True');
  expect(md.status?.history).toEqual([
    expect.objectContaining({
      version: v1,
      runId,
      result: 'Succeeded',
      image: `${registryHost}/${repo}@${digest}`,
    }),
  ]);
  const reasons = (await eventsFor(env.ns, 'alias')).map((e) => e.reason);
  expect(reasons).toEqual(
    expect.arrayContaining([
      'NewModelVersion',
      'DeploymentStarted',
      'BuildStarted',
      'ImageBuilt',
      'RolloutStarted',
      'TestStarted',
      'Succeeded',
    ]),
  );

  // Promotion: the whole pipeline again for the new version.
  const { version: v2 } = await mlflow().createRunVersion(name);
  await mlflow().setAlias(name, 'champion', v2);
  const promoted = await waitForMd(env.ns, 'alias', 'v2 Succeeded', succeededAt(v2), 90_000);
  expect(promoted.status?.history?.map((h) => [h.version, h.result])).toEqual([
    [v2, 'Succeeded'],
    [v1, 'Succeeded'],
  ]);
  expect(promoted.status?.rollout?.previousImage).toBe(`${registryHost}/${repo}@${digest}`);
  expect(await jobs('image-build', 'alias')).toHaveLength(2);
});

test('happy path by stage, with a tag that already exists in ECR: no build runs', async () => {
  const { name, v1, runId } = await newModel('stage');
  const repo = `serving-${unique()}`;
  await createRepository(repo); // pushed by an earlier pipeline run, say
  const existing = await pushImage(repo, defaultTag(v1, runId, spec({}, repo, 'api-stage').build));
  await createServingDeployment(env.ns, 'api-stage');
  await applyMd(env.ns, 'stage', spec({ name, stage: 'Production' }, repo, 'api-stage'));
  const md = await waitForMd(env.ns, 'stage', 'Succeeded', succeededAt(v1), 90_000);
  expect(md.status?.image).toMatchObject({ reused: true, digest: existing });
  expect(condition(md, 'ImageBuilt')).toMatchObject({ status: 'True', reason: 'ImageReused' });
  expect(await jobs('image-build', 'stage')).toHaveLength(0);
  expect((await getDeployment(env.ns, 'api-stage')).spec.template.spec.containers[1]?.image).toBe(
    `${registryHost}/${repo}@${existing}`,
  );
});

test('a failing build fails the run, leaves the Deployment untouched and is not retried in a loop; the retry annotation retries', async () => {
  const { name, v1 } = await newModel('badbuild');
  await createServingDeployment(env.ns, 'api-badbuild');
  const before = await getDeployment(env.ns, 'api-badbuild');
  const s = spec({ name, alias: 'champion' }, `serving-${unique()}`, 'api-badbuild');
  s.build.buildArgs = { ...s.build.buildArgs, TESTBED_OUTCOME: 'fail' } as typeof s.build.buildArgs;
  await applyMd(env.ns, 'badbuild', s);
  const md = await waitForMd(env.ns, 'badbuild', 'Failed', failed, 60_000);
  expect(condition(md, 'Stalled')).toMatchObject({ status: 'True', reason: 'BuildFailed' });
  expect(condition(md, 'ImageBuilt')).toMatchObject({ status: 'False', reason: 'BuildFailed' });
  expect(md.status?.currentRun).toMatchObject({ version: v1, result: 'Failed', reason: 'BuildFailed' });
  expect(md.status?.history?.[0]).toMatchObject({ version: v1, result: 'Failed' });
  const after = await getDeployment(env.ns, 'api-badbuild');
  // Only the claim taken before the build (the apiserver counts a Deployment's annotations in
  // its generation); the spec is as it was.
  expect(after.metadata.annotations?.['claim.mlops.healthpredict.io/api']).toBe('badbuild');
  expect(after.metadata.generation).toBe(before.metadata.generation + 1);
  expect(after.spec.template.spec.containers).toEqual(before.spec.template.spec.containers);

  // Polls keep coming (10s interval) but the failed version is not built again.
  await new Promise((r) => setTimeout(r, 12_000));
  expect(await jobs('image-build', 'badbuild')).toHaveLength(1);
  expect((await getMd(env.ns, 'badbuild')).status?.phase).toBe('Failed');

  await kubectlOk([
    '-n',
    env.ns,
    'annotate',
    '--overwrite',
    'md',
    'badbuild',
    'mlops.healthpredict.io/retry=1',
  ]);
  await waitFor(
    'the retry annotation to start a second build',
    async () => (await jobs('image-build', 'badbuild')).length >= 2,
    {
      timeoutMs: 30_000,
      intervalMs: 500,
    },
  );
});

test('a rollout that exceeds its progress deadline fails with that reason', async () => {
  const { name, v1 } = await newModel('deadline');
  // The surge Pod of the rollout cannot be scheduled, so the rollout cannot progress.
  await createServingDeployment(env.ns, 'api-deadline', { progressDeadlineSeconds: 10, blockRollout: true });
  await applyMd(env.ns, 'deadline', spec({ name, alias: 'champion' }, `serving-${unique()}`, 'api-deadline'));
  const md = await waitForMd(env.ns, 'deadline', 'Failed', failed, 90_000);
  expect(condition(md, 'Stalled')).toMatchObject({ reason: 'ProgressDeadlineExceeded' });
  expect(condition(md, 'Deployed')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
  expect(md.status?.currentRun).toMatchObject({ version: v1, result: 'Failed' });
  expect(await jobs('model-test', 'deadline')).toHaveLength(0);
});

test('a failing test Job fails the run and is not rerun in a loop', async () => {
  const { name, v1 } = await newModel('badtest');
  await createServingDeployment(env.ns, 'api-badtest');
  const s = spec({ name, alias: 'champion' }, `serving-${unique()}`, 'api-badtest');
  s.test = { ...s.test, env: { TESTBED_OUTCOME: 'fail' } };
  await applyMd(env.ns, 'badtest', s);
  const md = await waitForMd(env.ns, 'badtest', 'Failed', failed, 90_000);
  expect(condition(md, 'Stalled')).toMatchObject({ reason: 'TestsFailed' });
  expect(condition(md, 'TestsPassed')).toMatchObject({ status: 'False', reason: 'TestsFailed' });
  expect(md.status?.currentRun).toMatchObject({ version: v1, result: 'Failed', reason: 'TestsFailed' });
  await new Promise((r) => setTimeout(r, 12_000));
  expect(await jobs('model-test', 'badtest')).toHaveLength(1);
  expect(await jobs('image-build', 'badtest')).toHaveLength(1);
});

test('builder none: only the model env changes and the Deployment rolls', async () => {
  const { name, v1 } = await newModel('nobuild');
  await createServingDeployment(env.ns, 'api-nobuild');
  await applyMd(env.ns, 'nobuild', {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    build: { builder: 'none' },
    deployment: { name: 'api-nobuild', container: 'api' },
  });
  const md = await waitForMd(env.ns, 'nobuild', 'Succeeded', succeededAt(v1), 60_000);
  const api = (await getDeployment(env.ns, 'api-nobuild')).spec.template.spec.containers[1];
  expect(api?.image).toBe('registry.example/api:bootstrap');
  expect(api?.env).toEqual(expect.arrayContaining([{ name: 'MODEL_URI', value: `models:/${name}/${v1}` }]));
  expect(condition(md, 'ImageBuilt')).toMatchObject({ reason: 'NoBuild' });
});

test('CodeBuild via moto: the build starts with an idempotency token, the pushed digest is deployed', async () => {
  const { name, v1, runId } = await newModel('codebuild');
  const repo = `serving-${unique()}`;
  const project = `hp-build-${unique()}`;
  await createCodeBuildProject(project);
  await createServingDeployment(env.ns, 'api-codebuild');
  await applyMd(env.ns, 'codebuild', {
    ...spec({ name, alias: 'champion' }, repo, 'api-codebuild'),
    build: { builder: 'codebuild', codebuild: { projectName: project } },
  });
  // moto runs nothing: once the operator started the build, the test pushes what the project would.
  const started = await waitForMd(
    env.ns,
    'codebuild',
    'build started',
    (m) => m.status?.build?.builder === 'codebuild',
    30_000,
  );
  expect(started.status?.build?.name).toMatch(new RegExp(`^${project}:`));
  const digest = await pushImage(
    repo,
    defaultTag(v1, runId, { builder: 'codebuild', codebuild: { projectName: project } }),
  );
  const md = await waitForMd(env.ns, 'codebuild', 'Succeeded', succeededAt(v1), 60_000);
  expect(md.status?.image).toMatchObject({ digest, ref: `${registryHost}/${repo}@${digest}` });
});

test('a missing Deployment or container stalls with a clear reason and changes nothing', async () => {
  const { name } = await newModel('target');
  await applyMd(
    env.ns,
    'no-deployment',
    spec({ name, alias: 'champion' }, `serving-${unique()}`, 'api-missing'),
  );
  const missing = await waitForMd(env.ns, 'no-deployment', 'Stalled', isStalled, 60_000);
  expect(condition(missing, 'Stalled')).toMatchObject({ reason: 'DeploymentNotFound' });
  expect(condition(missing, 'Stalled')?.message).toContain(
    `Deployment "api-missing" not found in namespace "${env.ns}"`,
  );

  await createServingDeployment(env.ns, 'api-target');
  const before = await getDeployment(env.ns, 'api-target');
  const s = spec({ name, alias: 'champion' }, `serving-${unique()}`, 'api-target');
  s.deployment = { ...s.deployment, container: 'server' };
  await applyMd(env.ns, 'no-container', s);
  const md = await waitForMd(env.ns, 'no-container', 'Stalled', isStalled, 60_000);
  expect(condition(md, 'Stalled')).toMatchObject({ reason: 'ContainerNotFound' });
  expect(condition(md, 'Stalled')?.message).toContain('has no container "server" (it has sidecar, api)');
  const after = await getDeployment(env.ns, 'api-target');
  expect(after.metadata.generation).toBe(before.metadata.generation);
  expect(after.spec).toEqual(before.spec);
});

test('the ECR repository is created with scan on push and immutable tags', async () => {
  const { name, v1 } = await newModel('repo');
  const repo = `serving-${unique()}`;
  await createServingDeployment(env.ns, 'api-repo');
  await applyMd(env.ns, 'repo', spec({ name, alias: 'champion' }, repo, 'api-repo'));
  await waitForMd(env.ns, 'repo', 'Succeeded', succeededAt(v1), 90_000);
  expect(await describeRepository(repo)).toMatchObject({
    imageScanningConfiguration: { scanOnPush: true },
    imageTagMutability: 'IMMUTABLE',
  });
});
