// The scale benchmark's pure parts: options, counting the apiserver's writes from its metrics,
// percentiles, and the report.
import { table } from './pipelineOverhead.lib.js';

export interface ScaleOptions {
  /** Numbers of resolve-only ModelDeployments for the cold-start and idle figures. */
  sizes: number[];
  /** Distinct registered models the objects follow (object i follows model i mod models). */
  models: number;
  /** spec.model.pollInterval of every object, in seconds: one idle interval is measured. */
  pollSeconds: number;
  /** Create/delete cycles of the largest size (memory growth). */
  cycles: number;
  /** Registry change → build Job samples, by polling and by webhook. */
  latencySamples: number;
  /** Pipeline runs of the operator and of the Airflow DAG. */
  pipelineRuns: number;
  /** Leave out the Airflow comparison (it needs its venv). */
  airflow: boolean;
}

export const DEFAULTS: ScaleOptions = {
  sizes: [100, 1000],
  models: 10,
  pollSeconds: 30,
  cycles: 2,
  latencySamples: 20,
  pipelineRuns: 3,
  airflow: true,
};

export const scaleUsage = `usage: npm run bench -- [--sizes 100,1000] [--models 10] [--poll-seconds 30]
  [--cycles 2] [--latency-samples 20] [--pipeline-runs 3] [--no-airflow]`;

export function parseScaleOptions(argv: readonly string[]): ScaleOptions | 'help' {
  const o: ScaleOptions = { ...DEFAULTS, sizes: [...DEFAULTS.sizes] };
  const whole = (min: number) => (flag: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`${flag} needs a whole number of at least ${min}, not "${v ?? ''}"`);
    return n;
  };
  const positive = whole(1);
  const orNone = whole(0); // 0 leaves the part out
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === '--help' || flag === '-h') return 'help';
    if (flag === '--no-airflow') {
      o.airflow = false;
      continue;
    }
    const value = argv[++i];
    switch (flag) {
      case '--sizes':
        o.sizes = (value ?? '').split(',').map((s) => positive(flag, s));
        break;
      case '--models':
        o.models = positive(flag, value);
        break;
      case '--poll-seconds':
        o.pollSeconds = positive(flag, value);
        break;
      case '--cycles':
        o.cycles = positive(flag, value);
        break;
      case '--latency-samples':
        o.latencySamples = orNone(flag, value);
        break;
      case '--pipeline-runs':
        o.pipelineRuns = orNone(flag, value);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${scaleUsage}`);
    }
  }
  return o;
}

export function scaleArgs(o: ScaleOptions): string {
  const d = DEFAULTS;
  return [
    o.sizes.join(',') !== d.sizes.join(',') && `--sizes ${o.sizes.join(',')}`,
    o.models !== d.models && `--models ${o.models}`,
    o.pollSeconds !== d.pollSeconds && `--poll-seconds ${o.pollSeconds}`,
    o.cycles !== d.cycles && `--cycles ${o.cycles}`,
    o.latencySamples !== d.latencySamples && `--latency-samples ${o.latencySamples}`,
    o.pipelineRuns !== d.pipelineRuns && `--pipeline-runs ${o.pipelineRuns}`,
    !o.airflow && '--no-airflow',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Resources the operator writes; the apiserver counts requests per resource and verb. */
const OPERATOR_RESOURCES = new Set(['modeldeployments', 'events', 'jobs', 'deployments']);
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);

/** Writes to the operator's resources, from the apiserver's apiserver_request_total in /metrics
 * text: status writes of ModelDeployments, Events, and the rest (Jobs, Deployments, metadata). */
export function apiserverWrites(metricsText: string): { status: number; events: number; other: number } {
  const total = { status: 0, events: 0, other: 0 };
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (!OPERATOR_RESOURCES.has(labels.resource ?? '') || !WRITES.has(labels.verb ?? '')) continue;
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (labels.resource === 'modeldeployments' && labels.subresource === 'status') total.status += n;
    else if (labels.resource === 'events') total.events += n;
    else total.other += n;
  }
  return total;
}

export const allWrites = (w: { status: number; events: number; other: number }) =>
  w.status + w.events + w.other;

/** Sum of a counter (or a histogram's _count) over all its series, from /metrics text. */
export function metricSum(metricsText: string, name: string): number {
  let total = 0;
  for (const line of metricsText.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export interface ColdStart {
  n: number;
  cycle: number;
  /** operator process start → every object Ready */
  readySeconds: number;
  peakRssMiB: number;
  steadyRssMiB: number;
  idleWrites: number;
  idleMlflowRequests: number;
  apiserverConnections: number;
  /** MLflow requests from start to all Ready */
  coldMlflowRequests: number;
  /** from start to all Ready: status writes, Events (created or folded) */
  coldStatusWrites: number;
  coldEvents: number;
}

export interface Latency {
  mode: 'polling' | 'webhook';
  /** All changes at once, or one at a time (each waits for the previous build Job). */
  burst: boolean;
  samplesMs: number[];
}

export interface PipelineComparison {
  operatorMs: number[];
  operatorCpuSeconds: number;
  overheadMs: number[];
  airflow?: { ms: number[]; cpuSeconds: number; version: string } | undefined;
}

export interface ScaleReport {
  options: ScaleOptions;
  nodeOptions: string;
  loadStart: string;
  loadEnd: string;
  machine: string;
  coldStarts: ColdStart[];
  latencies: Latency[];
  pipeline: PipelineComparison | undefined;
}

const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => x.toFixed(0);
const median = (xs: readonly number[]) => percentile(xs, 50);

export function renderScaleReport(r: ScaleReport, command: string): string {
  const o = r.options;
  const out: string[] = [];
  out.push(`Scale benchmark: ${r.machine}; load average ${r.loadStart} at start, ${r.loadEnd} at end`);
  out.push(
    `Resolve-only ModelDeployments following ${o.models} models (alias champion), pollInterval ${o.pollSeconds}s; ` +
      `one operator process (no election), its default settings, NODE_OPTIONS as the chart sets (${r.nodeOptions}).`,
  );
  out.push('');
  out.push(
    table(
      [
        'N',
        'cycle',
        'start→all Ready s',
        'peak RSS MiB',
        'steady RSS MiB',
        'cold MLflow req',
        'cold status writes',
        'cold Events',
        'idle k8s writes',
        'idle MLflow req',
        'apiserver conns',
      ],
      r.coldStarts.map((c) => [
        String(c.n),
        String(c.cycle),
        f1(c.readySeconds),
        f0(c.peakRssMiB),
        f0(c.steadyRssMiB),
        String(c.coldMlflowRequests),
        String(c.coldStatusWrites),
        String(c.coldEvents),
        String(c.idleWrites),
        String(c.idleMlflowRequests),
        String(c.apiserverConnections),
      ]),
    ),
  );
  out.push(
    `idle = one poll interval (${o.pollSeconds} s) once all were Ready and writes had stopped; k8s writes = the apiserver's ` +
      'own count of POST/PUT/PATCH/DELETE to modeldeployments (and /status), events, jobs, deployments; ' +
      'cold = from the operator start (cycle 1) or the re-create (later cycles) to all Ready.',
  );
  if (r.latencies.length > 0) {
    out.push('');
    out.push(
      table(
        ['registry change → build Job created', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
        r.latencies.map((l) => [
          `${l.mode}, ${l.burst ? `${l.samplesMs.length} changes at once` : 'one change at a time'}`,
          String(l.samplesMs.length),
          f0(percentile(l.samplesMs, 50)),
          f0(percentile(l.samplesMs, 99)),
          f0(Math.max(...l.samplesMs)),
        ]),
      ),
    );
    const [poll, hook] = [
      r.latencies.find((l) => l.mode === 'polling'),
      r.latencies.find((l) => l.mode === 'webhook' && !l.burst),
    ];
    if (poll && hook)
      out.push(
        `webhook is ${f0(median(poll.samplesMs) / median(hook.samplesMs))}× faster at p50 than polling every ${o.pollSeconds} s`,
      );
  }
  if (r.pipeline) {
    const p = r.pipeline;
    out.push('');
    const rows = [
      [
        'operator (ModelDeployment)',
        String(p.operatorMs.length),
        f0(median(p.operatorMs)),
        f0(median(p.overheadMs)),
        (p.operatorCpuSeconds / p.operatorMs.length).toFixed(2),
      ],
    ];
    if (p.airflow)
      rows.push([
        `Airflow ${p.airflow.version} DAG (LocalExecutor)`,
        String(p.airflow.ms.length),
        f0(median(p.airflow.ms)),
        '',
        (p.airflow.cpuSeconds / p.airflow.ms.length).toFixed(2),
      ]);
    out.push(
      table(
        ['same pipeline on the same bed', 'runs', 'trigger→done ms p50', 'overhead ms p50', 'CPU s/run'],
        rows,
      ),
    );
    if (p.airflow)
      out.push(
        `the operator is ${(median(p.airflow.ms) / median(p.operatorMs)).toFixed(1)}× faster than the Airflow DAG ` +
          `(trigger→done, medians, same run) and uses ${(p.airflow.cpuSeconds / p.airflow.ms.length / (p.operatorCpuSeconds / p.operatorMs.length)).toFixed(1)}× less CPU per run`,
      );
  }
  out.push('');
  out.push(`Reproduce: ${command}`);
  return out.join('\n');
}
