// Env and build-arg names that are also keys of Object.prototype must be plain names end to end:
// parsed (zod used to drop `__proto__`), merged (`in` used to find `constructor` on the
// prototype and erase its value, so every reconcile patched the Deployment again) and rendered.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, childJobs, eventsFor, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment, getDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('protokeys');

const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

/** A map carrying every name above; built by JSON.parse, since `{__proto__: …}` in an object
 * literal sets the prototype instead of a key. */
function mapOfAll(prefix: string): Record<string, string> {
  return JSON.parse(JSON.stringify(Object.fromEntries(NAMES.map((n) => [n, `${prefix}-${n}`])))) as Record<
    string,
    string
  >;
}

interface Job {
  spec: {
    template: { spec: { containers: { args?: string[]; env?: { name: string; value?: string }[] }[] } };
  };
}

test('constructor, toString, valueOf, hasOwnProperty and __proto__ in deployment.env, test.env and buildArgs reach the Deployment and the Jobs, with one patch', async () => {
  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion('protokeys');
  await createServingDeployment(env.ns, 'api-proto');
  const before = await getDeployment(env.ns, 'api-proto');
  const spec = {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/serving-proto-${Date.now().toString(36)}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git', buildArgs: mapOfAll('arg') },
    deployment: { name: 'api-proto', container: 'api', env: mapOfAll('dep') },
    test: { image: 'registry.example/api-tests:1', env: mapOfAll('test') },
  };
  expect(JSON.stringify(spec)).toContain('"__proto__":"dep-__proto__"');
  await applyMd(env.ns, 'proto', spec);
  await waitForMd(env.ns, 'proto', 'Succeeded', succeededAt(version), 180_000);

  const [build] = await childJobs<Job>(env.ns, 'image-build', 'proto');
  const args = build?.spec.template.spec.containers[0]?.args ?? [];
  for (const n of NAMES) expect(args).toContain(`--build-arg=${n}=arg-${n}`);

  const [testJob] = await childJobs<Job>(env.ns, 'model-test', 'proto');
  const testEnv = testJob?.spec.template.spec.containers[0]?.env ?? [];
  for (const n of NAMES) expect(testEnv).toContainEqual({ name: n, value: `test-${n}` });

  const api = () => getDeployment(env.ns, 'api-proto');
  const rolled = await api();
  const depEnv = rolled.spec.template.spec.containers[1]?.env ?? [];
  for (const n of NAMES) expect(depEnv).toContainEqual({ name: n, value: `dep-${n}` });
  expect(depEnv.filter((e) => e.name === 'KEEP_ME')).toEqual([{ name: 'KEEP_ME', value: 'yes' }]);
  // One rollout: the generation moved twice (the claim annotation, then the rollout) and stays
  // put over a few polls.
  expect(rolled.metadata.generation).toBe(before.metadata.generation + 2);
  await new Promise((r) => setTimeout(r, 12_000));
  expect((await api()).metadata.generation).toBe(rolled.metadata.generation);
  const rollouts = (await eventsFor(env.ns, 'proto')).filter((e) => e.reason === 'RolloutStarted');
  expect(rollouts.reduce((sum, e) => sum + (e.count ?? 1), 0)).toBe(1);
});

test('the same names already on the serving container and not in the spec keep their values: one patch, no loop', async () => {
  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion('protokept');
  await createServingDeployment(env.ns, 'api-kept');
  const ops = NAMES.map((n) => ({
    op: 'add',
    path: '/spec/template/spec/containers/1/env/-',
    value: { name: n, value: `kept-${n}` },
  }));
  await kubectlOk([
    '-n',
    env.ns,
    'patch',
    'deployment',
    'api-kept',
    '--type=json',
    '-p',
    JSON.stringify(ops),
  ]);
  const before = await getDeployment(env.ns, 'api-kept');
  await applyMd(env.ns, 'kept', {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    build: { builder: 'none' },
    deployment: { name: 'api-kept', container: 'api', env: { OTHER: 'x' } },
  });
  await waitForMd(env.ns, 'kept', 'Succeeded', succeededAt(version), 180_000);
  const rolled = await getDeployment(env.ns, 'api-kept');
  const depEnv = rolled.spec.template.spec.containers[1]?.env ?? [];
  for (const n of NAMES) expect(depEnv).toContainEqual({ name: n, value: `kept-${n}` });
  await new Promise((r) => setTimeout(r, 12_000));
  // The claim annotation and one patch: a Deployment's annotations count in its generation.
  expect((await getDeployment(env.ns, 'api-kept')).metadata.generation).toBe(before.metadata.generation + 2);
});
