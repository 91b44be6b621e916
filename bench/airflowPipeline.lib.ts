// The pure parts of the Airflow half of the pipeline comparison: the build and test Job manifests
// the DAG (bench/airflow/dags/model_pipeline.py) creates, its run conf, run.sh's arguments and
// the parsing of its JSON line. The I/O (temp files, the child process, cleaning up) is in
// airflowPipeline.ts.
//
// The Jobs are the operator's own: rendered by renderBuildJob and renderTestJob from the
// ModelDeployment spec bench/pipelineOverhead applies, so the bed's stand-in (test/bed/standin.py)
// completes them exactly as it completes the operator's. What differs is only what ties them to a
// ModelDeployment: no owner reference, another managed-by (so the operator's informers, which
// select managed-by=mlflow-model-operator, never see them), a per-DAG-run name, and a label of
// their own to delete them by.
import type { V1Job, V1ObjectMeta } from '@kubernetes/client-node';
import {
  type ModelDeployment,
  ModelDeploymentSpecStrictSchema,
  type ResolvedModel,
} from '../src/api/v1alpha1/modelDeployment.js';
import type { KanikoBuildSpec, TestSpec } from '../src/api/v1alpha1/pipeline.js';
import { renderBuildJob } from '../src/builders/kanikoJob.js';
import { LABEL_MANAGED_BY } from '../src/children/names.js';
import { parseRepository } from '../src/clients/ecr.js';
import { renderTestJob } from '../src/controller/render/testJob.js';
import { BenchError } from './pipelineOverhead.lib.js';

/** On every Job the DAG creates for one measurement: its value is that measurement's nonce. */
export const AIRFLOW_RUN_LABEL = 'bench.mlops.healthpredict.io/airflow-run';
/** managed-by of those Jobs: not the operator, whose informers select its own value. */
export const AIRFLOW_MANAGER = 'airflow';

/** The same as bench/pipelineOverhead.measure.ts's ModelDeployment: kaniko (the bed's stand-in)
 * builds from this context, then this test image runs this command. */
export const DEFAULT_BUILD_CONTEXT = 'git://git.example/acme/serving.git#refs/heads/main';
export const DEFAULT_TEST_IMAGE = 'registry.example/api-tests:1';
export const DEFAULT_TEST_COMMAND: readonly string[] = ['pytest', '-q'];

/** The DAG's substitutions (Python string.Template, safe_substitute) and the stand-ins they
 * replace while rendering: the version is only known once the DAG resolved the alias. */
const PLACEHOLDERS = {
  MODEL_VERSION: '@@MODEL_VERSION@@',
  RUN_SUFFIX: '@@RUN_SUFFIX@@',
  IMAGE: '@@IMAGE@@',
} as const;
type Placeholder = keyof typeof PLACEHOLDERS;
const at = (p: Placeholder) => PLACEHOLDERS[p];

/** As the DAG's Template reads it: `$` doubled (a literal `$`), then each stand-in as `${NAME}`. */
export function toTemplate(text: string): string {
  let out = text.replaceAll('$', () => '$$');
  for (const [name, token] of Object.entries(PLACEHOLDERS)) out = out.replaceAll(token, () => `\${${name}}`);
  return out;
}

export interface PipelineInput {
  namespace: string;
  /** The serving Deployment and its container the DAG rolls. */
  deployment: string;
  container: string;
  /** The registered model (its alias "champion" is what the DAG resolves). */
  model: string;
  trackingUri: string;
  /** The ECR repository (in moto on the bed) the build pushes to. */
  repository: string;
  /** This measurement's nonce: the value of AIRFLOW_RUN_LABEL. */
  runLabel: string;
  buildContext?: string;
  testImage?: string;
  testCommand?: readonly string[];
}

export interface PipelineManifests {
  /** Templates for the DAG (JSON, which its YAML loader reads), substitutions as ${NAME}. */
  buildJob: string;
  testJob: string;
  /** conf.image: what the build pushes and `kubectl set image` sets, per DAG run. */
  image: string;
  /** The limits the operator would apply (seconds): the build and test Jobs' deadlines. */
  buildTimeout: number;
  testTimeout: number;
}

/** Who the Jobs say made them (app.kubernetes.io/instance), within a Job name's 63 characters. */
export function instanceName(deployment: string): string {
  return `airflow-${deployment}`.slice(0, 30).replace(/[-.]+$/, '');
}

/** The build and test Jobs, as the operator renders them for the same ModelDeployment spec. */
export function renderPipelineManifests(i: PipelineInput): PipelineManifests {
  for (const [key, value] of Object.entries(i))
    if (typeof value === 'string' && value.includes('@@'))
      throw new BenchError(`${key} "${value}" contains "@@", which the manifest templates reserve`);
  const spec = ModelDeploymentSpecStrictSchema.parse({
    model: { name: i.model, alias: 'champion' },
    registry: { trackingUri: i.trackingUri },
    image: { repository: i.repository },
    build: { builder: 'kaniko', context: i.buildContext ?? DEFAULT_BUILD_CONTEXT },
    deployment: { name: i.deployment, container: i.container },
    test: { image: i.testImage ?? DEFAULT_TEST_IMAGE, command: [...(i.testCommand ?? DEFAULT_TEST_COMMAND)] },
  });
  const build = spec.build as KanikoBuildSpec;
  const test = spec.test as TestSpec;
  const owner = instanceName(i.deployment);
  const md: ModelDeployment = {
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: owner, namespace: i.namespace },
    spec,
  };
  const version = at('MODEL_VERSION');
  const model: ResolvedModel = {
    name: i.model,
    version,
    uri: `models:/${i.model}/${version}`,
    resolvedFrom: 'alias:champion',
    resolvedAt: new Date(0).toISOString(), // not rendered
  };

  const buildJob = renderBuildJob({
    md,
    model,
    build,
    destination: at('IMAGE'),
    buildHash: at('RUN_SUFFIX'), // the operator's name scheme, one name per DAG run
    region: parseRepository(i.repository).region,
  });
  const testJob = renderTestJob({ md, model, test, serviceName: i.deployment, runKey: '' });
  testJob.metadata.name = `${owner}-test-v${version}-${at('RUN_SUFFIX')}`;
  for (const job of [buildJob, testJob]) detach(job, i.runLabel);

  return {
    buildJob: toTemplate(JSON.stringify(buildJob)),
    testJob: toTemplate(JSON.stringify(testJob)),
    // The operator's default tag is v{version}-{runIdShort}-{buildHash}: new for each of its
    // runs (each a new model). A per-DAG-run suffix makes each DAG run build and roll out too.
    image: toTemplate(`${i.repository}:v${version}-${at('RUN_SUFFIX')}`),
    buildTimeout: build.activeDeadlineSeconds,
    testTimeout: test.timeoutSeconds,
  };
}

/** Unties a rendered Job from its ModelDeployment: no owner, no namespace (the DAG's -n), other
 * managed-by, the measurement's label on the Job and its Pods. */
function detach(job: V1Job, runLabel: string): void {
  const meta = job.metadata as V1ObjectMeta;
  delete meta.ownerReferences;
  delete meta.namespace;
  for (const m of [meta, job.spec?.template.metadata]) {
    if (!m?.labels) continue;
    m.labels[LABEL_MANAGED_BY] = AIRFLOW_MANAGER;
    m.labels[AIRFLOW_RUN_LABEL] = runLabel;
  }
}

/** dag_run.conf (keys: the DAG's docstring). Paths are where the manifests were written. */
export function dagConf(
  i: Omit<PipelineInput, 'runLabel'> & { kubeconfig: string; kubectl: string },
  m: PipelineManifests,
  paths: { buildJob: string; testJob: string },
): Record<string, unknown> {
  return {
    kubeconfig: i.kubeconfig,
    kubectl: i.kubectl,
    namespace: i.namespace,
    deployment: i.deployment,
    container: i.container,
    tracking_uri: i.trackingUri,
    model_name: i.model,
    alias: 'champion',
    image: m.image,
    build_job_manifest: paths.buildJob,
    test_job_manifest: paths.testJob,
    build_timeout: m.buildTimeout,
    test_timeout: m.testTimeout,
  };
}

export interface RunShOptions {
  runs: number;
  warmup: number;
  /** run.py's --idle-seconds (its default: 10; 0 skips the idle CPU baseline). */
  idleSeconds?: number;
  /** run.py's --run-timeout, seconds one DAG run may take (its default: 900). */
  runTimeoutSeconds?: number;
}

/** run.sh's arguments after its path. */
export function runShArgs(o: RunShOptions, confFile: string): string[] {
  return [
    '--runs',
    String(o.runs),
    '--warmup',
    String(o.warmup),
    '--conf',
    `@${confFile}`,
    ...(o.idleSeconds !== undefined ? ['--idle-seconds', String(o.idleSeconds)] : []),
    ...(o.runTimeoutSeconds !== undefined ? ['--run-timeout', String(o.runTimeoutSeconds)] : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// run.py's JSON line

export interface AirflowTask {
  task: string;
  state: string | null;
  /** the task runner's start to end */
  ms: number | null;
}

export interface AirflowRun {
  runId: string;
  /** trigger request sent → state success|failed read from the metadata DB */
  ms: number;
  state: string;
  /** sum of the task durations; gapMs = ms - taskMs is what Airflow adds between them */
  taskMs: number;
  gapMs: number;
  /** CPU of the Airflow processes (and their reaped children) during this run */
  cpuSeconds: number;
  tasks: AirflowTask[];
}

export interface AirflowOutput {
  runs: AirflowRun[];
  /** CPU of the Airflow processes over all measured runs */
  cpuSeconds: number;
  /** db migrate + start until the DAG is parsed */
  startupSeconds: number;
  airflowVersion: string;
  idleSeconds: number;
  idleCpuSeconds: number | null;
  /** the whole JSON line, as run.py printed it */
  raw: Record<string, unknown>;
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const numberOrNull = (x: unknown) => (isNumber(x) ? x : null);

/** The last line of `stdout` that is run.py's JSON object; a BenchError when there is none. */
export function parseAirflowOutput(stdout: string): AirflowOutput {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new BenchError('bench/airflow/run.sh printed no JSON line');
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    throw new BenchError(`bench/airflow/run.sh printed a line that is not JSON (${(err as Error).message})`);
  }
  const o = raw as Record<string, unknown>;
  if (!Array.isArray(o.runs) || !isNumber(o.cpuSeconds) || !isNumber(o.startupSeconds))
    throw new BenchError(`bench/airflow/run.sh's JSON lacks runs, cpuSeconds or startupSeconds: ${line}`);
  const runs = (o.runs as Record<string, unknown>[]).map((r, n) => {
    if (!isNumber(r.ms) || typeof r.state !== 'string')
      throw new BenchError(
        `run ${n + 1} in bench/airflow/run.sh's JSON lacks ms or state: ${JSON.stringify(r)}`,
      );
    const tasks = Array.isArray(r.tasks) ? (r.tasks as Record<string, unknown>[]) : [];
    return {
      runId: String(r.runId ?? ''),
      ms: r.ms,
      state: r.state,
      taskMs: numberOrNull(r.taskMs) ?? NaN,
      gapMs: numberOrNull(r.gapMs) ?? NaN,
      cpuSeconds: numberOrNull(r.cpuSeconds) ?? NaN,
      tasks: tasks.map((t) => ({
        task: String(t.task),
        state: typeof t.state === 'string' ? t.state : null,
        ms: numberOrNull(t.ms),
      })),
    };
  });
  return {
    runs,
    cpuSeconds: o.cpuSeconds,
    startupSeconds: o.startupSeconds,
    airflowVersion: String(o.airflowVersion ?? 'unknown'),
    idleSeconds: numberOrNull(o.idleSeconds) ?? 0,
    idleCpuSeconds: numberOrNull(o.idleCpuSeconds),
    raw: o,
  };
}

/** What went wrong in the runs that did not succeed, one line each; empty when all did. */
export function failedRuns(runs: readonly AirflowRun[]): string[] {
  return runs
    .map((r, n) => ({ r, n }))
    .filter(({ r }) => r.state !== 'success')
    .map(
      ({ r, n }) =>
        `run ${n + 1} (${r.runId}): ${r.state} after ${(r.ms / 1000).toFixed(1)} s; tasks: ` +
        (r.tasks.map((t) => `${t.task}=${t.state ?? 'none'}`).join(', ') || 'none'),
    );
}
