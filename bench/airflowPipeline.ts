// The Airflow half of the operator-versus-Airflow comparison, as a function a benchmark calls:
// runs the model pipeline DAG (bench/airflow/) `runs` times against a namespace the caller set
// up (a serving Deployment, a registered model with alias champion, an ECR repository), with the
// operator's own build and test Jobs (airflowPipeline.lib.ts), and returns run.py's figures.
//
// It writes the DAG's manifests and conf to a temporary directory, runs bench/airflow/run.sh
// (which starts Airflow from nothing, runs the DAG and stops Airflow), streams its progress, and
// afterwards removes the directory and every Job the DAG created (by AIRFLOW_RUN_LABEL), also
// when a run fails or the caller aborts.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  AIRFLOW_RUN_LABEL,
  type AirflowOutput,
  dagConf,
  failedRuns,
  parseAirflowOutput,
  renderPipelineManifests,
  runShArgs,
} from './airflowPipeline.lib.js';
import { BenchError } from './pipelineOverhead.lib.js';

export { AIRFLOW_RUN_LABEL, type AirflowRun } from './airflowPipeline.lib.js';

const RUN_SH = path.join('bench', 'airflow', 'run.sh');
const STDERR_TAIL_LINES = 40;
const CLEANUP_TIMEOUT = '60s';

export interface AirflowPipelineOptions {
  namespace: string;
  /** measured DAG runs, one after another */
  runs: number;
  /** unmeasured DAG runs first */
  warmup: number;
  /** one line at a time: run.sh's progress, then the clean-up */
  progress: (line: string) => void;
  /** the kubectl and kubeconfig the DAG's tasks and the clean-up use */
  kubectl: string;
  kubeconfig: string;
  /** MLflow; the DAG resolves `model`@champion there */
  trackingUri: string;
  model: string;
  /** the serving Deployment and its container the DAG rolls */
  deployment: string;
  container: string;
  /** ECR repository URI (moto on the bed) the build pushes to; it must exist */
  repository: string;
  /** run.py's --idle-seconds (default 10; 0 skips the idle baseline) and --run-timeout (900) */
  idleSeconds?: number;
  runTimeoutSeconds?: number;
  /** what the ModelDeployment's build and test would say (defaults: pipelineOverhead's) */
  buildContext?: string;
  testImage?: string;
  testCommand?: readonly string[];
  /** return runs that did not succeed instead of throwing */
  allowFailedRuns?: boolean;
  /** stops run.sh (SIGTERM: it stops Airflow) and cleans up */
  signal?: AbortSignal;
}

/** run.py's figures (see AirflowOutput): the measured runs, Airflow's CPU, start-up and idle. */
export type AirflowPipelineResult = AirflowOutput;

export async function measureAirflowPipeline(o: AirflowPipelineOptions): Promise<AirflowPipelineResult> {
  const root = repoRoot();
  const runLabel = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const manifests = renderPipelineManifests({ ...o, runLabel });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'airflow-pipeline-'));
  try {
    const paths = { buildJob: path.join(dir, 'build-job.json'), testJob: path.join(dir, 'test-job.json') };
    const confFile = path.join(dir, 'conf.json');
    await writeFile(paths.buildJob, manifests.buildJob);
    await writeFile(paths.testJob, manifests.testJob);
    await writeFile(confFile, JSON.stringify(dagConf(o, manifests, paths)));
    o.progress(
      `running ${RUN_SH}: ${o.warmup} warm-up + ${o.runs} measured DAG runs; Jobs labelled ` +
        `${AIRFLOW_RUN_LABEL}=${runLabel}`,
    );
    const child = await runAirflow(root, runShArgs(o, confFile), o);
    const said = `its last output:\n${child.tail.join('\n')}`;
    let out: AirflowOutput;
    try {
      out = parseAirflowOutput(child.stdout);
    } catch (err) {
      throw new BenchError(`${RUN_SH} ${child.how}: ${(err as Error).message}\n${said}`);
    }
    const failed = failedRuns(out.runs);
    if (failed.length && !o.allowFailedRuns)
      throw new BenchError(`Airflow DAG runs did not succeed:\n${failed.join('\n')}\n${said}`);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await deleteJobs(o, runLabel);
  }
}

interface Finished {
  stdout: string;
  /** its last stderr lines */
  tail: string[];
  /** "exited N" or "was killed by SIG" */
  how: string;
}

/** Runs run.sh to its end, its stderr streamed to progress. Rejects if it cannot start, and
 * once it has ended if the caller aborted (run.py stops Airflow on SIGTERM, and no task may
 * create a Job after the clean-up). */
function runAirflow(root: string, args: string[], o: AirflowPipelineOptions): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [RUN_SH, ...args], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: o.kubeconfig, KUBECTL: o.kubectl },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(o.signal ? { signal: o.signal } : {}), // SIGTERM on abort
    });
    let stdout = '';
    const tail: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    createInterface({ input: child.stderr }).on('line', (line) => {
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
      o.progress(line);
    });
    child.on('error', (err) => {
      if (!o.signal?.aborted) reject(new BenchError(`could not run ${RUN_SH}: ${err.message}`));
    });
    child.on('close', (code, sig) => {
      if (o.signal?.aborted) reject(new BenchError(`${RUN_SH} was stopped: the caller aborted`));
      else resolve({ stdout, tail, how: sig ? `was killed by ${sig}` : `exited ${code}` });
    });
  });
}

/** Deletes the Jobs of this measurement (their Pods go with them); a failure is reported, not thrown. */
async function deleteJobs(o: AirflowPipelineOptions, runLabel: string): Promise<void> {
  const args = [
    '--kubeconfig',
    o.kubeconfig,
    '-n',
    o.namespace,
    'delete',
    'jobs',
    '-l',
    `${AIRFLOW_RUN_LABEL}=${runLabel}`,
    '--ignore-not-found',
    `--timeout=${CLEANUP_TIMEOUT}`,
  ];
  const { code, stdout, stderr } = await run(o.kubectl, args);
  const deleted = stdout.split('\n').filter(Boolean).length;
  o.progress(
    code === 0
      ? `deleted ${deleted} Job(s) the DAG created`
      : `deleting the DAG's Jobs failed (${code}): ${stderr.trim()}; they go after their ttlSecondsAfterFinished`,
  );
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: err.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The checkout this module is in: the first folder up holding bench/airflow/run.sh (the source
 * is in bench/, the compiled module in dist-bench/bench/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, RUN_SH))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new BenchError(`${RUN_SH} not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
