// The scale benchmark's I/O, on the bed: N resolve-only ModelDeployments and a fresh operator
// (start → all Ready, memory, writes and MLflow requests while idle, connections), create/delete
// cycles, registry change → build Job by polling and by webhook, and the same pipeline run by the
// operator and by the seed's Airflow DAG. Everything is cleaned up, on SIGINT/SIGTERM too.
import type { KubernetesObject } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { GROUP, PLURAL, VERSION } from '../src/api/v1alpha1/modelDeployment.js';
import { LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MODEL_VERSION } from '../src/children/names.js';
import { Reflector } from '../src/runtime/reflector.js';
import { registryHost } from '../test/helpers/aws.js';
import { bed, kubeConfig } from '../test/helpers/bed.js';
import { applyCrd, createNamespace, deleteNamespace, kubectlOk } from '../test/helpers/kubectl.js';
import { MlflowAdmin } from '../test/helpers/mlflowAdmin.js';
import { freePort } from '../test/helpers/mlflowServer.js';
import { manifest } from '../test/helpers/modelDeployments.js';
import { OperatorProcess } from '../test/helpers/operatorProcess.js';
import { createServingDeployment } from '../test/helpers/serving.js';
import { connectionsTo, cpuSeconds, rssMiB } from './procStats.js';
import {
  allWrites,
  apiserverWrites,
  metricSum,
  type ColdStart,
  type Latency,
  type PipelineComparison,
  type ScaleOptions,
  type ScaleReport,
} from './scale.lib.js';

export type Progress = (line: string) => void;

type Md = KubernetesObject & {
  status?: { observedGeneration?: number; phase?: string; conditions?: { type: string; status: string }[] };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const BUILD = 'image-build';
/** The operator runs with the heap limit its chart gives it (values.yaml `nodeOptions`), or with
 * BENCH_NODE_OPTIONS to try others. */
export const CHART_NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? chartNodeOptions();

function chartNodeOptions(): string {
  const values = readFileSync('charts/mlflow-model-operator/values.yaml', 'utf8');
  const m = /^nodeOptions:\s*(.+?)\s*$/m.exec(values);
  if (!m) throw new Error('charts/mlflow-model-operator/values.yaml has no nodeOptions');
  return m[1] as string;
}

const isReady = (md: Md) =>
  md.status?.observedGeneration === md.metadata?.generation &&
  md.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

export class ScaleBench {
  private readonly unique = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly mlflow = new MlflowAdmin(bed.mlflowUri.replace(/\/+$/, ''));
  private readonly namespaces: string[] = [];
  private readonly operators: OperatorProcess[] = [];
  private readonly reflectors: Reflector<KubernetesObject>[] = [];
  private readonly dirs: string[] = [];
  private webhookId: string | undefined;
  private models: string[] = [];

  constructor(
    private readonly o: ScaleOptions,
    private readonly progress: Progress,
  ) {}

  async run(pipeline: () => Promise<PipelineComparison | undefined>): Promise<ScaleReport> {
    const loadStart = load();
    await applyCrd();
    this.progress(`creating ${this.o.models} registered models (not timed)`);
    for (let i = 0; i < this.o.models; i++) {
      const name = `scale-${i}-${this.unique}`;
      await this.mlflow.createChampionNamed(name);
      this.models.push(name);
    }
    const coldStarts: ColdStart[] = [];
    for (const n of this.o.sizes) coldStarts.push(...(await this.coldStart(n)));
    const latencies = this.o.latencySamples > 0 ? await this.latencies() : [];
    const comparison = await pipeline();
    return {
      options: this.o,
      loadStart,
      loadEnd: load(),
      machine: `${os.availableParallelism()} CPUs (${os.cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? '?'}), Node ${process.version}`,
      coldStarts,
      latencies,
      pipeline: comparison,
      nodeOptions: CHART_NODE_OPTIONS,
    };
  }

  async cleanUp(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
    if (this.webhookId) await this.mlflow.deleteWebhook(this.webhookId).catch(() => undefined);
    await Promise.all(this.operators.map((op) => op.stop().catch(() => null)));
    for (const ns of this.namespaces) await deleteNamespace(ns).catch(() => undefined);
    for (const m of this.models) await this.mlflow.deleteModel(m).catch(() => undefined);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }

  /** N objects exist, then the operator starts; cycles > 1 delete and re-create them. */
  private async coldStart(n: number): Promise<ColdStart[]> {
    const ns = await this.namespace(`scale-${n}`);
    this.progress(`N=${n}: applying ${n} ModelDeployments before the operator starts (not timed)`);
    await this.applyMds(ns, n);
    const mds = await this.watch<Md>(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`);
    let writesBefore = await this.apiserverWrites();
    let mlflowBefore = 0;
    const { operator, metrics, t0 } = await this.startOperator({ WATCH_NAMESPACES: ns });
    const pid = operator.pid as number;
    const apiPort = Number(new URL(kubeConfig().getCurrentCluster()?.server ?? '').port);
    const rss = new RssSampler(pid);
    const results: ColdStart[] = [];
    const cycles = n === Math.max(...this.o.sizes) ? this.o.cycles : 1;
    for (let cycle = 1; cycle <= cycles; cycle++) {
      let start = t0;
      if (cycle > 1) {
        this.progress(`N=${n}: deleting all, then creating them again (cycle ${cycle})`);
        await kubectlOk(['-n', ns, 'delete', PLURAL, '--all', '--wait=false']); // kubectl's wait is slow for thousands: the watch sees them go
        await waitUntil(`all ${n} gone`, () => mds.list(ns).length === 0, 300_000);
        rss.reset();
        [writesBefore, mlflowBefore] = [await this.apiserverWrites(), await this.mlflowRequests(metrics)];
        start = performance.now();
        await this.applyMds(ns, n);
      }
      const ready = () => mds.list(ns).filter((m) => isReady(m)).length;
      await waitUntil(
        `all ${n} Ready`,
        () => ready() >= n,
        600_000,
        () => `${ready()}/${n} Ready`,
      );
      const readySeconds = (performance.now() - start) / 1000;
      const coldMlflowRequests = (await this.mlflowRequests(metrics)) - mlflowBefore;
      const writesCold = await this.apiserverWrites();
      this.progress(
        `N=${n} cycle ${cycle}: all Ready in ${readySeconds.toFixed(1)} s; waiting for writes to stop`,
      );
      const settledIn = await this.writesSettled();
      this.progress(
        `N=${n} cycle ${cycle}: writes stopped ${settledIn.toFixed(1)} s later; idle for one poll interval`,
      );
      const [w1, m1] = [await this.apiserverWrites(), await this.mlflowRequests(metrics)];
      await sleep(this.o.pollSeconds * 1000);
      const [w2, m2] = [await this.apiserverWrites(), await this.mlflowRequests(metrics)];
      results.push({
        n,
        cycle,
        readySeconds,
        peakRssMiB: rss.peak,
        steadyRssMiB: rssMiB(pid),
        coldMlflowRequests,
        coldStatusWrites: writesCold.status - writesBefore.status,
        coldEvents: writesCold.events - writesBefore.events,
        idleWrites: allWrites(w2) - allWrites(w1),
        idleMlflowRequests: m2 - m1,
        apiserverConnections: connectionsTo(pid, apiPort),
      });
    }
    rss.stop();
    await operator.stop();
    await kubectlOk(['-n', ns, 'delete', PLURAL, '--all', '--wait=false']);
    return results;
  }

  /** Registry change → build Job: aliases moved in MLflow, build Jobs seen through a watch. */
  private async latencies(): Promise<Latency[]> {
    const k = this.o.latencySamples;
    const ns = await this.namespace('scale-latency');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-webhook-'));
    this.dirs.push(dir);
    mkdirSync(path.join(dir, 'secrets'));
    const secret = randomBytes(24).toString('hex');
    writeFileSync(path.join(dir, 'secrets', 'bed'), secret);
    const port = await freePort();
    const { operator } = await this.startOperator({
      WATCH_NAMESPACES: ns,
      WEBHOOK_SOURCES: `bed=${this.mlflow.uri}`,
      WEBHOOK_PORT: String(port),
      WEBHOOK_SECRETS_DIR: path.join(dir, 'secrets'),
      WEBHOOK_TLS_DIR: '',
    });
    this.progress(`latency: ${k} pipelines (models, serving Deployments, first versions built; not timed)`);
    const models: string[] = [];
    for (let i = 0; i < k; i++) {
      const model = `lat-${i}-${this.unique}`;
      await this.mlflow.createChampionNamed(model);
      this.models.push(model);
      models.push(model);
      await createServingDeployment(ns, `api-${i}`);
    }
    const mds = await this.watch<Md>(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`);
    const seen = new Map<string, number>(); // `${md}/${version}` → when its build Job was first seen
    const jobs = await this.watch<KubernetesObject>(
      `/apis/batch/v1/namespaces/${ns}/jobs`,
      `${LABEL_COMPONENT}=${BUILD}`,
    );
    jobs.on('add', (job) => {
      const labels = job.metadata?.labels ?? {};
      const key = `${labels[LABEL_INSTANCE]}/${labels[LABEL_MODEL_VERSION]}`;
      if (!seen.has(key)) seen.set(key, performance.now());
    });
    await kubectlOk(
      ['apply', '-f', '-'],
      models.map((model, i) => manifest(ns, `md-${i}`, this.pipelineSpec(model, i))).join('\n---\n'),
    );
    const allSucceeded = () =>
      waitUntil(
        `${k} pipelines Succeeded`,
        () => mds.list(ns).filter((m) => m.status?.phase === 'Succeeded' && isReady(m)).length >= k,
        600_000,
      );
    await allSucceeded();

    /** Moves every model's alias to a new version, all at once or one at a time, and times
     * each move to the first sight of its build Job. */
    const sample = async (mode: Latency['mode'], burst: boolean): Promise<Latency> => {
      const versions: string[] = [];
      for (const model of models) versions.push((await this.mlflow.createRunVersion(model)).version);
      this.progress(`latency (${mode}): moving ${k} aliases ${burst ? 'at once' : 'one at a time'}`);
      const samplesMs: number[] = [];
      const timeoutMs = (this.o.pollSeconds * 2 + 60) * 1000;
      const moves = models.map((model, i) => ({
        model,
        key: `md-${i}/${versions[i]}`,
        version: versions[i] as string,
      }));
      const move = async ({ model, version }: (typeof moves)[number]) => {
        const t = performance.now();
        await this.mlflow.setAlias(model, 'champion', version);
        return t;
      };
      const timed = async (m: (typeof moves)[number], t: number) => {
        await waitUntil(`the build Job of ${m.key} (${mode})`, () => seen.has(m.key), timeoutMs);
        samplesMs.push((seen.get(m.key) as number) - t);
      };
      if (burst) {
        const started: number[] = [];
        for (const m of moves) started.push(await move(m));
        await Promise.all(moves.map((m, i) => timed(m, started[i] as number)));
      } else {
        for (const m of moves) await timed(m, await move(m));
      }
      await allSucceeded();
      return { mode, burst, samplesMs };
    };
    const polling = await sample('polling', true); // one at a time would take k intervals
    this.webhookId = await this.mlflow.createWebhook(
      `bench-${this.unique}`,
      `http://127.0.0.1:${port}/webhooks/bed`,
      ['model_version_alias.created'],
      secret,
    );
    await sleep(2000); // MLflow caches its webhook list for MLFLOW_WEBHOOK_CACHE_TTL (1 s on the bed)
    const webhook = await sample('webhook', false);
    const webhookBurst = await sample('webhook', true);
    await this.mlflow.deleteWebhook(this.webhookId);
    this.webhookId = undefined;
    await operator.stop();
    return [polling, webhook, webhookBurst];
  }

  /** The operator's spec of a pipeline on the bed: kaniko (the stand-in) builds, then a test Job. */
  private pipelineSpec(model: string, i: number): Record<string, unknown> {
    return {
      model: { name: model, alias: 'champion', pollInterval: `${this.o.pollSeconds}s` },
      registry: { trackingUri: this.mlflow.uri },
      image: { repository: `${registryHost}/lat-${i}-${this.unique}` },
      build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git#refs/heads/main' },
      deployment: { name: `api-${i}`, container: 'api' },
      test: { image: 'registry.example/api-tests:1', command: ['pytest', '-q'] },
    };
  }

  private async applyMds(ns: string, n: number): Promise<void> {
    const chunk = 250;
    for (let from = 0; from < n; from += chunk) {
      const docs: string[] = [];
      for (let i = from; i < Math.min(n, from + chunk); i++)
        docs.push(
          manifest(ns, `md-${i}`, {
            model: {
              name: this.models[i % this.models.length],
              alias: 'champion',
              pollInterval: `${this.o.pollSeconds}s`,
            },
            registry: { trackingUri: this.mlflow.uri },
          }),
        );
      await kubectlOk(['apply', '--server-side', '-f', '-'], docs.join('\n---\n'));
    }
  }

  /** An operator at log level warn on known ports (nothing logs them at that level); t0 is taken
   * just before its process starts. */
  private async startOperator(env: Record<string, string>) {
    const [health, metrics] = [await freePort(), await freePort()];
    const operator = new OperatorProcess(
      { ...env, LOG_LEVEL: 'warn', METRICS_PORT: String(metrics), NODE_OPTIONS: CHART_NODE_OPTIONS },
      { healthPort: health },
    );
    this.operators.push(operator);
    const t0 = performance.now();
    await operator.start();
    return { operator, metrics, t0 };
  }

  private async namespace(prefix: string): Promise<string> {
    const ns = await createNamespace(prefix);
    this.namespaces.push(ns);
    return ns;
  }

  private async watch<T extends KubernetesObject>(p: string, labelSelector?: string): Promise<Reflector<T>> {
    const r = new Reflector<T>(kubeConfig(), { path: p, labelSelector });
    this.reflectors.push(r as unknown as Reflector<KubernetesObject>);
    await r.start();
    return r;
  }

  /** Waits until the apiserver counted no write of ours for 3 s (the Event queue drained);
   * returns how long that took, in seconds. */
  private async writesSettled(): Promise<number> {
    const start = performance.now();
    let last = allWrites(await this.apiserverWrites());
    let quietSince = performance.now();
    while (performance.now() - quietSince < 3000) {
      if (performance.now() - start > 300_000) throw new Error('writes did not stop within 5 minutes');
      await sleep(500);
      const now = allWrites(await this.apiserverWrites());
      if (now !== last) [last, quietSince] = [now, performance.now()];
    }
    return (quietSince - start) / 1000;
  }

  private async apiserverWrites(): Promise<ReturnType<typeof apiserverWrites>> {
    return apiserverWrites(await kubectlOk(['get', '--raw', '/metrics']));
  }

  private async mlflowRequests(metricsPort: number): Promise<number> {
    const res = await request(`http://127.0.0.1:${metricsPort}/metrics`);
    return metricSum(await res.body.text(), 'mlflow_operator_mlflow_request_duration_seconds_count');
  }
}

/** Peak RSS of a process, sampled every 100 ms. */
class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.sample();
  }
  reset(): void {
    this.peak = 0;
  }
  stop(): void {
    clearInterval(this.timer);
  }
  private sample(): void {
    try {
      this.peak = Math.max(this.peak, rssMiB(this.pid));
    } catch {
      // exited
    }
  }
}

/** CPU seconds a process spent while `work` ran. */
export async function cpuDuring<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ value: T; cpuSeconds: number }> {
  const before = cpuSeconds(pid);
  const value = await work();
  return { value, cpuSeconds: cpuSeconds(pid) - before };
}

async function waitUntil(
  what: string,
  done: () => boolean,
  timeoutMs: number,
  state?: () => string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state ? ` (${state()})` : ''}`);
    await sleep(50);
  }
}
