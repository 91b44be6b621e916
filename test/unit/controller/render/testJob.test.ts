import { describe, expect, it } from '@jest/globals';
import type { V1Container } from '@kubernetes/client-node';
import type { ModelDeployment, ResolvedModel } from '../../../../src/api/v1alpha1/modelDeployment.js';
import type { TestSpec } from '../../../../src/api/v1alpha1/pipeline.js';
import { testJobName } from '../../../../src/children/names.js';
import { TEST_COMPONENT, renderTestJob, serviceUrl } from '../../../../src/controller/render/testJob.js';
import { DIGEST_A, DIGEST_B, REPO, pipelineMd, resolvedModel } from '../../helpers/pipelineFixtures.js';

const IMAGE = `${REPO}@${DIGEST_A}`;

/** The Job for the object's own test spec and serving Deployment, as the runTests step asks. */
const render = (m: ModelDeployment, model: ResolvedModel, runKey: string) =>
  renderTestJob({
    md: m,
    model,
    test: m.spec.test as TestSpec,
    serviceName: m.spec.deployment?.name ?? '',
    runKey,
  });

const md = (test: Record<string, unknown> = {}): ModelDeployment =>
  pipelineMd({ test: { image: 'acme/churn-tests:1', ...test } });
const container = (m: ModelDeployment, image = IMAGE): V1Container =>
  render(m, resolvedModel(), image).spec!.template.spec!.containers[0]!;

describe('serviceUrl', () => {
  it('is the in-cluster URL of the serving Deployment’s Service', () => {
    expect(serviceUrl(md().metadata.namespace, md().spec.deployment?.name ?? '')).toBe(
      'http://churn-api.ml.svc',
    );
  });
});

describe('renderTestJob: the Job', () => {
  const job = render(md(), resolvedModel(), IMAGE);

  it('is a batch/v1 Job in the object namespace named after version and image', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata?.namespace).toBe('ml');
    expect(job.metadata?.name).toBe(testJobName('churn', '3', IMAGE));
  });

  it('carries the model-test labels on the Job and the Pod', () => {
    const labels = {
      'app.kubernetes.io/managed-by': 'mlflow-model-operator',
      'app.kubernetes.io/instance': 'churn',
      'app.kubernetes.io/component': TEST_COMPONENT,
      'mlops.healthpredict.io/model-version': '3',
    };
    expect(TEST_COMPONENT).toBe('model-test');
    expect(job.metadata?.labels).toEqual(labels);
    expect(job.spec?.template.metadata?.labels).toEqual(labels);
  });

  it('is owned by its ModelDeployment, as controller', () => {
    expect(job.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ModelDeployment', name: 'churn', uid: 'uid-1', controller: true }),
    ]);
  });

  it('never retries, its Pod never restarts', () => {
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
  });

  it.each<{ name: string; test: Record<string, unknown>; deadline: number; ttl: number }>([
    { name: 'defaults', test: {}, deadline: 600, ttl: 3600 },
    { name: 'spec values', test: { timeoutSeconds: 120, ttlSecondsAfterFinished: 0 }, deadline: 120, ttl: 0 },
  ])('$name: activeDeadlineSeconds $deadline, ttl $ttl', ({ test, deadline, ttl }) => {
    const j = render(md(test), resolvedModel(), IMAGE);
    expect(j.spec?.activeDeadlineSeconds).toBe(deadline);
    expect(j.spec?.ttlSecondsAfterFinished).toBe(ttl);
  });

  it('falls back to 600 / 3600 when the spec has neither (not parsed)', () => {
    const m = md();
    const test = m.spec.test as { timeoutSeconds?: number; ttlSecondsAfterFinished?: number };
    delete test.timeoutSeconds;
    delete test.ttlSecondsAfterFinished;
    const j = render(m, resolvedModel(), IMAGE);
    expect(j.spec?.activeDeadlineSeconds).toBe(600);
    expect(j.spec?.ttlSecondsAfterFinished).toBe(3600);
  });

  it.each<{ name: string; image: string; same: boolean }>([
    { name: 'same image', image: IMAGE, same: true },
    { name: 'other digest', image: `${REPO}@${DIGEST_B}`, same: false },
    { name: 'retry token appended', image: `${IMAGE}#1`, same: false },
  ])('$name → same name: $same', ({ image, same }) => {
    const a = render(md(), resolvedModel(), IMAGE).metadata?.name;
    const b = render(md(), resolvedModel(), image).metadata?.name;
    expect(a === b).toBe(same);
  });

  it('another version gets another name', () => {
    expect(render(md(), resolvedModel({ version: '4' }), IMAGE).metadata?.name).not.toBe(job.metadata?.name);
  });

  it('a 60-character object name still gives a ≤ 63-character name', () => {
    const long = pipelineMd({}, { name: `c${'x'.repeat(59)}` });
    const name = render(long, resolvedModel(), IMAGE).metadata.name;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('same input → deep-equal Job', () => {
    expect(render(md({ env: { A: '{version}' } }), resolvedModel(), IMAGE)).toEqual(
      render(md({ env: { A: '{version}' } }), resolvedModel(), IMAGE),
    );
  });
});

describe('renderTestJob: the test container', () => {
  it('runs the test image and says where the service and model are', () => {
    const c = container(md());
    expect(c.name).toBe('test');
    expect(c.image).toBe('acme/churn-tests:1');
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(c.env).toEqual([
      { name: 'SERVICE_URL', value: 'http://churn-api.ml.svc' },
      { name: 'MODEL_NAME', value: 'Churn' },
      { name: 'MODEL_VERSION', value: '3' },
      { name: 'MODEL_URI', value: 'models:/Churn/3' },
    ]);
  });

  it('the image argument names the Job; it is not the test container image', () => {
    expect(container(md(), `${REPO}@${DIGEST_B}`).image).toBe('acme/churn-tests:1');
  });

  it('user env is templated and comes first; the built-in variables win', () => {
    const c = container(
      md({ env: { RUN: 'runs:/{runId}/model', LABEL: '{name}-v{version}', PLAIN: 'x', MODEL_VERSION: '1' } }),
    );
    expect(c.env?.find((e) => e.name === 'MODEL_VERSION')?.value).toBe('3');
    expect(c.env?.slice(0, 3)).toEqual([
      { name: 'RUN', value: 'runs:/abcdef0123456789/model' },
      { name: 'LABEL', value: 'Churn-v3' },
      { name: 'PLAIN', value: 'x' },
    ]);
  });

  it.each<{ name: string; test: Record<string, unknown>; command?: string[]; args?: string[] }>([
    { name: 'neither command nor args', test: {} },
    { name: 'command', test: { command: ['pytest'] }, command: ['pytest'] },
    { name: 'args', test: { args: ['-k', 'smoke'] }, args: ['-k', 'smoke'] },
    {
      name: 'both',
      test: { command: ['pytest'], args: ['-x'] },
      command: ['pytest'],
      args: ['-x'],
    },
  ])('$name', ({ test, command, args }) => {
    const c = container(md(test));
    expect(c.command).toEqual(command);
    expect(c.args).toEqual(args);
    expect('command' in c).toBe(command !== undefined);
    expect('args' in c).toBe(args !== undefined);
  });

  it.each<{ name: string; test: Record<string, unknown>; sa: string | undefined }>([
    { name: 'no service account', test: {}, sa: undefined },
    { name: 'service account', test: { serviceAccountName: 'tester' }, sa: 'tester' },
  ])('$name', ({ test, sa }) => {
    const spec = render(md(test), resolvedModel(), IMAGE).spec!.template.spec!;
    expect(spec.serviceAccountName).toBe(sa);
    expect('serviceAccountName' in spec).toBe(sa !== undefined);
  });
});
