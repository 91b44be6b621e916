import { describe, expect, it } from '@jest/globals';
import type { V1Container, V1Job } from '@kubernetes/client-node';
import {
  type ModelDeployment,
  ModelDeploymentSpecStrictSchema,
  type ResolvedModel,
} from '../../../src/api/v1alpha1/modelDeployment.js';
import type { KanikoBuildSpec, TestSpec } from '../../../src/api/v1alpha1/pipeline.js';
import { BUILD_COMPONENT, KANIKO_CONTAINER, renderBuildJob } from '../../../src/builders/kanikoJob.js';
import { LABEL_COMPONENT, LABEL_MANAGED_BY, MANAGED_BY } from '../../../src/children/names.js';
import { renderTestJob, TEST_COMPONENT } from '../../../src/controller/render/testJob.js';
import {
  AIRFLOW_MANAGER,
  AIRFLOW_RUN_LABEL,
  dagConf,
  DEFAULT_BUILD_CONTEXT,
  DEFAULT_TEST_COMMAND,
  DEFAULT_TEST_IMAGE,
  failedRuns,
  instanceName,
  parseAirflowOutput,
  type PipelineInput,
  renderPipelineManifests,
  runShArgs,
  toTemplate,
} from '../../../bench/airflowPipeline.lib.js';
import { BenchError } from '../../../bench/pipelineOverhead.lib.js';

const REPO = '123456789012.dkr.ecr.us-east-1.amazonaws.com/bench-1-abc';
const input: PipelineInput = {
  namespace: 'bench-scale-x',
  deployment: 'api-1',
  container: 'api',
  model: 'bench-1-abc',
  trackingUri: 'http://127.0.0.1:5000',
  repository: REPO,
  runLabel: 'nonce1',
};

/** What the DAG does to a template: Python's string.Template(text).safe_substitute(subs). */
function substitute(text: string, subs: Record<string, string>): string {
  return text.replace(/\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([_a-z][_a-z0-9]*)\})/gi, (m, esc, named, braced) =>
    esc ? '$' : (subs[(named ?? braced) as string] ?? m),
  );
}

/** The DAG's substitutions for version 3 in the DAG run whose suffix is a1b2c3d4. */
function dagRun(i: PipelineInput = input) {
  const m = renderPipelineManifests(i);
  const subs: Record<string, string> = { MODEL_NAME: i.model, MODEL_VERSION: '3', RUN_SUFFIX: 'a1b2c3d4' };
  subs.IMAGE = substitute(m.image, subs);
  return {
    image: subs.IMAGE,
    build: JSON.parse(substitute(m.buildJob, subs)) as V1Job,
    test: JSON.parse(substitute(m.testJob, subs)) as V1Job,
  };
}

const container = (job: V1Job): V1Container => job.spec!.template.spec!.containers[0]!;

/** The operator's Jobs for the ModelDeployment bench/pipelineOverhead applies, named like ours. */
function operatorJobs(image: string) {
  const spec = ModelDeploymentSpecStrictSchema.parse({
    model: { name: input.model, alias: 'champion' },
    registry: { trackingUri: input.trackingUri },
    image: { repository: REPO },
    build: { builder: 'kaniko', context: DEFAULT_BUILD_CONTEXT },
    deployment: { name: input.deployment, container: 'api' },
    test: { image: DEFAULT_TEST_IMAGE, command: [...DEFAULT_TEST_COMMAND] },
  });
  const md: ModelDeployment = {
    metadata: { name: instanceName(input.deployment), namespace: input.namespace, uid: 'u' },
    spec,
  };
  const model: ResolvedModel = {
    name: input.model,
    version: '3',
    uri: `models:/${input.model}/3`,
    resolvedFrom: 'alias:champion',
    resolvedAt: '2025-01-01T00:00:00Z',
  };
  const build = renderBuildJob({
    md,
    model,
    build: spec.build as KanikoBuildSpec,
    destination: image,
    buildHash: 'a1b2c3d4',
    region: 'us-east-1',
  });
  const test = renderTestJob({
    md,
    model,
    test: spec.test as TestSpec,
    serviceName: input.deployment,
    runKey: 'x',
  });
  return { build, test };
}

/** `job` as the DAG's: no owner or namespace, managed by Airflow, the run label, `name`. */
function asAirflows(job: V1Job, name: string): V1Job {
  const relabel = (labels: Record<string, string> | undefined) => ({
    ...labels,
    [LABEL_MANAGED_BY]: AIRFLOW_MANAGER,
    [AIRFLOW_RUN_LABEL]: input.runLabel,
  });
  const meta = { ...job.metadata! };
  delete meta.ownerReferences;
  delete meta.namespace;
  return {
    ...job,
    metadata: { ...meta, name, labels: relabel(meta.labels) },
    spec: {
      ...job.spec!,
      template: {
        ...job.spec!.template,
        metadata: { ...job.spec!.template.metadata, labels: relabel(job.spec!.template.metadata?.labels) },
      },
    },
  };
}

describe("renderPipelineManifests: the operator's Jobs, once the DAG substituted them", () => {
  const run = dagRun();
  const operator = operatorJobs(run.image);

  it('pushes a new tag per DAG run to the repository', () => {
    expect(run.image).toBe(`${REPO}:v3-a1b2c3d4`);
  });

  it('builds with the Job the operator renders, untied from a ModelDeployment', () => {
    expect(run.build).toEqual(asAirflows(operator.build, 'airflow-api-1-build-v3-a1b2c3d4'));
  });

  it('tests with the Job the operator renders, untied from a ModelDeployment', () => {
    expect(run.test).toEqual(asAirflows(operator.test, 'airflow-api-1-test-v3-a1b2c3d4'));
  });

  it("is what the bed's stand-in completes: kaniko pushing to ECR, the digest as termination message", () => {
    const kaniko = container(run.build);
    expect(kaniko.name).toBe(KANIKO_CONTAINER);
    expect(kaniko.args).toContain(`--destination=${REPO}:v3-a1b2c3d4`);
    expect(kaniko.args).toContain(`--digest-file=${kaniko.terminationMessagePath}`);
    expect(kaniko.args).toContain('--build-arg=MODEL_VERSION=3');
    expect(run.build.spec!.template.metadata!.labels![LABEL_COMPONENT]).toBe(BUILD_COMPONENT);
    expect(run.test.spec!.template.metadata!.labels![LABEL_COMPONENT]).toBe(TEST_COMPONENT);
    expect(container(run.test).env).toEqual(
      expect.arrayContaining([
        { name: 'MODEL_VERSION', value: '3' },
        { name: 'MODEL_URI', value: `models:/${input.model}/3` },
        { name: 'SERVICE_URL', value: `http://api-1.${input.namespace}.svc` },
      ]),
    );
  });

  it("is not selected by the operator's informers, and carries the run label to be deleted by", () => {
    for (const job of [run.build, run.test]) {
      expect(job.metadata!.labels![LABEL_MANAGED_BY]).not.toBe(MANAGED_BY);
      expect(job.metadata!.labels![AIRFLOW_RUN_LABEL]).toBe('nonce1');
      expect(job.metadata!.ownerReferences).toBeUndefined();
      expect(job.metadata!.namespace).toBeUndefined();
    }
  });

  it('keeps a literal $ in what it renders', () => {
    const r = dagRun({ ...input, testCommand: ['sh', '-c', 'echo $HOME ${MODEL_NAME} $$'] });
    expect(container(r.test).command).toEqual(['sh', '-c', 'echo $HOME ${MODEL_NAME} $$']);
  });

  it('keeps Job names within 63 characters for long Deployment names', () => {
    const r = dagRun({ ...input, deployment: 'a-very-long-serving-deployment-name-that-goes-on-and-on' });
    for (const job of [r.build, r.test]) expect(job.metadata!.name!.length).toBeLessThanOrEqual(63);
    expect(instanceName('a'.repeat(29) + '--b')).toBe(`airflow-${'a'.repeat(22)}`);
  });

  it('refuses values holding its reserved @@', () => {
    expect(() => renderPipelineManifests({ ...input, testImage: 'x@@y' })).toThrow(BenchError);
  });

  it('takes the build and test limits of the operator', () => {
    const m = renderPipelineManifests(input);
    expect([m.buildTimeout, m.testTimeout]).toEqual([1800, 600]);
  });
});

describe('toTemplate', () => {
  it('doubles $ and writes the placeholders as ${NAME}', () => {
    expect(toTemplate('a$b @@MODEL_VERSION@@-@@RUN_SUFFIX@@ @@IMAGE@@')).toBe(
      'a$$b ${MODEL_VERSION}-${RUN_SUFFIX} ${IMAGE}',
    );
  });
});

describe('dagConf and runShArgs', () => {
  const m = renderPipelineManifests(input);

  it('gives the DAG everything its docstring asks for', () => {
    const conf = dagConf({ ...input, kubeconfig: 'kc', kubectl: 'k' }, m, {
      buildJob: 'b.json',
      testJob: 't.json',
    });
    expect(conf).toEqual({
      kubeconfig: 'kc',
      kubectl: 'k',
      namespace: input.namespace,
      deployment: 'api-1',
      container: 'api',
      tracking_uri: input.trackingUri,
      model_name: input.model,
      alias: 'champion',
      image: `${REPO}:v\${MODEL_VERSION}-\${RUN_SUFFIX}`,
      build_job_manifest: 'b.json',
      test_job_manifest: 't.json',
      build_timeout: 1800,
      test_timeout: 600,
    });
  });

  it('passes run.py only the options given', () => {
    expect(runShArgs({ runs: 2, warmup: 1 }, 'c.json')).toEqual([
      '--runs',
      '2',
      '--warmup',
      '1',
      '--conf',
      '@c.json',
    ]);
    expect(runShArgs({ runs: 1, warmup: 0, idleSeconds: 0, runTimeoutSeconds: 60 }, 'c.json')).toEqual([
      ...['--runs', '1', '--warmup', '0', '--conf', '@c.json'],
      ...['--idle-seconds', '0', '--run-timeout', '60'],
    ]);
  });
});

describe('parseAirflowOutput', () => {
  const line = {
    runs: [
      {
        runId: 'bench_1_x',
        ms: 9000.5,
        state: 'success',
        taskMs: 7000,
        gapMs: 2000.5,
        cpuSeconds: 3.2,
        tasks: [{ task: 'resolve_version', state: 'success', ms: 800 }],
      },
      { runId: 'bench_2_x', ms: 5000, state: 'failed', taskMs: 4000, gapMs: 1000, cpuSeconds: 2, tasks: [] },
    ],
    cpuSeconds: 5.5,
    startupSeconds: 30.1,
    airflowVersion: '3.3.2',
    idleSeconds: 10,
    idleCpuSeconds: 1.25,
  };

  it('reads the last JSON line', () => {
    const out = parseAirflowOutput(`noise\n${JSON.stringify(line)}\n`);
    expect(out).toMatchObject({
      cpuSeconds: 5.5,
      startupSeconds: 30.1,
      airflowVersion: '3.3.2',
      idleCpuSeconds: 1.25,
    });
    expect(out.runs.map((r) => [r.ms, r.state, r.cpuSeconds])).toEqual([
      [9000.5, 'success', 3.2],
      [5000, 'failed', 2],
    ]);
    expect(out.raw).toEqual(line);
  });

  it('says which runs failed and how far their tasks got', () => {
    expect(failedRuns(parseAirflowOutput(JSON.stringify(line)).runs)).toEqual([
      'run 2 (bench_2_x): failed after 5.0 s; tasks: none',
    ]);
  });

  it.each([
    ['', 'printed no JSON line'],
    ['{not json', 'not JSON'],
    ['{"runs": []}', 'lacks runs, cpuSeconds or startupSeconds'],
    ['{"runs": [{"ms": 1}], "cpuSeconds": 1, "startupSeconds": 1}', 'run 1 in bench/airflow/run.sh'],
  ])('refuses %j', (stdout, message) => {
    expect(() => parseAirflowOutput(stdout)).toThrow(message);
  });
});
