// The pure parts of the pipeline-overhead benchmark: its options, the arithmetic from observed
// timestamps to figures, the statistics and the report text. The I/O (the bed, the operator,
// the watches) is in pipelineOverhead.measure.ts and pipelineOverhead.observe.ts.
import { parseArgs } from 'node:util';
import { BUILD_COMPONENT } from '../src/builders/kanikoJob.js';
import { LABEL_COMPONENT, LABEL_INSTANCE } from '../src/children/names.js';
import { TEST_COMPONENT } from '../src/controller/render/testJob.js';
import type { WatchFacts } from './resumingWatch.js';

/** A failure whose message says it all: printed without a stack. */
export class BenchError extends Error {}

export interface Options {
  runs: number;
  warmup: number;
  parallel: boolean;
}

/** The compiled CLI, relative to the repository root (tsconfig.bench.json's outDir). */
export const CLI = 'dist-bench/bench/pipelineOverhead.cli.js';
/** The operator logs only warnings while measured: its logging is not what we measure. */
export const OPERATOR_LOG_LEVEL = 'warn';

export const usage = `usage: npm run bench:pipeline -- [--runs N] [--warmup N] [--parallel]
  --runs N      measured pipeline runs (default 5)
  --warmup N    unmeasured full runs first, so the operator is started and warm (default 1)
  --parallel    apply all measured ModelDeployments at once instead of one at a time
The script builds the operator and the bench, then runs ${CLI} with the bed's env (test/bed/with-bed.sh).`;

/** The options, or 'help'. Anything else is a BenchError that carries the usage. */
export function parseOptions(argv: readonly string[]): Options | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        runs: { type: 'string', default: '5' },
        warmup: { type: 'string', default: '1' },
        parallel: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new BenchError(`${(err as Error).message}\n${usage}`);
  }
  if (values.help) return 'help';
  return {
    runs: integerOption('runs', values.runs, 1, 50),
    warmup: integerOption('warmup', values.warmup, 0, 10),
    parallel: values.parallel,
  };
}

function integerOption(name: string, raw: string, min: number, max: number): number {
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new BenchError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return v;
}

/** The options as arguments, defaults other than --runs left out. */
export function optionArgs(o: Options): string {
  return [
    `--runs ${o.runs}`,
    ...(o.warmup !== 1 ? [`--warmup ${o.warmup}`] : []),
    ...(o.parallel ? ['--parallel'] : []),
  ].join(' ');
}

/** What reproduces a report: the commands behind the npm script, and the npm script. The
 * operator and undici need Node >= 24, so the direct command names the repo's Node 24. */
export function reproduceCommands(o: Options): { direct: string; npm: string } {
  return {
    direct:
      'npm run build && npm run build:bench && ' +
      `bash test/bed/with-bed.sh node_modules/.bin/node ${CLI} ${optionArgs(o)}`,
    npm: `npm run bench:pipeline -- ${optionArgs(o)}`,
  };
}

/** Traffic goes to 127.0.0.1 only: refuses anything else. */
export function assertLoopback(what: string, url: string): void {
  if (new URL(url).hostname !== '127.0.0.1')
    throw new BenchError(`${what} is ${url}: this benchmark only talks to 127.0.0.1 (the bed)`);
}

// ---------------------------------------------------------------------------------------------
// One run's timestamps and what they add up to

/** performance.now() (ms) when each step of a run was seen by the bench; `applied` is taken
 * just before the ModelDeployment's create request is sent. */
export interface Marks {
  applied?: number;
  buildSeen?: number;
  buildDone?: number;
  rolloutStart?: number;
  rolloutDone?: number;
  testSeen?: number;
  testDone?: number;
  succeeded?: number;
}

/** The steps a run must show, in pipeline order, by the names progress and errors use. */
const STEPS: [Exclude<keyof Marks, 'applied'>, string][] = [
  ['buildSeen', 'build Job seen'],
  ['buildDone', 'build Job Complete'],
  ['rolloutStart', 'Deployment generation bump'],
  ['rolloutDone', 'Deployment rolled out'],
  ['testSeen', 'test Job seen'],
  ['testDone', 'test Job Complete'],
  ['succeeded', 'Succeeded'],
];

/** The names of the steps not observed yet. */
export function missingSteps(m: Marks): string[] {
  return STEPS.filter(([key]) => m[key] === undefined).map(([, name]) => name);
}

/** The steps observed so far with their time since the apply, for error messages. */
export function stepsSeen(m: Marks): string {
  const parts = STEPS.filter(([key]) => m[key] !== undefined).map(
    ([key, name]) => `${name} +${seconds((m[key] as number) - (m.applied ?? 0))} s`,
  );
  return parts.length ? parts.join(', ') : 'nothing';
}

export const seconds = (msValue: number) => (msValue / 1000).toFixed(3);

export interface Figures {
  total: number;
  build: number;
  rollout: number;
  test: number;
  work: number;
  overhead: number;
  /** overhead as a percentage of total */
  pct: number;
  // Where the overhead goes: the gaps between the observed steps, which sum to it.
  toBuild: number;
  toRollout: number;
  toTest: number;
  toSucceeded: number;
  /** the create request's round trip, included in total */
  applyRtt: number;
}

/** overhead = total - (build + rollout + test): what the operator adds around the work. */
export function figures(m: Required<Marks>, applyRtt: number): Figures {
  const build = m.buildDone - m.buildSeen;
  const rollout = m.rolloutDone - m.rolloutStart;
  const test = m.testDone - m.testSeen;
  const total = m.succeeded - m.applied;
  const work = build + rollout + test;
  const overhead = total - work;
  return {
    total,
    build,
    rollout,
    test,
    work,
    overhead,
    pct: (100 * overhead) / total,
    toBuild: m.buildSeen - m.applied,
    toRollout: m.rolloutStart - m.buildDone,
    toTest: m.testSeen - m.rolloutDone,
    toSucceeded: m.succeeded - m.testDone,
    applyRtt,
  };
}

// ---------------------------------------------------------------------------------------------
// What the watched objects say

export interface JobStep {
  /** the ModelDeployment that made the Job */
  md: string;
  step: 'build' | 'test';
  /** the marks the Job's first event and its Complete condition set */
  seen: 'buildSeen' | 'testSeen';
  done: 'buildDone' | 'testDone';
}

/** Which step of which run a Job is, by the labels the operator puts on its Jobs. */
export function jobStep(labels: Readonly<Record<string, string>> | undefined): JobStep | undefined {
  const md = labels?.[LABEL_INSTANCE];
  const component = labels?.[LABEL_COMPONENT];
  if (!md) return undefined;
  if (component === BUILD_COMPONENT) return { md, step: 'build', seen: 'buildSeen', done: 'buildDone' };
  if (component === TEST_COMPONENT) return { md, step: 'test', seen: 'testSeen', done: 'testDone' };
  return undefined;
}

interface ConditionLike {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The condition `type` when it is True (Jobs' Complete/Failed, ModelDeployments' Stalled). */
export function trueCondition(
  obj: { status?: { conditions?: readonly ConditionLike[] } },
  type: string,
): ConditionLike | undefined {
  return obj.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Why a run that timed out is stuck, from the last ModelDeployment status seen. */
export function stuckConditions(conditions: readonly ConditionLike[] | undefined): string | undefined {
  return conditions
    ?.filter((c) => c.status !== 'True' || c.type === 'Stalled')
    .map((c) => `${c.type}=${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// Statistics and the report

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(xs: readonly number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const ms = (x: number) => x.toFixed(0);
export const pct = (x: number) => `${x.toFixed(1)}%`;

export interface MeasuredRun {
  label: string;
  figures: Figures;
  notes: readonly string[];
}

export interface MachineFacts {
  nproc: number;
  cpu: string;
  os: string;
  /** load averages (1/5/15 min) */
  loadStart: string;
  loadEnd: string;
  benchNode: string;
  operatorNode: string;
  /** the operator's reconcile workers */
  workers: number;
  /** the apiserver's gitVersion */
  k8s: string;
}

export interface ReportInput {
  /** CPU seconds the operator process spent during the measured runs. */
  operatorCpuSeconds?: number;
  options: Options;
  namespace: string;
  runs: readonly MeasuredRun[];
  watches: readonly WatchFacts[];
  machine: MachineFacts;
}

const howMeasured = `How each figure is measured (t = performance.now() when the watch event reaches this process):
  total     t(MD event with status.phase Succeeded for the version) - t_apply (just before the create request is sent)
  build     t(build Job event with condition Complete=True) - t(first event of that Job, i.e. its ADDED)
  rollout   t(first event where observedGeneration >= generation, updatedReplicas >= spec.replicas,
            status.replicas <= updatedReplicas and availableReplicas >= updatedReplicas: kubectl rollout status's
            rules) - t(first Deployment event with metadata.generation above the pre-run one: the operator's patch)
  test      t(test Job event with Complete=True) - t(first event of that Job)
  work      build + rollout + test;   overhead = total - work;   overhead % = overhead / total
  gaps      apply→build Job, build done→rollout start, rolled out→test Job, test done→Succeeded: they sum to the overhead
Precision: both ends of every interval are seen through the same kind of watch, so the apiserver→bench delivery
latency (~1 ms on loopback) mostly cancels; three separate watch streams (Jobs, Deployments, ModelDeployments) are not
ordered against each other, so a gap can be off by the difference of their delivery delays (about a millisecond).
Job durations include the Job controller, the scheduler, kwok's Pod lifecycle and the bed's stand-in (the build pushes
to moto's ECR); the rollout is real kube-controller-manager + kwok. total includes the create request's round trip.
Job status conditions are written by kube-controller-manager when it notices the Pod finished, so "Complete" is when
Kubernetes says so, which is also what the operator waits for.`;

/** Each statistic of the summary: its label, which figure, how it is printed. */
const SUMMARY: [string, keyof Figures, (x: number) => string][] = [
  ['total ms', 'total', ms],
  ['work ms', 'work', ms],
  ['  build ms', 'build', ms],
  ['  rollout ms', 'rollout', ms],
  ['  test ms', 'test', ms],
  ['overhead ms', 'overhead', ms],
  ['overhead %', 'pct', pct],
];

export function report({ options: o, namespace, runs, watches, machine }: ReportInput): string {
  const f = runs.map((r) => r.figures);
  const lines = [
    '',
    'Pipeline orchestration overhead: mlflow-model-operator on the test bed',
    o.parallel
      ? `mode: parallel: ${o.runs} ModelDeployments applied at once (runs compete for the operator's ` +
        `${machine.workers} reconcile workers and the bed)`
      : 'mode: sequential: one run at a time (the next ModelDeployment is applied once the previous one ' +
        "Succeeded), so runs don't compete",
    `${o.runs} measured run(s) after ${o.warmup} unmeasured warm-up run(s); namespace ${namespace}; ` +
      `operator: node dist/main.js, LOG_LEVEL=${OPERATOR_LOG_LEVEL}, WATCH_NAMESPACES=${namespace}`,
    'each run: a fresh registered model (version 1 = champion), a 2-replica serving Deployment, a ' +
      'ModelDeployment with builder kaniko (bed stand-in, ~0.05-0.2 s), rollout, test Job (stand-in, ~1 s)',
    '',
    'Per run (ms):',
    table(
      ['run', 'total', 'build', 'rollout', 'test', 'work', 'overhead', 'overhead %'],
      runs.map(({ label, figures: x }) => [
        label,
        ...[x.total, x.build, x.rollout, x.test, x.work, x.overhead].map(ms),
        pct(x.pct),
      ]),
    ),
    '',
    'Where the overhead goes (ms between observed steps; sums to the overhead):',
    table(
      ['run', 'apply→build Job', 'build done→rollout', 'rolled out→test Job', 'test done→Succeeded'],
      runs.map(({ label, figures: x }) => [
        label,
        ...[x.toBuild, x.toRollout, x.toTest, x.toSucceeded].map(ms),
      ]),
    ),
    '',
    `Summary over ${f.length} run(s):`,
    table(
      ['', 'median', 'min', 'max'],
      SUMMARY.map(([name, key, fmt]) => {
        const s = spread(f.map((x) => x[key]));
        return [name, fmt(s.median), fmt(s.min), fmt(s.max)];
      }),
    ),
    "(each statistic is taken over the runs separately, e.g. median overhead % is the median of the runs' %)",
    ...notes(runs, watches),
    '',
    `Machine: nproc ${machine.nproc}; ${machine.cpu}; ${machine.os}; load average (1/5/15 min) ` +
      `${machine.loadStart} at start, ${machine.loadEnd} at end (the bed may be shared, e.g. with tests)`,
    `Node: bench ${machine.benchNode}, operator ${machine.operatorNode}; Kubernetes ${machine.k8s} (kube-apiserver, ` +
      'kube-controller-manager, kube-scheduler; kwok nodes)',
    `Create-request round trip (included in total): median ${median(f.map((x) => x.applyRtt)).toFixed(1)} ms`,
    '',
    howMeasured,
    '',
  ];
  const { direct, npm } = reproduceCommands(o);
  lines.push(`Reproduce: ${direct}`, `       or: ${npm}`);
  return lines.join('\n');
}

/** The Notes section: what a run or a watch did that the figures do not show; empty if nothing. */
function notes(runs: readonly MeasuredRun[], watches: readonly WatchFacts[]): string[] {
  const lines = [
    ...runs.flatMap((r) => r.notes.map((n) => `  run ${r.label}: ${n}`)),
    ...watches
      .filter((w) => w.reconnects || w.relists)
      .map(
        (w) =>
          `  watch ${w.path}: ${w.reconnects} reconnect(s), ${w.relists} re-list(s)` +
          (w.lastError ? ` (last error: ${w.lastError})` : '') +
          '; events during a reconnect arrive late by its duration',
      ),
  ];
  return lines.length ? ['', 'Notes:', ...lines] : [];
}
