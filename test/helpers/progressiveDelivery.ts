// Progressive delivery on the bed's real node: a serving Deployment of real Pods whose container
// serves its MODEL_VERSION at /version, the Service users reach it through, a test that checks
// the version it reaches, and readers of what the cluster shows while a strategy runs.
import { expect } from '@jest/globals';
import { kubectl, kubectlOk } from './kubectl.js';
import { bed } from './bed.js';
import { MlflowAdmin } from './mlflowAdmin.js';
import { getMd, requestReconcile, waitForMd, type MdObject } from './modelDeployments.js';
import { PrometheusServer } from './prometheusServer.js';
import { OperatorProcess } from './operatorProcess.js';
import { realNode } from './realNode.js';
import { waitFor } from './wait.js';

/** The serving container: its model version at /version and, as a stand-in for an error rate, the
 * gauge app_error_ratio at /metrics: 0.5 when it runs ERROR_VERSION, else 0. */
export const SERVE = [
  'mkdir -p /tmp/www && cd /tmp/www && printf %s "$MODEL_VERSION" > version',
  'if [ -n "$MODEL_VERSION" ] && [ "$MODEL_VERSION" = "$ERROR_VERSION" ]; then r=0.5; else r=0; fi',
  'printf \'app_error_ratio %s\\n\' "$r" > metrics',
  'exec python3 -m http.server 8080',
].join('; ');
/** The test Job's script: the version behind SERVICE_URL must be the run's, and BAD_VERSION fails. */
export const TEST = [
  'import os, sys, urllib.request',
  "url = os.environ['SERVICE_URL'] + '/version'",
  'got = urllib.request.urlopen(url, timeout=10).read().decode()',
  "want = os.environ['MODEL_VERSION']",
  "print(f'{url} serves {got!r}, the run deploys {want!r}')",
  'sys.exit(2 if got != want else 1 if want == os.environ.get("BAD_VERSION") else 0)',
].join('\n');

/** A serving Deployment on the real node and the Service users reach it through. */
export async function createServing(
  ns: string,
  name: string,
  replicas = 2,
  env: Record<string, string> = {},
): Promise<void> {
  const labels = { app: name };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      progressDeadlineSeconds: 120,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'api',
              image: realNode.pythonImage,
              command: ['sh', '-c', SERVE],
              env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/version', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment, service] }),
  );
  await kubectlOk(['-n', ns, 'rollout', 'status', `deployment/${name}`, '--timeout=120s']);
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export const getJson = async (ns: string, args: string[]): Promise<Json> =>
  JSON.parse(await kubectlOk(['-n', ns, 'get', ...args, '-o', 'json'])) as Json;

/** Every distinct row `kubectl get md` shows while the runs go on (for the README's example). */
export function watchTable(ns: string, md: string): { stop: () => Promise<string[]> } {
  const rows: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const shown = await kubectl(['-n', ns, 'get', 'md', md]);
      const [header = '', row = ''] = shown.code === 0 ? shown.stdout.trim().split('\n') : [];
      if (rows.length === 0 && header) rows.push(header);
      const withoutAge = row.replace(/\s+\S+$/, '');
      if (row && !rows.some((r) => r.replace(/\s+\S+$/, '') === withoutAge)) rows.push(row);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return rows;
    },
  };
}

/** The ready Pods of the serving Deployment answer `version` at /version (read in the Pod). */
export async function expectServingRuns(
  ns: string,
  md: string,
  version: string,
  replicas = 2,
): Promise<void> {
  await kubectlOk(['-n', ns, 'rollout', 'status', `deployment/api-${md}`, '--timeout=90s']);
  const pods = await getJson(ns, ['pods', '-l', `app=api-${md}`]);
  const ready = (pods.items as Json[]).filter(
    (p) => !p.metadata.deletionTimestamp && p.status.containerStatuses?.[0]?.ready,
  );
  expect(ready).toHaveLength(replicas);
  for (const pod of ready) {
    expect(pod.spec.nodeName).toBe(realNode.name);
    const served = await kubectlOk([
      '-n',
      ns,
      'exec',
      pod.metadata.name as string,
      '--',
      'cat',
      '/tmp/www/version',
    ]);
    expect(served).toBe(version);
  }
}

/** Runs `operator` until `done`, killing it (SIGKILL) right after every status write and starting
 * another; returns the phases it was killed in and how often. */
export async function killAfterEveryWrite(
  env: { ns: string; operator: OperatorProcess },
  md: string,
  done: (m: MdObject) => boolean,
): Promise<{ kills: number; phases: Set<string> }> {
  let last = '';
  let kills = 0;
  const phases = new Set<string>();
  await waitFor(
    `${md} to finish with a kill after every status write`,
    async () => {
      const m = await getMd(env.ns, md);
      if (done(m)) return true;
      const written = m.metadata.resourceVersion ?? '';
      if (written !== last && m.status?.phase !== undefined) {
        last = written;
        phases.add(m.status.phase);
        await env.operator.stop('SIGKILL');
        kills++;
        env.operator = new OperatorProcess({ WATCH_NAMESPACES: env.ns });
        await env.operator.start();
      }
      return false;
    },
    { timeoutMs: 300_000, intervalMs: 100 },
  );
  return { kills, phases };
}

/** The object ended as a run without kills would: one succeeded run of `version` in its history
 * and one test Job. */
export async function expectOneSucceededRun(ns: string, md: string, version: string): Promise<MdObject> {
  const done = await getMd(ns, md);
  expect(done.status?.history?.map((r) => `${r.version} ${r.result}`)).toEqual([`${version} Succeeded`]);
  const tests = await getJson(ns, [
    'jobs',
    '-l',
    `app.kubernetes.io/instance=${md},app.kubernetes.io/component=model-test`,
  ]);
  expect(tests.items).toHaveLength(1);
  return done;
}

/** A ModelDeployment of `model` on the serving Deployment `api-<md>` with `strategy`: builder none
 * (only the model env changes), and the test that fails `badVersion`. */
export function strategySpec(
  md: string,
  model: string,
  badVersion: string,
  strategy: Record<string, unknown>,
) {
  return {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    build: { builder: 'none' },
    deployment: { name: `api-${md}`, container: 'api' },
    test: {
      image: realNode.pythonImage,
      command: ['python3', '-c', TEST],
      env: { BAD_VERSION: badVersion },
      timeoutSeconds: 120,
    },
    strategy,
  };
}

/** A model with a good version 1 behind champion and a version 2 whose Pods report an error ratio
 * of 0.5 at /metrics, a serving Deployment for them, and a real Prometheus scraping the
 * namespace; `run` gets them, and Prometheus is stopped after it. */
export async function withErrorRatioVersions(
  ns: string,
  md: string,
  run: (setup: { model: string; v1: string; v2: string; prometheus: PrometheusServer }) => Promise<void>,
): Promise<void> {
  const prometheus = new PrometheusServer(ns);
  await prometheus.start();
  try {
    const mlflow = new MlflowAdmin(bed.mlflowUri);
    const { name: model, version: v1 } = await mlflow.createChampion(md);
    const { version: v2 } = await mlflow.createRunVersion(model);
    await mlflow.waitUntilReady(model, v2);
    await createServing(ns, `api-${md}`, 2, { ERROR_VERSION: v2 });
    await run({ model, v1, v2, prometheus });
  } finally {
    await prometheus.stop();
  }
}

/** Moves champion to `version` and waits for its run to fail on its Prometheus analysis, which read
 * the 0.5 that Prometheus scraped from the `role` Pods. */
export async function expectAnalysisStops(
  ns: string,
  md: string,
  model: string,
  version: string,
  prometheus: PrometheusServer,
  role: 'preview' | 'canary',
): Promise<void> {
  await new MlflowAdmin(bed.mlflowUri).setAlias(model, 'champion', version);
  await requestReconcile(ns, md);
  const stopped = await waitForMd(
    ns,
    md,
    `v${version} stopped by its analysis`,
    (m) => m.status?.currentRun?.version === version && m.status.phase === 'Failed',
    240_000,
  );
  expect(stopped.status?.currentRun).toMatchObject({ result: 'Failed', reason: 'AnalysisFailed' });
  expect(stopped.status?.currentRun?.message).toContain('0.5 (wanted ≤ 0.1)');
  const scraped = `max(max_over_time(app_error_ratio{pod=~"${md}-${role}-.*"}[5m]))`;
  expect(await prometheus.query(scraped)).toBe(0.5);
}
