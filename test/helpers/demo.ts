// The demo model service (examples/health-predict) on the bed's real node: its manifests with
// the bed's values filled in, its model versions, and what the running service shows.
import { expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { request } from 'undici';
import { digestOf, registryHost } from './aws.js';
import { bed } from './bed.js';
import { kubectlOk } from './kubectl.js';
import { childJobs, type MdObject, succeededAt, waitForMd } from './modelDeployments.js';
import { realNode } from './realNode.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
export const DEMO_DIR = 'examples/health-predict';
export const DEMO_DEPLOYMENT = 'health-predict-api';
export const DEMO_REPOSITORY = 'health-predict-api';
/** The ModelDeployment's name in deploy/modeldeployment.yaml. */
export const DEMO_MD = 'health-predict';

/** A demo manifest (deploy/*.yaml) with its ${NAME} placeholders filled in, as scripts/dev.sh
 * does with envsubst. A placeholder without a value is an error, not an empty string. */
export function renderDemo(
  file: 'serving.yaml' | 'modeldeployment.yaml',
  values: Record<string, string>,
): string {
  const text = readFileSync(`${DEMO_DIR}/deploy/${file}`, 'utf8');
  return text.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for \${${name}}`);
    return value;
  });
}

/** The values the bed gives the demo manifests (scripts/dev.sh exports the same names). */
export function demoValues(modelName: string): Record<string, string> {
  return {
    MODEL_NAME: modelName,
    MLFLOW_URI: realNode.mlflowUri,
    ECR_HOST: process.env.BED_ECR_HOST ?? '',
    BUILD_CONTEXT: realNode.demoContext,
    KANIKO_IMAGE: realNode.kanikoImage,
    PYTHON_IMAGE: realNode.pythonImage,
    TESTS_IMAGE: realNode.testsImage,
    PROGRESS_DEADLINE_SECONDS: '120',
  };
}

export async function applyDemo(namespace: string, modelName: string): Promise<void> {
  const values = demoValues(modelName);
  for (const file of ['serving.yaml', 'modeldeployment.yaml'] as const)
    await kubectlOk(['-n', namespace, 'apply', '-f', '-'], renderDemo(file, values));
}

/** Registers a new version of the demo model in the bed's MLflow (model/register.py):
 * "good" serves the app's inputs, "broken" loads but cannot. */
export async function registerDemoVersion(
  name: string,
  variant: 'good' | 'broken',
  alias?: string,
): Promise<{ version: string; runId: string }> {
  const { stdout } = await run(
    `${bed.venv}/bin/python`,
    ['-m', 'model.register', '--name', name, '--variant', variant, ...(alias ? ['--alias', alias] : [])],
    { cwd: DEMO_DIR, env: { ...process.env, MLFLOW_TRACKING_URI: bed.mlflowUri }, timeout: 120_000 },
  );
  const out = JSON.parse(stdout) as { version: string; run_id: string };
  return { version: out.version, runId: out.run_id };
}

/** GET /health of the demo through its Service's ClusterIP (kube-proxy routes it from the host). */
export async function demoHealth(namespace: string): Promise<{ status: number; body: unknown }> {
  const ip = await kubectlOk([
    '-n',
    namespace,
    'get',
    'service',
    DEMO_DEPLOYMENT,
    '-o',
    'jsonpath={.spec.clusterIP}',
  ]);
  const res = await request(`http://${ip.trim()}/health`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: res.statusCode, body: await res.body.json() };
}

interface PodList {
  items: {
    metadata: { name: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status: {
      containerStatuses?: {
        name: string;
        ready: boolean;
        imageID: string;
        state?: { terminated?: { message?: string; exitCode: number } };
      }[];
    };
  }[];
}

export async function pods(namespace: string, selector: string): Promise<PodList['items']> {
  const out = await kubectlOk(['-n', namespace, 'get', 'pods', '-l', selector, '-o', 'json']);
  return (JSON.parse(out) as PodList).items;
}

/** The imageIDs (<repository>@sha256:…) the kubelet reports for the demo's ready `api` containers. */
export async function servingImageIds(namespace: string): Promise<string[]> {
  return (await pods(namespace, `app=${DEMO_DEPLOYMENT}`))
    .filter((p) => !p.metadata.deletionTimestamp)
    .flatMap((p) => p.status.containerStatuses ?? [])
    .filter((c) => c.name === 'api' && c.ready)
    .map((c) => c.imageID);
}

export async function jobLog(namespace: string, job: string): Promise<string> {
  return kubectlOk(['-n', namespace, 'logs', `job/${job}`, '--tail=-1']);
}

interface Job {
  metadata: { name: string; labels: Record<string, string> };
  spec: { template: { spec: { containers: { name: string; image: string; args?: string[] }[] } } };
}

/** The demo ModelDeployment's Jobs of one component (image-build, model-test) for `version`. */
export async function demoJobs(namespace: string, component: string, version: string): Promise<Job[]> {
  return (await childJobs<Job>(namespace, component, DEMO_MD)).filter(
    (j) => j.metadata.labels['mlops.healthpredict.io/model-version'] === version,
  );
}

/** Everything a successful run of the demo must have left behind, checked on the real objects;
 * returns the image digest. */
export async function expectDemoServed(
  namespace: string,
  md: MdObject,
  model: string,
  version: string,
): Promise<string> {
  const image = md.status?.image;
  const digest = image?.digest ?? '';
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

  // The Kaniko Job is what an EKS user gets: ECR destination, S3 context; only the executor
  // image is the bed's. Its Pod ran on the real node and reported the digest it pushed.
  const [build] = await demoJobs(namespace, 'image-build', version);
  const kaniko = build?.spec.template.spec.containers[0];
  expect(kaniko?.image).toBe(realNode.kanikoImage);
  expect(kaniko?.args).toEqual(
    expect.arrayContaining([
      `--context=${realNode.demoContext}`,
      `--destination=${registryHost}/${DEMO_REPOSITORY}:${image?.tag}`,
      `--build-arg=MODEL_URI=models:/${model}/${version}`,
    ]),
  );
  const [buildPod] = await pods(namespace, `batch.kubernetes.io/job-name=${build?.metadata.name}`);
  expect(buildPod?.spec.nodeName).toBe(realNode.name);
  expect(buildPod?.status.containerStatuses?.[0]?.state?.terminated?.message?.trim()).toBe(digest);

  // ECR (moto, fed by the registry's push notifications) has that digest under the tag, and
  // the kubelet runs exactly it.
  await waitFor(
    'the push to reach ECR',
    async () => (await digestOf(DEMO_REPOSITORY, image?.tag ?? '')) === digest,
  );
  const running = await servingImageIds(namespace);
  expect(running.length).toBeGreaterThan(0);
  for (const id of running) expect(id).toBe(`${registryHost}/${DEMO_REPOSITORY}@${digest}`);

  // The live API serves the version, and the test Job's pytest output shows the suite passing.
  expect(await demoHealth(namespace)).toEqual({
    status: 200,
    body: expect.objectContaining({ model: expect.objectContaining({ name: model, version }) }),
  });
  const [testJob] = await demoJobs(namespace, 'model-test', version);
  const log = await jobLog(namespace, testJob?.metadata.name ?? '');
  expect(log).toMatch(/api\/test_api\.py::test_predict PASSED/);
  expect(log).toMatch(/=+ \d+ passed in [\d.]+s =+/);
  expect(log).not.toMatch(/\bfailed\b/);
  return digest;
}

/** Waits for the demo's run of `version` to succeed (a real build, rollout and test take about
 * a minute each) and checks what it left behind; returns the image digest. */
export async function expectDemoSucceeds(
  namespace: string,
  model: string,
  version: string,
  timeoutMs = 6 * 60_000,
): Promise<string> {
  const md = await waitForMd(namespace, DEMO_MD, `Succeeded at ${version}`, succeededAt(version), timeoutMs);
  return expectDemoServed(namespace, md, model, version);
}
