// The whole flow for real, on the bed's real node (kubelet + containerd): the operator's own
// Kaniko Job builds examples/health-predict from its S3 context and pushes it (the bed's ECR:
// a registry mirrored into moto), the serving Deployment rolls to the image by digest and is
// ready once the model is loaded, and the test Job runs the demo's pytest API suite against
// SERVICE_URL. Then a promotion does it all again, and a version the app cannot serve fails its
// run with pytest's own output and is rolled back to the version before it, which the real Pods
// serve again. Nothing here is played by kwok or the stand-in.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import {
  applyDemo,
  DEMO_DEPLOYMENT,
  DEMO_MD,
  DEMO_REPOSITORY,
  demoHealth,
  demoJobs,
  expectDemoSucceeds,
  jobLog,
  pods,
  registerDemoVersion,
  servingImageIds,
} from '../helpers/demo.js';
import { applyCrd, deleteNamespace } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { condition, waitForMd } from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';
import { PrometheusServer } from '../helpers/prometheusServer.js';
import { createRealNodeNamespace } from '../helpers/realNode.js';
import { waitFor } from '../helpers/wait.js';

const MD = DEMO_MD;
const RUN_MS = 6 * 60_000; // a build (~40 s), a rollout, a model load and the suite, with room
let ns = '';
let operator: OperatorProcess;
const model = `hp-${Date.now().toString(36)}`;
const versions: Record<'v1' | 'v2' | 'broken', string> = { v1: '', v2: '', broken: '' };

beforeAll(async () => {
  await applyCrd();
  ns = await createRealNodeNamespace('real-flow');
  versions.v1 = (await registerDemoVersion(model, 'good', 'champion')).version;
  versions.v2 = (await registerDemoVersion(model, 'good')).version;
  versions.broken = (await registerDemoVersion(model, 'broken')).version;
  operator = new OperatorProcess({ WATCH_NAMESPACES: ns });
  await operator.start();
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(ns);
});

test(
  'a model version becomes a running API that passes its tests; a promotion rebuilds and redeploys it; a version the app cannot serve fails with the real test output and is rolled back',
  async () => {
    // A real Prometheus scrapes the demo's Pods all along (what a canary's analysis would ask).
    const prometheus = new PrometheusServer(ns);
    await prometheus.start();
    try {
      await flow();
      // The broken version's Pods answered the test suite's predictions with 500s: the error
      // rate a canary analysis would have read from them. The v2 Pods that serve again have none.
      const served500 = await prometheus.query(
        `sum(max_over_time(http_requests_total{path="/predict",code="500"}[15m]))`,
      );
      expect(served500).toBeGreaterThan(0);
      const v2Pods = `pod=~"${(await servingPodNames(ns)).join('|')}"`;
      await waitFor(
        'the v2 Pods to be scraped',
        async () => ((await prometheus.query(`sum(http_requests_total{${v2Pods}})`)) ?? 0) > 0,
      );
      // (Their /health answered 503 while the model loaded: the readiness probe, not an error.)
      expect(
        await prometheus.query(
          `sum(http_requests_total{path="/predict",code=~"5..",${v2Pods}}) or vector(0)`,
        ),
      ).toBe(0);
    } finally {
      await prometheus.stop();
    }
  },
  3 * RUN_MS,
);

async function flow(): Promise<void> {
  await applyDemo(ns, model);
  const firstDigest = await expectDemoSucceeds(ns, model, versions.v1, RUN_MS);

  await new MlflowAdmin(bed.mlflowUri).setAlias(model, 'champion', versions.v2);
  const secondDigest = await expectDemoSucceeds(ns, model, versions.v2, RUN_MS);
  expect(secondDigest).not.toBe(firstDigest);

  await new MlflowAdmin(bed.mlflowUri).setAlias(model, 'champion', versions.broken);
  const failed = await waitForMd(
    ns,
    MD,
    `RolledBack at ${versions.broken}`,
    (md) => md.status?.phase === 'RolledBack' && md.status.currentRun?.version === versions.broken,
    RUN_MS,
  );
  // The condition carries the end of pytest's own output: the failing cases and the count.
  const tested = condition(failed, 'TestsPassed');
  expect(tested).toMatchObject({ status: 'False', reason: 'TestsFailed' });
  expect(tested?.message).toMatch(/FAILED api\/test_api\.py::test_\w+/);
  expect(tested?.message).toMatch(/\d+ failed, \d+ passed in [\d.]+s/);
  const [testJob] = await demoJobs(ns, 'model-test', versions.broken);
  const log = await jobLog(ns, testJob?.metadata.name ?? '');
  expect(log).toMatch(/api\/test_api\.py::test_predict FAILED/);
  expect(log).toMatch(/PredictionFailed/);
  expect(failed.status?.currentRun).toMatchObject({ result: 'RolledBack', reason: 'TestsFailed' });
  expect(condition(failed, 'Ready')?.message).toMatch(
    /\d+ failed, \d+ passed in [\d.]+s =+; rolled back to version/,
  );

  // The broken version did roll out (it loads, /health answered it); the rollback put the
  // container back on v2's digest, and the real Pods serve v2 again.
  expect(failed.status?.serving).toMatchObject({ version: versions.v2 });
  expect(failed.status?.stable).toMatchObject({ version: versions.v2 });
  const running = await servingImageIds(ns);
  expect(running.length).toBeGreaterThan(0);
  for (const id of running) expect(id).toBe(`${registryHost}/${DEMO_REPOSITORY}@${secondDigest}`);
  // kube-proxy drops the broken Pods' endpoints a moment after they go: until then a request
  // may still reach one that is gone (EHOSTUNREACH).
  const health = await waitFor('the Service to answer from v2 Pods only', async () => {
    const h = await demoHealth(ns).catch(() => undefined);
    return (h?.body as { model?: { version?: string } } | undefined)?.model?.version === versions.v2 && h;
  });
  expect(health).toMatchObject({ status: 200, body: { model: { version: versions.v2 } } });
}

/** The ready Pods of the demo's serving Deployment, by name. */
async function servingPodNames(namespace: string): Promise<string[]> {
  const list = await pods(namespace, `app=${DEMO_DEPLOYMENT}`);
  return list
    .filter((p) => !p.metadata.deletionTimestamp && p.status.containerStatuses?.[0]?.ready)
    .map((p) => p.metadata.name);
}
