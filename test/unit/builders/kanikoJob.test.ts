import { describe, expect, it } from '@jest/globals';
import type { V1Container } from '@kubernetes/client-node';
import { DEFAULT_EXECUTOR_IMAGE, type KanikoBuildSpec } from '../../../src/api/v1alpha1/pipeline.js';
import {
  BUILD_COMPONENT,
  BUILD_TTL_SECONDS,
  KANIKO_CONTAINER,
  renderBuildJob,
  type BuildInput,
} from '../../../src/builders/kanikoJob.js';
import { buildJobName } from '../../../src/children/names.js';
import {
  CACHE_REPO,
  CONTEXT,
  REPO,
  pipelineMd,
  pipelineSpec,
  resolvedModel,
} from '../helpers/pipelineFixtures.js';

const HASH = 'deadbeef';

function input(build: Record<string, unknown> = {}, extra: Partial<BuildInput> = {}): BuildInput {
  const base = pipelineSpec().build as Record<string, unknown>;
  const md = pipelineMd({ build: { ...base, ...build } });
  return {
    md,
    model: resolvedModel(),
    build: md.spec.build as KanikoBuildSpec, // the same object: tests edit it through md
    destination: `${REPO}:v3-abcdef0`,
    buildHash: HASH,
    region: 'eu-west-1',
    ...extra,
  };
}

const container = (i: BuildInput): V1Container => renderBuildJob(i).spec!.template!.spec!.containers[0]!;
const args = (i: BuildInput): string[] => container(i).args ?? [];

describe('renderBuildJob: the Job', () => {
  const job = renderBuildJob(input());

  it('is a batch/v1 Job', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
  });

  it('is named after the object, the version and the build hash, in the object namespace', () => {
    expect(job.metadata?.name).toBe(buildJobName('churn', '3', HASH));
    expect(job.metadata?.name).toBe('churn-build-v3-deadbeef');
    expect(job.metadata?.namespace).toBe('ml');
  });

  it('carries the child labels on the Job and its Pod template', () => {
    const labels = {
      'app.kubernetes.io/managed-by': 'mlflow-model-operator',
      'app.kubernetes.io/instance': 'churn',
      'app.kubernetes.io/component': BUILD_COMPONENT,
      'mlops.healthpredict.io/model-version': '3',
    };
    expect(BUILD_COMPONENT).toBe('image-build');
    expect(job.metadata?.labels).toEqual(labels);
    expect(job.spec?.template.metadata?.labels).toEqual(labels);
  });

  it('is owned by (and only by) its ModelDeployment, as controller', () => {
    expect(job.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'mlops.healthpredict.io/v1alpha1',
        kind: 'ModelDeployment',
        name: 'churn',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it('never retries, has a deadline, is cleaned up after a day, and its Pod never restarts', () => {
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.activeDeadlineSeconds).toBe(1800);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(BUILD_TTL_SECONDS);
    expect(BUILD_TTL_SECONDS).toBe(86_400);
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    expect(job.spec?.template.spec?.containers).toHaveLength(1);
  });

  it.each<{ name: string; build: Record<string, unknown>; deadline: number }>([
    { name: 'default deadline', build: {}, deadline: 1800 },
    { name: 'spec deadline', build: { activeDeadlineSeconds: 600 }, deadline: 600 },
  ])('$name → activeDeadlineSeconds $deadline', ({ build, deadline }) => {
    expect(renderBuildJob(input(build)).spec?.activeDeadlineSeconds).toBe(deadline);
  });

  it('falls back to 1800 when the spec has no deadline at all (not parsed)', () => {
    const i = input();
    delete (i.md.spec.build as { activeDeadlineSeconds?: number }).activeDeadlineSeconds;
    expect(renderBuildJob(i).spec?.activeDeadlineSeconds).toBe(1800);
  });

  it.each<{ name: string; build: Record<string, unknown>; sa: string | undefined }>([
    { name: 'no service account', build: {}, sa: undefined },
    { name: 'service account set', build: { serviceAccountName: 'ecr-pusher' }, sa: 'ecr-pusher' },
  ])('$name', ({ build, sa }) => {
    const podSpec = renderBuildJob(input(build)).spec!.template.spec!;
    expect(podSpec.serviceAccountName).toBe(sa);
    expect('serviceAccountName' in podSpec).toBe(sa !== undefined);
  });
});

describe('renderBuildJob: the kaniko container', () => {
  it('is named kaniko and reports through the termination message, falling back to logs', () => {
    const c = container(input());
    expect(KANIKO_CONTAINER).toBe('kaniko');
    expect(c.name).toBe('kaniko');
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it.each<{ name: string; build: Record<string, unknown>; image: string }>([
    { name: 'default executor', build: {}, image: DEFAULT_EXECUTOR_IMAGE },
    {
      name: 'pinned executor',
      build: { executorImage: `gcr.io/kaniko-project/executor@sha256:${'c'.repeat(64)}` },
      image: `gcr.io/kaniko-project/executor@sha256:${'c'.repeat(64)}`,
    },
  ])('$name → $image', ({ build, image }) => {
    expect(container(input(build)).image).toBe(image);
  });

  it('uses the default executor when the spec has none (not parsed)', () => {
    const i = input();
    delete (i.md.spec.build as { executorImage?: string }).executorImage;
    expect(container(i).image).toBe(DEFAULT_EXECUTOR_IMAGE);
  });

  it('gets the registry region for the AWS SDK', () => {
    expect(container(input({}, { region: 'ap-south-1' })).env).toEqual([
      { name: 'AWS_REGION', value: 'ap-south-1' },
      { name: 'AWS_SDK_LOAD_CONFIG', value: 'true' },
      { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
    ]);
  });

  it.each<{ name: string; build: Record<string, unknown>; resources: unknown }>([
    { name: 'no resources', build: {}, resources: undefined },
    {
      name: 'resources',
      build: { resources: { requests: { cpu: '1' }, limits: { memory: '4Gi' } } },
      resources: { requests: { cpu: '1' }, limits: { memory: '4Gi' } },
    },
  ])('$name', ({ build, resources }) => {
    const c = container(input(build));
    expect(c.resources).toEqual(resources);
    expect('resources' in c).toBe(resources !== undefined);
  });
});

describe('renderBuildJob: kaniko args', () => {
  it('minimal spec: exact args', () => {
    expect(args(input())).toEqual([
      `--context=${CONTEXT}`,
      '--dockerfile=Dockerfile',
      `--destination=${REPO}:v3-abcdef0`,
      '--build-arg=MODEL_URI=models:/Churn/3',
      '--build-arg=MODEL_NAME=Churn',
      '--build-arg=MODEL_VERSION=3',
      '--digest-file=/dev/termination-log',
      '--push-retry=3',
    ]);
  });

  it.each<{ name: string; build: Record<string, unknown>; present: string[]; absent?: RegExp }>([
    { name: 'default dockerfile', build: {}, present: ['--dockerfile=Dockerfile'] },
    {
      name: 'custom dockerfile',
      build: { dockerfile: 'serving/Dockerfile.mlflow' },
      present: ['--dockerfile=serving/Dockerfile.mlflow'],
    },
    {
      name: 'no cache repository: no cache flags',
      build: {},
      present: [],
      absent: /^--cache/,
    },
    {
      name: 'cache repository',
      build: { cacheRepository: CACHE_REPO },
      present: ['--cache=true', `--cache-repo=${CACHE_REPO}`],
    },
    {
      name: 'user build args templated',
      build: {
        buildArgs: { BASE: 'python:3.12', RUN: 'runs:/{runId}/model', TAG: 'v{version}-{runIdShort}' },
      },
      present: [
        '--build-arg=BASE=python:3.12',
        '--build-arg=RUN=runs:/abcdef0123456789/model',
        '--build-arg=TAG=v3-abcdef0',
      ],
    },
  ])('$name', ({ build, present, absent }) => {
    const a = args(input(build));
    for (const arg of present) expect(a).toContain(arg);
    if (absent) expect(a.filter((x) => absent.test(x))).toEqual([]);
    // always there, whatever the spec
    expect(a).toContain('--build-arg=MODEL_URI=models:/Churn/3');
    expect(a).toContain('--digest-file=/dev/termination-log');
  });

  it('passes the destination as given', () => {
    expect(args(input({}, { destination: `${REPO}:custom_tag` }))).toContain(
      `--destination=${REPO}:custom_tag`,
    );
  });

  it('the model URI build arg follows the resolved version', () => {
    const a = args(input({}, { model: resolvedModel({ version: '7', uri: 'models:/Churn/7' }) }));
    expect(a).toContain('--build-arg=MODEL_URI=models:/Churn/7');
    expect(a).toContain('--build-arg=MODEL_VERSION=7');
  });

  it('user build args come first and cannot override the model ones; cache flags after the build args', () => {
    const a = args(
      input({ buildArgs: { EXTRA: '1', MODEL_URI: 'models:/Other/1' }, cacheRepository: CACHE_REPO }),
    );
    expect(a.indexOf('--build-arg=EXTRA=1')).toBeLessThan(a.indexOf('--build-arg=MODEL_VERSION=3'));
    expect(a).toContain('--build-arg=MODEL_URI=models:/Churn/3');
    expect(a).not.toContain('--build-arg=MODEL_URI=models:/Other/1');
    expect(a.indexOf('--cache=true')).toBeGreaterThan(a.indexOf('--build-arg=EXTRA=1'));
    expect(a.at(-2)).toBe('--digest-file=/dev/termination-log');
  });
});

describe('renderBuildJob: deterministic', () => {
  it('same input → deep-equal Job', () => {
    expect(renderBuildJob(input({ buildArgs: { A: '{version}' }, cacheRepository: CACHE_REPO }))).toEqual(
      renderBuildJob(input({ buildArgs: { A: '{version}' }, cacheRepository: CACHE_REPO })),
    );
  });

  it('does not change its input', () => {
    const i = input({ buildArgs: { A: '{version}' } });
    const before = structuredClone(i);
    renderBuildJob(i);
    expect(i).toEqual(before);
  });
});
