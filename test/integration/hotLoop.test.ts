// An object the apiserver refuses (422 on the build Job) must stall with the apiserver's own
// message and stay quiet: no status write per attempt, no Job create per attempt.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, condition, getMd, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('hotloop');
const unique = () => Date.now().toString(36);

/** A kaniko spec whose build Job the CRD accepts but the apiserver refuses with 422. */
function refusedBuild(model: string, deployment: string, resources: object) {
  return {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/hotloop-${unique()}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git#refs/heads/main', resources },
    deployment: { name: deployment, container: 'api' },
  };
}

/** The operator's log lines about `key` with this message, from line `from` on. */
const linesAbout = (key: string, msg: string, from: number) =>
  env.operator.lines.slice(from).filter((l) => l.includes(`"msg":"${msg}"`) && l.includes(`"${key}"`));

test('a build Job refused with 422 stalls with ObjectRejected and the apiserver message, and writes status a handful of times in 30 s', async () => {
  const { name: model } = await new MlflowAdmin(bed.mlflowUri).createChampion('hotloop');
  await createServingDeployment(env.ns, 'api-refused');
  await applyMd(
    env.ns,
    'refused',
    refusedBuild(model, 'api-refused', {
      requests: { memory: '2Gi', 'example.com/gpu': '1' },
      limits: { memory: '1Gi' },
    }),
  );
  await waitForMd(env.ns, 'refused', 'a Ready condition', (m) => condition(m, 'Ready') !== undefined, 60_000);

  const key = `${env.ns}/refused`;
  const from = env.operator.lines.length;
  const rv0 = (await getMd(env.ns, 'refused')).metadata as { resourceVersion?: string };
  await new Promise((r) => setTimeout(r, 30_000));
  const writes = linesAbout(key, 'Patched status', from).length;
  // Every reconcile that reaches the build step creates the Job once; failed ones log once.
  const attempts = linesAbout(key, 'Reconcile failed', from).length + linesAbout(key, 'Stalled', from).length;
  const md = await getMd(env.ns, 'refused');
  const rv1 = (md.metadata as { resourceVersion?: string }).resourceVersion;
  console.log(
    `30 s: ${writes} status writes, ${attempts} Job create attempts, resourceVersion ${rv0.resourceVersion} -> ${rv1}`,
  );
  expect(writes).toBeLessThanOrEqual(3);
  expect(attempts).toBeLessThanOrEqual(5);

  const stalled = condition(md, 'Stalled');
  expect(stalled).toMatchObject({ status: 'True', reason: 'ObjectRejected' });
  expect(stalled?.message).toContain('must be less than or equal to memory limit of 1Gi');
  expect(stalled?.message).toContain('Limit must be set for non overcommitable resources');
  expect(stalled?.message).not.toMatch(/HTTP|Headers|audit-id|content-type|Body:/i);
  expect(stalled?.message.length).toBeLessThanOrEqual(1024);
  expect(condition(md, 'Reconciling')).toBeUndefined();
}, 150_000);
