// The build → rollout → test pipeline through the reconciler (planRun, ensureImage, rollout,
// runTests), over fakes: an in-memory ECR, builders whose builds the test finishes by hand, a
// Deployment store that applies JSON patches the way the apiserver does, and a Job store; the
// registry, status patcher and Event sink are the shared ones of helpers/reconcilerFakes.ts.
import { describe, expect, it } from '@jest/globals';
import type {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  V1Container,
  V1Deployment,
  V1Job,
  V1Pod,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { isDeepStrictEqual } from 'node:util';
import {
  RETRY_ANNOTATION,
  type ModelDeployment,
  type ModelDeploymentStatus,
} from '../../../src/api/v1alpha1/modelDeployment.js';
import type { Builder, BuildRequest, BuildState } from '../../../src/builders/builder.js';
import { KanikoBuilder } from '../../../src/builders/kaniko.js';
import { EcrError, type EcrRegistry, type RepositoryRef } from '../../../src/clients/ecr.js';
import { PollTracker, type PipelineDeps } from '../../../src/controller/context.js';
import { makeReconciler } from '../../../src/controller/reconciler.js';
import { DEPLOYED, IMAGE_BUILT, TESTS_PASSED } from '../../../src/controller/steps/planRun.js';
import { DIGEST_A, DIGEST_B, REPO, pipelineSpec } from '../helpers/pipelineFixtures.js';
import {
  FakeRegistry,
  apiError,
  cond,
  fakeStatusPatcher,
  message,
  recordingEvents,
  version,
  type RecordedEvent,
} from '../helpers/reconcilerFakes.js';

const KEY = 'ml/churn';
const NS = 'ml';
const INTERVAL_MS = 60_000;
const START = Date.parse('2025-01-01T00:00:00.000Z');
const OLD_IMAGE = 'acme/churn-api:bootstrap';
const TAG = 'v3-run-3'; // v{version}-{runIdShort} of version 3, run id run-3
const REF_A = `${REPO}@${DIGEST_A}`;
const FIELD_MANAGER = 'test-operator';

// ---- fakes ----

class FakeEcr {
  readonly calls: string[] = [];
  /** `<repository uri>:<tag>` → digest */
  readonly tags = new Map<string, string>();
  readonly repositories = new Set<string>();
  fail: Error | undefined;

  async ensureRepository(repo: RepositoryRef, settings: { scanOnPush: boolean; tagMutability: string }) {
    this.calls.push(`ensure ${repo.uri} scanOnPush=${settings.scanOnPush} ${settings.tagMutability}`);
    if (this.fail) throw this.fail;
    if (this.repositories.has(repo.uri)) return false;
    this.repositories.add(repo.uri);
    return true;
  }

  async digestOfTag(repo: RepositoryRef, tag: string): Promise<string | undefined> {
    this.calls.push(`digest ${repo.uri}:${tag}`);
    if (this.fail) throw this.fail;
    return this.tags.get(`${repo.uri}:${tag}`);
  }

  push(tag: string, digest: string): void {
    this.tags.set(`${REPO}:${tag}`, digest);
  }
}

/** A builder whose every start is a new build; the test decides how each ends. */
class FakeBuilder implements Builder {
  readonly pollIntervalMs = 0;
  readonly starts: BuildRequest[] = [];
  readonly observed: string[] = [];
  readonly states = new Map<string, BuildState>();
  constructor(readonly kind: 'kaniko' | 'codebuild') {}

  async start(req: BuildRequest): Promise<string> {
    this.starts.push(req);
    const name = `${this.kind}-build-${this.starts.length}`;
    this.states.set(name, { phase: 'Running', message: `${name} is running` });
    return name;
  }

  async observe(_req: BuildRequest, name: string): Promise<BuildState> {
    this.observed.push(name);
    return this.states.get(name) ?? { phase: 'Missing' };
  }

  /** Ends the last build started. */
  finish(state: BuildState): void {
    this.states.set(`${this.kind}-build-${this.starts.length}`, state);
  }
}

type JsonPatchOp = { op: 'test' | 'replace' | 'add'; path: string; value: unknown };

// RFC 6902 for the three ops the operator sends; all or nothing, 422 on a failed test.
function applyJsonPatch<T>(doc: T, ops: JsonPatchOp[]): T {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const { op, path, value } of ops) {
    const keys = path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop() as string;
    let parent: Record<string, unknown> = out;
    for (const k of keys) {
      parent = parent[k] as Record<string, unknown>;
      if (parent === undefined) throw apiError(422, `path ${path} does not exist`);
    }
    if (op === 'test' && !isDeepStrictEqual(parent[last], value))
      throw apiError(422, `test of ${path} failed`);
    if (op === 'replace' && !(last in parent)) throw apiError(422, `replace of missing ${path}`);
    if (op !== 'test') parent[last] = structuredClone(value);
  }
  return out as T;
}

class FakeApps {
  readonly deployments = new Map<string, V1Deployment>();
  readonly patches: { name: string; ops: JsonPatchOp[]; fieldManager: string | undefined }[] = [];
  reads = 0;

  async readNamespacedDeployment({ namespace, name }: { namespace: string; name: string }) {
    this.reads++;
    const d = this.deployments.get(`${namespace}/${name}`);
    if (!d) throw apiError(404, `deployments.apps "${name}" not found`);
    return structuredClone(d);
  }

  async patchNamespacedDeployment({
    namespace,
    name,
    body,
    fieldManager,
  }: {
    namespace: string;
    name: string;
    body: JsonPatchOp[];
    fieldManager?: string;
  }) {
    const key = `${namespace}/${name}`;
    const current = this.deployments.get(key);
    if (!current) throw apiError(404);
    this.patches.push({ name, ops: body, fieldManager });
    const next = applyJsonPatch(current, body);
    // What a read gives back: empty strings are omitted (`value` is omitempty in EnvVar).
    for (const c of next.spec?.template.spec?.containers ?? [])
      for (const e of c.env ?? []) if (e.value === '') delete e.value;
    // The generation moves only when the spec really changed.
    if (!isDeepStrictEqual(current.spec, next.spec))
      next.metadata = { ...next.metadata, generation: (current.metadata?.generation ?? 0) + 1 };
    this.deployments.set(key, next);
    return structuredClone(next);
  }

  get(): V1Deployment {
    return this.deployments.get(`${NS}/churn-api`) as V1Deployment;
  }

  container(name = 'api'): V1Container | undefined {
    return this.get().spec?.template.spec?.containers.find((c) => c.name === name);
  }

  /** The Deployment controller's verdict on the current generation. */
  setRolledOut(): void {
    const d = this.get();
    const replicas = d.spec?.replicas ?? 1;
    d.status = {
      observedGeneration: d.metadata?.generation,
      replicas,
      updatedReplicas: replicas,
      availableReplicas: replicas,
      conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
    };
  }

  setDeadlineExceeded(): void {
    const d = this.get();
    d.status = {
      observedGeneration: d.metadata?.generation,
      replicas: 3,
      updatedReplicas: 1,
      availableReplicas: 2,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "churn-api-5f7" has timed out progressing.',
        },
      ],
    };
  }
}

function servingDeployment(containers?: V1Container[]): V1Deployment {
  return {
    metadata: { name: 'churn-api', namespace: NS, generation: 1 },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'churn-api' } },
      template: {
        spec: {
          containers: containers ?? [
            { name: 'proxy', image: 'envoy:1.30' },
            { name: 'api', image: OLD_IMAGE, env: [{ name: 'LOG_LEVEL', value: 'info' }] },
          ],
        },
      },
    },
    status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
  };
}

class FakeBatch {
  readonly jobs = new Map<string, V1Job>();
  readonly created: V1Job[] = [];
  readonly pods = new Map<string, V1Pod[]>();

  async createNamespacedJob({ namespace, body }: { namespace: string; body: V1Job }) {
    const key = `${namespace}/${body.metadata?.name}`;
    if (this.jobs.has(key)) throw apiError(409, `jobs.batch "${body.metadata?.name}" already exists`);
    this.created.push(structuredClone(body));
    this.jobs.set(key, structuredClone(body));
    return structuredClone(body);
  }

  async readNamespacedJob({ namespace, name }: { namespace: string; name: string }) {
    const job = this.jobs.get(`${namespace}/${name}`);
    if (!job) throw apiError(404, `jobs.batch "${name}" not found`);
    return structuredClone(job);
  }

  async listNamespacedPod({ labelSelector }: { namespace: string; labelSelector: string }) {
    const name = labelSelector.replace('batch.kubernetes.io/job-name=', '');
    return { items: this.pods.get(name) ?? [] };
  }

  /** Ends a Job; a failed one leaves a Pod whose container says why. */
  finish(name: string, result: 'Complete' | 'Failed', terminationMessage?: string): void {
    const job = this.jobs.get(`${NS}/${name}`);
    if (!job) throw new Error(`no Job ${name}`);
    job.status = {
      conditions: [
        result === 'Complete'
          ? { type: 'Complete', status: 'True' }
          : {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
            },
      ],
    };
    const containerName = job.spec?.template.spec?.containers[0]?.name ?? 'test';
    this.pods.set(name, [
      {
        status: {
          containerStatuses: [
            {
              name: containerName,
              image: '',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode: result === 'Complete' ? 0 : 1,
                  ...(terminationMessage !== undefined ? { message: terminationMessage } : {}),
                },
              },
            },
          ],
        },
      },
    ]);
  }

  testJobs(): V1Job[] {
    return this.created.filter((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'model-test');
  }
}

// ---- set-up ----

interface Options {
  /** Replaces parts of the pipeline spec (image, build, deployment, test). */
  spec?: Record<string, unknown>;
  deployment?: V1Deployment | null;
  /** Use the real KanikoBuilder over the fake Job store instead of a FakeBuilder. */
  realKaniko?: boolean;
  pipeline?: boolean;
}

function setup(opts: Options = {}) {
  const md: ModelDeployment = {
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'churn', namespace: NS, uid: 'uid-1', generation: 1, resourceVersion: '1' },
    spec: pipelineSpec(opts.spec) as ModelDeployment['spec'],
  };
  const store = new Map<string, ModelDeployment>([[KEY, md]]);
  const registry = new FakeRegistry();
  const clock = { ms: START };
  const events: RecordedEvent[] = [];
  const writes: Record<string, unknown>[] = [];
  const conflicts = { next: 0 };
  const steps: string[] = [];
  const ecr = new FakeEcr();
  const apps = new FakeApps();
  const batch = new FakeBatch();
  const kaniko = new FakeBuilder('kaniko');
  const codebuild = new FakeBuilder('codebuild');
  if (opts.deployment !== null)
    apps.deployments.set(`${NS}/churn-api`, opts.deployment ?? servingDeployment());
  const pipeline: PipelineDeps = {
    ecr: ecr as unknown as EcrRegistry,
    builders: {
      kaniko: opts.realKaniko
        ? new KanikoBuilder(batch as unknown as BatchV1Api, batch as unknown as CoreV1Api)
        : kaniko,
      codebuild,
    },
    apps: apps as unknown as AppsV1Api,
    batch: batch as unknown as BatchV1Api,
    core: batch as unknown as CoreV1Api,
  };

  const reconcile = makeReconciler({
    get: (key) => store.get(key),
    registryFor: async () => registry,
    ...(opts.pipeline === false ? {} : { pipeline }),
    polls: new PollTracker(),
    metrics: {
      phase: () => undefined,
      forget: () => undefined,
      step: (step, result) => steps.push(`${step} ${result}`),
    },
    now: () => new Date(clock.ms),
    fieldManager: FIELD_MANAGER,
    log: pino({ level: 'silent' }),
    statusPatcher: fakeStatusPatcher(store, {
      before: () => {
        if (conflicts.next > 0) {
          conflicts.next--;
          throw apiError(
            409,
            'the object has been modified; please apply your changes to the latest version',
          );
        }
      },
      onWrite: (w) => writes.push(w.patch),
    }),
    events: recordingEvents(events),
  });

  const status = (): ModelDeploymentStatus => store.get(KEY)?.status ?? {};
  return {
    reconcile: () => reconcile(KEY),
    md: () => store.get(KEY) as ModelDeployment,
    status,
    registry,
    clock,
    events,
    writes,
    ecr,
    apps,
    batch,
    kaniko,
    codebuild,
    eventReasons: () => events.map((e) => e.reason),
    /** Finished steps as metrics saw them. */
    steps,
    /** The next status write loses to someone else's (409), as after a concurrent update. */
    conflictNextWrite: () => (conflicts.next = 1),
    annotate: (key: string, value: string) => {
      const m = store.get(KEY) as ModelDeployment;
      m.metadata.annotations = { ...m.metadata.annotations, [key]: value };
    },
    editSpec: (edit: (spec: Record<string, unknown>) => void) => {
      const m = store.get(KEY) as ModelDeployment;
      edit(m.spec as unknown as Record<string, unknown>);
      m.metadata.generation = (m.metadata.generation ?? 0) + 1;
    },
    /** Past the poll interval: the next reconcile asks the registry again. */
    nextPoll: () => (clock.ms += INTERVAL_MS * 2),
    /** The test Job of the current run. */
    testJobName: () => status().testJob as string,
  };
}

type T = ReturnType<typeof setup>;

/** From a fresh object through a finished rollout, reusing an image already in ECR. */
async function deployAndRollOut(t: T): Promise<void> {
  t.ecr.push(TAG, DIGEST_A);
  await t.reconcile(); // reuse + patch
  t.apps.setRolledOut();
  await t.reconcile(); // rolled out → test Job created, if the spec has tests
}

// ---- tests ----

describe('reconciler pipeline: nothing to deploy', () => {
  it('a resolve-only spec (no deployment) makes no pipeline call', async () => {
    const t = setup();
    t.md().spec = {
      model: { name: 'Churn', alias: 'champion' },
      registry: { trackingUri: 'http://mlflow:5000' },
    } as ModelDeployment['spec'];
    await t.reconcile();
    t.nextPoll();
    await t.reconcile();

    expect(t.ecr.calls).toEqual([]);
    expect(t.kaniko.starts).toEqual([]);
    expect(t.apps.reads).toBe(0);
    expect(t.batch.created).toEqual([]);
    const s = t.status();
    expect(s.phase).toBe('Succeeded');
    expect(s.currentRun).toBeUndefined();
    expect(s.history).toBeUndefined();
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
  });

  it('a pipeline spec without pipeline clients stalls with PipelineUnavailable', async () => {
    const t = setup({ pipeline: false });
    await t.reconcile();
    expect(t.status().phase).toBe('Failed');
    expect(cond(t.status(), 'Stalled')).toEqual({ status: 'True', reason: 'PipelineUnavailable' });
  });
});

describe('reconciler pipeline: happy path, one reconcile at a time', () => {
  it('builds, checks the digest, rolls out by digest, tests, and records the run', async () => {
    const t = setup();

    // 1. the tag is not in ECR: the build starts, and we wait for it
    let result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 5000 });
    expect(t.ecr.calls).toEqual([`ensure ${REPO} scanOnPush=true IMMUTABLE`, `digest ${REPO}:${TAG}`]);
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.kaniko.starts[0]).toMatchObject({
      model: { name: 'Churn', version: '3', uri: 'models:/Churn/3', runId: 'run-3' },
      repo: { uri: REPO, region: 'eu-west-1', registryId: '123456789012', name: 'churn-api' },
      tag: TAG,
      buildHash: expect.stringMatching(/^[0-9a-f]{8}$/),
    });
    let s = t.status();
    expect(s.phase).toBe('Building');
    expect(s.build).toEqual({
      builder: 'kaniko',
      name: 'kaniko-build-1',
      version: '3',
      startedAt: new Date(START).toISOString(),
    });
    expect(s.image).toBeUndefined();
    expect(s.currentRun).toEqual({
      version: '3',
      runId: 'run-3',
      specHash: expect.stringMatching(/^[0-9a-f]{8}$/),
      startedAt: new Date(START).toISOString(),
    });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'False', reason: 'Building' });
    expect(cond(s, 'Reconciling')).toEqual({ status: 'True', reason: 'Building' });
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'Building' });
    expect(t.apps.patches).toEqual([]);
    expect(t.eventReasons()).toEqual(['NewModelVersion', 'DeploymentStarted', 'BuildStarted', 'Building']);

    // 2. still running: observed (not in the reconcile that started it), not started again
    t.clock.ms += 5000;
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.kaniko.observed).toEqual(['kaniko-build-1']);
    expect(t.registry.calls).toHaveLength(1);

    // 3. the build succeeded and ECR agrees: image by digest, rollout patch
    t.kaniko.finish({ phase: 'Succeeded', digest: DIGEST_A });
    t.ecr.push(TAG, DIGEST_A);
    t.clock.ms += 5000;
    result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 2000 });
    s = t.status();
    expect(s.image).toEqual({ ref: REF_A, tag: TAG, digest: DIGEST_A, builtFor: '3' });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'True', reason: 'Built' });
    expect(t.apps.patches).toHaveLength(1);
    expect(t.apps.patches[0]).toEqual({
      name: 'churn-api',
      fieldManager: FIELD_MANAGER,
      ops: [
        { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'api' },
        { op: 'replace', path: '/spec/template/spec/containers/1/image', value: REF_A },
        {
          op: 'replace',
          path: '/spec/template/spec/containers/1/env',
          value: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'MODEL_URI', value: 'models:/Churn/3' },
            { name: 'MODEL_VERSION', value: '3' },
          ],
        },
      ],
    });
    expect(t.apps.container('proxy')).toEqual({ name: 'proxy', image: 'envoy:1.30' });
    expect(s.rollout).toEqual({
      version: '3',
      image: REF_A,
      previousImage: OLD_IMAGE,
      startedAt: new Date(t.clock.ms).toISOString(),
    });
    expect(s.phase).toBe('Deploying');
    expect(cond(s, DEPLOYED)).toEqual({ status: 'False', reason: 'RollingOut' });
    expect(t.eventReasons().slice(4)).toEqual(['ImageBuilt', 'RolloutStarted', 'RollingOut']);

    // 4. the Deployment has not caught up yet: verifying, no second patch
    t.clock.ms += 2000;
    await t.reconcile();
    s = t.status();
    expect(s.phase).toBe('Verifying');
    expect(message(s, DEPLOYED)).toBe('waiting for Deployment "churn-api" spec update to be observed');
    expect(t.apps.patches).toHaveLength(1);
    expect(t.batch.created).toEqual([]);

    // 5. rolled out: the test Job is created
    t.apps.setRolledOut();
    t.clock.ms += 2000;
    result = await t.reconcile();
    expect(result).toEqual({ requeueAfterMs: 3000 });
    s = t.status();
    expect(s.phase).toBe('Testing');
    expect(cond(s, DEPLOYED)).toEqual({ status: 'True', reason: 'RolledOut' });
    expect(cond(s, TESTS_PASSED)).toEqual({ status: 'False', reason: 'Testing' });
    expect(t.batch.created).toHaveLength(1);
    const job = t.batch.created[0] as V1Job;
    expect(job.metadata?.name).toMatch(/^churn-test-v3-[0-9a-f]{12}$/);
    expect(s.testJob).toBe(job.metadata?.name);
    expect(job.spec?.template.spec?.containers[0]?.env).toEqual([
      { name: 'SERVICE_URL', value: 'http://churn-api.ml.svc' },
      { name: 'MODEL_NAME', value: 'Churn' },
      { name: 'MODEL_VERSION', value: '3' },
      { name: 'MODEL_URI', value: 'models:/Churn/3' },
    ]);
    expect(t.eventReasons()).toContain('TestStarted');

    // 6. tests pass: the run succeeded
    t.batch.finish(s.testJob as string, 'Complete');
    t.clock.ms += 3000;
    await t.reconcile();
    s = t.status();
    expect(s.phase).toBe('Succeeded');
    expect(cond(s, 'Ready')).toEqual({ status: 'True', reason: 'Succeeded' });
    expect(message(s, 'Ready')).toBe(`Version 3 of "Churn" is deployed as ${REF_A}`);
    expect(cond(s, 'Reconciling')).toBeUndefined();
    expect(cond(s, TESTS_PASSED)).toEqual({ status: 'True', reason: 'TestsPassed' });
    expect(s.currentRun).toMatchObject({
      version: '3',
      result: 'Succeeded',
      image: REF_A,
      finishedAt: new Date(t.clock.ms).toISOString(),
    });
    expect(s.history).toEqual([s.currentRun]);

    // 7. nothing left: no build, no patch, no Job, no write
    const writes = t.writes.length;
    t.clock.ms += 10_000;
    await t.reconcile();
    t.nextPoll();
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.apps.patches).toHaveLength(1);
    expect(t.batch.created).toHaveLength(1);
    expect(t.writes).toHaveLength(writes);
    expect(t.status().history).toHaveLength(1);
  });

  it('a tag already in ECR is reused: no build, and the rollout starts in the same reconcile', async () => {
    const t = setup();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();

    expect(t.kaniko.starts).toEqual([]);
    expect(t.kaniko.observed).toEqual([]);
    const s = t.status();
    expect(s.image).toEqual({ ref: REF_A, tag: TAG, digest: DIGEST_A, builtFor: '3', reused: true });
    expect(s.build).toBeUndefined();
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'True', reason: 'ImageReused' });
    expect(t.eventReasons()).toContain('ImageReused');
    expect(t.apps.patches).toHaveLength(1);
    expect(t.apps.container()?.image).toBe(REF_A);
  });

  it('a spec without a test finishes when the rollout is done', async () => {
    const t = setup({ spec: { test: undefined } });
    await deployAndRollOut(t);
    expect(t.batch.created).toEqual([]);
    expect(t.status().phase).toBe('Succeeded');
    expect(t.status().currentRun?.result).toBe('Succeeded');
  });

  it('user deployment env is templated; the model env comes last and wins', async () => {
    const t = setup({
      spec: {
        deployment: { name: 'churn-api', container: 'api', env: { LOG_LEVEL: 'debug', RUN: '{runIdShort}' } },
      },
    });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    expect(t.apps.container()?.env).toEqual([
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'RUN', value: 'run-3' },
      { name: 'MODEL_URI', value: 'models:/Churn/3' },
      { name: 'MODEL_VERSION', value: '3' },
    ]);
  });

  it('a cache repository is created mutable, without scan on push', async () => {
    const cache = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-cache';
    const t = setup({
      spec: { build: { builder: 'kaniko', context: 'dir:///ctx', cacheRepository: cache } },
    });
    await t.reconcile();
    expect(t.ecr.calls.slice(0, 2)).toEqual([
      `ensure ${REPO} scanOnPush=true IMMUTABLE`,
      `ensure ${cache} scanOnPush=false MUTABLE`,
    ]);
  });

  it('codebuild specs use the codebuild builder', async () => {
    const t = setup({ spec: { build: { builder: 'codebuild', codebuild: { projectName: 'churn-image' } } } });
    await t.reconcile();
    expect(t.codebuild.starts).toHaveLength(1);
    expect(t.kaniko.starts).toEqual([]);
    expect(t.status().build).toMatchObject({ builder: 'codebuild', name: 'codebuild-build-1' });
  });

  it('a build cleaned up before it was observed: ECR has the tag, so it is used', async () => {
    const t = setup();
    await t.reconcile();
    t.kaniko.states.clear(); // the Job is gone
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.status().image).toEqual({ ref: REF_A, tag: TAG, digest: DIGEST_A, builtFor: '3' });
    expect(t.apps.patches).toHaveLength(1);
  });

  it('a build gone before it pushed is started again', async () => {
    const t = setup();
    await t.reconcile();
    t.kaniko.states.clear();
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.status().build?.name).toBe('kaniko-build-2');
    expect(t.status().phase).toBe('Building');
  });
});

describe('reconciler pipeline: failed runs are not repeated', () => {
  async function failBuild(t: T): Promise<void> {
    await t.reconcile();
    t.kaniko.finish({
      phase: 'Failed',
      reason: 'BuildFailed',
      message: 'build Job "x" failed: exit status 1',
    });
    await t.reconcile();
  }

  it('a failed build fails the run and stalls; the Deployment is never patched', async () => {
    const t = setup();
    await failBuild(t);

    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'BuildFailed' });
    expect(cond(s, 'Ready')).toEqual({ status: 'False', reason: 'BuildFailed' });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'False', reason: 'BuildFailed' });
    expect(s.currentRun).toMatchObject({
      version: '3',
      result: 'Failed',
      reason: 'BuildFailed',
      message: 'build Job "x" failed: exit status 1',
      finishedAt: new Date(START).toISOString(),
    });
    expect(s.history).toEqual([s.currentRun]);
    expect(t.apps.reads).toBe(0);
    expect(t.apps.patches).toEqual([]);
    expect(t.events.at(-1)).toEqual({
      type: 'Warning',
      reason: 'BuildFailed',
      message: 'build Job "x" failed: exit status 1',
    });
  });

  it('the next reconciles (and polls of the same version) start no other build', async () => {
    const t = setup();
    await failBuild(t);
    const observed = t.kaniko.observed.length;
    for (let i = 0; i < 3; i++) {
      t.nextPoll();
      const result = await t.reconcile();
      expect(result.requeueAfterMs).toBeGreaterThanOrEqual(INTERVAL_MS);
    }
    expect(t.registry.calls).toHaveLength(4);
    expect(t.kaniko.starts).toHaveLength(1);
    expect(t.kaniko.observed).toHaveLength(observed);
    expect(t.apps.patches).toEqual([]);
    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'BuildFailed' });
    expect(message(s, 'Stalled')).toContain(`set the annotation ${RETRY_ANNOTATION} to a new value to retry`);
    expect(s.history).toHaveLength(1);
  });

  it('a new value of the retry annotation starts a new run that builds again', async () => {
    const t = setup();
    await failBuild(t);
    t.annotate(RETRY_ANNOTATION, '1');
    t.clock.ms += 1000;
    await t.reconcile();

    expect(t.kaniko.starts).toHaveLength(2);
    const s = t.status();
    expect(s.phase).toBe('Building');
    expect(s.currentRun).toMatchObject({ version: '3', retryToken: '1' });
    expect(s.currentRun?.result).toBeUndefined();
    expect(s.build?.name).toBe('kaniko-build-2');
    expect(cond(s, 'Stalled')).toBeUndefined();
    expect(s.history).toHaveLength(1); // the failed run
    expect(t.events).toContainEqual({
      type: 'Normal',
      reason: 'DeploymentStarted',
      message: 'Deploying version 3 of "Churn" again (retry requested)',
    });

    // the same value again is not another retry
    t.kaniko.finish({ phase: 'Failed', reason: 'BuildFailed', message: 'again' });
    await t.reconcile();
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.status().history).toHaveLength(2);
  });

  it('a new model version starts a new run', async () => {
    const t = setup();
    await failBuild(t);
    t.registry.answer = version('4');
    t.nextPoll();
    await t.reconcile();

    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.kaniko.starts[1]).toMatchObject({ model: { version: '4' }, tag: 'v4-run-4' });
    const s = t.status();
    expect(s.currentRun).toMatchObject({ version: '4' });
    expect(s.currentRun?.result).toBeUndefined();
    expect(s.history?.map((r) => [r.version, r.result])).toEqual([['3', 'Failed']]);
  });

  it('a spec change starts a new run for the same version', async () => {
    const t = setup();
    await failBuild(t);
    t.editSpec((spec) => ((spec.build as Record<string, unknown>).dockerfile = 'Dockerfile.fixed'));
    await t.reconcile();
    expect(t.kaniko.starts).toHaveLength(2);
    expect(t.kaniko.starts[1]?.buildHash).not.toBe(t.kaniko.starts[0]?.buildHash);
    expect(t.status().currentRun?.result).toBeUndefined();
  });

  it('a new version while a run is in progress supersedes it', async () => {
    const t = setup();
    await t.reconcile(); // building v3
    t.registry.answer = version('4');
    t.nextPoll();
    await t.reconcile();
    const s = t.status();
    expect(s.currentRun).toMatchObject({ version: '4' });
    expect(s.history).toEqual([expect.objectContaining({ version: '3', result: 'Superseded' })]);
    expect(s.build).toMatchObject({ version: '4', name: 'kaniko-build-2' });
  });

  it('history is bounded by spec.historyLimit', async () => {
    const t = setup({ spec: { historyLimit: 2 } });
    for (const v of ['3', '4', '5']) {
      t.registry.answer = version(v);
      t.nextPoll();
      await t.reconcile();
      t.kaniko.finish({ phase: 'Failed', reason: 'BuildFailed', message: `v${v}` });
      await t.reconcile();
    }
    expect(t.status().history?.map((r) => r.version)).toEqual(['5', '4']);
  });
});

describe('reconciler pipeline: the build result is checked against ECR', () => {
  it.each<{ name: string; inEcr: string | undefined; text: string }>([
    {
      name: 'another digest in ECR',
      inEcr: DIGEST_B,
      text: `the build reported ${DIGEST_A} but ${REPO}:${TAG} is ${DIGEST_B} in ECR`,
    },
    {
      name: 'no such tag in ECR',
      inEcr: undefined,
      text: `the build reported ${DIGEST_A} but ECR has no ${REPO}:${TAG}`,
    },
  ])('$name → Failed DigestMismatch, no patch', async ({ inEcr, text }) => {
    const t = setup();
    await t.reconcile();
    t.kaniko.finish({ phase: 'Succeeded', digest: DIGEST_A });
    if (inEcr) t.ecr.push(TAG, inEcr);
    await t.reconcile();

    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'DigestMismatch' });
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'False', reason: 'DigestMismatch' });
    expect(message(s, IMAGE_BUILT)).toBe(text);
    expect(s.currentRun).toMatchObject({ result: 'Failed', reason: 'DigestMismatch', message: text });
    expect(s.image).toBeUndefined();
    expect(t.apps.patches).toEqual([]);
  });

  it.each<{ name: string; error: Error; reason: string; stalls: boolean }>([
    {
      name: 'access denied stalls',
      error: new EcrError('creating ECR repository x failed: AccessDeniedException: no', true),
      reason: 'RegistryAccessFailed',
      stalls: true,
    },
    {
      name: 'throttling is retried',
      error: new EcrError('creating ECR repository x failed: ThrottlingException: slow down', false),
      reason: 'EcrUnavailable',
      stalls: false,
    },
  ])('ECR failure: $name', async ({ error, reason, stalls }) => {
    const t = setup();
    t.ecr.fail = error;
    if (stalls) {
      await t.reconcile();
      expect(cond(t.status(), 'Stalled')).toEqual({ status: 'True', reason });
    } else {
      await expect(t.reconcile()).rejects.toThrow('ThrottlingException');
      expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason });
      expect(cond(t.status(), 'Reconciling')).toEqual({ status: 'True', reason: 'ProgressingWithRetry' });
    }
    expect(t.kaniko.starts).toEqual([]);
    expect(t.status().currentRun?.result).toBeUndefined(); // not a failed run: fixed, it carries on
  });
});

describe('reconciler pipeline: the serving Deployment', () => {
  it('a missing Deployment stalls with DeploymentNotFound, and the run carries on once it exists', async () => {
    const t = setup({ deployment: null });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();

    let s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'DeploymentNotFound' });
    expect(message(s, 'Stalled')).toBe(
      'Deployment "churn-api" not found in namespace "ml"; create it or fix spec.deployment.name',
    );
    expect(s.currentRun?.result).toBeUndefined();
    expect(s.history).toBeUndefined();

    t.apps.deployments.set(`${NS}/churn-api`, servingDeployment());
    t.clock.ms += 1000;
    await t.reconcile();
    s = t.status();
    expect(t.apps.patches).toHaveLength(1);
    expect(s.phase).toBe('Deploying');
    expect(cond(s, 'Stalled')).toBeUndefined();
  });

  it('a missing container stalls with ContainerNotFound naming the containers there are', async () => {
    const t = setup({
      deployment: servingDeployment([
        { name: 'web', image: 'x' },
        { name: 'sidecar', image: 'y' },
      ]),
    });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();

    const s = t.status();
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'ContainerNotFound' });
    expect(message(s, 'Stalled')).toBe(
      'Deployment "churn-api" has no container "api" (it has web, sidecar); fix spec.deployment.container',
    );
    expect(t.apps.patches).toEqual([]);
    expect(s.currentRun?.result).toBeUndefined();
  });

  it('ProgressDeadlineExceeded fails the run', async () => {
    const t = setup();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    t.apps.setDeadlineExceeded();
    await t.reconcile();

    const s = t.status();
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'ProgressDeadlineExceeded' });
    expect(cond(s, DEPLOYED)).toEqual({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(message(s, DEPLOYED)).toBe(
      'Deployment "churn-api" exceeded its progress deadline: ReplicaSet "churn-api-5f7" has timed out progressing.',
    );
    expect(s.currentRun).toMatchObject({
      result: 'Failed',
      reason: 'ProgressDeadlineExceeded',
      image: REF_A,
    });
    expect(t.batch.created).toEqual([]);

    // not rolled out again
    t.nextPoll();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(1);
  });

  it('a Deployment changed under us (failed test op) is retried, not failed', async () => {
    const t = setup();
    t.ecr.push(TAG, DIGEST_A);
    const apps = t.apps as unknown as { patchNamespacedDeployment: () => Promise<never> };
    apps.patchNamespacedDeployment = async () => {
      throw apiError(422, 'the server rejected our request: test operation failed');
    };
    await expect(t.reconcile()).rejects.toThrow('test operation failed');
    expect(cond(t.status(), 'Ready')).toEqual({ status: 'False', reason: 'DeploymentChanged' });
    expect(t.status().currentRun?.result).toBeUndefined();
  });

  it('a container already at the image and env (a patch before a crash) is not patched again', async () => {
    const t = setup({
      deployment: servingDeployment([
        {
          name: 'api',
          image: REF_A,
          env: [
            { name: 'MODEL_URI', value: 'models:/Churn/3' },
            { name: 'MODEL_VERSION', value: '3' },
          ],
        },
      ]),
    });
    t.ecr.push(TAG, DIGEST_A);
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.apps.patches).toEqual([]);
    expect(t.status().rollout).toEqual({
      version: '3',
      image: REF_A,
      startedAt: new Date(START).toISOString(),
    });
    expect(t.batch.created).toHaveLength(1); // straight to the tests
    expect(t.eventReasons()).toContain('RolloutStarted');
  });

  // The apiserver omits empty env values; were '' not equal to a missing value, the Deployment
  // would be patched on every reconcile and the rollout never judged.
  it('a deployment env var with an empty value still rolls out', async () => {
    const t = setup({
      spec: { deployment: { name: 'churn-api', container: 'api', env: { FEATURE_FLAG: '' } } },
    });
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(1);
    expect(t.status().phase).toBe('Testing');
  });
});

describe('reconciler pipeline: tests', () => {
  it('a failed test Job fails the run with its termination message, and is not rerun', async () => {
    const t = setup();
    await deployAndRollOut(t);
    const name = t.testJobName();
    t.batch.finish(name, 'Failed', 'AssertionError: accuracy 0.61 < 0.8\n');
    await t.reconcile();

    const s = t.status();
    const text = `test Job "${name}" failed (BackoffLimitExceeded): AssertionError: accuracy 0.61 < 0.8`;
    expect(s.phase).toBe('Failed');
    expect(cond(s, 'Stalled')).toEqual({ status: 'True', reason: 'TestsFailed' });
    expect(cond(s, TESTS_PASSED)).toEqual({ status: 'False', reason: 'TestsFailed' });
    expect(message(s, TESTS_PASSED)).toBe(text);
    expect(s.currentRun).toMatchObject({
      result: 'Failed',
      reason: 'TestsFailed',
      message: text,
      image: REF_A,
    });
    expect(s.history).toHaveLength(1);

    t.nextPoll();
    await t.reconcile();
    expect(t.batch.testJobs()).toHaveLength(1);
  });

  it('a retry of failed tests gets a test Job of its own, and reuses the image and rollout', async () => {
    const t = setup();
    await deployAndRollOut(t);
    t.batch.finish(t.testJobName(), 'Failed', 'flaky');
    await t.reconcile();
    t.annotate(RETRY_ANNOTATION, 'again');
    await t.reconcile();

    expect(t.kaniko.starts).toEqual([]);
    expect(t.apps.patches).toHaveLength(1);
    expect(t.batch.testJobs()).toHaveLength(2);
    const [first, second] = t.batch.testJobs().map((j) => j.metadata?.name);
    expect(second).not.toBe(first);
    expect(t.status().testJob).toBe(second);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    expect(t.status().history?.map((r) => r.result)).toEqual(['Succeeded', 'Failed']);
  });

  it('a status write lost after the rollout: the test Job is announced and the rollout measured once', async () => {
    const t = setup();
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    t.apps.setRolledOut();
    t.conflictNextWrite();
    await t.reconcile(); // conflict: requeued soon
    expect(t.batch.testJobs()).toHaveLength(1);
    expect(t.eventReasons()).not.toContain('TestStarted');
    expect(t.steps).toEqual([]);

    await t.reconcile();
    expect(t.batch.testJobs()).toHaveLength(1);
    expect(t.status().testJob).toBe(t.batch.testJobs()[0]?.metadata?.name);
    expect(t.eventReasons().filter((r) => r === 'TestStarted')).toHaveLength(1);
    expect(t.steps).toEqual(['rollout succeeded']);
    await t.reconcile();
    expect(t.eventReasons().filter((r) => r === 'TestStarted')).toHaveLength(1);
    expect(t.steps).toEqual(['rollout succeeded']);
  });

  it('user test env is templated', async () => {
    const t = setup({
      spec: { test: { image: 'acme/churn-tests:1', env: { THRESHOLD: '0.8', RUN: '{runId}' } } },
    });
    await deployAndRollOut(t);
    expect(t.batch.testJobs()[0]?.spec?.template.spec?.containers[0]?.env?.slice(0, 2)).toEqual([
      { name: 'THRESHOLD', value: '0.8' },
      { name: 'RUN', value: 'run-3' },
    ]);
  });

  // The test Job name depends on the run's spec hash: the old failed Job (kept for
  // ttlSecondsAfterFinished) must not stand in for the fixed tests.
  it('fixing spec.test after failed tests runs the fixed tests', async () => {
    const t = setup();
    await deployAndRollOut(t);
    t.batch.finish(t.testJobName(), 'Failed', 'wrong test image');
    await t.reconcile();
    t.editSpec((spec) => (spec.test = { image: 'acme/churn-tests:2' }));
    await t.reconcile();

    expect(t.batch.testJobs()).toHaveLength(2);
    expect(t.batch.testJobs()[1]?.spec?.template.spec?.containers[0]?.image).toBe('acme/churn-tests:2');
    expect(t.status().phase).toBe('Testing');
  });
});

describe('reconciler pipeline: builder none', () => {
  const spec = { image: undefined, build: { builder: 'none' } };

  it('no ECR call and no build; the patch keeps the image and sets the model env', async () => {
    const t = setup({ spec });
    await t.reconcile();

    expect(t.ecr.calls).toEqual([]);
    expect(t.kaniko.starts).toEqual([]);
    expect(t.codebuild.starts).toEqual([]);
    expect(t.apps.patches).toHaveLength(1);
    expect(t.apps.patches[0]?.ops).toEqual([
      { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'api' },
      { op: 'replace', path: '/spec/template/spec/containers/1/image', value: OLD_IMAGE },
      {
        op: 'replace',
        path: '/spec/template/spec/containers/1/env',
        value: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'MODEL_URI', value: 'models:/Churn/3' },
          { name: 'MODEL_VERSION', value: '3' },
        ],
      },
    ]);
    const s = t.status();
    expect(cond(s, IMAGE_BUILT)).toEqual({ status: 'True', reason: 'NoBuild' });
    expect(s.image).toBeUndefined();
    expect(s.rollout).toMatchObject({ version: '3', image: OLD_IMAGE, previousImage: OLD_IMAGE });
  });

  it('runs to Succeeded, testing the unchanged image', async () => {
    const t = setup({ spec });
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    expect(t.status().testJob).toMatch(/^churn-test-v3-[0-9a-f]{12}$/);
    expect(t.batch.testJobs()[0]?.metadata?.name).toBe(t.status().testJob);
    t.batch.finish(t.testJobName(), 'Complete');
    await t.reconcile();
    expect(t.status().phase).toBe('Succeeded');
    expect(t.status().currentRun).toMatchObject({ result: 'Succeeded', image: OLD_IMAGE });
    expect(t.ecr.calls).toEqual([]);
  });

  it('a new version only changes the env', async () => {
    const t = setup({ spec: { ...spec, test: undefined } });
    await t.reconcile();
    t.apps.setRolledOut();
    await t.reconcile();
    t.registry.answer = version('4');
    t.nextPoll();
    await t.reconcile();
    expect(t.apps.patches).toHaveLength(2);
    expect(t.apps.container()).toMatchObject({
      image: OLD_IMAGE,
      env: [
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'MODEL_URI', value: 'models:/Churn/4' },
        { name: 'MODEL_VERSION', value: '4' },
      ],
    });
  });
});

describe('reconciler pipeline: the real KanikoBuilder over the Job store', () => {
  it('creates one build Job per (version, build spec) and reads the digest from its Pod', async () => {
    const t = setup({ realKaniko: true });
    await t.reconcile();
    expect(t.batch.created).toHaveLength(1);
    const name = t.batch.created[0]?.metadata?.name as string;
    expect(t.status().build).toMatchObject({ builder: 'kaniko', name });
    expect(name).toMatch(/^churn-build-v3-[0-9a-f]{8}$/);

    await t.reconcile();
    expect(t.batch.created).toHaveLength(1);

    t.batch.finish(name, 'Complete', DIGEST_A);
    t.ecr.push(TAG, DIGEST_A);
    await t.reconcile();
    expect(t.status().image?.ref).toBe(REF_A);
    expect(t.apps.patches).toHaveLength(1);
  });

  it('a failed build Job fails the run with its log', async () => {
    const t = setup({ realKaniko: true });
    await t.reconcile();
    const name = t.status().build?.name as string;
    t.batch.finish(name, 'Failed', 'error building image: COPY failed');
    await t.reconcile();
    expect(t.status().currentRun).toMatchObject({
      result: 'Failed',
      reason: 'BuildFailed',
      message: `build Job "${name}" failed: BackoffLimitExceeded: Job has reached the specified backoff limit: error building image: COPY failed`,
    });
  });

  // The retry token is part of the build hash (the Kaniko Job name, the CodeBuild idempotency
  // token): otherwise a retry would find the old failed Job (kept by its TTL) and fail at once.
  it('a retry after a failed build creates a new build Job', async () => {
    const t = setup({ realKaniko: true });
    await t.reconcile();
    t.batch.finish(t.status().build?.name as string, 'Failed', 'network flake');
    await t.reconcile();
    t.annotate(RETRY_ANNOTATION, '1');
    await t.reconcile();

    expect(t.batch.created).toHaveLength(2);
    expect(t.status().phase).toBe('Building');
    expect(t.status().currentRun?.result).toBeUndefined();
  });
});
