// Canary on the bed's real node, replica-weighted through the user's own Service: the canary
// Deployment's size follows the steps (sampled all through the run), its Pods become ready
// endpoints of the user's Service beside the serving Pods, the analysis step tests it through the
// canary Service, and success promotes the version and removes the canary. A version whose
// analysis fails is aborted: the canary goes and the serving Deployment was never changed. A
// third object is promoted while the operator is SIGKILLed after every status write.
import { bed } from '../helpers/bed.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, requestReconcile, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import {
  createServing,
  expectServingRuns,
  getJson,
  expectAnalysisStops,
  expectOneSucceededRun,
  killAfterEveryWrite,
  strategySpec,
  watchTable,
  type Json,
  withErrorRatioVersions,
} from '../helpers/progressiveDelivery.js';
import { createRealNodeNamespace } from '../helpers/realNode.js';
import { waitFor } from '../helpers/wait.js';

const env = operatorInNamespace('canary', createRealNodeNamespace);
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const SERVING_REPLICAS = 4;

const canarySpec = (md: string, model: string, badVersion: string) =>
  strategySpec(md, model, badVersion, {
    type: 'Canary',
    canary: {
      steps: [
        { setWeight: 25 },
        { analysis: { testJob: {} } },
        { setWeight: 50 },
        { pause: { duration: '3s' } },
      ],
    },
  });

/** The canary Deployment and Service of `md`, by the labels of every object the operator makes. */
const canaryObjects = (md: string) => `app.kubernetes.io/instance=${md},app.kubernetes.io/component=canary`;

interface Sample {
  /** Replicas of the canary Deployment; undefined while there is none. */
  canaryReplicas: number | undefined;
  /** Ready endpoints of the user's Service that are canary Pods. */
  canaryEndpoints: number;
  canaries: number;
}

/** Samples the canary Deployment and the user's Service's ready endpoints until stopped. */
function sampleCanary(md: string): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const canaries = await getJson(env.ns, ['deployments', '-l', canaryObjects(md)]);
      const slices = await getJson(env.ns, ['endpointslices', '-l', `kubernetes.io/service-name=api-${md}`]);
      const pods = await getJson(env.ns, ['pods', '-l', `mlops.healthpredict.io/canary-of=${md}`]);
      const canaryPods = new Set((pods.items as Json[]).map((p) => p.metadata.name as string));
      let canaryEndpoints = 0;
      for (const slice of slices.items as Json[])
        for (const e of (slice.endpoints ?? []) as Json[])
          if (e.conditions?.ready === true && canaryPods.has(e.targetRef?.name as string)) canaryEndpoints++;
      const first = (canaries.items as Json[])[0];
      samples.push({
        canaryReplicas: first ? (first.spec.replicas as number) : undefined,
        canaryEndpoints,
        canaries: canaries.items.length,
      });
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** The canary's sizes in the order they were seen, repeats folded. */
const sizes = (samples: Sample[]) =>
  samples
    .map((s) => s.canaryReplicas)
    .filter((r, i, all) => r !== undefined && r !== all[i - 1])
    .filter((r, i, all) => all.indexOf(r) === i);

async function expectCanaryGone(md: string): Promise<void> {
  await waitFor(
    `the canary of ${md} to be removed`,
    async () => (await getJson(env.ns, ['deployments,services', '-l', canaryObjects(md)])).items.length === 0,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

test('the canary follows the steps, takes its share of the Service, and a failed analysis aborts it', async () => {
  const md = 'cn';
  const { name: model, version: v1 } = await mlflow().createChampion(md);
  const { version: v2 } = await mlflow().createRunVersion(model);
  await mlflow().waitUntilReady(model, v2);
  await createServing(env.ns, `api-${md}`, SERVING_REPLICAS);
  const table = watchTable(env.ns, md);
  const sampler = sampleCanary(md);
  let samples: Sample[];
  try {
    await applyMd(env.ns, md, canarySpec(md, model, v2));
    const done = await waitForMd(env.ns, md, `v${v1} Succeeded`, succeededAt(v1), 240_000);
    expect(done.status?.canary).toBeUndefined();
    await expectServingRuns(env.ns, md, v1, SERVING_REPLICAS);
    await expectCanaryGone(md);

    const servingBefore = await getJson(env.ns, ['deployment', `api-${md}`]);
    await mlflow().setAlias(model, 'champion', v2);
    await requestReconcile(env.ns, md);
    const failed = await waitForMd(
      env.ns,
      md,
      `v${v2} aborted`,
      (m) => m.status?.currentRun?.version === v2 && m.status.phase === 'Failed',
      240_000,
    );
    expect(failed.status?.currentRun).toMatchObject({ result: 'Failed', reason: 'TestsFailed' });
    expect(failed.status?.serving?.version).toBe(v1);
    await expectCanaryGone(md);
    const servingAfter = await getJson(env.ns, ['deployment', `api-${md}`]);
    expect(servingAfter.spec.template).toEqual(servingBefore.spec.template);
    await expectServingRuns(env.ns, md, v1, SERVING_REPLICAS);
  } finally {
    samples = await sampler.stop();
    console.log(`kubectl get md ${md}, each row it showed:\n${(await table.stop()).join('\n')}`);
  }
  console.log(
    `canary: ${samples.length} samples; canary sizes seen ${JSON.stringify(sizes(samples))}; ` +
      `most canary Pods among the Service's ready endpoints: ${Math.max(...samples.map((s) => s.canaryEndpoints))}`,
  );
  // 25% and 50% of 4 serving replicas for v1; 25% again for v2, which never got further.
  expect(sizes(samples)).toEqual([1, 2]);
  expect(samples.some((s) => s.canaryEndpoints >= 1)).toBe(true);
  expect(Math.max(...samples.map((s) => s.canaries))).toBeLessThanOrEqual(1);
}, 600_000);

test('SIGKILL after every status write of a canary run ends as a run without one', async () => {
  const md = 'cn-kill';
  const { name: model, version: v1 } = await mlflow().createChampion(md);
  await createServing(env.ns, `api-${md}`, SERVING_REPLICAS);
  const sampler = sampleCanary(md);
  let killed: { kills: number; phases: Set<string> } | undefined;
  let samples: Sample[];
  try {
    await applyMd(env.ns, md, canarySpec(md, model, 'none'));
    killed = await killAfterEveryWrite(env, md, succeededAt(v1));
    await expectServingRuns(env.ns, md, v1, SERVING_REPLICAS);
    await expectCanaryGone(md);
    const done = await expectOneSucceededRun(env.ns, md, v1);
    expect(done.status?.canary).toBeUndefined();
  } finally {
    samples = await sampler.stop();
  }
  const { kills, phases } = killed ?? { kills: 0, phases: new Set<string>() };
  console.log(
    `canary: ${kills} SIGKILLs during one run (in ${[...phases].join(', ')}), ${samples.length} samples`,
  );
  expect(phases.has('Canary')).toBe(true);
  expect(kills).toBeGreaterThanOrEqual(3);
  expect(Math.max(...samples.map((s) => s.canaries))).toBeLessThanOrEqual(1);
  expect(sizes(samples)).toEqual([1, 2]);
}, 600_000);

test('a Prometheus analysis of the canary, against a real Prometheus scraping it, promotes a good version and aborts a bad one', async () => {
  const md = 'cn-prom';
  await withErrorRatioVersions(env.ns, md, async ({ model, v1, v2, prometheus }) => {
    const analysis = {
      prometheus: {
        address: prometheus.address,
        query: 'max(app_error_ratio{pod=~"{canary}-.*"})',
        max: '0.1',
        interval: '2s',
        count: 3,
        failureLimit: 1, // a first measurement may come before Prometheus scraped the new Pods
      },
    };
    await applyMd(
      env.ns,
      md,
      strategySpec(md, model, 'none', {
        type: 'Canary',
        // The pause gives Prometheus time to discover and scrape the new canary Pods.
        canary: { steps: [{ setWeight: 50 }, { pause: { duration: '5s' } }, { analysis }] },
      }),
    );
    await waitForMd(env.ns, md, `v${v1} Succeeded`, succeededAt(v1), 240_000);
    await expectServingRuns(env.ns, md, v1);
    await expectCanaryGone(md);

    const servingBefore = await getJson(env.ns, ['deployment', `api-${md}`]);
    await expectAnalysisStops(env.ns, md, model, v2, prometheus, 'canary');
    await expectCanaryGone(md);
    expect((await getJson(env.ns, ['deployment', `api-${md}`])).spec.template).toEqual(
      servingBefore.spec.template,
    );
    expect(await prometheus.query(`max(app_error_ratio{pod=~"api-${md}-.*"})`)).toBe(0);
    await expectServingRuns(env.ns, md, v1);
  });
}, 600_000);
