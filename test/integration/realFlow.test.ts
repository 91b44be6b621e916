// The whole flow for real, on the bed's real node (kubelet + containerd): the operator's own
// Kaniko Job builds examples/health-predict from its S3 context and pushes it (the bed's ECR:
// a registry mirrored into moto), the serving Deployment rolls to the image by digest and is
// ready once the model is loaded, and the test Job runs the demo's pytest API suite against
// SERVICE_URL. Then a promotion does it all again, and a version the app cannot serve fails its
// run with pytest's own output. Nothing here is played by kwok or the stand-in.
import { bed } from '../helpers/bed.js';
import {
  applyDemo,
  DEMO_MD,
  demoHealth,
  demoJobs,
  expectDemoSucceeds,
  jobLog,
  registerDemoVersion,
} from '../helpers/demo.js';
import { applyCrd, deleteNamespace } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { condition, getMd, waitForMd } from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';
import { createRealNodeNamespace } from '../helpers/realNode.js';

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
  'a model version becomes a running API that passes its tests; a promotion rebuilds and redeploys it; a version the app cannot serve fails its run with the real test output',
  async () => {
    await applyDemo(ns, model);
    const firstDigest = await expectDemoSucceeds(ns, model, versions.v1, RUN_MS);

    await new MlflowAdmin(bed.mlflowUri).setAlias(model, 'champion', versions.v2);
    const secondDigest = await expectDemoSucceeds(ns, model, versions.v2, RUN_MS);
    expect(secondDigest).not.toBe(firstDigest);

    await new MlflowAdmin(bed.mlflowUri).setAlias(model, 'champion', versions.broken);
    const failed = await waitForMd(
      ns,
      MD,
      `Failed at ${versions.broken}`,
      (md) => md.status?.phase === 'Failed' && md.status.currentRun?.version === versions.broken,
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
    // The broken version did roll out (it loads, /health answers), so it is what runs now:
    // taking it back is issue 10's rollback.
    expect(await demoHealth(ns)).toMatchObject({
      status: 200,
      body: { model: { version: versions.broken } },
    });
    expect((await getMd(ns, MD)).status?.phase).toBe('Failed');
  },
  3 * RUN_MS,
);
