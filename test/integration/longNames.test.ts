// metadata.name becomes the value of the app.kubernetes.io/instance label on every Job and Pod
// the operator creates, and a label value holds at most 63 characters: longer names are refused
// by kubectl apply, and a name of exactly 63 characters goes through the whole pipeline.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { kubectl } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, childJobs, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { installPrivateCrd, type PrivateCrd } from '../helpers/privateCrd.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('names');
// Refusals are checked on a private copy of this CRD: the bed's real one may be another branch's.
let crd: PrivateCrd;
beforeAll(async () => {
  crd = await installPrivateCrd('names');
});
afterAll(() => crd.remove());

function spec(model: string, repo: string, deployment: string) {
  return {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/${repo}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git#refs/heads/main' },
    deployment: { name: deployment, container: 'api' },
    test: { image: 'registry.example/api-tests:1' },
  };
}

const nameOf = (length: number) => `n${'x'.repeat(length - 2)}1`;

test.each([64, 253])('a %i-character name is refused by kubectl apply, saying why', async (length) => {
  const r = await kubectl(['apply', '-f', '-'], crd.manifest(env.ns, nameOf(length), spec('m', 'r', 'api')));
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('metadata.name must be at most 63 characters'),
  });
});

test('a 63-character name deploys end to end; its Jobs carry the name as a label', async () => {
  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion('long');
  const md = nameOf(63);
  await createServingDeployment(env.ns, 'api-long');
  await applyMd(env.ns, md, spec(name, `long-${Date.now().toString(36)}`, 'api-long'));
  await waitForMd(env.ns, md, 'Succeeded', succeededAt(version), 90_000);
  for (const component of ['image-build', 'model-test']) {
    const jobs = await childJobs<{ metadata: { name: string } }>(env.ns, component, md);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.metadata.name.length).toBeLessThanOrEqual(63);
  }
});
