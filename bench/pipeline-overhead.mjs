// Pipeline orchestration overhead on the test bed.
//
// Wall time of a full pipeline run (ModelDeployment created → status.phase Succeeded) minus the
// time the build Job, the rollout and the test Job themselves took, i.e. what the operator adds
// around the work it orchestrates: resolving the model in MLflow, ensuring the ECR repository,
// creating Jobs, checking the digest, patching the Deployment, reacting to watch events, status
// patches and Events.
//
// Every timestamp is performance.now() taken when a watch event reaches this process; see
// `howMeasured` below for what each interval is and its precision.
//
// Run it through the bed (it needs the bed's env):
//   npm run build && bash test/bed/with-bed.sh node bench/pipeline-overhead.mjs --runs 5
//   npm run bench:pipeline -- --runs 5 [--parallel] [--warmup N]
//
// Plain JS so it needs no build. Reports go to stdout, progress to stderr. It only talks to
// 127.0.0.1 (it checks the bed's URLs before doing anything).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, URL } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const repoNode = join(repoRoot, 'node_modules', '.bin', 'node');
const RUN_TIMEOUT_MS = 120_000;
const MARKS_GRACE_MS = 5_000; // a Job/Deployment event may trail the MD's Succeeded event a little
const GROUP = 'mlops.healthpredict.io';
const VERSION = 'v1alpha1';
const PLURAL = 'modeldeployments';
const REGISTRY_HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

const out = (s = '') => process.stdout.write(`${s}\n`);
const progress = (s) => process.stderr.write(`[bench] ${s}\n`);

class BenchError extends Error {}

// ---------------------------------------------------------------------------------------------
// Arguments

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: {
        runs: { type: 'string', default: '5' },
        warmup: { type: 'string', default: '1' },
        parallel: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    throw new BenchError(`${err.message}\n${usage}`);
  }
  if (parsed.help) {
    out(usage);
    process.exit(0);
  }
  const int = (name, min, max) => {
    const v = Number(parsed[name]);
    if (!Number.isInteger(v) || v < min || v > max)
      throw new BenchError(`--${name} must be an integer from ${min} to ${max}, got "${parsed[name]}"`);
    return v;
  };
  return { runs: int('runs', 1, 50), warmup: int('warmup', 0, 10), parallel: parsed.parallel };
}

const usage = `usage: node bench/pipeline-overhead.mjs [--runs N] [--warmup N] [--parallel]
  --runs N      measured pipeline runs (default 5)
  --warmup N    unmeasured full runs first, so the operator is started and warm (default 1)
  --parallel    apply all measured ModelDeployments at once instead of one at a time
Run it with the bed's env: bash test/bed/with-bed.sh node bench/pipeline-overhead.mjs ...`;

function reproduceCommand(o) {
  const extra = [
    `--runs ${o.runs}`,
    ...(o.warmup !== 1 ? [`--warmup ${o.warmup}`] : []),
    ...(o.parallel ? ['--parallel'] : []),
  ];
  return `npm run build && bash test/bed/with-bed.sh node bench/pipeline-overhead.mjs ${extra.join(' ')}`;
}

// ---------------------------------------------------------------------------------------------
// The bed

function bedEnv() {
  const need = (name) => {
    const v = process.env[name];
    if (!v)
      throw new BenchError(
        `${name} is not set: run the benchmark through the bed, e.g. npm run bench:pipeline -- --runs 5`,
      );
    return v;
  };
  return {
    kubeconfig: need('KUBECONFIG'),
    kubectl: need('BED_KUBECTL'),
    mlflowUri: need('MLFLOW_TRACKING_URI').replace(/\/+$/, ''),
    motoUrl: need('MOTO_URL'),
    logs: process.env.BED_RUN ? join(process.env.BED_RUN, 'logs') : undefined,
  };
}

/** Traffic goes to 127.0.0.1 only: refuse to run against anything else. */
function assertLoopback(what, url) {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1')
    throw new BenchError(`${what} is ${url}: this benchmark only talks to 127.0.0.1 (the bed)`);
}

function runCommand(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new BenchError(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.trim()}`)),
    );
    child.stdin.end(input ?? '');
  });
}

function kubectl(bed, args) {
  return runCommand(bed.kubectl, ['--kubeconfig', bed.kubeconfig, ...args]);
}

// ---------------------------------------------------------------------------------------------
// MLflow, through its REST API (undici)

function mlflowClient(uri, request) {
  const call = async (method, path, body) => {
    const url = new URL(`${uri}/api/2.0/mlflow${path}`);
    if (method === 'GET') for (const [k, v] of Object.entries(body ?? {})) url.searchParams.set(k, String(v));
    const res = await request(url, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method !== 'GET' && body ? { body: JSON.stringify(body) } : {}),
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new BenchError(`MLflow ${method} ${path} -> ${res.statusCode}: ${text}`);
    return text ? JSON.parse(text) : {};
  };
  return {
    /** A registered model whose version 1 (logged by a fresh run, as MLflow 3 wants) is champion. */
    async createModel(name) {
      await call('POST', '/registered-models/create', { name });
      const { run } = await call('POST', '/runs/create', { experiment_id: '0' });
      const { run_id: runId, artifact_uri: artifactUri } = run.info;
      const { model_version: mv } = await call('POST', '/model-versions/create', {
        name,
        source: `${artifactUri}/model`,
        run_id: runId,
      });
      // Only READY versions count for the operator; wait here so no run starts on VersionNotReady.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { model_version: v } = await call('GET', '/model-versions/get', { name, version: mv.version });
        if (v.status === 'READY') break;
        if (Date.now() > deadline)
          throw new BenchError(`MLflow version ${name}/${mv.version} is still ${v.status} after 30 s`);
        await sleep(100);
      }
      await call('POST', '/registered-models/alias', { name, alias: 'champion', version: mv.version });
      return { version: mv.version, runId };
    },
    async deleteModel(name) {
      await call('DELETE', '/registered-models/delete', { name });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The operator, as its own process

class OperatorProcess {
  constructor(bed, namespace) {
    this.bed = bed;
    this.namespace = namespace;
    this.tail = [];
    this.stopping = false;
    this.node = existsSync(repoNode) ? repoNode : process.execPath;
    let onExit;
    this.unexpectedExit = new Promise((_, reject) => (onExit = reject));
    this.unexpectedExit.catch(() => undefined); // observed through races
    this.rejectOnExit = onExit;
  }

  start() {
    const child = spawn(this.node, [join(repoRoot, 'dist', 'main.js')], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: this.bed.kubeconfig,
        WATCH_NAMESPACES: this.namespace,
        LOG_LEVEL: 'warn',
        AWS_ENDPOINT_URL: this.bed.motoUrl,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        NO_PROXY: '127.0.0.1,localhost',
        no_proxy: '127.0.0.1,localhost',
        // One process measured alone: no election, free ports.
        LEADER_ELECT: 'false',
        METRICS_PORT: '0',
        HEALTH_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let logFile;
    if (this.bed.logs) {
      mkdirSync(this.bed.logs, { recursive: true });
      logFile = join(this.bed.logs, `bench-operator-${child.pid}.log`);
    }
    this.logFile = logFile;
    const collect = (d) => {
      this.tail.push(...d.toString().split('\n').filter(Boolean));
      if (this.tail.length > 60) this.tail.splice(0, this.tail.length - 60);
      if (logFile) appendFileSync(logFile, d);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('exit', (code, signal) => {
      if (!this.stopping)
        this.rejectOnExit(
          new BenchError(
            `the operator exited unexpectedly (${signal ?? `exit code ${code}`}); its last output:\n` +
              this.tail.join('\n'),
          ),
        );
    });
  }

  /** SIGTERM (the operator drains and exits 0); SIGKILL if it takes more than 35 s. */
  async stop() {
    const child = this.child;
    this.stopping = true;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Observation: one client-node Watch per resource, resumed from the last resourceVersion

class Stream {
  constructor(kc, Watch, path, onEvent) {
    Object.assign(this, { kc, Watch, path, onEvent });
    this.rv = undefined;
    this.stopped = false;
    this.reconnects = 0;
    this.relists = 0;
    this.lastError = undefined;
  }

  async start() {
    const err = await this.connect();
    if (err) throw new BenchError(`cannot watch ${this.path}: ${err.message ?? err}`);
  }

  /** Opens the watch; resolves once the apiserver answered (undefined) or with the error. */
  async connect() {
    if (this.stopped) return undefined;
    const watch = new this.Watch(this.kc);
    // client-node aborts a watch after 30 s without data; a quiet namespace between runs is
    // normal, so allow longer (the server closes it after timeoutSeconds anyway).
    if ('requestTimeoutMs' in watch) watch.requestTimeoutMs = 330_000;
    const params = { allowWatchBookmarks: true, timeoutSeconds: 300 };
    if (this.rv) params.resourceVersion = this.rv;
    let failedAtStart;
    let opened = false;
    this.controller = await watch.watch(
      this.path,
      params,
      (type, obj) => {
        const t = performance.now(); // first thing: the event's arrival time
        if (type === 'ERROR') {
          this.lastError = `${obj?.code} ${obj?.message}`;
          if (obj?.code === 410) {
            this.rv = undefined; // too old: start over with a fresh list (synthetic ADDED events)
            this.relists += 1;
          }
          return;
        }
        if (obj?.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
        if (type !== 'BOOKMARK') this.onEvent(type, obj, t);
      },
      (err) => {
        if (!opened) {
          failedAtStart = err ?? new Error('closed at once');
          return;
        }
        if (this.stopped) return;
        if (err) this.lastError = err.message ?? String(err);
        this.reconnects += 1;
        void sleep(err ? 250 : 0).then(async () => {
          const e = await this.connect();
          if (e && !this.stopped) {
            this.lastError = e.message ?? String(e);
            this.reconnects += 1;
            await sleep(1000);
            void this.connect();
          }
        });
      },
    );
    opened = failedAtStart === undefined;
    return failedAtStart;
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }
}

/** kubectl rollout status's rules, as the operator judges them (dist/…/judgeRollout.js, loaded
 * by main() once dist/ is known to exist). */
let judgeRollout;
const rolledOut = (d) => judgeRollout(d).kind === 'done';

const trueCondition = (obj, type) =>
  obj.status?.conditions?.find((c) => c.type === type && c.status === 'True');

class Run {
  constructor(label, unique, measured) {
    Object.assign(this, { label, measured });
    this.md = `md-${label}`;
    this.deployment = `api-${label}`;
    this.model = `bench-${label}-${unique}`;
    this.repository = `${REGISTRY_HOST}/bench-${label}-${unique}`;
    this.build = {};
    this.rollout = {};
    this.test = {};
    this.notes = [];
    this.baseGeneration = undefined;
    this.settled = false;
    this.done = new Promise((resolve, reject) => Object.assign(this, { resolve, reject }));
    this.done.catch(() => undefined);
  }

  marks() {
    return {
      'build Job seen': this.build.seen,
      'build Job Complete': this.build.done,
      'Deployment generation bump': this.rollout.start,
      'Deployment rolled out': this.rollout.done,
      'test Job seen': this.test.seen,
      'test Job Complete': this.test.done,
      Succeeded: this.tSucceeded,
    };
  }

  /** Called after every event for this run. */
  check() {
    if (this.settled || this.tSucceeded === undefined) return;
    const missing = Object.entries(this.marks()).filter(([, v]) => v === undefined);
    if (missing.length === 0) {
      this.settle();
      this.resolve(this);
    } else if (!this.graceTimer) {
      this.graceTimer = setTimeout(() => {
        this.fail(
          `${this.describe()} reached Succeeded but these steps were never observed: ` +
            `${missing.map(([k]) => k).join(', ')} (seen: ${this.seen()})`,
        );
      }, MARKS_GRACE_MS);
    }
  }

  fail(message) {
    if (this.settled) return;
    this.settle();
    this.reject(new BenchError(message));
  }

  settle() {
    this.settled = true;
    clearTimeout(this.graceTimer);
    clearTimeout(this.timeoutTimer);
  }

  describe() {
    return `${this.measured ? 'run' : 'warm-up run'} ${this.label} (ModelDeployment ${this.md})`;
  }

  seen() {
    const parts = Object.entries(this.marks())
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} +${((v - this.tApply) / 1000).toFixed(3)} s`);
    return parts.length ? parts.join(', ') : 'nothing';
  }

  applied(t) {
    this.tApply = t;
    this.timeoutTimer = setTimeout(() => {
      const s = this.lastStatus;
      const why = s?.conditions
        ?.filter((c) => c.status !== 'True' || c.type === 'Stalled')
        .map((c) => `${c.type}=${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`)
        .join('; ');
      this.fail(
        `${this.describe()} did not reach Succeeded within ${RUN_TIMEOUT_MS / 1000} s; ` +
          `last phase: ${s?.phase ?? 'none seen'}; steps seen: ${this.seen()}` +
          (why ? `; conditions: ${why}` : ''),
      );
    }, RUN_TIMEOUT_MS);
  }

  figures() {
    const build = this.build.done - this.build.seen;
    const rollout = this.rollout.done - this.rollout.start;
    const test = this.test.done - this.test.seen;
    const total = this.tSucceeded - this.tApply;
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
      // Where the overhead goes: the gaps between the observed steps.
      toBuild: this.build.seen - this.tApply,
      toRollout: this.rollout.start - this.build.done,
      toTest: this.test.seen - this.rollout.done,
      toSucceeded: this.tSucceeded - this.test.done,
      applyRtt: this.applyRtt,
    };
  }
}

class Observer {
  constructor(namespace) {
    this.namespace = namespace;
    this.byMd = new Map();
    this.byDeployment = new Map();
  }

  add(run) {
    this.byMd.set(run.md, run);
    this.byDeployment.set(run.deployment, run);
  }

  async start(kc, Watch) {
    const ns = this.namespace;
    this.streams = [
      new Stream(kc, Watch, `/apis/batch/v1/namespaces/${ns}/jobs`, (type, o, t) => this.onJob(type, o, t)),
      new Stream(kc, Watch, `/apis/apps/v1/namespaces/${ns}/deployments`, (type, o, t) =>
        this.onDeployment(type, o, t),
      ),
      new Stream(kc, Watch, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, (type, o, t) =>
        this.onMd(type, o, t),
      ),
    ];
    await Promise.all(this.streams.map((s) => s.start()));
  }

  stop() {
    for (const s of this.streams ?? []) s.stop();
  }

  onJob(type, job, t) {
    const labels = job.metadata?.labels ?? {};
    const run = this.byMd.get(labels['app.kubernetes.io/instance']);
    const component = labels['app.kubernetes.io/component'];
    const step = component === 'image-build' ? 'build' : component === 'model-test' ? 'test' : undefined;
    if (!run || !step || type === 'DELETED' || run.tApply === undefined) return;
    const mark = run[step];
    const name = job.metadata.name;
    if (mark.name !== undefined && mark.name !== name) {
      if (!run.notes.includes(`second ${step} Job ${name}`)) run.notes.push(`second ${step} Job ${name}`);
      return;
    }
    mark.name = name;
    mark.seen ??= t;
    if (mark.done === undefined && trueCondition(job, 'Complete')) mark.done = t;
    const failed = trueCondition(job, 'Failed');
    if (failed)
      run.fail(`${run.describe()}: ${step} Job ${name} failed: ${failed.reason}: ${failed.message ?? ''}`);
    run.check();
  }

  onDeployment(type, d, t) {
    const run = this.byDeployment.get(d.metadata?.name);
    if (!run || type === 'DELETED' || run.baseGeneration === undefined || run.tApply === undefined) return;
    const generation = d.metadata.generation ?? 0;
    const r = run.rollout;
    if (r.start === undefined && generation > run.baseGeneration) {
      r.start = t;
      r.generation = generation;
    } else if (r.generation !== undefined && generation > r.generation) {
      const note = `Deployment ${run.deployment} changed again (generation ${generation})`;
      if (!run.notes.includes(note)) run.notes.push(note);
    }
    if (r.start !== undefined && r.done === undefined && rolledOut(d)) r.done = t;
    run.check();
  }

  onMd(type, md, t) {
    const run = this.byMd.get(md.metadata?.name);
    if (!run || type === 'DELETED') return;
    run.lastStatus = md.status;
    const phase = md.status?.phase;
    if (
      phase === 'Succeeded' &&
      run.tSucceeded === undefined &&
      md.status?.currentRun?.version === run.modelVersion
    )
      run.tSucceeded = t;
    if (phase === 'Failed') {
      const c = trueCondition(md, 'Stalled');
      run.fail(`${run.describe()} failed: ${c?.reason ?? ''}: ${c?.message ?? ''}`);
    }
    run.check();
  }

  watchFacts() {
    return this.streams.map((s) => ({
      path: s.path,
      reconnects: s.reconnects,
      relists: s.relists,
      lastError: s.lastError,
    }));
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const ms = (x) => x.toFixed(0);
const pct = (x) => `${x.toFixed(1)}%`;

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

function report({ o, runs, facts, observer, namespace }) {
  const f = runs.map((r) => ({ run: r, ...r.figures() }));
  out();
  out('Pipeline orchestration overhead: mlflow-model-operator on the test bed');
  out(
    o.parallel
      ? `mode: parallel: ${o.runs} ModelDeployments applied at once (runs compete for the operator's ` +
          `${facts.workers} reconcile workers and the bed)`
      : `mode: sequential: one run at a time (the next ModelDeployment is applied once the previous one ` +
          `Succeeded), so runs don't compete`,
  );
  out(
    `${o.runs} measured run(s) after ${o.warmup} unmeasured warm-up run(s); namespace ${namespace}; ` +
      `operator: node dist/main.js, LOG_LEVEL=warn, WATCH_NAMESPACES=${namespace}`,
  );
  out(
    'each run: a fresh registered model (version 1 = champion), a 2-replica serving Deployment, a ' +
      'ModelDeployment with builder kaniko (bed stand-in, ~0.05-0.2 s), rollout, test Job (stand-in, ~1 s)',
  );
  out();
  out('Per run (ms):');
  out(
    table(
      ['run', 'total', 'build', 'rollout', 'test', 'work', 'overhead', 'overhead %'],
      f.map((x) => [
        x.run.label,
        ms(x.total),
        ms(x.build),
        ms(x.rollout),
        ms(x.test),
        ms(x.work),
        ms(x.overhead),
        pct(x.pct),
      ]),
    ),
  );
  out();
  out('Where the overhead goes (ms between observed steps; sums to the overhead):');
  out(
    table(
      ['run', 'apply→build Job', 'build done→rollout', 'rolled out→test Job', 'test done→Succeeded'],
      f.map((x) => [x.run.label, ms(x.toBuild), ms(x.toRollout), ms(x.toTest), ms(x.toSucceeded)]),
    ),
  );
  out();
  out(`Summary over ${f.length} run(s):`);
  const stats = (name, key, fmt) => {
    const xs = f.map((x) => x[key]);
    return [name, fmt(median(xs)), fmt(Math.min(...xs)), fmt(Math.max(...xs))];
  };
  const summary = [
    ['total ms', 'total', ms],
    ['work ms', 'work', ms],
    ['  build ms', 'build', ms],
    ['  rollout ms', 'rollout', ms],
    ['  test ms', 'test', ms],
    ['overhead ms', 'overhead', ms],
    ['overhead %', 'pct', pct],
  ];
  out(
    table(
      ['', 'median', 'min', 'max'],
      summary.map(([name, key, fmt]) => stats(name, key, fmt)),
    ),
  );
  out(
    "(each statistic is taken over the runs separately, e.g. median overhead % is the median of the runs' %)",
  );
  const notes = runs.flatMap((r) => r.notes.map((n) => `run ${r.label}: ${n}`));
  const watch = observer.watchFacts().filter((w) => w.reconnects || w.relists);
  if (notes.length || watch.length) {
    out();
    out('Notes:');
    for (const n of notes) out(`  ${n}`);
    for (const w of watch)
      out(
        `  watch ${w.path}: ${w.reconnects} reconnect(s), ${w.relists} re-list(s)` +
          (w.lastError ? ` (last error: ${w.lastError})` : '') +
          '; events during a reconnect arrive late by its duration',
      );
  }
  out();
  out(
    `Machine: nproc ${facts.nproc}; ${facts.cpu}; ${facts.os}; load average (1/5/15 min) ` +
      `${facts.loadStart} at start, ${facts.loadEnd} at end (the bed may be shared, e.g. with tests)`,
  );
  out(
    `Node: bench ${process.version}, operator ${facts.operatorNode}; Kubernetes ${facts.k8s} (kube-apiserver, ` +
      'kube-controller-manager, kube-scheduler; kwok nodes)',
  );
  out(
    `Create-request round trip (included in total): median ${median(f.map((x) => x.applyRtt)).toFixed(1)} ms`,
  );
  out();
  out(howMeasured);
  out();
  out(`Reproduce: ${reproduceCommand(o)}`);
  out(`       or: npm run bench:pipeline -- ${reproduceCommand(o).split('pipeline-overhead.mjs ')[1]}`);
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const o = options();
  const bed = bedEnv();
  const { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, VersionApi, Watch } =
    await import('@kubernetes/client-node');
  const { request } = await import('undici');

  const kc = new KubeConfig();
  kc.loadFromFile(bed.kubeconfig);
  assertLoopback('the kubeconfig server', kc.getCurrentCluster()?.server ?? 'http://unset');
  assertLoopback('MLFLOW_TRACKING_URI', bed.mlflowUri);
  assertLoopback('MOTO_URL', bed.motoUrl);
  if (!existsSync(join(repoRoot, 'dist', 'main.js')))
    throw new BenchError('dist/main.js is missing: run npm run build first');
  ({ judgeRollout } = await import('../dist/controller/policies/judgeRollout.js'));

  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const objects = kc.makeApiClient(CustomObjectsApi);
  const mlflow = mlflowClient(bed.mlflowUri, request);

  const unique = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const namespace = `bench-pipeline-${unique}`;
  const facts = {
    nproc: os.availableParallelism(),
    cpu: `${os.cpus()[0]?.model ?? 'unknown CPU'}`.replace(/\s+/g, ' ').trim(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadStart: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    workers: 4,
  };

  const runs = [
    ...Array.from({ length: o.warmup }, (_, i) => new Run(`w${i + 1}`, unique, false)),
    ...Array.from({ length: o.runs }, (_, i) => new Run(String(i + 1), unique, true)),
  ];
  const observer = new Observer(namespace);
  for (const r of runs) observer.add(r);
  let operator;
  let namespaceCreated = false;

  const cleanup = async () => {
    observer.stop();
    await operator?.stop().catch(() => undefined);
    if (namespaceCreated) {
      progress(`deleting namespace ${namespace} (not waiting for it to go)`);
      await core.deleteNamespace({ name: namespace, propagationPolicy: 'Background' }).catch((err) => {
        progress(`could not delete namespace ${namespace}: ${err.message}`);
      });
    }
    await Promise.all(runs.filter((r) => r.modelVersion).map((r) => mlflow.deleteModel(r.model))).catch(
      () => undefined, // the bed is disposable; a leftover model harms nothing
    );
  };
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'])
    process.on(signal, () => {
      if (interrupted) return; // a second signal (e.g. from a re-executing parent) changes nothing
      interrupted = true;
      progress(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });

  try {
    const version = await kc.makeApiClient(VersionApi).getCode();
    facts.k8s = version.gitVersion;
    progress(`operator Node: ${(facts.operatorNode = (await runCommand(repoNode, ['--version'])).trim())}`);

    progress('applying the CRD (server-side, idempotent)');
    await kubectl(bed, ['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds')]);
    await kubectl(bed, ['wait', '--for=condition=Established', '--timeout=60s', `crd/${PLURAL}.${GROUP}`]);

    progress(`creating namespace ${namespace}`);
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { purpose: 'benchmark' } } } });
    namespaceCreated = true;
    await observer.start(kc, Watch);

    operator = new OperatorProcess(bed, namespace);
    operator.start();
    progress(
      `operator started (pid ${operator.child.pid}${operator.logFile ? `, log ${operator.logFile}` : ''})`,
    );

    progress(`creating ${runs.length} registered models and serving Deployments (not timed)`);
    for (const r of runs) {
      const { version: v } = await mlflow.createModel(r.model);
      r.modelVersion = v;
    }
    await Promise.all(runs.map((r) => createServing(apps, namespace, r)));

    const timed = async (r) => {
      const t0 = performance.now();
      r.applied(t0);
      await objects.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        body: mdManifest(namespace, r, bed.mlflowUri),
      });
      r.applyRtt = performance.now() - t0;
    };
    const finish = (r) => Promise.race([r.done, operator.unexpectedExit]);

    for (const r of runs.filter((x) => !x.measured)) {
      progress(`${r.describe()}: applying`);
      await timed(r);
      await finish(r);
      progress(
        `${r.describe()}: Succeeded in ${((r.tSucceeded - r.tApply) / 1000).toFixed(3)} s (not counted)`,
      );
    }
    const measured = runs.filter((x) => x.measured);
    if (o.parallel) {
      progress(`applying ${measured.length} ModelDeployments at once`);
      for (const r of measured) await timed(r);
      await Promise.all(measured.map(finish));
    } else {
      for (const r of measured) {
        progress(`${r.describe()}: applying`);
        await timed(r);
        await finish(r);
        progress(`${r.describe()}: Succeeded in ${((r.tSucceeded - r.tApply) / 1000).toFixed(3)} s`);
      }
    }
    facts.loadEnd = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    report({ o, runs: measured, facts, observer, namespace });
  } catch (err) {
    if (interrupted) return;
    if (operator?.tail.length && !(err.message ?? '').includes('last output'))
      err.message += `\noperator's last output:\n${operator.tail.join('\n')}`;
    throw err;
  } finally {
    if (!interrupted) await cleanup();
  }
}

async function createServing(apps, namespace, run) {
  const labels = { app: run.deployment };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: run.deployment, namespace, labels },
      spec: {
        replicas: 2,
        progressDeadlineSeconds: 600,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: 'api', image: 'registry.example/api:bootstrap' }],
          },
        },
      },
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const d = await apps.readNamespacedDeployment({ namespace, name: run.deployment });
    if (rolledOut(d) && (d.status?.availableReplicas ?? 0) === 2) {
      run.baseGeneration = d.metadata.generation;
      return;
    }
    if (Date.now() > deadline)
      throw new BenchError(`serving Deployment ${run.deployment} did not roll out within 60 s (set-up)`);
    await sleep(200);
  }
}

function mdManifest(namespace, run, trackingUri) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'ModelDeployment',
    metadata: { name: run.md, namespace },
    spec: {
      model: { name: run.model, alias: 'champion' },
      registry: { trackingUri },
      image: { repository: run.repository },
      build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git#refs/heads/main' },
      deployment: { name: run.deployment, container: 'api' },
      test: { image: 'registry.example/api-tests:1', command: ['pytest', '-q'] },
    },
  };
}

// The operator and undici need Node >= 24 (engines); a plain `node` on PATH may be older, so
// re-run under the repo's Node 24 (the `node` dev dependency) when that is the case.
if (Number(process.versions.node.split('.')[0]) < 24 && existsSync(repoNode) && !process.env.BENCH_REEXEC) {
  progress(`running under the repo's Node 24 (${repoNode}) instead of ${process.version}`);
  const child = spawn(repoNode, process.argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, BENCH_REEXEC: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
} else {
  try {
    await main();
  } catch (err) {
    process.stderr.write(
      `\nbench: FAILED: ${err instanceof BenchError ? err.message : (err?.stack ?? String(err))}\n`,
    );
    process.exitCode = 1;
  }
}
