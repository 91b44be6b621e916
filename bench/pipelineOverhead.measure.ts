// The benchmark's I/O: on the bed, the CRD, a namespace, an operator process watching only it,
// and per run a registered model and a serving Deployment (none of it timed); then the
// ModelDeployments, timed from their create request to Succeeded. It cleans up after itself,
// on SIGINT/SIGTERM too. Shares the integration tests' helpers (test/helpers/).
import { CustomObjectsApi, type KubeConfig, VersionApi } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { GROUP, PLURAL, VERSION } from '../src/api/v1alpha1/modelDeployment.js';
import { loadConfig } from '../src/config.js';
import { bed, kubeConfig } from '../test/helpers/bed.js';
import { applyCrd, createNamespace, deleteNamespace } from '../test/helpers/kubectl.js';
import { MlflowAdmin } from '../test/helpers/mlflowAdmin.js';
import { freePort } from '../test/helpers/mlflowServer.js';
import { mdObject } from '../test/helpers/modelDeployments.js';
import { OperatorProcess } from '../test/helpers/operatorProcess.js';
import { createServingDeployment, getDeployment } from '../test/helpers/serving.js';
import {
  assertLoopback,
  BenchError,
  type MachineFacts,
  OPERATOR_LOG_LEVEL,
  type Options,
  type ReportInput,
} from './pipelineOverhead.lib.js';
import { containersKey, Observer, Run } from './pipelineOverhead.observe.js';
import { cpuSeconds } from './procStats.js';

export type Progress = (line: string) => void;

const OPERATOR_TAIL_LINES = 60;

/** Measures what `o` asks for; undefined when a signal cut it short (it cleaned up then). */
export async function measure(o: Options, progress: Progress): Promise<ReportInput | undefined> {
  const kc = bedOnLoopback();
  if (!existsSync('dist/main.js')) throw new BenchError('dist/main.js is missing: run npm run build first');

  const bench = new Bench(kc, o, progress);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return; // a second signal (e.g. from a parent shell) changes nothing
    interrupted = true;
    progress(`${signal}: cleaning up`);
    void bench.cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    return await bench.measure();
  } catch (err) {
    if (interrupted) return undefined;
    throw bench.withOperatorOutput(err);
  } finally {
    if (!interrupted) {
      await bench.cleanUp();
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
  }
}

/** The bed's kubeconfig, once the bed's settings are there and point at 127.0.0.1 only. */
function bedOnLoopback(): KubeConfig {
  let kc: KubeConfig;
  try {
    kc = kubeConfig();
    assertLoopback('MLFLOW_TRACKING_URI', bed.mlflowUri);
    assertLoopback('MOTO_URL', bed.motoUrl);
  } catch (err) {
    // A variable the bed did not set is the caller's mistake: its message says what to do.
    throw err instanceof BenchError ? err : new BenchError((err as Error).message);
  }
  assertLoopback('the kubeconfig server', kc.getCurrentCluster()?.server ?? 'http://unset');
  return kc;
}

/** The ModelDeployment of a run: kaniko (the bed's stand-in) builds, then a test Job. */
function mdSpec(run: Run, trackingUri: string): Record<string, unknown> {
  return {
    model: { name: run.model, alias: 'champion' },
    registry: { trackingUri },
    image: { repository: run.repository },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git#refs/heads/main' },
    deployment: { name: run.deployment, container: 'api' },
    test: { image: 'registry.example/api-tests:1', command: ['pytest', '-q'] },
  };
}

/** The operator's settings beyond OperatorProcess's own (one process, no election, free ports). */
const operatorEnv = (namespace: string) => ({
  WATCH_NAMESPACES: namespace,
  LOG_LEVEL: OPERATOR_LOG_LEVEL,
  no_proxy: '127.0.0.1,localhost',
});

const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

class Bench {
  private readonly unique = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly runs: Run[];
  private readonly mlflow = new MlflowAdmin(bed.mlflowUri.replace(/\/+$/, ''));
  private namespace: string | undefined;
  private observer: Observer | undefined;
  private operator: OperatorProcess | undefined;
  private operatorDied: Promise<never> | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly o: Options,
    private readonly progress: Progress,
  ) {
    this.runs = [
      ...Array.from({ length: o.warmup }, (_, i) => new Run(`w${i + 1}`, this.unique, false)),
      ...Array.from({ length: o.runs }, (_, i) => new Run(String(i + 1), this.unique, true)),
    ];
  }

  async measure(): Promise<ReportInput> {
    const loadStart = loadAverage();
    const k8s = (await this.kc.makeApiClient(VersionApi).getCode()).gitVersion;
    const namespace = await this.setUp();
    for (const r of this.runs.filter((x) => !x.measured)) {
      this.progress(`${r.describe()}: applying`);
      await this.apply(r);
      await this.finish(r);
      this.progress(`${r.describe()}: Succeeded in ${r.elapsed()} s (not counted)`);
    }
    const measured = this.runs.filter((x) => x.measured);
    const cpuBefore = cpuSeconds(this.operator?.pid as number);
    if (this.o.parallel) {
      this.progress(`applying ${measured.length} ModelDeployments at once`);
      for (const r of measured) await this.apply(r);
      await Promise.all(measured.map((r) => this.finish(r)));
    } else {
      for (const r of measured) {
        this.progress(`${r.describe()}: applying`);
        await this.apply(r);
        await this.finish(r);
        this.progress(`${r.describe()}: Succeeded in ${r.elapsed()} s`);
      }
    }
    return {
      operatorCpuSeconds: cpuSeconds(this.operator?.pid as number) - cpuBefore,
      options: this.o,
      namespace,
      runs: measured.map((r) => r.result()),
      watches: this.observer?.facts() ?? [],
      machine: this.machineFacts(loadStart, k8s, namespace),
    };
  }

  /** Everything but the timed part; returns the namespace. */
  private async setUp(): Promise<string> {
    this.progress('applying the CRD (server-side, idempotent)');
    await applyCrd();
    const namespace = await createNamespace('bench-pipeline');
    this.namespace = namespace;
    this.progress(`created namespace ${namespace}`);
    this.observer = new Observer(namespace, this.runs);
    await this.observer.start(this.kc);

    const operator = new OperatorProcess(operatorEnv(namespace), { healthPort: await freePort() });
    this.operator = operator;
    await operator.start();
    this.operatorDied = operator.whenExited().then((code) => {
      throw new BenchError(
        `the operator exited unexpectedly (${code === null ? 'killed by a signal' : `exit code ${code}`})`,
      );
    });
    this.operatorDied.catch(() => undefined); // observed through races; moot once stopped
    this.progress(`operator started and ready${operator.logFile ? ` (log ${operator.logFile})` : ''}`);

    this.progress(`creating ${this.runs.length} registered models and serving Deployments (not timed)`);
    for (const r of this.runs) {
      const { version } = await this.mlflow.createChampionNamed(r.model);
      await this.mlflow.waitUntilReady(r.model, version);
      r.modelVersion = version;
    }
    await Promise.all(
      this.runs.map(async (r) => {
        await createServingDeployment(namespace, r.deployment);
        const d = await getDeployment(namespace, r.deployment);
        r.baseGeneration = d.metadata.generation;
        r.baseTemplate = containersKey(d.spec.template);
      }),
    );
    return namespace;
  }

  /** The timed start of a run: t_apply is taken just before the create request goes out. */
  private async apply(run: Run): Promise<void> {
    const namespace = this.namespace as string;
    const body = mdObject(namespace, run.md, mdSpec(run, this.mlflow.uri));
    const objects = this.kc.makeApiClient(CustomObjectsApi);
    const t0 = performance.now();
    run.applied(t0);
    await objects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body,
    });
    run.applyRtt = performance.now() - t0;
  }

  private finish(run: Run): Promise<unknown> {
    return Promise.race([run.done, this.operatorDied]);
  }

  private machineFacts(loadStart: string, k8s: string, namespace: string): MachineFacts {
    return {
      nproc: os.availableParallelism(),
      cpu: `${os.cpus()[0]?.model ?? 'unknown CPU'}`.replace(/\s+/g, ' ').trim(),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadStart,
      loadEnd: loadAverage(),
      benchNode: process.version,
      operatorNode: process.version, // OperatorProcess runs dist/main.js with this very node
      workers: loadConfig(operatorEnv(namespace)).maxConcurrentReconciles,
      k8s,
    };
  }

  /** `err` with the operator's last output, which usually says why a run failed. */
  withOperatorOutput(err: unknown): unknown {
    const lines = this.operator?.lines.slice(-OPERATOR_TAIL_LINES) ?? [];
    if (err instanceof Error && lines.length) err.message += `\noperator's last output:\n${lines.join('\n')}`;
    return err;
  }

  async cleanUp(): Promise<void> {
    this.observer?.stop();
    await this.operator?.stop().catch(() => undefined);
    if (this.namespace) {
      this.progress(`deleting namespace ${this.namespace} (not waiting for it to go)`);
      await deleteNamespace(this.namespace);
    }
    await Promise.all(
      this.runs.filter((r) => r.modelVersion).map((r) => this.mlflow.deleteModel(r.model)),
    ).catch(() => undefined); // the bed is disposable; a leftover model harms nothing
  }
}
