import { describe, expect, it } from '@jest/globals';
import type {
  BatchV1Api,
  CoreV1Api,
  V1ContainerStatus,
  V1Job,
  V1JobCondition,
  V1Pod,
} from '@kubernetes/client-node';
import type { KanikoBuildSpec } from '../../../src/api/v1alpha1/pipeline.js';
import type { BuildRequest } from '../../../src/builders/builder.js';
import { KanikoBuilder, buildOutcome } from '../../../src/builders/kaniko.js';
import { FAILURE_MESSAGE_LENGTH } from '../../../src/runtime/errors.js';
import { jobState, type JobState } from '../../../src/runtime/jobs.js';
import { parseRepository } from '../../../src/clients/ecr.js';
import { DIGEST_A, REPO, pipelineMd, resolvedModel } from '../helpers/pipelineFixtures.js';

const NAME = 'churn-build-v3-deadbeef';

const cond = (type: string, status = 'True', reason?: string, message?: string): V1JobCondition => ({
  type,
  status,
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});
const job = (...conditions: V1JobCondition[]): V1Job => ({
  metadata: { name: NAME },
  status: conditions.length ? { conditions } : {},
});

function pod(...statuses: V1ContainerStatus[]): V1Pod {
  return { status: { containerStatuses: statuses } };
}
const terminated = (exitCode: number, message?: string, name = 'kaniko'): V1ContainerStatus => ({
  name,
  image: 'kaniko',
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode, ...(message !== undefined ? { message } : {}) } },
});
const running = (name = 'kaniko'): V1ContainerStatus => ({
  name,
  image: 'kaniko',
  imageID: '',
  ready: true,
  restartCount: 0,
  state: { running: {} },
});

describe('jobState', () => {
  it.each<{ name: string; job: V1Job; state: JobState }>([
    { name: 'no status', job: { metadata: { name: NAME } }, state: 'Running' },
    { name: 'no conditions', job: job(), state: 'Running' },
    { name: 'Complete', job: job(cond('Complete')), state: 'Complete' },
    { name: 'Failed', job: job(cond('Failed', 'True', 'BackoffLimitExceeded')), state: 'Failed' },
    { name: 'Complete False', job: job(cond('Complete', 'False')), state: 'Running' },
    { name: 'Failed False', job: job(cond('Failed', 'False')), state: 'Running' },
    { name: 'Suspended only', job: job(cond('Suspended')), state: 'Running' },
    // Job controller sets SuccessCriteriaMet / FailureTarget before the terminal condition
    { name: 'FailureTarget not yet Failed', job: job(cond('FailureTarget')), state: 'Running' },
    {
      name: 'SuccessCriteriaMet then Complete',
      job: job(cond('SuccessCriteriaMet'), cond('Complete')),
      state: 'Complete',
    },
    { name: 'Complete wins over Failed', job: job(cond('Failed'), cond('Complete')), state: 'Complete' },
  ])('$name → $state', ({ job, state }) => {
    expect(jobState(job)).toBe(state);
  });
});

describe('buildOutcome: a complete Job', () => {
  it.each<{ name: string; pods: V1Pod[]; digest: string }>([
    { name: 'digest in the termination message', pods: [pod(terminated(0, DIGEST_A))], digest: DIGEST_A },
    { name: 'digest with a trailing newline', pods: [pod(terminated(0, `${DIGEST_A}\n`))], digest: DIGEST_A },
    {
      name: 'a sidecar beside kaniko',
      pods: [pod(terminated(0, 'not a digest', 'istio-proxy'), terminated(0, DIGEST_A))],
      digest: DIGEST_A,
    },
    {
      name: 'a failed Pod before the successful one',
      pods: [pod(terminated(1, 'error pushing')), pod(terminated(0, DIGEST_A))],
      digest: DIGEST_A,
    },
  ])('$name → Succeeded', ({ pods, digest }) => {
    expect(buildOutcome(NAME, 'Complete', job(cond('Complete')), pods)).toEqual({
      phase: 'Succeeded',
      digest,
    });
  });

  it.each<{ name: string; pods: V1Pod[] }>([
    { name: 'no Pods (already gone)', pods: [] },
    { name: 'no termination message', pods: [pod(terminated(0))] },
    { name: 'empty termination message', pods: [pod(terminated(0, ''))] },
    { name: 'malformed digest', pods: [pod(terminated(0, 'sha256:1234'))] },
    { name: 'uppercase digest', pods: [pod(terminated(0, DIGEST_A.toUpperCase()))] },
    { name: 'other algorithm', pods: [pod(terminated(0, `sha512:${'a'.repeat(64)}`))] },
    { name: 'digest plus log text', pods: [pod(terminated(0, `pushed ${DIGEST_A}`))] },
    { name: 'digest only on a non-kaniko container', pods: [pod(terminated(0, DIGEST_A, 'helper'))] },
    { name: 'digest only on a non-zero exit', pods: [pod(terminated(1, DIGEST_A))] },
    { name: 'kaniko still running', pods: [pod(running())] },
  ])('$name → Failed BuildDigestMissing', ({ pods }) => {
    expect(buildOutcome(NAME, 'Complete', job(cond('Complete')), pods)).toEqual({
      phase: 'Failed',
      reason: 'BuildDigestMissing',
      message: `build Job "${NAME}" completed without an image digest in its termination message`,
    });
  });
});

describe('buildOutcome: a failed Job', () => {
  const failed = job(
    cond('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
  );
  const logTail = 'error building image: error resolving dockerfile path: Dockerfile not found';

  it.each<{ name: string; job: V1Job; pods: V1Pod[]; message: string }>([
    {
      name: 'condition reason and message, and the log tail',
      job: failed,
      pods: [pod(terminated(1, `${logTail}\n`))],
      message: `build Job "${NAME}" failed: BackoffLimitExceeded: Job has reached the specified backoff limit: ${logTail}`,
    },
    {
      name: 'deadline exceeded, Pod already gone',
      job: job(cond('Failed', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline')),
      pods: [],
      message: `build Job "${NAME}" failed: DeadlineExceeded: Job was active longer than specified deadline`,
    },
    {
      name: 'reason only',
      job: job(cond('Failed', 'True', 'BackoffLimitExceeded')),
      pods: [pod(terminated(1, logTail))],
      message: `build Job "${NAME}" failed: BackoffLimitExceeded: ${logTail}`,
    },
    {
      name: 'nothing known',
      job: job(),
      pods: [],
      message: `build Job "${NAME}" failed`,
    },
    {
      name: 'the log of a successful container is not a failure log',
      job: failed,
      pods: [pod(terminated(0, DIGEST_A, 'helper'), terminated(0, 'ok'))],
      message: `build Job "${NAME}" failed: BackoffLimitExceeded: Job has reached the specified backoff limit`,
    },
    {
      name: 'only the kaniko container log',
      job: failed,
      pods: [pod(terminated(2, 'sidecar crashed', 'istio-proxy'), terminated(1, logTail))],
      message: `build Job "${NAME}" failed: BackoffLimitExceeded: Job has reached the specified backoff limit: ${logTail}`,
    },
  ])('$name', ({ job, pods, message }) => {
    expect(buildOutcome(NAME, 'Failed', job, pods)).toEqual({
      phase: 'Failed',
      reason: 'BuildFailed',
      message,
    });
  });

  it('a long log is cut, leaving room for what is said after it', () => {
    const out = buildOutcome(NAME, 'Failed', failed, [pod(terminated(1, 'x'.repeat(5000)))]);
    expect(out.phase === 'Failed' && out.message.length).toBe(FAILURE_MESSAGE_LENGTH);
  });
});

// The builder itself, over fake Kubernetes APIs.
describe('KanikoBuilder', () => {
  const md = pipelineMd();
  const req: BuildRequest<KanikoBuildSpec> = {
    md,
    model: resolvedModel(),
    build: md.spec.build as KanikoBuildSpec,
    repo: parseRepository(REPO),
    tag: 'v3-abcdef0',
    buildHash: 'deadbeef',
  };
  const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });

  function fakes(opts: { create?: unknown; read?: V1Job | unknown; pods?: V1Pod[]; del?: unknown } = {}) {
    const calls: string[] = [];
    const created: V1Job[] = [];
    const batch = {
      createNamespacedJob: async ({ namespace, body }: { namespace: string; body: V1Job }) => {
        calls.push(`create ${namespace}/${body.metadata?.name}`);
        if (opts.create) throw opts.create;
        created.push(body);
        return body;
      },
      readNamespacedJob: async ({ namespace, name }: { namespace: string; name: string }) => {
        calls.push(`read ${namespace}/${name}`);
        if (opts.read instanceof Error) throw opts.read;
        return opts.read as V1Job;
      },
      deleteNamespacedJob: async (a: { namespace: string; name: string; propagationPolicy: string }) => {
        calls.push(`delete ${a.namespace}/${a.name} ${a.propagationPolicy}`);
        if (opts.del) throw opts.del;
        return {};
      },
    } as unknown as BatchV1Api;
    const core = {
      listNamespacedPod: async ({
        namespace,
        labelSelector,
      }: {
        namespace: string;
        labelSelector: string;
      }) => {
        calls.push(`pods ${namespace} ${labelSelector}`);
        return { items: opts.pods ?? [] };
      },
    } as unknown as CoreV1Api;
    return { builder: new KanikoBuilder(batch, core), calls, created };
  }

  it('start creates the rendered Job and returns its deterministic name', async () => {
    const f = fakes();
    await expect(f.builder.start(req)).resolves.toBe(NAME);
    expect(f.calls).toEqual([`create ml/${NAME}`]);
    expect(f.created[0]?.spec?.template.spec?.containers[0]?.args).toContain(
      `--destination=${REPO}:v3-abcdef0`,
    );
    expect(f.created[0]?.spec?.template.spec?.containers[0]?.env).toContainEqual({
      name: 'AWS_REGION',
      value: 'eu-west-1',
    });
  });

  it('start of a Job that exists (409) observes it instead', async () => {
    await expect(fakes({ create: apiError(409) }).builder.start(req)).resolves.toBe(NAME);
  });

  it('start rethrows other errors', async () => {
    await expect(fakes({ create: apiError(403) }).builder.start(req)).rejects.toThrow('HTTP 403');
  });

  it.each<{ name: string; read: unknown; pods?: V1Pod[]; state: unknown; podCalls: number }>([
    { name: 'gone (404) → Missing', read: apiError(404), state: { phase: 'Missing' }, podCalls: 0 },
    {
      name: 'running → Running, no Pod list',
      read: job(),
      state: { phase: 'Running', message: `build Job "${NAME}" is running` },
      podCalls: 0,
    },
    {
      name: 'complete → digest from its Pod',
      read: job(cond('Complete')),
      pods: [pod(terminated(0, DIGEST_A))],
      state: { phase: 'Succeeded', digest: DIGEST_A },
      podCalls: 1,
    },
    {
      name: 'failed → BuildFailed',
      read: job(cond('Failed', 'True', 'BackoffLimitExceeded')),
      pods: [pod(terminated(1, 'boom'))],
      state: {
        phase: 'Failed',
        reason: 'BuildFailed',
        message: `build Job "${NAME}" failed: BackoffLimitExceeded: boom`,
      },
      podCalls: 1,
    },
  ])('observe: $name', async ({ read, pods, state, podCalls }) => {
    const f = fakes({ read, ...(pods ? { pods } : {}) });
    await expect(f.builder.observe(req, NAME)).resolves.toEqual(state);
    const podListing = f.calls.filter((c) => c.startsWith('pods'));
    expect(podListing).toHaveLength(podCalls);
    if (podCalls) expect(podListing[0]).toBe(`pods ml batch.kubernetes.io/job-name=${NAME}`);
  });

  it('observe rethrows errors other than 404', async () => {
    await expect(fakes({ read: apiError(500) }).builder.observe(req, NAME)).rejects.toThrow('HTTP 500');
  });

  it("find answers the request's own Job by its deterministic name, with its creation time", async () => {
    const created = new Date('2025-01-01T00:00:05Z');
    const f = fakes({ read: { metadata: { name: NAME, creationTimestamp: created } } });
    await expect(f.builder.find(req)).resolves.toEqual({ name: NAME, startedAt: created.toISOString() });
    expect(f.calls).toEqual([`read ml/${NAME}`]);
    await expect(fakes({ read: apiError(404) }).builder.find(req)).resolves.toBeUndefined();
  });

  it('cancel deletes the Job and its Pods in the background; one already gone is fine', async () => {
    const f = fakes();
    await f.builder.cancel({ namespace: 'ml', region: 'eu-west-1' }, NAME);
    expect(f.calls).toEqual([`delete ml/${NAME} Background`]);
    await expect(
      fakes({ del: apiError(404) }).builder.cancel({ namespace: 'ml', region: 'x' }, NAME),
    ).resolves.toBeUndefined();
    await expect(
      fakes({ del: apiError(403) }).builder.cancel({ namespace: 'ml', region: 'x' }, NAME),
    ).rejects.toThrow('HTTP 403');
  });
});
