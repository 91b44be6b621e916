// Kill-safe records: the world a SIGKILL leaves between a write and the status update that
// records it, reproduced deterministically (the operator stopped, the record removed from
// status while the build Job and the Deployment already hold the new state). The next operator
// derives the details from the world: a build, not a reuse; the image the Deployment had before.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, condition, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('killrec');

async function patchStatus(md: string, status: Record<string, unknown>): Promise<void> {
  await kubectlOk([
    '-n',
    env.ns,
    'patch',
    'modeldeployment',
    md,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

test('a lost status.build and status.rollout: reused false for its own build, previousImage from the ReplicaSets', async () => {
  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion('killrec');
  await createServingDeployment(env.ns, 'api-kr');
  await applyMd(env.ns, 'kr', {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    image: { repository: `${registryHost}/killrec-${Date.now().toString(36)}` },
    build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
    deployment: { name: 'api-kr', container: 'api' },
  });
  const done = await waitForMd(env.ns, 'kr', 'Succeeded', succeededAt(version), 90_000);
  expect(done.status?.rollout?.previousImage).toBe('registry.example/api:bootstrap');

  // The run as a kill after the build Job pushed and the Deployment was patched leaves it.
  await env.operator.stop('SIGKILL');
  await patchStatus('kr', {
    phase: 'Building',
    image: null,
    build: null,
    rollout: null,
    history: null,
    currentRun: { result: null, finishedAt: null, image: null },
    conditions: null,
  });
  await env.operator.start();

  const md = await waitForMd(env.ns, 'kr', 'Succeeded again', succeededAt(version), 60_000);
  expect(md.status?.image?.reused).toBeUndefined();
  expect(condition(md, 'ImageBuilt')?.reason).toBe('Built');
  expect(md.status?.image?.digest).toBe(done.status?.image?.digest);
  expect(md.status?.rollout?.previousImage).toBe('registry.example/api:bootstrap');
  expect(md.status?.history?.map((h) => h.result)).toEqual(['Succeeded']);
});
