// A changed build spec rebuilds: the build hash is part of the default tag, so a spec.build
// change after Ready gives a new build and a new tag; a custom tag template without
// {buildHash} is refused rather than reused when the tag was built from another build spec.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { applyCrd } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  childJobs,
  condition,
  isStalled,
  succeededAt,
  waitForMd,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('buildspec');
// The default tag template and the build hash in history come from this branch's CRD: install
// it again right before each test, as the bed's CRD is shared with other test runs.
beforeEach(applyCrd);
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const unique = () => Date.now().toString(36);

function spec(model: string, md: string, image: Record<string, unknown>, buildArgs: Record<string, string>) {
  return {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/buildspec-${md}-${unique()}`, ...image },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git', buildArgs },
    deployment: { name: `api-${md}`, container: 'api' },
  };
}

test('a build spec change after Ready builds a new image under a new tag and says why', async () => {
  const { name, version } = await mlflow().createChampion('bs-default');
  await createServingDeployment(env.ns, 'api-default');
  const first = spec(name, 'default', {}, { FLAVOR: 'a' });
  await applyMd(env.ns, 'default', first);
  const before = await waitForMd(env.ns, 'default', 'Succeeded', succeededAt(version), 90_000);

  await applyMd(env.ns, 'default', { ...first, build: { ...first.build, buildArgs: { FLAVOR: 'b' } } });
  const after = await waitForMd(
    env.ns,
    'default',
    'Succeeded again',
    (m) => succeededAt(version)(m) && (m.status?.history?.length ?? 0) === 2,
    90_000,
  );
  expect(after.status?.image?.tag).not.toBe(before.status?.image?.tag);
  expect(after.status?.image?.digest).not.toBe(before.status?.image?.digest);
  expect(after.status?.image?.reused).toBeUndefined();
  expect(after.status?.image?.buildHash).toMatch(/^[0-9a-f]{8}$/);
  expect(after.status?.image?.tag).toContain(after.status?.image?.buildHash);
  expect(condition(after, 'ImageBuilt')).toMatchObject({ reason: 'Built' });
  expect(condition(after, 'ImageBuilt')?.message).toMatch(/build hash/);
  expect(await childJobs(env.ns, 'image-build', 'default')).toHaveLength(2);
});

test('a custom tag template without {buildHash} refuses to reuse a tag built from another build spec', async () => {
  const { name, version } = await mlflow().createChampion('bs-custom');
  await createServingDeployment(env.ns, 'api-custom');
  const first = spec(name, 'custom', { tagTemplate: 'v{version}-custom' }, { FLAVOR: 'a' });
  await applyMd(env.ns, 'custom', first);
  const built = await waitForMd(env.ns, 'custom', 'Succeeded', succeededAt(version), 90_000);

  await applyMd(env.ns, 'custom', { ...first, build: { ...first.build, buildArgs: { FLAVOR: 'b' } } });
  const md = await waitForMd(env.ns, 'custom', 'Stalled', isStalled, 60_000);
  expect(condition(md, 'Stalled')?.reason).toBe('TagBuiltFromOtherSpec');
  expect(condition(md, 'Stalled')?.message).toMatch(/\{buildHash\}/);
  expect(await childJobs(env.ns, 'image-build', 'custom')).toHaveLength(1);
  expect(built.status?.image?.buildHash).toMatch(/^[0-9a-f]{8}$/);
  expect(condition(built, 'ImageBuilt')?.message).toMatch(/no \{buildHash\}/);
});
