// Blue-green on the bed's real node, with real Pods behind a real Service: a sampler reads the
// active Service's EndpointSlices all through the runs and checks that no ready endpoint ever was
// a Pod of a version whose tests had not passed. A good version is previewed, tested through the
// preview Service, switched to and promoted; a bad one fails its tests in the preview and leaves
// the serving Deployment and Service untouched. A second object is promoted while the operator
// is SIGKILLed at every step, and ends as the first did. builder none keeps it quick: only the
// model env changes, and the container serves its MODEL_VERSION at /version.
import { bed } from '../helpers/bed.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, condition, requestReconcile, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
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

const env = operatorInNamespace('blue-green', createRealNodeNamespace);
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const PREVIEW_LABEL = 'app.kubernetes.io/component=preview';

const blueGreenSpec = (md: string, model: string, badVersion: string) =>
  strategySpec(md, model, badVersion, {
    type: 'BlueGreen',
    blueGreen: { activeService: `api-${md}`, scaleDownDelaySeconds: 3 },
  });

interface Sample {
  /** MODEL_VERSION of each Pod that was a ready endpoint of the active Service. */
  versions: (string | undefined)[];
  /** How many of them were preview Pods. */
  preview: number;
  /** Versions whose test Job had succeeded, read after the endpoints. */
  tested: Set<string>;
  /** The Service selected the preview while no preview Deployment existed. */
  dangling: boolean;
  previews: number;
}

/** Reads the active Service's ready endpoints, then the test Jobs, until stopped. */
function sampleEndpoints(service: string, md: string): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const slices = await getJson(env.ns, ['endpointslices', '-l', `kubernetes.io/service-name=${service}`]);
      const ready = new Set<string>();
      for (const slice of slices.items as Json[])
        for (const e of (slice.endpoints ?? []) as Json[])
          if (e.conditions?.ready === true && e.targetRef?.kind === 'Pod')
            ready.add(e.targetRef.name as string);
      const pods = await getJson(env.ns, ['pods']);
      const jobs = await getJson(env.ns, [
        'jobs',
        '-l',
        `app.kubernetes.io/instance=${md},app.kubernetes.io/component=model-test`,
      ]);
      const svc = await getJson(env.ns, ['service', service]);
      const previews = await getJson(env.ns, [
        'deployments',
        '-l',
        `${PREVIEW_LABEL},app.kubernetes.io/instance=${md}`,
      ]);
      const versions: (string | undefined)[] = [];
      let preview = 0;
      for (const pod of pods.items as Json[]) {
        if (!ready.has(pod.metadata.name as string)) continue;
        const api = (pod.spec.containers as Json[]).find((c) => c.name === 'api');
        versions.push(
          (api?.env as Json[] | undefined)?.find((e) => e.name === 'MODEL_VERSION')?.value as
            string | undefined,
        );
        if (pod.metadata.labels?.['app.kubernetes.io/component'] === 'preview') preview++;
      }
      const tested = new Set<string>(
        (jobs.items as Json[])
          .filter((j) => (j.status?.succeeded ?? 0) > 0)
          .map((j) => j.metadata.labels['mlops.healthpredict.io/model-version'] as string),
      );
      const selectsPreview = svc.spec.selector?.['app.kubernetes.io/component'] === 'preview';
      samples.push({
        versions,
        preview,
        tested,
        dangling: selectsPreview && previews.items.length === 0,
        previews: previews.items.length,
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

async function expectPreviewGone(md: string): Promise<void> {
  const left = async () =>
    (
      await getJson(env.ns, [
        'deployments,services',
        '-l',
        `${PREVIEW_LABEL},app.kubernetes.io/instance=${md}`,
      ])
    ).items.map(
      (o: Json) =>
        `${o.kind} ${o.metadata.name} (model version ${o.metadata.labels?.['mlops.healthpredict.io/model-version']})`,
    );
  await waitFor(
    `the preview of ${md} to be removed`,
    async () => {
      const objects = await left();
      if (objects.length > 0) throw new Error(`still there: ${objects.join(', ')}`);
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

const selectorOf = async (md: string) =>
  (await getJson(env.ns, ['service', `api-${md}`])).spec.selector as Json;

test('no Pod of an untested version is ever a ready endpoint of the active Service', async () => {
  const md = 'bg';
  const { name: model, version: v1 } = await mlflow().createChampion(md);
  const { version: v2 } = await mlflow().createRunVersion(model);
  const { version: v3 } = await mlflow().createRunVersion(model);
  for (const v of [v2, v3]) await mlflow().waitUntilReady(model, v);
  await createServing(env.ns, `api-${md}`);
  const sampler = sampleEndpoints(`api-${md}`, md);
  let samples: Sample[];
  const table = watchTable(env.ns, md);
  try {
    await applyMd(env.ns, md, blueGreenSpec(md, model, v2));
    const first = await waitForMd(env.ns, md, `v${v1} Succeeded`, succeededAt(v1), 240_000);
    expect(condition(first, 'Previewed')).toMatchObject({ status: 'True', reason: 'PreviewAvailable' });
    expect(condition(first, 'TestsPassed')).toMatchObject({ status: 'True' });
    expect(await selectorOf(md)).toEqual({ app: `api-${md}` });
    await expectServingRuns(env.ns, md, v1);
    await expectPreviewGone(md);

    // A version that fails its tests in the preview: nothing users reach changes.
    const servingBefore = await getJson(env.ns, ['deployment', `api-${md}`]);
    const serviceBefore = await getJson(env.ns, ['service', `api-${md}`]);
    await mlflow().setAlias(model, 'champion', v2);
    await requestReconcile(env.ns, md);
    const failed = await waitForMd(
      env.ns,
      md,
      `v${v2} Failed`,
      (m) => m.status?.currentRun?.version === v2 && m.status.phase === 'Failed',
      240_000,
    );
    expect(failed.status?.currentRun).toMatchObject({ result: 'Failed', reason: 'TestsFailed' });
    expect(failed.status?.serving?.version).toBe(v1);
    await expectPreviewGone(md);
    const servingAfter = await getJson(env.ns, ['deployment', `api-${md}`]);
    const serviceAfter = await getJson(env.ns, ['service', `api-${md}`]);
    expect(servingAfter.spec.template).toEqual(servingBefore.spec.template);
    expect(serviceAfter.metadata.resourceVersion).toBe(serviceBefore.metadata.resourceVersion);

    await mlflow().setAlias(model, 'champion', v3);
    await requestReconcile(env.ns, md);
    await waitForMd(env.ns, md, `v${v3} Succeeded`, succeededAt(v3), 240_000);
    expect(await selectorOf(md)).toEqual({ app: `api-${md}` });
    await expectServingRuns(env.ns, md, v3);
    await expectPreviewGone(md);
  } finally {
    samples = await sampler.stop();
    console.log(`kubectl get md ${md}, each row it showed:\n${(await table.stop()).join('\n')}`);
  }
  const reached = samples.flatMap((s) =>
    s.versions.filter((v): v is string => v !== undefined && !s.tested.has(v)),
  );
  console.log(
    `blue-green: ${samples.length} samples of the active Service's endpoints; ` +
      `${samples.filter((s) => s.preview > 0).length} while it selected the preview; untested versions reached: ${reached.length}`,
  );
  expect(samples.length).toBeGreaterThan(20);
  expect(samples.some((s) => s.versions.includes(v2))).toBe(false);
  expect(reached).toEqual([]);
  expect(samples.some((s) => s.preview > 0)).toBe(true); // the switch really happened
  expect(samples.some((s) => s.dangling)).toBe(false);
  expect(Math.max(...samples.map((s) => s.previews))).toBeLessThanOrEqual(1);
}, 600_000);

test('SIGKILL at every step of a promotion ends as a promotion without one', async () => {
  const md = 'bg-kill';
  const { name: model, version: v1 } = await mlflow().createChampion(md);
  await createServing(env.ns, `api-${md}`);
  const sampler = sampleEndpoints(`api-${md}`, md);
  let killed: { kills: number; phases: Set<string> } | undefined;
  let samples: Sample[];
  try {
    await applyMd(env.ns, md, blueGreenSpec(md, model, 'none'));
    killed = await killAfterEveryWrite(env, md, succeededAt(v1));
    expect(await selectorOf(md)).toEqual({ app: `api-${md}` });
    await expectServingRuns(env.ns, md, v1);
    await expectPreviewGone(md);
    const done = await expectOneSucceededRun(env.ns, md, v1);
    expect(done.status?.preview).toBeUndefined();
  } finally {
    samples = await sampler.stop();
  }
  const { kills, phases } = killed ?? { kills: 0, phases: new Set<string>() };
  console.log(
    `blue-green: ${kills} SIGKILLs during one promotion (in ${[...phases].join(', ')}), ${samples.length} endpoint samples`,
  );
  expect([...phases]).toEqual(expect.arrayContaining(['Previewing', 'Testing']));
  expect(phases.has('Deploying') || phases.has('Verifying')).toBe(true);
  expect(samples.flatMap((s) => s.versions.filter((v) => v !== undefined && !s.tested.has(v)))).toEqual([]);
  expect(samples.some((s) => s.dangling)).toBe(false);
  expect(Math.max(...samples.map((s) => s.previews))).toBeLessThanOrEqual(1);
}, 600_000);

test('a pre-promotion Prometheus analysis of the preview, against a real Prometheus, holds back a bad version', async () => {
  const md = 'bg-prom';
  await withErrorRatioVersions(env.ns, md, async ({ model, v1, v2, prometheus }) => {
    const check = {
      address: prometheus.address,
      query: 'max(app_error_ratio{pod=~"{preview}-.*"})',
      max: '0.1',
      interval: '2s',
      count: 4,
      failureLimit: 2, // the first measurements may come before Prometheus scraped the new Pods
    };
    await applyMd(
      env.ns,
      md,
      strategySpec(md, model, 'none', {
        type: 'BlueGreen',
        blueGreen: {
          activeService: `api-${md}`,
          scaleDownDelaySeconds: 0,
          prePromotionAnalysis: { prometheus: check },
        },
      }),
    );
    const passed = await waitForMd(env.ns, md, `v${v1} Succeeded`, succeededAt(v1), 240_000);
    expect(condition(passed, 'AnalysisPassed')).toMatchObject({ status: 'True', reason: 'AnalysisPassed' });
    await expectServingRuns(env.ns, md, v1);

    const serviceBefore = await getJson(env.ns, ['service', `api-${md}`]);
    await expectAnalysisStops(env.ns, md, model, v2, prometheus, 'preview');
    await expectPreviewGone(md);
    expect((await getJson(env.ns, ['service', `api-${md}`])).metadata.resourceVersion).toBe(
      serviceBefore.metadata.resourceVersion,
    );
    await expectServingRuns(env.ns, md, v1);
  });
}, 600_000);
